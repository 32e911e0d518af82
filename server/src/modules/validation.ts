/** Zod parsing that reports every problem with the input field it concerns. */
import type { z } from 'zod'
import { ValidationError, type FieldProblem } from '../errors.ts'

export function zodProblems(error: z.ZodError, base: string): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: [base, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }))
}

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, base = 'input'): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) throw new ValidationError(zodProblems(result.error, base))
  return result.data
}
