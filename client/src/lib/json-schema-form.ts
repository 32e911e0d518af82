/**
 * Builds a form from a job type's config JSON Schema (as `jobTypes` publishes it) and turns the
 * form's values back into a config object. Handles what job configs use — strings, numbers,
 * booleans, enums, credential pickers, string lists and string maps — and falls back to a JSON editor for anything else,
 * so a new job type always gets a usable form.
 */
export interface JsonSchema {
  type?: string | string[]
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

export type FieldKind = 'string' | 'credential' | 'text' | 'integer' | 'number' | 'boolean' | 'enum' | 'string-list' | 'string-map' | 'json'

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
}

/** What the form holds per field (strings as typed, so half-typed numbers are not lost). */
export type FieldValue = string | boolean | string[] | Array<[string, string]>
export type FormValues = Record<string, FieldValue>

export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

function typeOf(s: JsonSchema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null')
  return s.type
}

function kindOf(s: JsonSchema): FieldKind {
  if (s.enum && s.enum.every((v) => typeof v === 'string')) return 'enum'
  switch (typeOf(s)) {
    case 'string':
      // A stored credential's id (see the server's credential-ref.ts): picked from a list, not typed.
      if (s.format === 'credential-id') return 'credential'
      return (s.maxLength ?? 0) > 200 || s.format === 'multiline' ? 'text' : 'string'
    case 'integer':
      return 'integer'
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'array':
      return s.items && typeOf(s.items) === 'string' && !s.items.enum ? 'string-list' : 'json'
    case 'object':
      if (!s.properties && typeof s.additionalProperties === 'object' && typeOf(s.additionalProperties) === 'string') return 'string-map'
      return 'json'
    default:
      return 'json'
  }
}

export function schemaToFields(schema: JsonSchema | null | undefined, base = 'config'): FormField[] {
  if (!schema || typeof schema !== 'object' || !schema.properties) return []
  const required = new Set(schema.required ?? [])
  return Object.entries(schema.properties).map(([key, s]) => {
    const kind = kindOf(s)
    const field: FormField = { key, path: `${base}.${key}`, label: s.title ?? humanize(key), kind, required: required.has(key) }
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
    if (kind === 'string-list') {
      if (s.minItems !== undefined) field.minItems = s.minItems
      if (s.maxItems !== undefined) field.maxItems = s.maxItems
      if (s.items?.minLength !== undefined) field.minLength = s.items.minLength
    }
    if (kind === 'string-map' && s.propertyNames?.pattern) field.keyPattern = s.propertyNames.pattern
    return field
  })
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
      case 'string-map':
        values[f.key] = v && typeof v === 'object' ? Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)] as [string, string]) : []
        break
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
export function valuesToConfig(fields: readonly FormField[], values: FormValues, extra: Record<string, unknown> = {}): ConfigResult {
  const config: Record<string, unknown> = { ...extra }
  const errors: Record<string, string> = {}
  for (const f of fields) {
    delete config[f.key]
    const v = values[f.key]
    const fail = (msg: string) => (errors[f.path] = msg)
    switch (f.kind) {
      case 'boolean':
        config[f.key] = v === true
        break
      case 'string-list': {
        const items = (Array.isArray(v) ? (v as string[]) : []).filter((s) => typeof s === 'string' && s.trim() !== '')
        if (items.length === 0 && !f.required && !f.minItems) break
        if (f.minItems !== undefined && items.length < f.minItems) fail(f.minItems === 1 ? 'add at least one entry' : `add at least ${f.minItems} entries`)
        else if (f.maxItems !== undefined && items.length > f.maxItems) fail(`at most ${f.maxItems} entries`)
        config[f.key] = items
        break
      }
      case 'string-map': {
        const rows = (Array.isArray(v) ? (v as Array<[string, string]>) : []).filter(([k, x]) => k.trim() !== '' || x !== '')
        if (!rows.length) {
          if (f.required) fail('required')
          break
        }
        const map: Record<string, string> = {}
        for (const [k, x] of rows) {
          const key = k.trim()
          if (!key) fail('every value needs a name')
          else if (f.keyPattern && !new RegExp(f.keyPattern).test(key)) fail(`"${key}" is not a valid name`)
          else if (key in map) fail(`"${key}" is given twice`)
          map[key] = x
        }
        config[f.key] = map
        break
      }
      case 'integer':
      case 'number': {
        const text = typeof v === 'string' ? v.trim() : ''
        if (text === '') {
          if (f.required) fail('required')
          break
        }
        const n = Number(text)
        if (!Number.isFinite(n) || (f.kind === 'integer' && !Number.isInteger(n))) fail(f.kind === 'integer' ? 'must be a whole number' : 'must be a number')
        else if (f.min !== undefined && n < f.min) fail(`must be at least ${f.min}`)
        else if (f.max !== undefined && n > f.max) fail(`must be at most ${f.max}`)
        else config[f.key] = n
        break
      }
      case 'json': {
        const text = typeof v === 'string' ? v.trim() : ''
        if (text === '') {
          if (f.required) fail('required')
          break
        }
        try {
          config[f.key] = JSON.parse(text)
        } catch {
          fail('must be valid JSON')
        }
        break
      }
      default: {
        const text = typeof v === 'string' ? v : ''
        if (text === '') {
          if (f.required) fail('required')
          break
        }
        if (f.maxLength !== undefined && text.length > f.maxLength) fail(`at most ${f.maxLength} characters`)
        else if (f.minLength !== undefined && text.length < f.minLength) fail(`at least ${f.minLength} characters`)
        config[f.key] = text
      }
    }
  }
  return { config, errors }
}

/** Keys of a config the schema does not describe (kept as they are when editing). */
export function unknownKeys(fields: readonly FormField[], config: unknown): Record<string, unknown> {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return {}
  const known = new Set(fields.map((f) => f.key))
  return Object.fromEntries(Object.entries(config as Record<string, unknown>).filter(([k]) => !known.has(k)))
}
