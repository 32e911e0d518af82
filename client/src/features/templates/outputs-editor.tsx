'use client'
/**
 * Declared step outputs of a `command`/`script` template: name, kind, description. Steps publish them by
 * writing `key=value` lines to $SWITCHYARD_OUTPUTS; undeclared keys are published too (as text), so
 * declaring is about kinds (NUMBER, JSON…) and about SECRET values, which are masked everywhere.
 */
import { Icons } from '@/components/icons'

export const OUTPUT_KINDS = ['STRING', 'NUMBER', 'BOOL', 'JSON', 'SECRET'] as const
export type OutputKind = (typeof OUTPUT_KINDS)[number]
export interface OutputDraft {
  name: string
  kind: OutputKind
  description: string
}

export function OutputsEditor({ value, onChange, errorFor }: { value: OutputDraft[]; onChange(v: OutputDraft[]): void; errorFor(path: string): string | undefined }) {
  const set = (i: number, patch: Partial<OutputDraft>) => onChange(value.map((o, j) => (j === i ? { ...o, ...patch } : o)))
  return (
    <div className="stack" style={{ gap: 8 }}>
      <p className="muted small" style={{ margin: 0 }}>
        A step publishes outputs by writing <code>key=value</code> lines (or one JSON object) to <code>$SWITCHYARD_OUTPUTS</code>; workflow nodes
        after it read them as <code>{'{{ nodes.<key>.outputs.<name> }}'}</code>. Undeclared keys are published as text; SECRET ones are masked everywhere.
      </p>
      {value.map((o, i) => {
        const err = (k: string) => errorFor(`outputs.${i}.${k}`)
        return (
          <div key={i} className="output-row" data-testid={`output-${i}`}>
            <div className="field">
              <label htmlFor={`output-${i}-name`}>Name</label>
              <input id={`output-${i}-name`} className="mono" value={o.name} placeholder="live_hosts" aria-invalid={!!err('name')} onChange={(e) => set(i, { name: e.target.value })} />
              {err('name') ? <div className="error" role="alert">{err('name')}</div> : null}
            </div>
            <div className="field">
              <label htmlFor={`output-${i}-kind`}>Kind</label>
              <select id={`output-${i}-kind`} value={o.kind} onChange={(e) => set(i, { kind: e.target.value as OutputKind })}>
                {OUTPUT_KINDS.map((k) => (
                  <option key={k} value={k}>
                    {k === 'JSON' ? 'JSON' : k.charAt(0) + k.slice(1).toLowerCase()}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={`output-${i}-description`}>Description</label>
              <input id={`output-${i}-description`} value={o.description} aria-invalid={!!err('description')} onChange={(e) => set(i, { description: e.target.value })} />
              {err('description') ? <div className="error" role="alert">{err('description')}</div> : null}
            </div>
            <div className="field">
              <label>&nbsp;</label>
              <button type="button" className="btn ghost icon" aria-label={`Remove output ${o.name || i + 1}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>
                <Icons.trash />
              </button>
            </div>
          </div>
        )
      })}
      <div>
        <button type="button" className="btn sm" onClick={() => onChange([...value, { name: '', kind: 'STRING', description: '' }])}>
          <Icons.plus /> Add output
        </button>
      </div>
    </div>
  )
}
