/**
 * Builds a form from a job type's config JSON Schema (as `jobTypes` publishes it) and turns the
 * form's values back into a config object. Handles what job configs use — strings, numbers,
 * booleans, enums, credential pickers, lists of strings or numbers (a row each), lists of objects
 * (a group of fields per row; `string | {command, path}` items become rows whose short form is kept),
 * nested objects (their properties as fields; an optional one behind an "include" switch), unions of
 * objects told apart by a constant property such as `type` (a select, then that variant's fields), string
 * maps (name/value rows), and free-form values (typed as text, read as JSON when they are JSON, else kept
 * as text) — and falls back to a JSON editor only for what none of these describe, so a new job type
 * always gets a usable form. Labels come from the schema's `title`, else the property name in words ("Repository
 * CA certificate"); messages name fields by their labels, never by property names.
 */
export interface JsonSchema {
  type?: string | string[]
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  additionalProperties?: boolean | JsonSchema
  propertyNames?: JsonSchema
  enum?: unknown[]
  const?: unknown
  default?: unknown
  description?: string
  title?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  pattern?: string
  format?: string
}

export type FieldKind =
  | 'string'
  | 'credential'
  | 'inventory-source'
  | 'text'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'enum'
  | 'string-list'
  | 'object-list'
  | 'string-map'
  | 'object'
  | 'union'
  | 'value-map'
  | 'loose'
  | 'json'

/** JSON value types (as JSON Schema names them) a free-form value may take. */
export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array'

export interface UnionVariant {
  /** The discriminator's value for this variant (e.g. `basic`). */
  value: string
  label: string
  fields: FormField[]
}

/** Where an optional object's "include it" switch is kept among its values (no property starts with `$`). */
export const INCLUDE = '$include'

export interface FormField {
  key: string
  /** Where the API reports problems with it, e.g. `config.commands`. */
  path: string
  label: string
  description?: string
  kind: FieldKind
  required: boolean
  default?: unknown
  options?: string[]
  min?: number
  max?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  pattern?: string
  keyPattern?: string
  /** string-list: what each row holds (`integer-or-string`: whole numbers are sent as numbers, anything else as text). */
  itemKind?: 'string' | 'integer' | 'integer-or-string'
  /** object-list: the fields of each row (paths relative to the row). */
  itemFields?: FormField[]
  /** object-list: the row field whose value alone stands for the row (items may be plain strings). */
  shorthand?: string
  /** object: its properties' fields (paths below this field's). */
  fields?: FormField[]
  /** union: the property telling the variants apart, and the variants. */
  discriminator?: string
  variants?: UnionVariant[]
  /** loose, value-map: the JSON types a value may take (undefined: any). */
  valueTypes?: JsonType[]
  /** loose: typed in a multi-line box. */
  multiline?: boolean
}

/** What the form holds per field (strings as typed, so half-typed numbers are not lost). */
export type FieldValue = string | boolean | string[] | Array<[string, string]> | FormValues[] | FormValues
export interface FormValues {
  [key: string]: FieldValue
}

const ACRONYMS: Record<string, string> = { ssh: 'SSH', https: 'HTTPS', http: 'HTTP', ca: 'CA', url: 'URL', pty: 'PTY', id: 'ID', ip: 'IP', dns: 'DNS', icmp: 'ICMP', json: 'JSON', api: 'API', tls: 'TLS' }

/** A property name in words: `repositoryCaCertificate` → "Repository CA certificate", `connectTimeoutSeconds` → "Connect timeout (seconds)". */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase()
    .split(/\s+/)
  const unit = words.length > 1 && ['seconds', 'ms', 'bytes'].includes(words.at(-1)!) ? words.pop()! : null
  const text = words.map((w) => ACRONYMS[w] ?? w).join(' ')
  const label = text.charAt(0).toUpperCase() + text.slice(1)
  return unit ? `${label} (${unit === 'ms' ? 'milliseconds' : unit})` : label
}

/** A credential-id field is labelled by what it is: `repositoryCredentialId` → "Repository credential". */
function labelFor(key: string, s: JsonSchema): string {
  if (s.title) return s.title
  if (s.format === 'credential-id') {
    // `credentialId` alone is just "Credential", not "Credential credential".
    const what = key.replace(/(?:^c|C)redentialId$|Id$/, '')
    return what && what !== key ? `${humanize(what)} credential` : 'Credential'
  }
  if (s.format === 'inventory-source-id') return 'Inventory source'
  return humanize(key)
}

/**
 * Replaces property names a text mentions by their labels: in backticks (`branch`), or bare when the name
 * cannot be an ordinary word (repositoryCredentialId).
 */
export function withLabels(text: string, fields: readonly FormField[]): string {
  let out = text
  for (const f of fields) {
    out = out.replaceAll(`\`${f.key}\``, `“${f.label}”`)
    if (/[A-Z]/.test(f.key)) out = out.replace(new RegExp(`\\b${f.key}\\b`, 'g'), `“${f.label}”`)
  }
  return out
}

function typeOf(s: JsonSchema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null')
  return s.type
}

/** `integer | string` items (HTTP statuses: 204 or "2xx"). */
function isIntegerOrString(s: JsonSchema): boolean {
  const types = (s.anyOf ?? s.oneOf)?.map((a) => a.type)
  return !!types && types.length === 2 && types.includes('integer') && types.includes('string')
}

function objectItem(s: JsonSchema | undefined): JsonSchema | undefined {
  return s && typeOf(s) === 'object' && s.properties ? s : undefined
}

/** An array's items as rows of fields: objects, or `string | object` where the string is a short form. */
function objectItems(items: JsonSchema | undefined): { schema: JsonSchema; shorthand?: string } | undefined {
  if (!items) return undefined
  const direct = objectItem(items)
  if (direct) return { schema: direct }
  const alts = items.anyOf ?? items.oneOf
  if (alts?.length === 2) {
    const obj = alts.map(objectItem).find(Boolean)
    const str = alts.find((a) => typeOf(a) === 'string')
    const firstRequired = obj?.required?.[0]
    if (obj && str && firstRequired && typeOf(obj.properties![firstRequired]!) === 'string') return { schema: obj, shorthand: firstRequired }
  }
  return undefined
}

/** The JSON types a schema allows when it is a plain type, a list of types, or a union of plain types; undefined: any. */
function valueTypes(s: JsonSchema): JsonType[] | undefined {
  if (Array.isArray(s.type)) return s.type as JsonType[]
  if (typeof s.type === 'string') return [s.type as JsonType]
  const alts = s.anyOf ?? s.oneOf
  if (alts) {
    const types = alts.map((a) => valueTypes(a))
    return types.some((t) => t === undefined) ? undefined : [...new Set(types.flat() as JsonType[])]
  }
  return undefined
}

/** A schema that says nothing about its value (`{}`, or only a description): any JSON value. */
function isAnything(s: JsonSchema): boolean {
  return s.type === undefined && !s.anyOf && !s.oneOf && !s.enum && s.const === undefined && !s.properties
}

/**
 * Objects with a property whose value is a constant in each (`{type: "basic", …} | {type: "bearer", …}`):
 * that property and the variants. Undefined when the alternatives are not such objects.
 */
function unionOf(s: JsonSchema): { discriminator: string; variants: Array<{ value: string; schema: JsonSchema }> } | undefined {
  const alts = s.anyOf ?? s.oneOf
  if (!alts || alts.length < 2 || !alts.every((a) => objectItem(a))) return undefined
  const candidates = Object.keys(alts[0]!.properties!).filter((k) => alts.every((a) => typeof a.properties![k]?.const === 'string'))
  const discriminator = candidates.find((k) => new Set(alts.map((a) => a.properties![k]!.const)).size === alts.length)
  if (!discriminator) return undefined
  return { discriminator, variants: alts.map((a) => ({ value: a.properties![discriminator]!.const as string, schema: a })) }
}

/** A union of simple types that includes text, e.g. `string | object | array`: typed as text. */
function isLooseUnion(s: JsonSchema): boolean {
  const alts = s.anyOf ?? s.oneOf
  if (!alts) return false
  return alts.every((a) => !a.properties && !a.enum && (typeof a.type === 'string' || Array.isArray(a.type))) && (valueTypes(s) ?? []).includes('string')
}

function kindOf(s: JsonSchema): FieldKind {
  if (s.enum && s.enum.every((v) => typeof v === 'string')) return 'enum'
  if (isAnything(s)) return 'loose'
  if (s.anyOf || s.oneOf) return unionOf(s) ? 'union' : isLooseUnion(s) ? 'loose' : 'json'
  switch (typeOf(s)) {
    case 'string':
      // A stored credential's id (see the server's credential-ref.ts): picked from a list, not typed.
      if (s.format === 'credential-id') return 'credential'
      // An inventory source's id (compare_devices, sync_devices): picked from the sources, not typed.
      if (s.format === 'inventory-source-id') return 'inventory-source'
      // A URL or a one-line template stays one line however long it may be.
      if (s.format === 'uri' || s.format === 'single-line') return 'string'
      return (s.maxLength ?? 0) > 200 || s.format === 'multiline' ? 'text' : 'string'
    case 'integer':
      return 'integer'
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'array':
      if (s.items && (typeOf(s.items) === 'string' || typeOf(s.items) === 'integer') && !s.items.enum) return 'string-list'
      if (s.items && isIntegerOrString(s.items)) return 'string-list'
      return objectItems(s.items) ? 'object-list' : 'json'
    case 'object': {
      if (s.properties) return 'object'
      const values = s.additionalProperties
      if (values && typeof values === 'object' && values.type === 'string' && !values.enum) return 'string-map'
      // Values of any (or several) JSON types: name/value rows whose values are read as JSON when they are JSON.
      if (values === undefined || values === true || (typeof values === 'object' && (isAnything(values) || Array.isArray(values.type)))) return 'value-map'
      return 'json'
    }
    default:
      return 'json'
  }
}

/**
 * `X | null` (a nullish property, e.g. Checkmk's `site`) is edited as X: left empty it is not sent, so the
 * server's default (usually null) applies. The outer schema's description, title and default are kept.
 */
export function withoutNull(s: JsonSchema): JsonSchema {
  const alts = s.anyOf ?? s.oneOf
  if (!alts || alts.length !== 2) return s
  const rest = alts.filter((a) => a.type !== 'null')
  if (rest.length !== 1) return s
  const { anyOf: _a, oneOf: _o, ...outer } = s
  return { ...rest[0]!, ...outer }
}

export function schemaToFields(schema: JsonSchema | null | undefined, base = 'config'): FormField[] {
  if (!schema || typeof schema !== 'object' || !schema.properties) return []
  const required = new Set(schema.required ?? [])
  const fields = Object.entries(schema.properties).map(([key, raw]) => {
    const s = withoutNull(raw)
    const kind = kindOf(s)
    const path = `${base}.${key}`
    const field: FormField = { key, path, label: labelFor(key, s), kind, required: required.has(key) }
    if (s.description) field.description = s.description
    if (s.default !== undefined) field.default = s.default
    if (kind === 'enum') field.options = (s.enum as string[]).slice()
    const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (kind === 'integer' ? 1 : 0) : undefined)
    const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - (kind === 'integer' ? 1 : 0) : undefined)
    if (min !== undefined) field.min = min
    if (max !== undefined) field.max = max
    if (s.minLength !== undefined) field.minLength = s.minLength
    if (s.maxLength !== undefined) field.maxLength = s.maxLength
    if (s.pattern) field.pattern = s.pattern
    if (kind === 'string-list' || kind === 'object-list') {
      if (s.minItems !== undefined) field.minItems = s.minItems
      if (s.maxItems !== undefined) field.maxItems = s.maxItems
    }
    if (kind === 'string-list') {
      field.itemKind = isIntegerOrString(s.items!) ? 'integer-or-string' : typeOf(s.items!) === 'integer' ? 'integer' : 'string'
      if (s.items?.minLength !== undefined) field.minLength = s.items.minLength
      if (s.items?.minimum !== undefined) field.min = s.items.minimum
      if (s.items?.maximum !== undefined) field.max = s.items.maximum
    }
    if (kind === 'object-list') {
      const items = objectItems(s.items)!
      field.itemFields = schemaToFields(items.schema, '')
      if (items.shorthand) field.shorthand = items.shorthand
    }
    if ((kind === 'string-map' || kind === 'value-map') && s.propertyNames?.pattern) field.keyPattern = s.propertyNames.pattern
    if (kind === 'object') field.fields = schemaToFields(s, path)
    if (kind === 'union') {
      const u = unionOf(s)!
      field.discriminator = u.discriminator
      field.variants = u.variants.map((v) => ({
        value: v.value,
        label: v.schema.title ?? humanize(v.value),
        // The discriminator is the select, not a field of its own.
        fields: schemaToFields({ ...v.schema, properties: Object.fromEntries(Object.entries(v.schema.properties!).filter(([k]) => k !== u.discriminator)) }, path),
      }))
    }
    if (kind === 'loose') {
      const types = valueTypes(s)
      if (types) field.valueTypes = types
      // A body (text, object or array) gets a box; a value of any type (`equals`) is usually short.
      field.multiline = !!types && (types.includes('object') || types.includes('array'))
    }
    if (kind === 'value-map') {
      const values = s.additionalProperties
      const types = values && typeof values === 'object' ? valueTypes(values) : undefined
      if (types) field.valueTypes = types
    }
    return field
  })
  // Descriptions name other properties (`repositoryCredentialId`): say their labels instead.
  for (const f of fields) if (f.description) f.description = withLabels(f.description, fields).replace(/`/g, '')
  return fields
}

/**
 * A free-form value typed as text: JSON when it is JSON of a type the field allows (`42`, `true`,
 * `{"a": 1}`, `"quoted text"`), else the text itself.
 */
export function parseLoose(text: string, types?: readonly JsonType[]): unknown {
  const t = text.trim()
  try {
    const v: unknown = JSON.parse(t)
    const type: JsonType = v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as JsonType)
    if (!types || types.includes(type) || (type === 'number' && Number.isInteger(v) && types.includes('integer'))) return v
  } catch {
    // not JSON: text
  }
  return text
}

/** How a free-form value is shown for editing, so that parseLoose gives it back unchanged. */
export function looseText(v: unknown, types?: readonly JsonType[], pretty = false): string {
  if (typeof v === 'string') return parseLoose(v, types) === v ? v : JSON.stringify(v)
  return JSON.stringify(v, null, pretty ? 2 : undefined) ?? ''
}

/**
 * "Default: …." under a field, or null when there is nothing worth saying: a switch shows its default,
 * and an empty list or map (`[]`, `{}`) is the same as leaving the field empty.
 */
export function defaultHint(f: Pick<FormField, 'kind' | 'default'>): string | null {
  const d = f.default
  if (d === undefined || d === null || f.kind === 'boolean') return null
  if (Array.isArray(d)) return d.length ? `Default: ${d.join(', ')}.` : null
  if (typeof d === 'object') {
    const entries = Object.entries(d as Record<string, unknown>)
    return entries.length ? `Default: ${entries.map(([k, v]) => `${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}.` : null
  }
  return `Default: ${String(d)}.`
}

/** What the form says about how a free-form value is read. */
export function looseHint(f: Pick<FormField, 'kind' | 'valueTypes'>): string {
  const t = f.valueTypes
  if (f.kind === 'loose' && t && !t.includes('number') && !t.includes('boolean')) return 'A JSON object or array is sent as JSON; anything else as text.'
  const what = f.kind === 'value-map' ? 'Values' : 'The value'
  return `${what} written as JSON (42, true, null, [1, 2], {"a": 1}, "text in quotes") are read as JSON; anything else is sent as text.`
}

/** Form values for an existing config (or the schema's defaults for a new one). */
export function initialValues(fields: readonly FormField[], config: unknown): FormValues {
  const c = config && typeof config === 'object' && !Array.isArray(config) ? (config as Record<string, unknown>) : {}
  const values: FormValues = {}
  for (const f of fields) {
    const has = Object.prototype.hasOwnProperty.call(c, f.key)
    const v = has ? c[f.key] : undefined
    switch (f.kind) {
      case 'boolean':
        values[f.key] = typeof v === 'boolean' ? v : f.default === true
        break
      case 'string-list':
        values[f.key] = Array.isArray(v) ? v.map(String) : f.required || (f.minItems ?? 0) > 0 ? [''] : []
        break
      case 'object-list': {
        const rows = Array.isArray(v) ? v : []
        const toRow = (item: unknown) => initialValues(f.itemFields!, f.shorthand && typeof item === 'string' ? { [f.shorthand]: item } : item)
        values[f.key] = rows.length ? rows.map(toRow) : f.required || (f.minItems ?? 0) > 0 ? [initialValues(f.itemFields!, {})] : []
        break
      }
      case 'string-map':
        values[f.key] = v && typeof v === 'object' ? Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)] as [string, string]) : []
        break
      case 'value-map':
        values[f.key] = v && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, looseText(x, f.valueTypes)] as [string, string]) : []
        break
      case 'loose':
        values[f.key] = has && v !== undefined ? looseText(v, f.valueTypes, f.multiline) : ''
        break
      case 'object': {
        const given = v && typeof v === 'object' && !Array.isArray(v)
        values[f.key] = { ...initialValues(f.fields!, given ? v : {}), ...(f.required ? {} : { [INCLUDE]: !!given }) }
        break
      }
      case 'union': {
        const chosen = v && typeof v === 'object' ? f.variants!.find((x) => x.value === (v as Record<string, unknown>)[f.discriminator!]) : undefined
        // Every variant's fields start out blank, so switching the type shows empty fields, not missing ones.
        const blank = Object.assign({}, ...f.variants!.filter((x) => x !== chosen).map((x) => initialValues(x.fields, {}))) as FormValues
        values[f.key] = { ...blank, ...(chosen ? initialValues(chosen.fields, v) : {}), [f.discriminator!]: chosen?.value ?? '' }
        break
      }
      case 'json':
        values[f.key] = has ? JSON.stringify(v, null, 2) : ''
        break
      default:
        values[f.key] = v === undefined || v === null ? '' : String(v)
    }
  }
  return values
}

export interface ConfigResult {
  config: Record<string, unknown>
  /** Problems found before asking the API, keyed like the API's (`config.key`). */
  errors: Record<string, string>
}

/**
 * The config to send. Empty optional fields are left out so the server's defaults apply; values are
 * checked against the schema's simple constraints so obvious mistakes show before a round trip.
 */
export function valuesToConfig(fields: readonly FormField[], values: FormValues, extra: Record<string, unknown> = {}, hidden: ReadonlySet<string> = new Set()): ConfigResult {
  const config: Record<string, unknown> = { ...extra }
  const errors: Record<string, string> = {}
  /** Hidden fields below `key` (hidden holds dotted keys such as `check.equals`), relative to it. */
  const hiddenBelow = (key: string) => new Set([...hidden].filter((h) => h.startsWith(`${key}.`)).map((h) => h.slice(key.length + 1)))
  for (const f of fields) {
    delete config[f.key]
    // A field the form hides (it does not apply, e.g. SSH settings for an HTTPS repository) is not sent.
    if (hidden.has(f.key)) continue
    const v = values[f.key]
    const fail = (msg: string) => (errors[f.path] = msg)
    const item = itemName(f)
    switch (f.kind) {
      case 'boolean':
        config[f.key] = v === true
        break
      case 'string-list': {
        const items = (Array.isArray(v) ? (v as string[]) : []).filter((s) => typeof s === 'string' && s.trim() !== '')
        // Empty with a default (ports: [22]): left out, so the default applies.
        if (items.length === 0 && (f.default !== undefined || (!f.required && !f.minItems))) break
        if (f.minItems !== undefined && items.length < f.minItems) fail(f.minItems === 1 ? `Add at least one ${item}.` : `Add at least ${f.minItems} ${item}s.`)
        else if (f.maxItems !== undefined && items.length > f.maxItems) fail(`At most ${f.maxItems} ${item}s are allowed; remove ${items.length - f.maxItems}.`)
        if (f.itemKind === 'integer-or-string') {
          config[f.key] = items.map((x) => (/^-?\d+$/.test(x.trim()) ? Number(x) : x.trim()))
        } else if (f.itemKind === 'integer') {
          const bad = items.findIndex((x) => !/^-?\d+$/.test(x.trim()) || (f.min !== undefined && Number(x) < f.min) || (f.max !== undefined && Number(x) > f.max))
          if (bad >= 0) fail(`${item.charAt(0).toUpperCase() + item.slice(1)} ${bad + 1} (“${items[bad]}”) must be a whole number${f.min !== undefined && f.max !== undefined ? ` from ${f.min} to ${f.max}` : ''}.`)
          config[f.key] = items.map((x) => Number(x))
        } else config[f.key] = items
        break
      }
      case 'object-list': {
        const rows = (Array.isArray(v) ? (v as FormValues[]) : []).filter((row) => row && typeof row === 'object' && !Array.isArray(row))
        const out: unknown[] = []
        rows.forEach((row, i) => {
          const r = valuesToConfig(f.itemFields!, row)
          if (!Object.keys(r.config).some((k) => r.config[k] !== false && r.config[k] !== '')) return // an empty row
          for (const [k, m] of Object.entries(r.errors)) errors[`${f.path}.${i}${k}`] = m
          const keys = Object.keys(r.config).filter((k) => r.config[k] !== undefined)
          // A row with only the short-form field is sent in its short form (a plain string).
          out.push(f.shorthand && keys.length === 1 && keys[0] === f.shorthand ? r.config[f.shorthand] : r.config)
        })
        if (out.length === 0 && !f.required && !f.minItems) break
        if (f.minItems !== undefined && out.length < f.minItems) fail(f.minItems === 1 ? `Add at least one ${item}.` : `Add at least ${f.minItems} ${item}s.`)
        else if (f.maxItems !== undefined && out.length > f.maxItems) fail(`At most ${f.maxItems} ${item}s are allowed; remove ${out.length - f.maxItems}.`)
        config[f.key] = out
        break
      }
      case 'string-map': {
        const rows = (Array.isArray(v) ? (v as Array<[string, string]>) : []).filter(([k, x]) => k.trim() !== '' || x !== '')
        if (!rows.length) {
          if (f.required) fail(`Add at least one ${item}.`)
          break
        }
        const map: Record<string, string> = {}
        for (const [k, x] of rows) {
          const key = k.trim()
          if (!key) fail(`Every value needs a name (the value “${x}” has none).`)
          else if (f.keyPattern && !new RegExp(f.keyPattern).test(key)) fail(keyPatternMessage(key, f.keyPattern))
          else if (key in map) fail(`“${key}” is given twice; keep one.`)
          map[key] = x
        }
        config[f.key] = map
        break
      }
      case 'value-map': {
        const rows = (Array.isArray(v) ? (v as Array<[string, string]>) : []).filter(([k, x]) => k.trim() !== '' || x !== '')
        if (!rows.length) {
          if (f.required) fail(`Add at least one ${item}.`)
          break
        }
        const map: Record<string, unknown> = {}
        for (const [k, x] of rows) {
          const key = k.trim()
          if (!key) fail(`Every value needs a name (the value “${x}” has none).`)
          else if (f.keyPattern && !new RegExp(f.keyPattern).test(key)) fail(keyPatternMessage(key, f.keyPattern))
          else if (key in map) fail(`“${key}” is given twice; keep one.`)
          map[key] = parseLoose(x, f.valueTypes)
        }
        config[f.key] = map
        break
      }
      case 'loose': {
        const text = typeof v === 'string' ? v : ''
        if (text.trim() === '') {
          if (f.required) fail(`Enter ${f.label.toLowerCase()}.`)
          break
        }
        config[f.key] = parseLoose(text, f.valueTypes)
        break
      }
      case 'object': {
        const obj = v && typeof v === 'object' && !Array.isArray(v) ? (v as FormValues) : {}
        if (!f.required && obj[INCLUDE] !== true) break
        const r = valuesToConfig(f.fields!, obj, {}, hiddenBelow(f.key))
        Object.assign(errors, r.errors)
        config[f.key] = r.config
        break
      }
      case 'union': {
        const obj = v && typeof v === 'object' && !Array.isArray(v) ? (v as FormValues) : {}
        const chosen = f.variants!.find((x) => x.value === obj[f.discriminator!])
        if (!chosen) {
          if (f.required) fail(`Choose ${f.label.toLowerCase()}.`)
          break
        }
        const r = valuesToConfig(chosen.fields, obj, {}, hiddenBelow(f.key))
        Object.assign(errors, r.errors)
        config[f.key] = { [f.discriminator!]: chosen.value, ...r.config }
        break
      }
      case 'integer':
      case 'number': {
        const text = typeof v === 'string' ? v.trim() : ''
        if (text === '') {
          if (f.required) fail(`Enter ${f.label.toLowerCase()}.`)
          break
        }
        const n = Number(text)
        if (!Number.isFinite(n) || (f.kind === 'integer' && !Number.isInteger(n))) fail(f.kind === 'integer' ? `“${text}” is not a whole number.` : `“${text}” is not a number.`)
        else if (f.min !== undefined && n < f.min) fail(`${n} is too small: must be at least ${f.min}${f.max !== undefined ? ` (and at most ${f.max})` : ''}.`)
        else if (f.max !== undefined && n > f.max) fail(`${n} is too large: must be at most ${f.max}.`)
        else config[f.key] = n
        break
      }
      case 'json': {
        const text = typeof v === 'string' ? v.trim() : ''
        if (text === '') {
          if (f.required) fail(`Enter ${f.label.toLowerCase()} (as JSON).`)
          break
        }
        try {
          config[f.key] = JSON.parse(text)
        } catch (e) {
          fail(`This is not valid JSON (${e instanceof Error ? e.message.replace(/^JSON\.parse: /, '') : 'syntax error'}).`)
        }
        break
      }
      default: {
        const text = typeof v === 'string' ? v : ''
        if (text === '') {
          if (f.required) fail(f.kind === 'credential' || f.kind === 'enum' || f.kind === 'inventory-source' ? `Choose ${f.label.toLowerCase()}.` : `Enter ${f.label.toLowerCase()}.`)
          break
        }
        if (f.maxLength !== undefined && text.length > f.maxLength) fail(`Too long: ${text.length} characters, at most ${f.maxLength} allowed.`)
        else if (f.minLength !== undefined && text.length < f.minLength) fail(`Too short: at least ${f.minLength} characters.`)
        config[f.key] = text
      }
    }
  }
  return { config, errors }
}

/** Names the schemas' key patterns ask for, in words; others are quoted as they are. */
const KEY_RULES: Record<string, string> = {
  '^[A-Za-z_][A-Za-z0-9_]*$': 'use letters, digits and _, not starting with a digit',
  '^[^\\s:]+$': 'no spaces or colons',
  '^tag_[-\\w]+$': 'it starts with tag_, then letters, digits, _ or -',
}

/** Why a map entry's name is refused. */
export function keyPatternMessage(key: string, pattern: string): string {
  const rule = KEY_RULES[pattern]
  return rule ? `“${key}” is not a valid name: ${rule}.` : `“${key}” is not a valid name here (it must match ${pattern}).`
}

/** What one entry of a list is called in messages: "Commands" → "command". */
export function itemName(f: Pick<FormField, 'label'>): string {
  const l = f.label.replace(/\s*\(.*\)$/, '')
  const word = l.charAt(0) === l.charAt(0).toUpperCase() && l.slice(0, 3) !== l.slice(0, 3).toUpperCase() ? l.charAt(0).toLowerCase() + l.slice(1) : l
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`
  // "Expected statuses" → "expected status", "Prefixes" → "prefix".
  if (/(us|ss|sh|ch|x)es$/.test(word)) return word.slice(0, -2)
  return word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word
}

/** Keys of a config the schema does not describe (kept as they are when editing). */
export function unknownKeys(fields: readonly FormField[], config: unknown): Record<string, unknown> {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return {}
  const known = new Set(fields.map((f) => f.key))
  return Object.fromEntries(Object.entries(config as Record<string, unknown>).filter(([k]) => !known.has(k)))
}
