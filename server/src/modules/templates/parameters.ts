/**
 * Typed template parameters: definitions (validated when a template is saved) and values (validated
 * when a run is triggered). Secret values are split off so they are stored encrypted and never shown.
 */
import { z } from 'zod'
import { ValidationError, type FieldProblem } from '../../errors.ts'
import { nulProblems } from '../validation.ts'

export const PARAMETER_TYPES = ['STRING', 'INT', 'BOOL', 'CHOICE', 'SECRET'] as const
export type ParameterType = (typeof PARAMETER_TYPES)[number]
export const REDACTED = '••••••'

export const parameterDefinitionSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/, 'must be an identifier (letters, digits, _; not starting with a digit)'),
    type: z.enum(PARAMETER_TYPES),
    label: z.string().max(200).optional(),
    description: z.string().max(2000).optional(),
    required: z.boolean().default(false),
    default: z.union([z.string(), z.number(), z.boolean()]).nullish(),
    choices: z.array(z.string().min(1)).max(500).optional(),
  })
  .superRefine((def, ctx) => {
    if (def.type === 'CHOICE' && !def.choices?.length) ctx.addIssue({ code: 'custom', path: ['choices'], message: 'a CHOICE parameter needs choices' })
    if (def.type !== 'CHOICE' && def.choices) ctx.addIssue({ code: 'custom', path: ['choices'], message: 'only CHOICE parameters have choices' })
    if (def.type === 'SECRET' && def.default != null) ctx.addIssue({ code: 'custom', path: ['default'], message: 'a SECRET parameter cannot have a default (it would be stored in clear)' })
    if (def.default != null) {
      const problem = checkValue(def, def.default)
      if (problem) ctx.addIssue({ code: 'custom', path: ['default'], message: problem })
    }
  })
export type ParameterDefinition = z.output<typeof parameterDefinitionSchema>

export const parameterDefinitionsSchema = z.array(parameterDefinitionSchema).max(100).superRefine((defs, ctx) => {
  const seen = new Set<string>()
  defs.forEach((d, i) => {
    if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate parameter "${d.name}"` })
    seen.add(d.name)
  })
})

function checkValue(def: ParameterDefinition, value: unknown): string | null {
  switch (def.type) {
    case 'STRING':
    case 'SECRET':
      return typeof value === 'string' ? null : 'must be a string'
    case 'INT':
      return typeof value === 'number' && Number.isSafeInteger(value) ? null : 'must be an integer'
    case 'BOOL':
      return typeof value === 'boolean' ? null : 'must be true or false'
    case 'CHOICE':
      return typeof value === 'string' && def.choices?.includes(value) ? null : `must be one of: ${def.choices?.join(', ')}`
  }
}

/** Lenient input coercion for values typed in forms or CLIs ("42", "true"). */
function coerce(def: ParameterDefinition, value: unknown): unknown {
  if (def.type === 'INT' && typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value.trim())
  if (def.type === 'BOOL' && typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true'
  return value
}

export interface ResolvedParameters {
  /** What users see: secrets replaced by a mask. */
  visible: Record<string, unknown>
  /** Secret values only, to be encrypted. */
  secrets: Record<string, string>
}

export function resolveParameters(defs: ParameterDefinition[], given: unknown, base = 'parameters'): ResolvedParameters {
  const problems: FieldProblem[] = []
  const values = given == null ? {} : given
  if (typeof values !== 'object' || Array.isArray(values)) throw ValidationError.field(base, 'must be an object of parameter values')
  // Stored as jsonb, which cannot hold U+0000: an input error, not a database failure.
  const nul = nulProblems(values, base)
  if (nul.length) throw new ValidationError(nul)
  const input = values as Record<string, unknown>
  const visible: Record<string, unknown> = {}
  const secrets: Record<string, string> = {}
  for (const key of Object.keys(input)) {
    if (!defs.some((d) => d.name === key)) problems.push({ field: `${base}.${key}`, message: 'unknown parameter' })
  }
  for (const def of defs) {
    let value = input[def.name] === undefined ? def.default : coerce(def, input[def.name])
    if (value == null || value === '') {
      if (def.required) problems.push({ field: `${base}.${def.name}`, message: 'required' })
      continue
    }
    const problem = checkValue(def, value)
    if (problem) {
      problems.push({ field: `${base}.${def.name}`, message: problem })
      continue
    }
    if (def.type === 'SECRET') {
      secrets[def.name] = value as string
      visible[def.name] = REDACTED
    } else visible[def.name] = value
  }
  if (problems.length) throw new ValidationError(problems)
  return { visible, secrets }
}
