/**
 * What the dispatcher stores for a successful target's outputs file: parsed against the template's
 * declarations (jobs/step-outputs.ts), SECRET values sealed apart and shown as a mask, the rest masked
 * by the run's masker like every other stored string, and the lines the run's log gets about it.
 */
import type { SecretBox } from '../crypto/secret-box.ts'
import { maskDeep } from '../logs/run-log-sink.ts'
import type { StoredOutputs } from './run-store.ts'
import { OUTPUT_MASK, parseOutputs, type OutputDeclaration } from './step-outputs.ts'

export interface TargetOutputs {
  /** For run_target (null: nothing published). */
  stored: StoredOutputs | null
  /** SECRET values just published: they join the run's masker before anything else is written. */
  secrets: string[]
  /** Substrings that select stored log lines which may hold one of them (see run-store maskStoredLog). */
  needles: string[]
  /** For the run's log: WARNING problems, then an INFO summary when something was published. */
  warnings: string[]
  summary: string | null
}

/**
 * `mask` must be a function that reads the run's current masker: it is called only after `onSecrets`
 * has added the new secrets (so a plain output quoting a SECRET one is masked too).
 */
export function targetOutputs(file: Buffer, declarations: readonly OutputDeclaration[], box: SecretBox, onSecrets: (values: string[]) => void, mask: (text: string) => string): TargetOutputs {
  const parsed = parseOutputs(file, declarations)
  const secrets = [...parsed.secret].map((k) => parsed.values[k] as string).filter((v) => v.length > 0)
  if (secrets.length) onSecrets(secrets)
  const needles = secrets.flatMap(needlesOf)
  const names = Object.keys(parsed.values)
  if (!names.length) return { stored: null, secrets, needles, warnings: parsed.problems, summary: null }
  const visible: Record<string, unknown> = {}
  const sealed: Record<string, unknown> = {}
  for (const name of names) {
    if (parsed.secret.has(name)) {
      visible[name] = OUTPUT_MASK
      sealed[name] = parsed.values[name]
    } else visible[mask(name)] = maskDeep(parsed.values[name], mask)
  }
  const secretNames = names.filter((n) => parsed.secret.has(n))
  return {
    stored: { visible, sealed: secretNames.length ? box.seal(JSON.stringify(sealed)) : null },
    secrets,
    needles,
    warnings: parsed.problems,
    summary: `published ${names.length} ${names.length === 1 ? 'output' : 'outputs'}: ${names.join(', ')}${secretNames.length ? ` (SECRET: ${secretNames.join(', ')})` : ''}`,
  }
}

/** Each line of a (multi-line) secret, as the masker matches them; very short ones are never masked alone. */
function needlesOf(secret: string): string[] {
  return secret.split(/\r?\n|\r/).map((l) => l.trim()).filter((l) => l.length >= 3)
}
