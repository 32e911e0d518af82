/** Template parameter definitions as the editor holds them, and run-time values as the Run-now dialog does. */
export type ParameterType = 'STRING' | 'INT' | 'BOOL' | 'CHOICE' | 'SECRET'
export const PARAMETER_TYPES: readonly ParameterType[] = ['STRING', 'INT', 'BOOL', 'CHOICE', 'SECRET']

export interface ParameterDefinition {
  name: string
  type: ParameterType
  label?: string | null
  description?: string | null
  required: boolean
  default?: unknown
  choices?: readonly string[] | null
}

export interface ParameterDraft {
  name: string
  type: ParameterType
  label: string
  description: string
  required: boolean
  /** As typed; booleans for BOOL. */
  default: string | boolean
  choices: string[]
}

export interface ParameterInput {
  name: string
  type: ParameterType
  label?: string
  description?: string
  required: boolean
  default?: string | number | boolean
  choices?: string[]
}

export const newParameter = (): ParameterDraft => ({ name: '', type: 'STRING', label: '', description: '', required: false, default: '', choices: [] })

export function toDraft(p: ParameterDefinition): ParameterDraft {
  return {
    name: p.name,
    type: p.type,
    label: p.label ?? '',
    description: p.description ?? '',
    required: p.required,
    default: p.type === 'BOOL' ? p.default === true : p.default == null ? '' : String(p.default),
    choices: [...(p.choices ?? [])],
  }
}

/** The API input; a default that does not parse is sent as typed so the API names the problem. */
export function toInput(d: ParameterDraft): ParameterInput {
  const out: ParameterInput = { name: d.name.trim(), type: d.type, required: d.required }
  if (d.label.trim()) out.label = d.label.trim()
  if (d.description.trim()) out.description = d.description.trim()
  if (d.type === 'CHOICE') out.choices = d.choices
  if (d.type === 'BOOL') out.default = d.default === true
  else if (d.type !== 'SECRET' && typeof d.default === 'string' && d.default !== '') {
    out.default = d.type === 'INT' && /^-?\d+$/.test(d.default.trim()) ? Number(d.default.trim()) : d.default
  }
  return out
}

export type RunValues = Record<string, string | boolean>

export function initialRunValues(defs: readonly ParameterDefinition[]): RunValues {
  const v: RunValues = {}
  for (const d of defs) {
    if (d.type === 'BOOL') v[d.name] = d.default === true
    else if (d.type === 'CHOICE') v[d.name] = d.default != null ? String(d.default) : d.required ? (d.choices?.[0] ?? '') : ''
    else v[d.name] = d.default != null ? String(d.default) : ''
  }
  return v
}

/** Values for triggerJobRun: empty optional ones are left out so defaults apply; numbers are numbers. */
export function runParameters(defs: readonly ParameterDefinition[], values: RunValues): { parameters: Record<string, unknown>; errors: Record<string, string> } {
  const parameters: Record<string, unknown> = {}
  const errors: Record<string, string> = {}
  for (const d of defs) {
    const v = values[d.name]
    const key = `parameters.${d.name}`
    if (d.type === 'BOOL') {
      parameters[d.name] = v === true
      continue
    }
    const text = typeof v === 'string' ? v : ''
    if (text === '') {
      if (d.required && d.default == null) errors[key] = 'required'
      continue
    }
    if (d.type === 'INT') {
      if (!/^-?\d+$/.test(text.trim())) errors[key] = 'must be a whole number'
      else parameters[d.name] = Number(text.trim())
    } else parameters[d.name] = text
  }
  return { parameters, errors }
}

/**
 * Stored values (a dependency's or a schedule's parameters) as the form's text fields: every parameter of
 * the definitions, blank when not set (so its default applies).
 */
export function overrideValues(defs: readonly ParameterDefinition[], stored: unknown): RunValues {
  const s = (stored && typeof stored === 'object' ? stored : {}) as Record<string, unknown>
  const out: RunValues = {}
  for (const d of defs) {
    const v = s[d.name]
    out[d.name] = v === undefined || v === null ? '' : typeof v === 'boolean' ? v : String(v)
  }
  return out
}

/**
 * The form's values back as parameter values: blanks left out (the template's default applies), whole
 * numbers for INT as numbers; anything else as typed, for the API to check and name. SECRET parameters are
 * never sent (a dependency may not set them; the template's default is used).
 */
export function overrideInput(defs: readonly ParameterDefinition[], values: RunValues, { secrets = true }: { secrets?: boolean } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const d of defs) {
    if (d.type === 'SECRET' && !secrets) continue
    const v = values[d.name]
    if (v === undefined || v === '') continue
    out[d.name] = d.type === 'INT' && typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v
  }
  return out
}
