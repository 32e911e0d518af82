/**
 * Paths users influence (a template's config, and the parameters and target attributes rendered into
 * it) must stay where the template author put them: no `..` segment may climb out of the directory
 * the template names, and no NUL or control character may cut or disguise a path. Checked on the
 * template when it is saved, and again on the rendered path before anything is opened.
 */
import { posix } from 'node:path'

/** Why a path (template or rendered) is unsafe, or null. `.` segments are harmless and allowed. */
export function unsafePathReason(path: string): string | null {
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not contain NUL or control characters'
  if (path.split('/').includes('..')) return 'must not contain ".." segments'
  return null
}

/**
 * The directory a path template fixes before its first placeholder (`/srv/{{ site }}/x` → `/srv/`,
 * `{{ dir }}/x` → `/`): the rendered path must stay under it.
 */
export function fixedBase(template: string): string {
  const i = template.indexOf('{{')
  const literal = i === -1 ? template : template.slice(0, i)
  return literal.slice(0, literal.lastIndexOf('/') + 1) || '/'
}

/**
 * Checks a rendered absolute file path against its template; returns it normalised, or throws an
 * Error naming `field` (a permanent failure: retrying renders the same path).
 */
export function checkRenderedPath(template: string, rendered: string, field: string): string {
  const reason = unsafePathReason(rendered)
  if (reason) throw new Error(`${field} "${printable(rendered)}" ${reason}`)
  if (!rendered.startsWith('/') || rendered.endsWith('/')) throw new Error(`${field} "${rendered}" is not an absolute file path`)
  const normal = posix.normalize(rendered)
  const base = fixedBase(template)
  if (!normal.startsWith(base)) throw new Error(`${field} "${rendered}" is outside ${base}`)
  return normal
}

/** A relative name (an artifact's) that must not climb or hide: no `..`, no control characters, not absolute. */
export function checkRelativeName(name: string, field: string): string {
  const reason = unsafePathReason(name) ?? (name.startsWith('/') ? 'must be relative' : null)
  if (reason) throw new Error(`${field} "${printable(name)}" ${reason}`)
  return name
}

function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
