/**
 * The `changes` of an audit event: which fields changed and, for ordinary fields, their old and new
 * values. An audit trail is read by people and kept for a year, so values stay small (long ones are cut)
 * and secrets are never values at all: a secret field's entry is only the string "changed".
 */
import { excerpt } from '../../util/excerpt.ts'

/** The whole entry of a secret field (password, private key, passphrase, SECRET parameter, token). */
export const SECRET_CHANGED = 'changed'
/** Longer values (strings, or JSON of objects/arrays) are cut to this many characters plus "…". */
export const MAX_VALUE_CHARS = 200

export type FieldChange = { old?: unknown; new?: unknown } | typeof SECRET_CHANGED
export type Changes = Record<string, FieldChange>

type Row = Record<string, unknown>

/**
 * A value as stored in an event: dates as ISO strings, long strings and large structures cut, and no
 * U+0000 (jsonb cannot hold it; a login attempt may carry one).
 */
export function auditValue(value: unknown): unknown {
  const v = normalize(value)
  if (typeof v === 'string') return clip(v)
  if (v !== null && typeof v === 'object') {
    const json = JSON.stringify(v)
    return json.length > MAX_VALUE_CHARS ? clip(json) : v
  }
  return v
}

/** A free-text snapshot (actor or entity name): no NUL, bounded. */
export function auditText(value: string | null | undefined): string | null {
  return value == null ? null : clip(value.replaceAll('\u0000', '\uFFFD'))
}

/** A created entity: its given (non-empty) fields as `{ new }`. */
export function created(row: Row, fields: readonly string[]): Changes {
  const out: Changes = {}
  for (const f of fields) {
    const v = normalize(row[f])
    if (isEmpty(v)) continue
    out[f] = { new: auditValue(v) }
  }
  return out
}

/**
 * An updated entity: the fields whose value differs between the rows before and after the write (both
 * as the database returned them, so a field set to its current value is no change).
 */
export function changed(before: Row, after: Row, fields: readonly string[]): Changes {
  const out: Changes = {}
  for (const f of fields) {
    const a = normalize(before[f])
    const b = normalize(after[f])
    if (canonicalJson(a) === canonicalJson(b)) continue
    out[f] = { old: auditValue(a), new: auditValue(b) }
  }
  return out
}

/** Secret fields that were given (set, replaced or cleared): recorded by name only. */
export function secretsChanged(names: ReadonlyArray<string | false | null | undefined>): Changes {
  return Object.fromEntries(names.filter((n): n is string => !!n).map((n) => [n, SECRET_CHANGED]))
}

function normalize(value: unknown): unknown {
  if (value === undefined) return null
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD')
  if (typeof value === 'bigint') return Number(value)
  // Bytes are sealed secrets or file contents: never an audit value.
  if (value instanceof Uint8Array) return SECRET_CHANGED
  if (Array.isArray(value)) return value.map(normalize)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replaceAll('\u0000', '\uFFFD'), normalize(v)]))
  return value
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === '') return true
  if (Array.isArray(v)) return v.length === 0
  return typeof v === 'object' && Object.keys(v as object).length === 0
}

function clip(s: string): string {
  return excerpt(s, MAX_VALUE_CHARS)
}

/** JSON with sorted keys: jsonb reorders keys, so two equal objects may come back in different orders. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x))
}
