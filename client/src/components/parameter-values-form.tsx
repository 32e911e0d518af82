'use client'
/**
 * The values of a template's or workflow's parameters, one field per parameter (checkbox, choice,
 * text, masked secret), each with its error in words next to it — the body of both "Run now" dialogs,
 * so they ask for parameters the same way.
 */
import { Field } from '@/components/ui'
import { fieldError, type FormErrors } from '@/lib/errors'
import type { ParameterDefinition, RunValues } from '@/lib/parameters'

export function ParameterValuesForm({
  parameters,
  values,
  errors,
  onChange,
  empty,
}: {
  parameters: readonly ParameterDefinition[]
  values: RunValues
  /** Errors keyed `parameters.<name>` (as the API and runParameters name them). */
  errors: FormErrors
  onChange(values: RunValues): void
  /** What to say when there are no parameters. */
  empty: string
}) {
  if (!parameters.length) return <p className="muted" style={{ margin: 0 }}>{empty}</p>
  return (
    <>
      {parameters.map((p, i) => {
        const v = values[p.name]
        const error = fieldError(errors, `parameters.${p.name}`)
        const set = (x: string | boolean) => onChange({ ...values, [p.name]: x })
        if (p.type === 'BOOL')
          return (
            <div key={p.name} className="field">
              <label className="check">
                <input type="checkbox" checked={v === true} onChange={(e) => set(e.target.checked)} /> {p.label || p.name}
              </label>
              {error ? <div className="error" role="alert">{error}</div> : p.description ? <div className="hint">{p.description}</div> : null}
            </div>
          )
        return (
          <Field key={p.name} label={p.label || p.name} required={p.required} error={error} hint={p.description ?? (p.type === 'SECRET' ? 'Masked in logs and never shown again.' : undefined)}>
            {(a) =>
              p.type === 'CHOICE' ? (
                <select {...a} value={typeof v === 'string' ? v : ''} onChange={(e) => set(e.target.value)}>
                  {!p.required ? <option value="">(default)</option> : null}
                  {(p.choices ?? []).map((c) => (
                    <option key={c}>{c}</option>
                  ))}
                </select>
              ) : (
                <input
                  {...a}
                  name={p.name}
                  autoFocus={i === 0}
                  className={p.type === 'SECRET' ? undefined : 'mono'}
                  type={p.type === 'SECRET' ? 'password' : 'text'}
                  autoComplete={p.type === 'SECRET' ? 'new-password' : 'off'}
                  inputMode={p.type === 'INT' ? 'numeric' : undefined}
                  value={typeof v === 'string' ? v : ''}
                  onChange={(e) => set(e.target.value)}
                />
              )
            }
          </Field>
        )
      })}
    </>
  )
}
