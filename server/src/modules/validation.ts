/** Zod parsing that reports every problem with the input field it concerns. */
import type { z } from 'zod'
import { ValidationError, type FieldProblem } from '../errors.ts'

export function zodProblems(error: z.ZodError, base: string): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: [base, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }))
}

/**
 * Postgres cannot store U+0000 in text or jsonb: such input would fail in the database as an internal
 * error. Reports every string (or object key) holding one, by field.
 */
export function nulProblems(value: unknown, path: string, out: FieldProblem[] = []): FieldProblem[] {
  const message = 'must not contain NUL (\\u0000) characters'
  if (typeof value === 'string') {
    if (value.includes('\u0000')) out.push({ field: path, message })
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => nulProblems(v, `${path}.${i}`, out))
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) out.push({ field: path, message })
      else nulProblems(v, path ? `${path}.${k}` : k, out)
    }
  }
  return out
}

/** For search/filter arguments (compared as SQL text, which fails on U+0000): a field error instead. */
export function rejectNul(filter: object): void {
  const problems = nulProblems(filter, '')
  if (problems.length) throw new ValidationError(problems)
}

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, base = 'input'): z.output<S> {
  const nul = nulProblems(value, base)
  if (nul.length) throw new ValidationError(nul)
  const result = schema.safeParse(value)
  if (!result.success) throw new ValidationError(zodProblems(result.error, base))
  return result.data
}

/**
 * For updates: every field optional, and only the fields the caller gave come back. Zod 4 applies a
 * field's `.default()` even under `.partial()`, so parsing a patch with `schema.partial()` alone
 * turned every omitted field into its default and the update then reset it (renaming a template made
 * it PRIVATE and dropped its parameters; updating a target's port cleared its tags…).
 */
export function parsePatch<S extends z.ZodObject>(schema: S, value: unknown, base = 'input'): Partial<z.output<S>> {
  const parsed = parseInput(schema.partial(), value, base) as Record<string, unknown>
  const given = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {}
  return Object.fromEntries(Object.entries(parsed).filter(([k]) => given[k] !== undefined)) as Partial<z.output<S>>
}
