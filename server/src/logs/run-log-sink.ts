/**
 * The log sink an executor writes to for one run: classifies output lines and masks secret parameter
 * values (and credential secrets) before anything reaches the database.
 */
import type { LogLevel, OutputStream, RunLogSink } from '../jobs/executors/types.ts'
import { classifyLine } from './classify.ts'
import type { LogWriter } from './log-writer.ts'

const MASK = '••••••'

export function createSecretMasker(secrets: Iterable<string>): (text: string) => string {
  // Longest first so a secret that contains another is masked whole; very short values would mask
  // ordinary words, so they are left alone (a 1-2 character secret is not a secret anyway).
  const list = [...new Set([...secrets].filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length)
  if (!list.length) return (t) => t
  return (text) => {
    let out = text
    for (const s of list) if (out.includes(s)) out = out.split(s).join(MASK)
    return out
  }
}

export function createRunLogSink(writer: LogWriter, runId: string, secrets: Iterable<string>): RunLogSink {
  const mask = createSecretMasker(secrets)
  return {
    output(runTargetId: string, stream: OutputStream, text: string) {
      const clean = mask(text)
      writer.append({ runId, targetId: runTargetId, stream, level: classifyLine(stream, clean), text: clean })
    },
    system(text: string, options: { level?: LogLevel; runTargetId?: string } = {}) {
      writer.append({ runId, targetId: options.runTargetId ?? null, stream: 'SYSTEM', level: options.level ?? 'INFO', text: mask(text) })
    },
  }
}
