'use client'
/**
 * The job type's config form, generated from its JSON Schema (see lib/json-schema-form): a row per
 * entry for lists (strings, numbers, or a group of fields per object), nested objects and unions as
 * groups of fields (a union's type picked first), name/value rows for maps, human labels, and only
 * the fields that apply to the values so far (lib/config-conditions).
 */
import { Icons } from '@/components/icons'
import { KeyValueEditor, StringListEditor } from '@/components/inputs'
import { Field } from '@/components/ui'
import { hiddenFields, hiddenItemFields, sameSource } from '@/lib/config-conditions'
import { defaultHint, INCLUDE, initialValues, itemName, looseHint, type FieldValue, type FormField, type FormValues } from '@/lib/json-schema-form'

export interface CredentialOption {
  id: string
  name: string
  kind: string
  username: string
  /** Whether the signed-in user may use it (only those are offered). */
  canUse?: boolean
}

/** An inventory source a config may name (compare_devices, sync_devices). */
export interface SourceOption {
  id: string
  name: string
}

interface Common {
  jobType: string
  /** The whole config's values (conditions look at other fields). */
  all: FormValues
  errorFor(path: string): string | undefined
  credentials: readonly CredentialOption[]
  sources: readonly SourceOption[]
  /** Fields that do not apply: top-level keys and dotted keys inside objects (`check.equals`). */
  hidden: ReadonlySet<string>
}

export function ConfigForm({
  jobType,
  fields,
  values,
  onChange,
  errorFor,
  credentials = [],
  sources = [],
}: {
  jobType: string
  fields: readonly FormField[]
  values: FormValues
  onChange(v: FormValues): void
  errorFor(path: string): string | undefined
  credentials?: readonly CredentialOption[]
  sources?: readonly SourceOption[]
}) {
  if (!fields.length) return <p className="muted small">This job type has no settings.</p>
  const hidden = hiddenFields(jobType, values)
  return (
    <div className="fieldset">
      {fields
        .filter((f) => !hidden.has(f.key))
        .map((f) => (
          <ConfigField key={f.key} f={f} path={f.path} keyPath={f.key} value={values[f.key]} onChange={(v) => onChange({ ...values, [f.key]: v })} common={{ jobType, all: values, errorFor, credentials, sources, hidden }} />
        ))}
    </div>
  )
}

function hintOf(f: FormField): string | undefined {
  const dflt = defaultHint(f)
  const loose = f.kind === 'loose' || f.kind === 'value-map' ? looseHint(f) : null
  return [f.description, dflt, loose].filter(Boolean).join(' ') || undefined
}

const asValues = (v: FieldValue | undefined): FormValues => (v && typeof v === 'object' && !Array.isArray(v) ? (v as FormValues) : {})

/**
 * One field. `keyPath` is its dotted key from the config's root (`check.regex`), which the conditions
 * use; fields inside a list's rows have none (the list's own item rules apply there).
 */
function ConfigField({ f, path, keyPath, value: v, onChange: set, common }: { f: FormField; path: string; keyPath?: string; value: FieldValue | undefined; onChange(v: FieldValue): void; common: Common }) {
  const error = common.errorFor(path)
  if (f.kind === 'object' || f.kind === 'union') return <ObjectField f={f} path={path} keyPath={keyPath} value={asValues(v)} onChange={set} common={common} />
  if (f.kind === 'boolean') {
    return (
      <div className="field">
        <label className="check">
          <input type="checkbox" name={path} checked={v === true} onChange={(e) => set(e.target.checked)} aria-invalid={!!error} />
          {f.label}
        </label>
        {error ? <div className="error" role="alert">{error}</div> : f.description ? <div className="hint">{f.description}</div> : null}
      </div>
    )
  }
  if (f.kind === 'object-list') return <ObjectList f={f} path={path} value={Array.isArray(v) ? (v as FormValues[]) : []} onChange={set} common={common} error={error} />
  return (
    <Field label={f.label} hint={hintOf(f)} error={error} required={f.required}>
      {(p) => {
        switch (f.kind) {
          case 'string-list': {
            const item = itemName(f)
            return (
              <StringListEditor
                id={p.id}
                name={path}
                value={Array.isArray(v) ? (v as string[]) : []}
                onChange={set}
                mono={f.itemKind !== 'integer'}
                numeric={f.itemKind === 'integer'}
                max={f.maxItems}
                itemLabel={item.charAt(0).toUpperCase() + item.slice(1)}
                addLabel={`Add ${item}`}
                invalid={p['aria-invalid']}
                describedBy={p['aria-describedby']}
              />
            )
          }
          case 'string-map':
          case 'value-map':
            return (
              <KeyValueEditor
                name={path}
                value={Array.isArray(v) ? (v as Array<[string, string]>) : []}
                onChange={set}
                invalid={p['aria-invalid']}
                describedBy={p['aria-describedby']}
                addLabel={f.key === 'env' ? 'Add variable' : `Add ${itemName(f)}`}
              />
            )
          case 'loose':
            return f.multiline ? (
              <textarea {...p} name={path} className="mono" rows={4} value={typeof v === 'string' ? v : ''} onChange={(e) => set(e.target.value)} />
            ) : (
              <input {...p} name={path} className="mono" value={typeof v === 'string' ? v : ''} onChange={(e) => set(e.target.value)} />
            )
          case 'enum':
            return (
              <select {...p} name={path} value={typeof v === 'string' ? v : ''} onChange={(e) => set(e.target.value)}>
                {!f.required ? <option value="">{f.default !== undefined ? `Default (${String(f.default)})` : '(none)'}</option> : null}
                {f.options!.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            )
          case 'credential': {
            const value = typeof v === 'string' ? v : ''
            const known = common.credentials.some((c) => c.id === value)
            return (
              <select {...p} name={path} value={value} onChange={(e) => set(e.target.value)}>
                <option value="">{f.required ? 'Choose a credential…' : '(none)'}</option>
                {common.credentials.map((c) => (
                  // Credentials you may not use are refused at save; shown, but not offered.
                  <option key={c.id} value={c.id} disabled={c.canUse === false && c.id !== value}>
                    {c.name} ({c.kind === 'PRIVATE_KEY' ? 'key' : 'password'}, {c.username}){c.canUse === false ? ' — not yours to use' : ''}
                  </option>
                ))}
                {value && !known ? <option value={value}>A credential you cannot see</option> : null}
              </select>
            )
          }
          case 'inventory-source': {
            const value = typeof v === 'string' ? v : ''
            const known = common.sources.some((x) => x.id === value)
            // Saved through the API as a bare UUID: the source it names, by name.
            const byUuid = known ? undefined : common.sources.find((x) => sameSource(x.id, value))
            return (
              <select {...p} name={path} value={value} onChange={(e) => set(e.target.value)}>
                <option value="">{f.required ? (common.sources.length ? 'Choose an inventory source…' : 'No inventory sources yet — add one first') : '(none)'}</option>
                {common.sources.map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.name}
                  </option>
                ))}
                {/* A UUID typed through the API, or a source deleted since: kept, and said so. */}
                {value && !known ? <option value={value}>{byUuid ? byUuid.name : `An inventory source that no longer exists (${value})`}</option> : null}
              </select>
            )
          }
          case 'integer':
          case 'number':
            return (
              <input
                {...p}
                name={path}
                type="number"
                inputMode={f.kind === 'integer' ? 'numeric' : 'decimal'}
                step={f.kind === 'integer' ? 1 : 'any'}
                min={f.min}
                max={f.max}
                placeholder={f.default !== undefined ? String(f.default) : ''}
                value={typeof v === 'string' ? v : ''}
                onChange={(e) => set(e.target.value)}
                style={{ maxWidth: 200 }}
              />
            )
          case 'text':
            return <textarea {...p} name={path} rows={3} value={typeof v === 'string' ? v : ''} onChange={(e) => set(e.target.value)} />
          case 'json':
            return <textarea {...p} name={path} className="mono" rows={4} placeholder="JSON" value={typeof v === 'string' ? v : ''} onChange={(e) => set(e.target.value)} />
          default:
            return <input {...p} name={path} value={typeof v === 'string' ? v : ''} placeholder={f.default !== undefined ? String(f.default) : ''} onChange={(e) => set(e.target.value)} />
        }
      }}
    </Field>
  )
}

/** A list of objects: a group of fields per entry, with add and remove. */
function ObjectList({ f, path, value, onChange, common, error }: { f: FormField; path: string; value: FormValues[]; onChange(v: FormValues[]): void; common: Common; error: string | undefined }) {
  const item = itemName(f)
  const Item = item.charAt(0).toUpperCase() + item.slice(1)
  const fields = f.itemFields ?? []
  const hidden = hiddenItemFields(common.jobType, f.key, fields, common.all)
  const shown = fields.filter((x) => !hidden.has(x.key))
  // Errors of a row's own fields show there; the rest (the list as a whole) under the list.
  const listError = common.errorFor(path) && !value.some((_, i) => shown.some((x) => common.errorFor(`${path}.${i}.${x.key}`))) ? error : undefined
  return (
    <fieldset className="object-list" aria-describedby={listError ? `${path}-error` : undefined}>
      <legend className="field-label">
        {f.label}
        {f.required ? <span className="req">*</span> : null}
      </legend>
      {f.description ? <div className="hint small">{f.description}</div> : null}
      {value.map((row, i) => (
        <div className="object-row" key={i} role="group" aria-label={`${Item} ${i + 1}`}>
          <div className="object-row-head">
            <span className="small muted">
              {Item} {i + 1}
            </span>
            <button type="button" className="btn ghost sm" aria-label={`Remove ${item} ${i + 1}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>
              <Icons.x /> Remove
            </button>
          </div>
          <div className="grid-2">
            {shown.map((x) => (
              <ConfigField key={x.key} f={x} path={`${path}.${i}.${x.key}`} value={row[x.key]} onChange={(nv) => onChange(value.map((r, j) => (j === i ? { ...r, [x.key]: nv } : r)))} common={common} />
            ))}
          </div>
        </div>
      ))}
      {listError ? (
        <div className="error small" id={`${path}-error`} role="alert">
          {listError}
        </div>
      ) : null}
      <div>
        <button type="button" className="btn sm" onClick={() => onChange([...value, initialValues(fields, {})])} disabled={f.maxItems !== undefined && value.length >= f.maxItems}>
          <Icons.plus /> Add {item}
        </button>
      </div>
    </fieldset>
  )
}

/**
 * An object's properties as fields, in a group. An optional object is included by a switch (its absence
 * means something: no body check, no targets created); a union first asks for its type, then shows that
 * variant's fields.
 */
function ObjectField({ f, path, keyPath, value, onChange, common }: { f: FormField; path: string; keyPath: string | undefined; value: FormValues; onChange(v: FormValues): void; common: Common }) {
  const union = f.kind === 'union'
  const disc = f.discriminator ?? ''
  const variant = union ? f.variants!.find((x) => x.value === value[disc]) : undefined
  const included = union ? !!variant : f.required || value[INCLUDE] === true
  const fields = (union ? variant?.fields : f.fields) ?? []
  const shown = fields.filter((x) => !(keyPath && common.hidden.has(`${keyPath}.${x.key}`)))
  // Problems with the group itself (not one of its shown fields) show under it.
  const own = common.errorFor(path)
  const groupError = own && !shown.some((x) => common.errorFor(`${path}.${x.key}`)) ? own : undefined
  const errorId = `${path}-error`
  return (
    <fieldset className="object-list" aria-describedby={groupError ? errorId : undefined}>
      <legend className="field-label">
        {!union && !f.required ? (
          // The switch is the group's title: "Create targets" ☑.
          <label className="check">
            <input type="checkbox" name={`${path}.${INCLUDE}`} checked={included} onChange={(e) => onChange({ ...value, [INCLUDE]: e.target.checked })} />
            {f.label}
          </label>
        ) : (
          f.label
        )}
        {f.required ? <span className="req">*</span> : null}
      </legend>
      {f.description ? <div className="hint small">{f.description}</div> : null}
      {union ? (
        <div className="field">
          <label htmlFor={`${path}.${disc}`}>Type</label>
          <select id={`${path}.${disc}`} name={`${path}.${disc}`} value={variant?.value ?? ''} onChange={(e) => onChange({ ...value, [disc]: e.target.value })} style={{ maxWidth: 320 }}>
            {!f.required ? <option value="">None</option> : <option value="">Choose…</option>}
            {f.variants!.map((x) => (
              <option key={x.value} value={x.value}>
                {x.label}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      {included && shown.length ? (
        <div className="object-row">
          <div className="grid-2">
            {shown.map((x) => (
              <ConfigField key={x.key} f={x} path={`${path}.${x.key}`} keyPath={keyPath ? `${keyPath}.${x.key}` : undefined} value={value[x.key]} onChange={(nv) => onChange({ ...value, [x.key]: nv })} common={common} />
            ))}
          </div>
        </div>
      ) : null}
      {groupError ? (
        <div className="error small" id={errorId} role="alert">
          {groupError}
        </div>
      ) : null}
    </fieldset>
  )
}
