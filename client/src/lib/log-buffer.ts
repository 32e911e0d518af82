/**
 * Holds a run's log in the browser: lines arrive in seq order in batches (replay, then live), and
 * the view (minimum level, target, search text) is an index into them, kept up to date as lines are
 * appended, so a 200,000-line log filters and scrolls without copying lines around.
 */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR'
export const LOG_LEVELS: readonly LogLevel[] = ['DEBUG', 'INFO', 'WARNING', 'ERROR']
const RANK: Record<LogLevel, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 }

export interface LogLine {
  seq: number
  ts: string
  level: LogLevel
  stream: 'STDOUT' | 'STDERR' | 'SYSTEM'
  targetId: string | null
  text: string
}

export interface LogView {
  /** Lines at or above this level; null: all. */
  minLevel: LogLevel | null
  /** A RunTarget id, RUN_LEVEL for lines of the run itself, or null for all. */
  target: string | null
  /** Case-insensitive substring; '' for all. */
  search: string
}

export const RUN_LEVEL = '__run__'
export const ALL_LINES: LogView = { minLevel: null, target: null, search: '' }

export class LogBuffer {
  readonly #lines: LogLine[] = []
  #lower: Array<string | undefined> = []
  #view: LogView = ALL_LINES
  #needle = ''
  #index: number[] | null = null // null: the view shows every line
  #lastSeq = 0
  #counts: Record<LogLevel, number> = { DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0 }
  /** Bumped on every change; lets React re-render cheaply. */
  version = 0

  get lastSeq(): number {
    return this.#lastSeq
  }
  /** Every line received. */
  get total(): number {
    return this.#lines.length
  }
  /** Lines in the current view. */
  get size(): number {
    return this.#index ? this.#index.length : this.#lines.length
  }
  get view(): LogView {
    return this.#view
  }
  get counts(): Readonly<Record<LogLevel, number>> {
    return this.#counts
  }

  /** The i-th line of the current view. */
  at(i: number): LogLine | undefined {
    return this.#index ? this.#lines[this.#index[i]!] : this.#lines[i]
  }

  /**
   * Appends lines after the last one held; lines at or before it (a replay after a reconnect) are
   * skipped. Returns how many were added.
   */
  append(lines: readonly LogLine[]): number {
    let added = 0
    for (const line of lines) {
      if (line.seq <= this.#lastSeq) continue
      this.#lastSeq = line.seq
      const i = this.#lines.push(line) - 1
      this.#counts[line.level]++
      if (this.#index && this.#matches(line, i)) this.#index.push(i)
      added++
    }
    if (added) this.version++
    return added
  }

  setView(view: LogView): void {
    const search = view.search.trim()
    const next = { ...view, search }
    if (next.minLevel === this.#view.minLevel && next.target === this.#view.target && next.search === this.#view.search) return
    this.#view = next
    this.#needle = search.toLowerCase()
    if (!next.minLevel && !next.target && !next.search) this.#index = null
    else {
      const index: number[] = []
      for (let i = 0; i < this.#lines.length; i++) if (this.#matches(this.#lines[i]!, i)) index.push(i)
      this.#index = index
    }
    this.version++
  }

  /** The view (or every line) as plain text, one line per log line, for download. */
  toText(onlyView = false, targetName: (id: string) => string = (id) => id): string {
    const out: string[] = []
    const n = onlyView ? this.size : this.#lines.length
    for (let i = 0; i < n; i++) {
      const l = onlyView ? this.at(i)! : this.#lines[i]!
      out.push(`${l.ts} ${l.level.padEnd(7)} ${l.targetId ? `[${targetName(l.targetId)}] ` : ''}${l.stream === 'STDERR' ? '(stderr) ' : ''}${l.text}`)
    }
    return out.length ? out.join('\n') + '\n' : ''
  }

  #matches(line: LogLine, i: number): boolean {
    const v = this.#view
    if (v.minLevel && RANK[line.level] < RANK[v.minLevel]) return false
    if (v.target) {
      if (v.target === RUN_LEVEL ? line.targetId !== null : line.targetId !== v.target) return false
    }
    if (v.search) {
      const lower = (this.#lower[i] ??= line.text.toLowerCase())
      if (!lower.includes(this.#needle)) return false
    }
    return true
  }
}
