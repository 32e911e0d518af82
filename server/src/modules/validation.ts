/** Zod parsing that reports every problem with the input field it concerns. */
import type { z } from 'zod'
import { ValidationError, type FieldProblem } from '../errors.ts'

export function zodProblems(error: z.ZodError, base: string): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: [base, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }))
}

/** JSON-like values nested deeper than this are refused (nothing the product stores comes close). */
export const MAX_INPUT_DEPTH = 64

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Why a string cannot be stored as text, or null when it can. */
export function textProblem(s: string): string | null {
  // Postgres cannot store U+0000 in text or jsonb, and a lone UTF-16 surrogate has no UTF-8 form:
  // either would fail in the database as an internal error.
  if (s.includes('\u0000')) return 'must not contain NUL (\\u0000) characters'
  if (LONE_SURROGATE.test(s)) return 'must be valid Unicode text (no unpaired UTF-16 surrogates)'
  return null
}

/**
 * Every string (or object key) that Postgres could not store, and every part nested deeper than
 * MAX_INPUT_DEPTH, by field. Iterative: input nested thousands of levels deep must not overflow
 * the stack. Stops at `limit` problems.
 */
export function nulProblems(value: unknown, path: string, out: FieldProblem[] = [], limit = 20): FieldProblem[] {
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: value, path, depth: 0 }]
  while (stack.length && out.length < limit) {
    const { v, path: p, depth } = stack.pop()!
    if (typeof v === 'string') {
      const problem = textProblem(v)
      if (problem) out.push({ field: p, message: problem })
      continue
    }
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof Date) continue
    if (depth >= MAX_INPUT_DEPTH) {
      out.push({ field: p, message: `nested too deeply (at most ${MAX_INPUT_DEPTH} levels)` })
      continue
    }
    const entries = Array.isArray(v) ? v.map((item, i) => [String(i), item] as const) : Object.entries(v)
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, item] = entries[i]!
      const keyProblem = Array.isArray(v) ? null : textProblem(k)
      if (keyProblem) out.push({ field: p, message: `keys ${keyProblem}` })
      else stack.push({ v: item, path: p ? `${p}.${k}` : k, depth: depth + 1 })
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
