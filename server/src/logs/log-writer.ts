/**
 * Batches log lines and persists them: per flush, one statement for every run in the batch (rows shipped
 * as arrays through unnest) that also reserves each run's sequence numbers, and one NOTIFY per run
 * carrying only the last sequence number. Never one INSERT or NOTIFY per line.
 *
 * Sequence numbers come from job_run.log_seq inside the same statement, so lines from any process
 * (worker output, API "cancel requested" lines) interleave without gaps or collisions, and a
 * subscriber that reads `seq > cursor` can never miss or repeat a line.
 *
 * A flush that fails because the database is unreachable (restart, network) is retried until it
 * succeeds, and later flushes wait behind it, so no line is lost or reordered; only after close()
 * does the writer give up. A batch Postgres rejects for its content is retried a few times, then
 * written run by run so that one run's bad lines cannot take the others' with them.
 */
import type pg from 'pg'
import { CHANNELS } from '../pubsub/channels.ts'
import { isTransient } from '../db/transient.ts'
import type { LogLevel } from '../jobs/executors/types.ts'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'

export type LogStreamName = 'STDOUT' | 'STDERR' | 'SYSTEM'

export interface PendingLine {
  runId: string
  targetId: string | null
  level: LogLevel
  stream: LogStreamName
  text: string
  /** When the line was appended, epoch milliseconds. */
  ts: number
}

export interface LogWriterOptions {
  /** Upper bound on how long a line waits before it is written (and so before subscribers see it). */
  flushIntervalMs?: number
  /** Flush early once this many lines are waiting. */
  maxBatchLines?: number
  /** First retry delay of a failed flush; doubles per attempt up to 5 s. */
  retryBaseMs?: number
  /** Told each committed batch's line count and text bytes (metrics). */
  onWritten?: (lines: number, bytes: number) => void
}

// Postgres text cannot hold NUL; a binary blob on stdout must not lose the whole batch.
const NUL = /\u0000/g
const MAX_LINE_CHARS = 64 * 1024
/** Attempts for a batch Postgres rejects (not a connection problem), and for any batch after close(). */
const MAX_ATTEMPTS = 5
const MAX_BACKOFF_MS = 5000

/** What a stored line's text becomes: no NUL (Postgres text cannot hold it), at most MAX_LINE_CHARS. */
export function cleanText(text: string): string {
  const t = text.includes('\u0000') ? text.replace(NUL, '\uFFFD') : text
  return t.length > MAX_LINE_CHARS ? t.slice(0, MAX_LINE_CHARS) + ' …[truncated]' : t
}


const INSERT_SQL = `
WITH reserved AS (
  UPDATE job_run SET log_seq = log_seq + $2 WHERE id = $1 RETURNING log_seq - $2 AS base
), inserted AS (
  INSERT INTO run_log (run_id, seq, ts, level, stream, target_id, text)
  SELECT $1, reserved.base + u.ord, u.ts, u.level::"LogLevel", u.stream::"LogStream", u.target_id, u.text
  FROM reserved, unnest($3::timestamptz[], $4::text[], $5::text[], $6::uuid[], $7::text[]) WITH ORDINALITY AS u(ts, level, stream, target_id, text, ord)
  RETURNING seq
)
SELECT pg_notify('${CHANNELS.log}', $1 || ':' || (SELECT base + $2 FROM reserved))::text AS notified, (SELECT base + $2 FROM reserved) AS last_seq`

/**
 * The lines of many runs in one statement (the writer's flush): each run's sequence numbers are reserved
 * by one UPDATE of its job_run row, taken in run id order (`locked`: every writer locks job_run rows in
 * the same order, so two processes writing to the same runs cannot deadlock), the rows inserted in the
 * order given, and one NOTIFY per run with its last seq: a flush costs the same three statements
 * (BEGIN, this, COMMIT) however many runs it carries.
 *
 * The per-line arrays are compact (see encodeBatch): times as epoch milliseconds, level, stream and
 * target as small numbers, the run as the index of its group ($1/$2: each group's run and line count,
 * the lines of group i following those of group i - 1).
 */
const INSERT_MANY_SQL = `
WITH groups AS (
  SELECT g.run_id, g.n::int AS n, g.i::int AS i, (sum(g.n) OVER (ORDER BY g.i) - g.n)::int AS first
    FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS g(run_id, n, i)
), locked AS (
  SELECT r.id FROM job_run r WHERE r.id = ANY($1::uuid[]) ORDER BY r.id FOR UPDATE
), reserved AS (
  UPDATE job_run r SET log_seq = r.log_seq + g.n FROM groups g, locked l
   WHERE r.id = g.run_id AND l.id = g.run_id
   RETURNING r.id, r.log_seq - g.n AS base, r.log_seq AS last_seq, g.i, g.first
), inserted AS (
  INSERT INTO run_log (run_id, seq, ts, level, stream, target_id, text)
  SELECT reserved.id, reserved.base + (u.ord - reserved.first), to_timestamp(0) + u.ms * interval '1 millisecond',
         (ARRAY['DEBUG', 'INFO', 'WARNING', 'ERROR'])[u.level]::"LogLevel", (ARRAY['STDOUT', 'STDERR', 'SYSTEM'])[u.stream]::"LogStream",
         ($8::uuid[])[u.target], u.text
    FROM unnest($3::int[], $4::float8[], $5::int[], $6::int[], $7::int[], $9::text[]) WITH ORDINALITY AS u(grp, ms, level, stream, target, text, ord)
    JOIN reserved ON reserved.i = u.grp
)
SELECT id, pg_notify('${CHANNELS.log}', id || ':' || last_seq)::text AS notified FROM reserved`

const LEVEL_CODE: Record<LogLevel, number> = { DEBUG: 1, INFO: 2, WARNING: 3, ERROR: 4 }
const STREAM_CODE: Record<LogStreamName, number> = { STDOUT: 1, STDERR: 2, SYSTEM: 3 }

/** A Postgres array literal of strings, built directly (pg's own encoder runs two regexes per element). */
function textArrayLiteral(texts: readonly string[]): string {
  const parts = new Array<string>(texts.length)
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i]!
    parts[i] = '"' + (t.includes('\\') || t.includes('"') ? t.replace(/\\/g, '\\\\').replace(/"/g, '\\"') : t) + '"'
  }
  return '{' + parts.join(',') + '}'
}

/** The parameters of INSERT_MANY_SQL for these groups (lines in order within each group). */
function encodeBatch(groups: ReadonlyArray<[string, PendingLine[]]>): unknown[] {
  const grp: number[] = []
  const ms: number[] = []
  const levels: number[] = []
  const streams: number[] = []
  const targets: number[] = []
  const texts: string[] = []
  const targetIndex = new Map<string, number>()
  for (const [g, [, lines]] of groups.entries()) {
    for (const l of lines) {
      grp.push(g + 1)
      ms.push(l.ts)
      levels.push(LEVEL_CODE[l.level])
      streams.push(STREAM_CODE[l.stream])
      let t = 0
      if (l.targetId !== null) {
        t = targetIndex.get(l.targetId) ?? 0
        if (!t) targetIndex.set(l.targetId, (t = targetIndex.size + 1))
      }
      targets.push(t)
      texts.push(l.text)
    }
  }
  const ints = (a: number[]) => '{' + a.join(',') + '}'
  return [
    groups.map(([runId]) => runId),
    groups.map(([, lines]) => lines.length),
    ints(grp), ints(ms), ints(levels), ints(streams), ints(targets),
    [...targetIndex.keys()],
    textArrayLiteral(texts),
  ]
}

/**
 * Appends lines inside the caller's transaction. Used for a run's last words (the line that explains
 * its final status), so the line and the status become visible together: a subscriber that sees the
 * run end has every line of it. The caller must hold no other pending lines for the run.
 */
export async function appendLinesInTransaction(db: { query(text: string, values: unknown[]): Promise<unknown> }, runId: string, lines: Array<Omit<PendingLine, 'runId' | 'ts'>>): Promise<void> {
  if (!lines.length) return
  const now = new Date()
  await db.query(INSERT_SQL, [
    runId,
    lines.length,
    lines.map(() => now),
    lines.map((l) => l.level),
    lines.map((l) => l.stream),
    lines.map((l) => l.targetId),
    lines.map((l) => cleanText(l.text)),
  ])
}

export class LogWriter {
  readonly #pool: pg.Pool
  readonly #logger: Logger
  readonly #flushIntervalMs: number
  readonly #maxBatchLines: number
  readonly #retryBaseMs: number
  readonly #onWritten: ((lines: number, bytes: number) => void) | null
  #pending: PendingLine[] = []
  #timer: NodeJS.Timeout | null = null
  #flushing: Promise<void> = Promise.resolve()
  /** Run id → flushes queued or in flight with lines of the run. */
  readonly #unwritten = new Map<string, number>()
  #closed = false
  #droppedAfterClose = 0

  constructor(pool: pg.Pool, logger: Logger, options: LogWriterOptions = {}) {
    this.#pool = pool
    this.#logger = logger
    this.#flushIntervalMs = options.flushIntervalMs ?? 50
    this.#maxBatchLines = options.maxBatchLines ?? 5000
    this.#retryBaseMs = options.retryBaseMs ?? 100
    this.#onWritten = options.onWritten ?? null
  }

  append(line: Omit<PendingLine, 'ts'> & { ts?: number }): void {
    if (this.#closed) {
      // Output that trails in after shutdown (a stream still draining) must not throw into an
      // executor's event handler and take the process down.
      this.#droppedAfterClose++
      if (this.#droppedAfterClose === 1) this.#logger.warn('log line appended after the log writer closed; dropped', { runId: line.runId })
      return
    }
    this.#pending.push({ runId: line.runId, targetId: line.targetId, level: line.level, stream: line.stream, text: cleanText(line.text), ts: line.ts ?? Date.now() })
    if (this.#pending.length >= this.#maxBatchLines) void this.flush()
    else this.#timer ??= setTimeout(() => void this.flush(), this.#flushIntervalMs)
  }

  /** Writes everything appended so far; resolves when it is committed (and notified). */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = null
    }
    const batch = this.#pending
    this.#pending = []
    if (!batch.length) return this.#flushing
    // Runs with lines in this batch: takePending must not overtake them.
    const runs = new Set<string>()
    for (const l of batch) runs.add(l.runId)
    for (const r of runs) this.#unwritten.set(r, (this.#unwritten.get(r) ?? 0) + 1)
    // Flushes are chained so batches commit in append order.
    this.#flushing = this.#flushing
      .then(() => this.#write(batch))
      .catch((e) => this.#logger.error('log flush failed', { error: coerceError(e).message })) // keeps the chain alive
      .finally(() => {
        for (const r of runs) {
          const n = this.#unwritten.get(r)! - 1
          if (n) this.#unwritten.set(r, n)
          else this.#unwritten.delete(r)
        }
      })
    return this.#flushing
  }

  /** Counts lines taken with takePending and written by the caller, as if this writer had written them (metrics). */
  noteWritten(lines: readonly PendingLine[]): void {
    if (!this.#onWritten || !lines.length) return
    let bytes = 0
    for (const l of lines) bytes += Buffer.byteLength(l.text)
    this.#onWritten(lines.length, bytes)
  }

  /**
   * Hands over the run's pending lines, in order, for the caller to write itself (a run's final
   * statement carries them, saving a flush): they are then no longer this writer's. Null when lines of
   * the run are already on their way (a flush in flight): the caller must flush() and write none.
   */
  takePending(runId: string): PendingLine[] | null {
    if (this.#unwritten.has(runId)) return null
    const mine: PendingLine[] = []
    const rest: PendingLine[] = []
    for (const l of this.#pending) (l.runId === runId ? mine : rest).push(l)
    if (mine.length) this.#pending = rest
    return mine
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.flush()
  }

  async #write(batch: PendingLine[]): Promise<void> {
    const byRun = new Map<string, PendingLine[]>()
    for (const l of batch) {
      let list = byRun.get(l.runId)
      if (!list) byRun.set(l.runId, (list = []))
      list.push(l)
    }
    // Rows of job_run are locked in one order by every writer, so two processes writing to the same
    // runs cannot deadlock each other.
    const groups = [...byRun.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    if (await this.#writeGroups(groups)) return
    if (groups.length > 1) for (const g of groups) await this.#writeGroups([g])
  }

  /** Writes the groups in one transaction, retrying; false if Postgres keeps rejecting their content. */
  async #writeGroups(groups: Array<[string, PendingLine[]]>): Promise<boolean> {
    const lines = groups.reduce((n, [, l]) => n + l.length, 0)
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient | null = null
      // A checked-out client has no error listener of the pool's: without one, a connection lost
      // mid-flush is an uncaught 'error' event that ends the process.
      const onClientError = () => {}
      try {
        client = await this.#pool.connect()
        client.on('error', onClientError)
        // In a transaction although it is one statement: a connection lost while the statement waits (on
        // a run's row lock, say) must roll it back. In autocommit Postgres would finish and commit it
        // anyway, and the retry would store the lines twice.
        await client.query('BEGIN')
        // Named: prepared once per connection, so Postgres does not parse and plan it for every flush.
        await client.query({ name: 'switchyard-log-insert-many', text: INSERT_MANY_SQL, values: encodeBatch(groups) })
        await client.query('COMMIT')
        client.off('error', onClientError)
        client.release()
        if (this.#onWritten) {
          let bytes = 0
          for (const [, runLines] of groups) for (const l of runLines) bytes += Buffer.byteLength(l.text)
          this.#onWritten(lines, bytes)
        }
        return true
      } catch (e) {
        if (client) {
          await client.query('ROLLBACK').catch(() => {})
          client.off('error', onClientError)
          client.release(true)
        }
        const err = coerceError(e)
        const transient = isTransient(e)
        if (!transient && attempt >= MAX_ATTEMPTS) {
          if (groups.length === 1) this.#logger.error('dropping log lines Postgres rejects', { runId: groups[0]![0], lines, error: err.message })
          return false
        }
        if (transient && this.#closed && attempt >= MAX_ATTEMPTS) {
          this.#logger.error('dropping log lines: the database stayed unreachable after the log writer closed', { lines, error: err.message })
          return true
        }
        this.#logger.warn('log batch failed; retrying', { attempt, lines, error: err.message })
        await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, this.#retryBaseMs * 2 ** Math.min(attempt, 20))))
      }
    }
  }
}
