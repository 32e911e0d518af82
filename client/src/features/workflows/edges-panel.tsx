'use client'
/** The workflow's edges as rows (from, to, kind), the listed way to what the graph draws; errors under each. */
import { Icons } from '@/components/icons'
import { Field, Panel } from '@/components/ui'
import { EDGE_KINDS, type EdgeDraft, type EdgeKind, type NodeDraft } from '@/lib/workflow-draft'

export function EdgesPanel({
  edges,
  nodes,
  canWrite,
  errorFor,
  exactError,
  onChange,
  onRemove,
  onAdd,
}: {
  edges: readonly EdgeDraft[]
  nodes: readonly NodeDraft[]
  canWrite: boolean
  errorFor(path: string): string | undefined
  exactError(path: string): string | undefined
  onChange(i: number, patch: Partial<EdgeDraft>): void
  onRemove(i: number): void
  onAdd(): void
}) {
  return (
    <Panel title={`Edges (${edges.length})`}>
      <div className="stack" style={{ gap: 10 }} data-testid="workflow-edges">
        {edges.length === 0 ? <p className="muted small" style={{ margin: 0 }}>No edges: every node runs at once when the workflow starts.</p> : null}
        {edges.map((e, i) => (
          <div key={i} className="stack" style={{ gap: 4 }}>
            <div className="wf-edge-row">
              <Field label={`Edge ${i + 1} from`} error={errorFor(`edges.${i}.from`)}>
                {(p) => (
                  <select {...p} value={e.from} onChange={(ev) => onChange(i, { from: ev.target.value })}>
                    {!nodes.some((n) => n.key === e.from) ? <option value={e.from}>{e.from || '(none)'}</option> : null}
                    {nodes.map((n) => (
                      <option key={n.key} value={n.key}>
                        {n.key}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="to" error={errorFor(`edges.${i}.to`)}>
                {(p) => (
                  <select {...p} value={e.to} onChange={(ev) => onChange(i, { to: ev.target.value })}>
                    {!nodes.some((n) => n.key === e.to) ? <option value={e.to}>{e.to || '(none)'}</option> : null}
                    {nodes.map((n) => (
                      <option key={n.key} value={n.key}>
                        {n.key}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="when" error={errorFor(`edges.${i}.kind`)}>
                {(p) => (
                  <select {...p} value={e.kind} onChange={(ev) => onChange(i, { kind: ev.target.value as EdgeKind })}>
                    {EDGE_KINDS.map((k) => (
                      <option key={k.value} value={k.value}>
                        {k.label}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {canWrite ? (
                <button type="button" className="btn ghost icon" style={{ marginBottom: 4 }} aria-label={`Remove edge ${i + 1} (${e.from} to ${e.to})`} onClick={() => onRemove(i)}>
                  <Icons.trash />
                </button>
              ) : null}
            </div>
            {exactError(`edges.${i}`) ? (
              <div className="error small" role="alert" style={{ color: 'var(--err)' }}>
                {exactError(`edges.${i}`)}
              </div>
            ) : null}
          </div>
        ))}
        {canWrite && nodes.length > 1 ? (
          <div>
            <button type="button" className="btn sm" onClick={onAdd}>
              <Icons.plus /> Add edge
            </button>
          </div>
        ) : null}
      </div>
    </Panel>
  )
}
