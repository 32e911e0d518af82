/**
 * Step outputs: what a `command`/`script` target publishes by writing `key=value` lines (or one JSON
 * object) to the file named by $SWITCHYARD_OUTPUTS. Pure functions: the template's declarations (checked
 * at save), parsing with the caps, and the run-level view. The executors only fetch the file's bytes;
 * the dispatcher parses, masks, seals SECRET values and stores them (see README "Step outputs").
 */
import { z } from 'zod'

export const OUTPUTS_ENV = 'SWITCHYARD_OUTPUTS'
/** Bytes of one target's outputs file; a larger file publishes nothing (the executor reads one byte more to tell). */
export const OUTPUTS_MAX_BYTES = 64 * 1024
export const OUTPUTS_MAX_KEYS = 200
export const OUTPUT_KINDS = ['STRING', 'NUMBER', 'BOOL', 'JSON', 'SECRET'] as const
export type OutputKind = (typeof OUTPUT_KINDS)[number]
export const OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
const OUTPUT_NAME_RULE = 'must be an identifier of at most 64 characters (letters, digits, _; not starting with a digit)'
/** What the API shows instead of a SECRET output's value (the same mask as SECRET parameters). */
export const OUTPUT_MASK = '••••••'

export const outputDeclarationSchema = z
  .object({
    name: z.string().regex(OUTPUT_NAME, OUTPUT_NAME_RULE),
    kind: z.enum(OUTPUT_KINDS).default('STRING'),
    description: z.string().max(2000).default(''),
  })
  .strict()
export type OutputDeclaration = z.output<typeof outputDeclarationSchema>

export const outputDeclarationsSchema = z
  .array(outputDeclarationSchema)
  .max(OUTPUTS_MAX_KEYS, `at most ${OUTPUTS_MAX_KEYS} outputs`)
  .superRefine((defs, ctx) => {
    const seen = new Set<string>()
    defs.forEach((d, i) => {
      if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate output "${d.name}"` })
      seen.add(d.name)
    })
  })

export interface ParsedOutputs {
  /** Published values, SECRET ones included (in clear: the caller seals them). */
  values: Record<string, unknown>
  /** Names of the values that are SECRET (declared so). */
  secret: Set<string>
  /** One line each, for the run's log (a dropped key, a value of the wrong kind, a cap). */
  problems: string[]
}

/**
 * Parses an outputs file. One JSON object (the content, trimmed, starts with `{`), or lines of `key=value`
 * (blank lines and `#` comments skipped; the value is everything after the first `=`, kept as is; a
 * repeated key: the last wins). Declared kinds convert and check values; undeclared keys are STRING
 * (JSON values of an object stay as they are). Past a cap nothing or the excess is dropped, with a problem.
 */
export function parseOutputs(content: Buffer, declarations: readonly OutputDeclaration[] = []): ParsedOutputs {
  const out: ParsedOutputs = { values: {}, secret: new Set(), problems: [] }
  if (content.length > OUTPUTS_MAX_BYTES) {
    out.problems.push(`the outputs file is larger than ${OUTPUTS_MAX_BYTES} bytes (64 KiB): no outputs were published`)
    return out
  }
  const text = content.toString('utf8')
  if (text.includes('\u0000')) {
    out.problems.push('the outputs file contains a NUL byte: no outputs were published')
    return out
  }
  let entries: Array<[string, unknown, boolean]> // key, value, raw text (from a key=value line)
  if (text.trim().startsWith('{')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (e) {
      out.problems.push(`the outputs file starts with "{" but is not valid JSON (${(e as Error).message}): no outputs were published`)
      return out
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      out.problems.push('the outputs file must hold one JSON object: no outputs were published')
      return out
    }
    entries = Object.entries(parsed).map(([k, v]) => [k, v, false])
  } else {
    entries = []
    text.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim() || line.trimStart().startsWith('#')) return
      const eq = line.indexOf('=')
      if (eq < 0) out.problems.push(`outputs line ${i + 1} has no "=": ignored (write key=value)`)
      else entries.push([line.slice(0, eq).trim(), line.slice(eq + 1), true])
    })
  }
  const declared = new Map(declarations.map((d) => [d.name, d.kind]))
  let dropped = 0
  for (const [key, raw, isText] of entries) {
    if (!OUTPUT_NAME.test(key)) {
      out.problems.push(`output "${key.slice(0, 80)}" ignored: a name ${OUTPUT_NAME_RULE}`)
      continue
    }
    if (!(key in out.values) && Object.keys(out.values).length >= OUTPUTS_MAX_KEYS) {
      dropped++
      continue
    }
    const kind = declared.get(key) ?? 'STRING'
    const converted = convert(kind, raw, isText, declared.has(key))
    if ('problem' in converted) {
      out.problems.push(`output "${key}" ignored: declared ${kind}, ${converted.problem}`)
      delete out.values[key]
      continue
    }
    out.values[key] = converted.value
    if (kind === 'SECRET') out.secret.add(key)
  }
  if (dropped) out.problems.push(`${dropped} ${dropped === 1 ? 'output was' : 'outputs were'} dropped: at most ${OUTPUTS_MAX_KEYS} outputs per target`)
  return out
}

function convert(kind: OutputKind, raw: unknown, isText: boolean, declared: boolean): { value: unknown } | { problem: string } {
  switch (kind) {
    case 'STRING':
      // Undeclared keys of a JSON object keep their JSON value; a declared STRING is a string.
      return { value: typeof raw === 'string' || !declared ? raw : JSON.stringify(raw) }
    case 'SECRET':
      return { value: typeof raw === 'string' ? raw : JSON.stringify(raw) }
    case 'NUMBER': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : NaN
      return Number.isFinite(n) ? { value: n } : { problem: 'but the value is not a number' }
    }
    case 'BOOL': {
      if (typeof raw === 'boolean') return { value: raw }
      if (typeof raw === 'string' && /^(true|false)$/i.test(raw.trim())) return { value: raw.trim().toLowerCase() === 'true' }
      return { problem: 'but the value is not true or false' }
    }
    case 'JSON': {
      if (!isText) return { value: raw }
      try {
        return { value: JSON.parse(raw as string) }
      } catch {
        return { problem: 'but the value is not valid JSON' }
      }
    }
  }
}

export interface TargetOutputs {
  name: string
  /** Stored outputs (SECRET values masked), or null when the target published none. */
  outputs: Record<string, unknown> | null
}

/**
 * The run-level view: null when no target published outputs; the one target's outputs when the run has
 * exactly one target; otherwise an object keyed by target name, holding the targets that published.
 */
export function runOutputs(targets: readonly TargetOutputs[]): Record<string, unknown> | null {
  const published = targets.filter((t) => t.outputs)
  if (!published.length) return null
  if (targets.length === 1) return published[0]!.outputs
  return Object.fromEntries(published.map((t) => [t.name, t.outputs]))
}
