/**
 * Batches log lines and persists them: per flush, one statement that reserves each run's sequence
 * numbers (and queues one NOTIFY per run carrying only its last sequence number), then one binary COPY
 * of all the lines (run-log-copy.ts). Never one INSERT or NOTIFY per line.
 *
 * Sequence numbers come from job_run.log_seq inside the same statement, so lines from any process
 * (worker output, API "cancel requested" lines) interleave without gaps or collisions, and a
 * subscriber that reads `seq > cursor` can never miss or repeat a line.
 *
 * A flush that fails because the database is unreachable (restart, network) is retried until it
 * succeeds, and later flushes wait behind it, so no line is lost or reordered; only after close()
 * does the writer give up. A batch Postgres rejects for its content is retried a few times, one the COPY
 * encoder refuses (a malformed target id) not at all; either is then written run by run, so that one
 * run's bad lines cannot take the others' with them.
 */
import type pg from 'pg'
import { CHANNELS } from '../pubsub/channels.ts'
import { isTransient } from '../db/transient.ts'
import type { LogLevel } from '../jobs/executors/types.ts'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'
import { copyFrom } from './copy-in.ts'
import { encodeRunLogCopy, RUN_LOG_COPY_SQL, UnencodableLineError } from './run-log-copy.ts'

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
  /**
   * Most lines one transaction carries. Lines that arrive while a flush is being written wait and go
   * together in the next one, so a flood is written in batches up to this size (fewer, larger
   * transactions) while a trickle is written within flushIntervalMs.
   */
  maxWriteLines?: number
  /** Most text (UTF-16 units, ~bytes) one transaction carries, so a flood of long lines is written in bounded pieces. */
  maxWriteChars?: number
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
 * A flush's first statement: reserves each run's sequence numbers by one UPDATE of its job_run row,
 * taken in run id order (`locked`: every writer locks job_run rows in the same order, so two processes
 * writing to the same runs cannot deadlock), and queues one NOTIFY per run with its last seq (sent at
 * commit, so never before the lines are visible). A run that does not exist returns no row and its
 * lines are not written. The lines then follow in one COPY (run-log-copy.ts): a flush costs the same
 * four statements (BEGIN, this, COPY, COMMIT) however many runs and lines it carries. job_run before
 * run_log is also the order partition maintenance relies on (log-partitions.ts).
 */
const RESERVE_SQL = `
WITH groups AS (
  SELECT g.run_id, g.n::int AS n FROM unnest($1::uuid[], $2::int[]) AS g(run_id, n)
), locked AS (
  SELECT r.id FROM job_run r WHERE r.id = ANY($1::uuid[]) ORDER BY r.id FOR UPDATE
)
UPDATE job_run r SET log_seq = r.log_seq + g.n FROM groups g, locked l
 WHERE r.id = g.run_id AND l.id = g.run_id
RETURNING r.id, (r.log_seq - g.n)::float8 AS base, pg_notify('${CHANNELS.log}', r.id || ':' || r.log_seq)::text AS notified`

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
  readonly #maxWriteLines: number
  readonly #maxWriteChars: number
  readonly #retryBaseMs: number
  readonly #onWritten: ((lines: number, bytes: number) => void) | null
  #pending: PendingLine[] = []
  #timer: NodeJS.Timeout | null = null
  #flushing: Promise<void> = Promise.resolve()
  /** The flush waiting behind the one being written (not started yet), which later flushes join. */
  #queued: { cuts: Array<{ lines: PendingLine[]; runs: Set<string> }>; done: Promise<void> } | null = null
  /** Run id → flushes (cuts of #pending) not yet committed or given up that hold lines of the run. */
  readonly #unwritten = new Map<string, number>()
  #closed = false
  #droppedAfterClose = 0

  constructor(pool: pg.Pool, logger: Logger, options: LogWriterOptions = {}) {
    this.#pool = pool
    this.#logger = logger
    this.#flushIntervalMs = options.flushIntervalMs ?? 50
    this.#maxBatchLines = options.maxBatchLines ?? 5000
    this.#maxWriteLines = Math.max(1, options.maxWriteLines ?? 20_000)
    this.#maxWriteChars = Math.max(1, options.maxWriteChars ?? 8 * 1024 * 1024)
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
    const lines = this.#pending
    if (!lines.length) return this.#flushing
    this.#pending = []
    // From here the lines are on their way: takePending must not overtake them.
    const runs = new Set<string>()
    for (const l of lines) runs.add(l.runId)
    for (const r of runs) this.#unwritten.set(r, (this.#unwritten.get(r) ?? 0) + 1)
    // Flushes are chained so lines commit in append order. While a flush waits for the one being
    // written, later flushes join it instead of queueing their own: under a flood each write carries
    // everything that arrived during the previous one (fewer, bigger transactions, up to maxWriteLines
    // each), rather than one transaction per maxBatchLines.
    if (this.#queued) {
      this.#queued.cuts.push({ lines, runs })
      return this.#queued.done
    }
    const queued: { cuts: Array<{ lines: PendingLine[]; runs: Set<string> }>; done: Promise<void> } = { cuts: [{ lines, runs }], done: Promise.resolve() }
    queued.done = this.#flushing.then(() => {
      this.#queued = null
      return this.#writeCuts(queued.cuts)
    })
    this.#queued = queued
    this.#flushing = queued.done
    return queued.done
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
   * the run are already on their way (a flush being written): the caller must flush() and write none.
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

  /** Writes the cuts' lines in order, in transactions of at most maxWriteLines lines / maxWriteChars characters. */
  async #writeCuts(cuts: Array<{ lines: PendingLine[]; runs: Set<string> }>): Promise<void> {
    const all = cuts.length === 1 ? cuts[0]!.lines : cuts.flatMap((c) => c.lines)
    try {
      for (let i = 0; i < all.length; ) {
        let chars = 0
        let j = i
        while (j < all.length && j - i < this.#maxWriteLines && (j === i || chars + all[j]!.text.length <= this.#maxWriteChars)) chars += all[j++]!.text.length
        try {
          await this.#write(i === 0 && j === all.length ? all : all.slice(i, j))
        } catch (e) {
          this.#logger.error('log flush failed', { error: coerceError(e).message }) // the next transactions still go
        }
        i = j
      }
    } finally {
      for (const c of cuts) {
        for (const r of c.runs) {
          const n = this.#unwritten.get(r)! - 1
          if (n) this.#unwritten.set(r, n)
          else this.#unwritten.delete(r)
        }
      }
    }
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
        // A transaction: the reserved sequence numbers and the lines commit together or not at all, and a
        // connection lost while a statement waits (on a run's row lock, say) rolls everything back, so
        // the retry cannot store the lines twice.
        await client.query('BEGIN')
        // Named: prepared once per connection, so Postgres does not parse and plan it for every flush.
        const { rows } = await client.query<{ id: string; base: number }>({
          name: 'switchyard-log-reserve',
          text: RESERVE_SQL,
          values: [groups.map(([runId]) => runId), groups.map(([, l]) => l.length)],
        })
        const base = new Map(rows.map((r) => [r.id, r.base]))
        // Runs that do not exist (deleted meanwhile) reserved nothing: their lines are not written.
        const copy = groups.flatMap(([runId, runLines]) => (base.has(runId) ? [{ runId, base: base.get(runId)!, lines: runLines }] : []))
        const data = copy.length ? encodeRunLogCopy(copy) : null
        if (data) await copyFrom(client, RUN_LOG_COPY_SQL, data.chunks)
        await client.query('COMMIT')
        client.off('error', onClientError)
        client.release()
        if (data) this.#onWritten?.(copy.reduce((n, g) => n + g.lines.length, 0), data.textBytes)
        return true
      } catch (e) {
        if (client) {
          await client.query('ROLLBACK').catch(() => {})
          client.off('error', onClientError)
          client.release(true)
        }
        const err = coerceError(e)
        const transient = isTransient(e)
        // The encoder refuses the same lines every time: no point in another transaction.
        const unencodable = err instanceof UnencodableLineError
        if (!transient && (attempt >= MAX_ATTEMPTS || unencodable)) {
          if (groups.length === 1) this.#logger.error(unencodable ? 'dropping log lines that cannot be stored' : 'dropping log lines Postgres rejects', { runId: groups[0]![0], lines, error: err.message })
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
