/** Parameters or step outputs (SECRET values arrive masked); with several targets, outputs are keyed by target name. */
export function KeyValues({ title, values, testId }: { title: string; values: unknown; testId?: string }) {
  const entries = values && typeof values === 'object' ? Object.entries(values as Record<string, unknown>) : []
  if (!entries.length) return null
  return (
    <div data-testid={testId}>
      <div className="section-title">{title}</div>
      <dl className="kv">
        {entries.map(([k, v]) => (
          <div key={k} style={{ display: 'contents' }}>
            <dt className="mono">{k}</dt>
            <dd className="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
          </div>
        ))}
      </dl>
    </div>
  )
}
