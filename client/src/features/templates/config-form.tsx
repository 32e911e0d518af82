'use client'
/** The job type's config form, generated from its JSON Schema (see lib/json-schema-form). */
import { KeyValueEditor, StringListEditor } from '@/components/inputs'
import { Field } from '@/components/ui'
import type { FieldValue, FormField, FormValues } from '@/lib/json-schema-form'

export interface CredentialOption {
  id: string
  name: string
  kind: string
  username: string
  /** Whether the signed-in user may use it (only those are offered). */
  canUse?: boolean
}

export function ConfigForm({
  fields,
  values,
  onChange,
  errorFor,
  credentials = [],
}: {
  fields: readonly FormField[]
  values: FormValues
  onChange(v: FormValues): void
  errorFor(path: string): string | undefined
  credentials?: readonly CredentialOption[]
}) {
  if (!fields.length) return <p className="muted small">This job type has no settings.</p>
  const set = (key: string, v: FieldValue) => onChange({ ...values, [key]: v })
  return (
    <div className="fieldset">
      {fields.map((f) => {
        const error = errorFor(f.path)
        const v = values[f.key]
        const hint = [f.description, f.default !== undefined && f.kind !== 'boolean' ? `Default: ${JSON.stringify(f.default)}` : null].filter(Boolean).join(' ')
        if (f.kind === 'boolean') {
          return (
            <div className="field" key={f.key}>
              <label className="check">
                <input type="checkbox" name={f.path} checked={v === true} onChange={(e) => set(f.key, e.target.checked)} />
                {f.label}
              </label>
              {error ? <div className="error" role="alert">{error}</div> : f.description ? <div className="hint">{f.description}</div> : null}
            </div>
          )
        }
        return (
          <Field key={f.key} label={f.label} hint={hint || undefined} error={error} required={f.required}>
            {(p) => {
              switch (f.kind) {
                case 'string-list':
                  return (
                    <StringListEditor
                      id={p.id}
                      value={Array.isArray(v) ? (v as string[]) : []}
                      onChange={(x) => set(f.key, x)}
                      mono
                      max={f.maxItems}
                      itemLabel={f.label.replace(/s$/, '')}
                      addLabel={`Add ${f.label.toLowerCase().replace(/s$/, '')}`}
                      invalid={p['aria-invalid']}
                      describedBy={p['aria-describedby']}
                    />
                  )
                case 'string-map':
                  return <KeyValueEditor value={Array.isArray(v) ? (v as Array<[string, string]>) : []} onChange={(x) => set(f.key, x)} invalid={p['aria-invalid']} describedBy={p['aria-describedby']} />
                case 'enum':
                  return (
                    <select {...p} name={f.path} value={typeof v === 'string' ? v : ''} onChange={(e) => set(f.key, e.target.value)}>
                      {!f.required ? <option value="">(default)</option> : null}
                      {f.options!.map((o) => (
                        <option key={o} value={o}>
                          {o}
                        </option>
                      ))}
                    </select>
                  )
                case 'credential': {
                  const value = typeof v === 'string' ? v : ''
                  const known = credentials.some((c) => c.id === value)
                  return (
                    <select {...p} name={f.path} value={value} onChange={(e) => set(f.key, e.target.value)}>
                      <option value="">{f.required ? 'Choose a credential…' : '(none)'}</option>
                      {credentials.map((c) => (
                        // Credentials you may not use are refused at save; shown, but not offered.
                        <option key={c.id} value={c.id} disabled={c.canUse === false && c.id !== value}>
                          {c.name} ({c.kind === 'PRIVATE_KEY' ? 'key' : 'password'}, {c.username}){c.canUse === false ? ' — not yours to use' : ''}
                        </option>
                      ))}
                      {value && !known ? <option value={value}>{value} (unknown credential)</option> : null}
                    </select>
                  )
                }
                case 'integer':
                case 'number':
                  return (
                    <input
                      {...p}
                      name={f.path}
                      type="number"
                      inputMode={f.kind === 'integer' ? 'numeric' : 'decimal'}
                      step={f.kind === 'integer' ? 1 : 'any'}
                      min={f.min}
                      max={f.max}
                      placeholder={f.default !== undefined ? String(f.default) : ''}
                      value={typeof v === 'string' ? v : ''}
                      onChange={(e) => set(f.key, e.target.value)}
                      style={{ maxWidth: 200 }}
                    />
                  )
                case 'text':
                  return <textarea {...p} name={f.path} rows={3} value={typeof v === 'string' ? v : ''} onChange={(e) => set(f.key, e.target.value)} />
                case 'json':
                  return <textarea {...p} name={f.path} className="mono" rows={4} placeholder="JSON" value={typeof v === 'string' ? v : ''} onChange={(e) => set(f.key, e.target.value)} />
                default:
                  return <input {...p} name={f.path} value={typeof v === 'string' ? v : ''} placeholder={f.default !== undefined ? String(f.default) : ''} onChange={(e) => set(f.key, e.target.value)} />
              }
            }}
          </Field>
        )
      })}
    </div>
  )
}

