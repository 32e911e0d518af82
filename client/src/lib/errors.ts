/**
 * API errors → what a form shows: messages keyed by field (from `extensions.fields`/`extensions.field`,
 * with the `input.` prefix removed, e.g. `config.commands.0`) and one general message for the rest.
 */
export interface ApiErrorLike {
  message: string
  networkError?: { message: string } | undefined
  graphQLErrors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> | undefined }>
}

export interface FormErrors {
  /** Not tied to a field (or tied to one the form does not show: see `unclaimed`). */
  form: string | null
  fields: Record<string, string>
  code: string | null
}

export const NO_ERRORS: FormErrors = { form: null, fields: {}, code: null }

const PREFIXES = ['input.']

export function normaliseField(field: string): string {
  for (const p of PREFIXES) if (field.startsWith(p)) return field.slice(p.length)
  return field === 'input' ? '' : field
}

const CRON_RANGES: Record<string, string> = { '0-59': 'minute (or second)', '0-23': 'hour', '1-31': 'day of the month', '1-12': 'month', '0-7': 'day of the week', '0-6': 'day of the week' }

/**
 * Validator wording → plain words. The API's messages are mostly written for people already; these are
 * the library ones that reach a form as they are (zod's defaults, the cron parser's).
 */
export function friendlyMessage(message: string): string {
  const m = message.trim()
  if (/^required\.?$/i.test(m) || /^Invalid input: expected \w+, received undefined$/i.test(m)) return 'This field is required.'
  let r = /Constraint error, got value (\S+) expected range (\d+)-(\d+)/i.exec(m)
  if (r) return `${r[1]} is out of range${CRON_RANGES[`${r[2]}-${r[3]}`] ? ` for the ${CRON_RANGES[`${r[2]}-${r[3]}`]} field` : ''}: use ${r[2]} to ${r[3]}.`
  r = /^Too small: expected (number|string|array|set) to (?:be|have) >=?(\d+)(?: (characters|items))?/i.exec(m)
  if (r) return r[1] === 'number' ? `Must be at least ${r[2]}.` : r[2] === '1' ? (r[1] === 'string' ? 'Must not be empty.' : 'Add at least one entry.') : `Needs at least ${r[2]} ${r[1] === 'string' ? 'characters' : 'entries'}.`
  r = /^Too big: expected (number|string|array|set) to (?:be|have) <=?(\d+)(?: (characters|items))?/i.exec(m)
  if (r) return r[1] === 'number' ? `Must be at most ${r[2]}.` : `At most ${r[2]} ${r[1] === 'string' ? 'characters' : 'entries'} are allowed.`
  r = /^Invalid input: expected (\w+), received (\w+)$/i.exec(m)
  if (r) return `Expected ${r[1] === 'int' ? 'a whole number' : `a ${r[1]}`}, got a ${r[2]}.`
  return message
}

/** A field path in words: `config.commands.0` → "Config, commands, entry 1". */
export function fieldPlace(path: string): string {
  return path
    .split('.')
    .map((p) => (/^\d+$/.test(p) ? `entry ${Number(p) + 1}` : p.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()))
    .join(', ')
    .replace(/^./, (c) => c.toUpperCase())
}

export function toFormErrors(error: ApiErrorLike | null | undefined): FormErrors {
  if (!error) return NO_ERRORS
  if (error.networkError && !error.graphQLErrors?.length) {
    return { form: `Cannot reach the Switchyard server (${error.networkError.message}).`, fields: {}, code: 'NETWORK' }
  }
  const fields: Record<string, string> = {}
  const general: string[] = []
  let code: string | null = null
  for (const e of error.graphQLErrors ?? []) {
    const ext = e.extensions ?? {}
    code ??= typeof ext.code === 'string' ? ext.code : null
    const list = Array.isArray(ext.fields)
      ? (ext.fields as Array<{ field?: unknown; message?: unknown }>)
      : typeof ext.field === 'string'
        ? [{ field: ext.field, message: e.message }]
        : []
    let any = false
    for (const f of list) {
      if (typeof f.field !== 'string') continue
      const key = normaliseField(f.field)
      const msg = friendlyMessage(typeof f.message === 'string' ? f.message : e.message)
      fields[key] = fields[key] ? `${fields[key]}; ${msg}` : msg
      any = true
    }
    if (!any) general.push(friendlyMessage(e.message))
  }
  return { form: general.length ? general.join(' ') : null, fields, code }
}

/** The message for a field or anything below it (`config.commands` also matches `config.commands.2`). */
export function fieldError(errors: FormErrors, field: string): string | undefined {
  if (errors.fields[field]) return errors.fields[field]
  const prefix = `${field}.`
  const below = Object.entries(errors.fields).filter(([k]) => k.startsWith(prefix))
  if (!below.length) return undefined
  // "0.path" → "Entry 1, path": where in a list the problem is, in words.
  return below.map(([k, m]) => `${fieldPlace(k.slice(prefix.length))}: ${m}`).join('; ')
}

/**
 * Field errors the form has no place for (it lists the fields it shows), folded into the general
 * message so nothing the API said is lost.
 */
export function withUnclaimed(errors: FormErrors, shown: readonly string[]): FormErrors {
  const extra = Object.entries(errors.fields).filter(([k]) => !shown.some((s) => k === s || k.startsWith(`${s}.`)))
  if (!extra.length) return errors
  const text = extra.map(([k, m]) => (k ? `${fieldPlace(k)}: ${m}` : m)).join('; ')
  return { ...errors, form: errors.form ? `${errors.form} ${text}` : text }
}

/**
 * One message for an action that has no form (a confirmation, a row button): the general message and
 * every field problem (without the field's name, which means nothing there), so an error the API tied
 * to a field (e.g. `id`, `input.disabled`) is not lost.
 */
export function errorMessage(error: ApiErrorLike | null | undefined): string | null {
  const e = toFormErrors(error)
  const parts = [e.form, ...Object.values(e.fields)].filter((m): m is string => !!m)
  return parts.length ? [...new Set(parts)].join(' ') : null
}
