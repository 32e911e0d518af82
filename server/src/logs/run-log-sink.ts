/**
 * The log sink an executor writes to for one run: classifies output lines and masks secret parameter
 * values (and credential secrets) before anything reaches the database.
 */
import type { LogLevel, OutputStream, RunLogSink } from '../jobs/executors/types.ts'
import { classifyLine } from './classify.ts'
import type { LogWriter } from './log-writer.ts'

const MASK = '••••••'
const MIN_SECRET = 3
/** Lines of a multi-line secret shorter than this (blank lines, short armour) are not masked alone. */
const MIN_SECRET_LINE = 8

/**
 * Masks every occurrence of every secret. Occurrences that overlap or touch (two secrets sharing
 * characters, one inside another) become one mask, so no fragment of either is left in clear.
 * A multi-line secret (a private key) never appears whole in one output line: each of its lines is
 * masked on its own.
 */
export function createSecretMasker(secrets: Iterable<string>): (text: string) => string {
  const list = new Set<string>()
  for (const s of secrets) {
    if (/[\r\n]/.test(s)) {
      for (const part of s.split(/\r?\n|\r/)) if (part.trim().length >= MIN_SECRET_LINE) list.add(part.trim())
    } else if (s.length >= MIN_SECRET) {
      // Very short values would mask ordinary words; a 1-2 character secret is not a secret anyway.
      list.add(s)
    }
  }
  if (!list.size) return (t) => t
  const values = [...list]
  return (text) => {
    const ranges: Array<[number, number]> = []
    for (const s of values) {
      for (let i = text.indexOf(s); i !== -1; i = text.indexOf(s, i + 1)) ranges.push([i, i + s.length])
    }
    if (!ranges.length) return text
    ranges.sort((a, b) => a[0] - b[0])
    let out = ''
    let pos = 0
    let [start, end] = ranges[0]!
    for (const [s, e] of ranges) {
      if (s <= end) {
        end = Math.max(end, e)
        continue
      }
      out += text.slice(pos, start) + MASK
      pos = end
      ;[start, end] = [s, e]
    }
    return out + text.slice(pos, start) + MASK + text.slice(end)
  }
}

/**
 * Applies a masker to every string inside a JSON-like value (object keys too: a result keyed by an
 * output line must not carry a secret in its key). Used for what a run stores besides its log —
 * per-target output tails, errors and results, the run's result and error — so those are masked by
 * the same rules, before they are written.
 */
export function maskDeep<T>(value: T, mask: (text: string) => string): T {
  if (typeof value === 'string') return mask(value) as T
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, mask)) as T
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [mask(k), maskDeep(v, mask)])) as T
  }
  return value
}

/**
 * A run's allowance of stored log output (a retry starts from what earlier attempts stored). Past either cap a line is counted and dropped
 * before it is masked, classified or buffered, so a flood costs no memory and no database writes;
 * the run keeps running. Shared by the sinks of one attempt (a sink is replaced once secrets are known).
 * Bytes are UTF-8 bytes of the output as produced (before masking).
 */
export class LogBudget {
  lines = 0
  bytes = 0
  droppedLines = 0
  droppedBytes = 0

  constructor(
    readonly maxLines: number,
    readonly maxBytes: number,
  ) {}

  /** Whether a line of this text may be stored (and counts it either way). */
  admit(text: string): boolean {
    const size = Buffer.byteLength(text)
    if (this.droppedLines === 0 && this.lines < this.maxLines && this.bytes + size <= this.maxBytes) {
      this.lines++
      this.bytes += size
      return true
    }
    // Once anything is dropped, everything after is too: the stored log is a prefix of the output.
    this.droppedLines++
    this.droppedBytes += size
    return false
  }
}

export function createRunLogSink(writer: LogWriter, runId: string, secrets: Iterable<string>, budget?: LogBudget): RunLogSink {
  const mask = createSecretMasker(secrets)
  return {
    output(runTargetId: string, stream: OutputStream, text: string) {
      if (budget && !budget.admit(text)) return
      const clean = mask(text)
      writer.append({ runId, targetId: runTargetId, stream, level: classifyLine(stream, clean), text: clean })
    },
    system(text: string, options: { level?: LogLevel; runTargetId?: string } = {}) {
      if (budget && !budget.admit(text)) return
      writer.append({ runId, targetId: options.runTargetId ?? null, stream: 'SYSTEM', level: options.level ?? 'INFO', text: mask(text) })
    },
  }
}

/** The run's one line about what its log limit dropped (written with its final status). */
export function droppedLogMessage(lines: number, bytes: number, limits: { lines: number; bytes: number }): string {
  return `log limit reached: ${lines} ${lines === 1 ? 'line' : 'lines'} (${bytes} bytes) of output were not stored (limit ${limits.lines} lines or ${limits.bytes} bytes per run)`
}
