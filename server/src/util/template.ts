/**
 * `{{ name }}` substitution for commands and paths: `{{ params.name }}`, `{{ target.attributes.location }}`…
 * are dotted paths into a vars object.
 *
 * Only `{{ identifier(.identifier)* }}` is a placeholder; anything else between braces (Go templates such
 * as `docker inspect -f '{{.State.Status}}'`, `{{ json . }}`) is left exactly as written.
 *
 * With `quote: 'shell'` every substituted value is POSIX single-quoted, so a parameter can never inject
 * shell syntax: `rm {{ path }}` with path `x; reboot` becomes `rm 'x; reboot'`.
 */

export class TemplateError extends Error {
  constructor(
    message: string,
    /** The placeholder as written, e.g. `params.vlan`. */
    readonly variable: string,
  ) {
    super(message)
    this.name = 'TemplateError'
  }
}

export type TemplateQuote = 'shell' | 'none'

export interface RenderOptions {
  quote: TemplateQuote
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.(?:[A-Za-z_][A-Za-z0-9_-]*|\d+))*)\s*\}\}/g

export function renderTemplate(text: string, vars: Readonly<Record<string, unknown>>, options: RenderOptions): string {
  return text.replace(PLACEHOLDER, (_match, path: string) => {
    const value = lookup(vars, path)
    return options.quote === 'shell' ? formatShell(value) : formatPlain(value)
  })
}

/** The variables a template refers to, in order of first use (for validating templates up front). */
export function templateVariables(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(PLACEHOLDER), (m) => m[1] ?? ''))]
}

/** POSIX single quoting: everything literal; a `'` becomes `'\''` (close, escaped quote, reopen). */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

function lookup(vars: Readonly<Record<string, unknown>>, path: string): unknown {
  let current: unknown = vars
  for (const key of path.split('.')) {
    // Own properties only: `{{ constructor }}` or `{{ x.__proto__ }}` must not reach into prototypes.
    // Lists are indexed by number only (`{{ target.tags.0 }}`), so `.length` is not a variable either.
    const reachable =
      current !== null && typeof current === 'object' && Object.hasOwn(current, key) && (!Array.isArray(current) || /^\d+$/.test(key))
    if (!reachable) {
      throw new TemplateError(`unknown template variable "${path}"`, path)
    }
    current = (current as Record<string, unknown>)[key]
  }
  if (current === undefined) throw new TemplateError(`unknown template variable "${path}"`, path)
  return current
}

function formatPlain(value: unknown): string {
  if (value === null) return ''
  if (Array.isArray(value)) return value.map(formatPlain).join(' ')
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** A list becomes separate words (each quoted), which is what `for t in {{ target.tags }}` wants. */
function formatShell(value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => shellQuote(formatPlain(item))).join(' ')
  return shellQuote(formatPlain(value))
}
