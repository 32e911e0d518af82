/**
 * Inbound webhook endpoints in the console, the parts worth testing without a browser: the parameter
 * mapping as editable rows and back (literals typed by their parameter), the URL the token makes, the
 * "how to call it" snippet, and a call's outcome in words.
 */
import type { ParameterDefinition } from './parameters'

export type MappingSource = 'path' | 'value'

/** One parameter's mapping as the form edits it: a path into the body, or a literal as typed. */
export interface MappingRow {
  parameter: string
  source: MappingSource
  text: string
}

/** The endpoint's `parameterMapping` JSON as rows (literals shown as text: `true`, `42`, `prod`). */
export function mappingRows(mapping: unknown): MappingRow[] {
  if (!mapping || typeof mapping !== 'object' || Array.isArray(mapping)) return []
  return Object.entries(mapping as Record<string, unknown>).map(([parameter, entry]) => {
    const e = (entry ?? {}) as { path?: unknown; value?: unknown }
    if (typeof e.path === 'string') return { parameter, source: 'path', text: e.path }
    const v = e.value
    return { parameter, source: 'value', text: v == null ? '' : typeof v === 'string' ? v : JSON.stringify(v) }
  })
}

/**
 * The rows back as the API's `parameterMapping`. A literal takes its parameter's type (INT → number,
 * BOOL → true/false) so the API checks it as such; one it cannot read is sent as typed, so the API names
 * the problem. Problems the form can see itself are keyed `parameterMapping.<parameter>` like the API's.
 */
export function mappingInput(rows: readonly MappingRow[], defs: readonly ParameterDefinition[]): { mapping: Record<string, { path: string } | { value: unknown }>; errors: Record<string, string> } {
  const mapping: Record<string, { path: string } | { value: unknown }> = {}
  const errors: Record<string, string> = {}
  rows.forEach((r, i) => {
    const name = r.parameter.trim()
    if (!name) {
      if (r.text.trim()) errors[`parameterMapping.row${i}`] = 'Choose the parameter this value is for.'
      return
    }
    const key = `parameterMapping.${name}`
    if (name in mapping) {
      errors[key] = `“${name}” is mapped twice: keep one row.`
      return
    }
    if (r.source === 'path') {
      if (!r.text.trim()) errors[key] = 'Enter a JSON path, e.g. /repository/name or repository.name.'
      else mapping[name] = { path: r.text.trim() }
      return
    }
    const type = defs.find((d) => d.name === name)?.type
    const t = r.text.trim()
    if (type === 'INT' && /^-?\d+$/.test(t)) mapping[name] = { value: Number(t) }
    else if (type === 'BOOL' && (t === 'true' || t === 'false')) mapping[name] = { value: t === 'true' }
    else mapping[name] = { value: r.text }
  })
  return { mapping, errors }
}

/** The full URL to POST to: the API's origin and the path the server gave (`/hooks/whk_…`). */
export function webhookUrl(origin: string, path: string): string {
  return `${origin.replace(/\/+$/, '')}${path.startsWith('/') ? '' : '/'}${path}`
}

/**
 * An example body with a value at every mapped path, so the snippet starts the run it shows:
 * `/repository/name` and `ref` give {"repository":{"name":"…"},"ref":"…"}. Array indexes become objects'
 * keys only when the path says so (`commits.0.id` → {"commits":[{"id":"…"}]}).
 */
export function exampleBody(rows: readonly MappingRow[], defs: readonly ParameterDefinition[]): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  for (const r of rows) {
    if (r.source !== 'path' || !r.text.trim()) continue
    const path = r.text.trim()
    const segs = path.startsWith('/') ? path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')) : path.split('.')
    const def = defs.find((d) => d.name === r.parameter)
    const sample = def?.type === 'INT' ? 1 : def?.type === 'BOOL' ? true : def?.type === 'CHOICE' && def.choices?.length ? def.choices[0] : def?.default != null && def.type !== 'SECRET' ? def.default : r.parameter
    let at: Record<string, unknown> | unknown[] = body
    segs.forEach((seg, i) => {
      const last = i === segs.length - 1
      const nextIsIndex = !last && /^(0|[1-9]\d*)$/.test(segs[i + 1]!)
      const container = at as Record<string, unknown>
      if (last) container[seg] = sample
      else {
        container[seg] ??= nextIsIndex ? [] : {}
        at = container[seg] as Record<string, unknown>
      }
    })
  }
  return body
}

/** Single quotes for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/**
 * "How to call it": curl with a JSON body, and — for a signed endpoint — the HMAC of `t + "." + body`
 * with openssl, in the header the server checks (`X-Switchyard-Signature: t=<unix seconds>,v1=<hex>`).
 */
export function curlSnippet({ url, signed, body }: { url: string; signed: boolean; body: unknown }): string {
  const lines = [`body=${shellQuote(JSON.stringify(body))}`]
  if (signed) {
    lines.push(
      '# SECRET: the password of the endpoint’s signing credential',
      't=$(date +%s)',
      `sig=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')`,
    )
  }
  const curl = [`curl -sS -X POST ${shellQuote(url)}`, `-H 'content-type: application/json'`]
  if (signed) curl.push(`-H "x-switchyard-signature: t=$t,v1=$sig"`)
  curl.push(`-H "x-switchyard-delivery: $(date +%s%N)"`, `--data "$body"`)
  lines.push(curl.join(' \\\n  '))
  return lines.join('\n')
}

export const CALL_OUTCOMES = ['STARTED', 'SKIPPED', 'REJECTED'] as const

/** A call's outcome in words; a newer server's unknown one readable. */
export function callOutcomeLabel(outcome: string): string {
  return outcome === 'STARTED' ? 'Started a run' : outcome === 'SKIPPED' ? 'Skipped' : outcome === 'REJECTED' ? 'Refused' : outcome.charAt(0) + outcome.slice(1).toLowerCase()
}

/** "64 KiB", "1 MiB", "500 bytes": a body cap in words. */
export function bytesInWords(n: number): string {
  if (n >= 1_048_576 && n % 1_048_576 === 0) return `${n / 1_048_576} MiB`
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`
  return `${n.toLocaleString('en')} bytes`
}
