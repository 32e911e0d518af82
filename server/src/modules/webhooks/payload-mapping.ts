/**
 * How a webhook's JSON body becomes parameter values: each mapped parameter takes either the value at a
 * path in the body (a JSON pointer `/repository/name`, or dots `repository.name`, `commits.0.id`) or a
 * literal. A path that is absent leaves the parameter out (its default applies, or the required-check
 * refuses the call). The values are then validated like any trigger's (resolveParameters / planRun).
 */
import { z } from 'zod'
import type { FieldProblem } from '../../errors.ts'
import type { ParameterDefinition } from '../templates/parameters.ts'

export const mappingEntry = z.union([
  z.object({ path: z.string().trim().min(1, 'a JSON pointer (/a/b) or a dot path (a.b)').max(500) }).strict(),
  z.object({ value: z.unknown() }).strict(),
])
export const mappingSchema = z.record(z.string(), mappingEntry)
export type PayloadMapping = z.output<typeof mappingSchema>

/** The segments of a path: a JSON pointer (RFC 6901 escapes) or a dot path. */
export function pathSegments(path: string): string[] {
  if (path.startsWith('/')) return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  return path.split('.')
}

/** The value at `path` in `doc`, or undefined when any segment is missing. */
export function valueAt(doc: unknown, path: string): unknown {
  let at: unknown = doc
  for (const seg of pathSegments(path)) {
    if (Array.isArray(at) && /^(0|[1-9]\d*)$/.test(seg)) at = at[Number(seg)]
    else if (at !== null && typeof at === 'object' && !Array.isArray(at) && Object.hasOwn(at, seg)) at = (at as Record<string, unknown>)[seg]
    else return undefined
  }
  return at
}

/** The parameter values a body maps to (absent paths left out). */
export function mapPayload(mapping: PayloadMapping, body: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, entry] of Object.entries(mapping)) {
    const v = 'path' in entry ? valueAt(body, entry.path) : entry.value
    if (v !== undefined) out[name] = v
  }
  return out
}

/**
 * Checks a mapping against the parameter definitions when it is saved: every key a parameter, no SECRET
 * literal (it would be stored in clear: map it from the body instead), every required parameter without
 * a default mapped. Literal types are checked by the caller with resolveParameters.
 */
export function mappingProblems(mapping: PayloadMapping, defs: ParameterDefinition[], base: string): FieldProblem[] {
  const problems: FieldProblem[] = []
  for (const [name, entry] of Object.entries(mapping)) {
    const def = defs.find((d) => d.name === name)
    if (!def) problems.push({ field: `${base}.${name}`, message: `no such parameter (known: ${defs.map((d) => d.name).join(', ') || 'none'})` })
    else if (def.type === 'SECRET' && 'value' in entry) problems.push({ field: `${base}.${name}`, message: 'a SECRET parameter cannot have a literal here (it would be stored in clear): map it from the payload' })
    else if ('path' in entry && entry.path.split(/[./]/).length > 32) problems.push({ field: `${base}.${name}`, message: 'at most 32 path segments' })
  }
  for (const d of defs) {
    if (d.required && (d.default === undefined || d.default === null) && !(d.name in mapping)) {
      problems.push({ field: `${base}.${d.name}`, message: 'required and without a default: map it from the payload or give a literal' })
    }
  }
  return problems
}
