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
  ts: Date
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
  const t = text.replace(NUL, '\uFFFD')
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
 */
const INSERT_MANY_SQL = `
WITH batch AS (
  SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::uuid[], $6::text[]) WITH ORDINALITY AS u(run_id, ts, level, stream, target_id, text, ord)
), counts AS (
  SELECT run_id, count(*)::int AS n FROM batch GROUP BY run_id
), locked AS (
  SELECT r.id FROM job_run r WHERE r.id IN (SELECT run_id FROM counts) ORDER BY r.id FOR UPDATE
), reserved AS (
  UPDATE job_run r SET log_seq = r.log_seq + c.n FROM counts c, locked l
   WHERE r.id = c.run_id AND l.id = c.run_id
   RETURNING r.id, r.log_seq - c.n AS base, r.log_seq AS last_seq
), inserted AS (
  INSERT INTO run_log (run_id, seq, ts, level, stream, target_id, text)
  SELECT b.run_id, reserved.base + row_number() OVER (PARTITION BY b.run_id ORDER BY b.ord), b.ts, b.level::"LogLevel", b.stream::"LogStream", b.target_id, b.text
    FROM batch b JOIN reserved ON reserved.id = b.run_id
)
SELECT id, pg_notify('${CHANNELS.log}', id || ':' || last_seq)::text AS notified FROM reserved`

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

  append(line: Omit<PendingLine, 'ts'> & { ts?: Date }): void {
    if (this.#closed) {
      // Output that trails in after shutdown (a stream still draining) must not throw into an
      // executor's event handler and take the process down.
      this.#droppedAfterClose++
      if (this.#droppedAfterClose === 1) this.#logger.warn('log line appended after the log writer closed; dropped', { runId: line.runId })
      return
    }
    this.#pending.push({ ...line, text: cleanText(line.text), ts: line.ts ?? new Date() })
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
    // Flushes are chained so batches commit in append order.
    this.#flushing = this.#flushing
      .then(() => (batch.length ? this.#write(batch) : undefined))
      .catch((e) => this.#logger.error('log flush failed', { error: coerceError(e).message })) // keeps the chain alive
    return this.#flushing
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
        const runIds: string[] = new Array(lines)
        const ts: Date[] = new Array(lines)
        const levels: string[] = new Array(lines)
        const streams: string[] = new Array(lines)
        const targetIds: Array<string | null> = new Array(lines)
        const texts: string[] = new Array(lines)
        let i = 0
        for (const [runId, runLines] of groups) {
          for (const l of runLines) {
            runIds[i] = runId
            ts[i] = l.ts
            levels[i] = l.level
            streams[i] = l.stream
            targetIds[i] = l.targetId
            texts[i] = l.text
            i++
          }
        }
        // In a transaction although it is one statement: a connection lost while the statement waits (on
        // a run's row lock, say) must roll it back. In autocommit Postgres would finish and commit it
        // anyway, and the retry would store the lines twice.
        await client.query('BEGIN')
        await client.query(INSERT_MANY_SQL, [runIds, ts, levels, streams, targetIds, texts])
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
