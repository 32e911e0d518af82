'use client'
import { ChipsInput } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { newParameter, PARAMETER_TYPES, type ParameterDraft, type ParameterType } from '@/lib/parameters'

export function ParametersEditor({ value, onChange, errorFor }: { value: ParameterDraft[]; onChange(v: ParameterDraft[]): void; errorFor(path: string): string | undefined }) {
  const set = (i: number, patch: Partial<ParameterDraft>) => onChange(value.map((p, j) => (j === i ? { ...p, ...patch } : p)))
  return (
    <div className="stack" style={{ gap: 8 }}>
      {value.length === 0 ? <p className="muted small" style={{ margin: 0 }}>No parameters. Add one to ask for a value when the job runs; use it in commands as <code>{'{{ name }}'}</code>.</p> : null}
      {value.map((p, i) => {
        const err = (k: string) => errorFor(`parameters.${i}.${k}`)
        const rowErr = errorFor(`parameters.${i}`)
        return (
          <div key={i} className="stack" style={{ gap: 4 }}>
            <div className="param-row" data-testid={`parameter-${i}`}>
              <div className="field">
                <label htmlFor={`param-${i}-name`}>Name</label>
                <input id={`param-${i}-name`} className="mono" value={p.name} placeholder="mount" aria-invalid={!!err('name')} onChange={(e) => set(i, { name: e.target.value })} />
                {err('name') ? <div className="error" role="alert">{err('name')}</div> : null}
              </div>
              <div className="field">
                <label htmlFor={`param-${i}-type`}>Type</label>
                <select id={`param-${i}-type`} value={p.type} onChange={(e) => set(i, { type: e.target.value as ParameterType, default: e.target.value === 'BOOL' ? false : '' })}>
                  {PARAMETER_TYPES.map((t) => (
                    <option key={t} value={t}>
                      {t.charAt(0) + t.slice(1).toLowerCase()}
                    </option>
                  ))}
                </select>
              </div>
              <div className="field">
                <label htmlFor={`param-${i}-label`}>Label</label>
                <input id={`param-${i}-label`} value={p.label} placeholder="Mount point" onChange={(e) => set(i, { label: e.target.value })} />
              </div>
              <div className="field">
                <label htmlFor={`param-${i}-default`}>Default</label>
                {p.type === 'BOOL' ? (
                  <label className="check" style={{ minHeight: 32 }}>
                    <input id={`param-${i}-default`} type="checkbox" checked={p.default === true} onChange={(e) => set(i, { default: e.target.checked })} /> true
                  </label>
                ) : p.type === 'SECRET' ? (
                  <input id={`param-${i}-default`} disabled placeholder="(secrets have no default)" />
                ) : p.type === 'CHOICE' ? (
                  <select id={`param-${i}-default`} value={typeof p.default === 'string' ? p.default : ''} aria-invalid={!!err('default')} onChange={(e) => set(i, { default: e.target.value })}>
                    <option value="">(none)</option>
                    {p.choices.map((c) => (
                      <option key={c}>{c}</option>
                    ))}
                  </select>
                ) : (
                  <input id={`param-${i}-default`} className="mono" inputMode={p.type === 'INT' ? 'numeric' : undefined} value={typeof p.default === 'string' ? p.default : ''} aria-invalid={!!err('default')} onChange={(e) => set(i, { default: e.target.value })} />
                )}
                {err('default') ? <div className="error" role="alert">{err('default')}</div> : null}
              </div>
              <div className="field">
                <label>Required</label>
                <label className="check" style={{ minHeight: 32 }}>
                  <input type="checkbox" checked={p.required} onChange={(e) => set(i, { required: e.target.checked })} aria-label="Required" />
                </label>
              </div>
              <div className="field">
                <label>&nbsp;</label>
                <button type="button" className="btn ghost icon" aria-label={`Remove parameter ${p.name || i + 1}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>
                  <Icons.trash />
                </button>
              </div>
              {p.type === 'CHOICE' ? (
                <div className="field" style={{ gridColumn: '1 / -1' }}>
                  <label htmlFor={`param-${i}-choices`}>Choices</label>
                  <ChipsInput id={`param-${i}-choices`} value={p.choices} onChange={(choices) => set(i, { choices })} placeholder="staging, production" invalid={!!err('choices')} />
                  {err('choices') ? <div className="error" role="alert">{err('choices')}</div> : null}
                </div>
              ) : null}
            </div>
            {rowErr ? <div className="error small" role="alert" style={{ color: 'var(--err)' }}>{rowErr}</div> : null}
          </div>
        )
      })}
      <div>
        <button type="button" className="btn sm" onClick={() => onChange([...value, newParameter()])}>
          <Icons.plus /> Add parameter
        </button>
      </div>
    </div>
  )
}
