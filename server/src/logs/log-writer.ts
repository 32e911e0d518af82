/**
 * Batches log lines and persists them: per flush, one multi-row INSERT per run (rows shipped as
 * arrays through unnest) that also reserves the run's sequence numbers, and one NOTIFY per run
 * carrying only the last sequence number. Never one INSERT or NOTIFY per line.
 *
 * Sequence numbers come from job_run.log_seq inside the same statement, so lines from any process
 * (worker output, API "cancel requested" lines) interleave without gaps or collisions, and a
 * subscriber that reads `seq > cursor` can never miss or repeat a line.
 */
import type pg from 'pg'
import { CHANNELS, encodeLogAppended } from '../pubsub/channels.ts'
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
}

// Postgres text cannot hold NUL; a binary blob on stdout must not lose the whole batch.
const NUL = /\u0000/g
const MAX_LINE_CHARS = 64 * 1024

const INSERT_SQL = `
WITH reserved AS (
  UPDATE job_run SET log_seq = log_seq + $2 WHERE id = $1 RETURNING log_seq - $2 AS base
), inserted AS (
  INSERT INTO run_log (run_id, seq, ts, level, stream, target_id, text)
  SELECT $1, reserved.base + u.ord, u.ts, u.level::"LogLevel", u.stream::"LogStream", u.target_id, u.text
  FROM reserved, unnest($3::timestamptz[], $4::text[], $5::text[], $6::uuid[], $7::text[]) WITH ORDINALITY AS u(ts, level, stream, target_id, text, ord)
  RETURNING seq
)
SELECT pg_notify('${CHANNELS.log}', $1 || ':' || (SELECT base + $2 FROM reserved)) AS notified, (SELECT base + $2 FROM reserved) AS last_seq`

/**
 * Appends lines inside the caller's transaction. Used for a run's last words (the line that explains
 * its final status), so the line and the status become visible together: a subscriber that sees the
 * run end has every line of it. The caller must hold no other pending lines for the run.
 */
export async function appendLinesInTransaction(db: Pick<pg.PoolClient, 'query'>, runId: string, lines: Array<Omit<PendingLine, 'runId' | 'ts'>>): Promise<void> {
  if (!lines.length) return
  const now = new Date()
  await db.query(INSERT_SQL, [
    runId,
    lines.length,
    lines.map(() => now),
    lines.map((l) => l.level),
    lines.map((l) => l.stream),
    lines.map((l) => l.targetId),
    lines.map((l) => l.text.replace(NUL, '\uFFFD')),
  ])
}

export class LogWriter {
  readonly #pool: pg.Pool
  readonly #logger: Logger
  readonly #flushIntervalMs: number
  readonly #maxBatchLines: number
  #pending: PendingLine[] = []
  #timer: NodeJS.Timeout | null = null
  #flushing: Promise<void> = Promise.resolve()
  #closed = false

  constructor(pool: pg.Pool, logger: Logger, options: LogWriterOptions = {}) {
    this.#pool = pool
    this.#logger = logger
    this.#flushIntervalMs = options.flushIntervalMs ?? 50
    this.#maxBatchLines = options.maxBatchLines ?? 5000
  }

  append(line: Omit<PendingLine, 'ts'> & { ts?: Date }): void {
    if (this.#closed) throw new Error('log writer is closed')
    let text = line.text.replace(NUL, '\uFFFD')
    if (text.length > MAX_LINE_CHARS) text = text.slice(0, MAX_LINE_CHARS) + ' …[truncated]'
    this.#pending.push({ ...line, text, ts: line.ts ?? new Date() })
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
    this.#flushing = this.#flushing.then(() => (batch.length ? this.#write(batch) : undefined))
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
    for (let attempt = 1; ; attempt++) {
      const client = await this.#pool.connect()
      try {
        await client.query('BEGIN')
        for (const [runId, lines] of byRun) {
          await client.query(INSERT_SQL, [
            runId,
            lines.length,
            lines.map((l) => l.ts),
            lines.map((l) => l.level),
            lines.map((l) => l.stream),
            lines.map((l) => l.targetId),
            lines.map((l) => l.text),
          ])
        }
        await client.query('COMMIT')
        client.release()
        return
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {})
        client.release(true)
        // A database blip must not lose lines: retry with backoff, keeping order (later flushes wait).
        const err = coerceError(e)
        if (attempt >= 8) {
          this.#logger.error('dropping log batch after repeated failures', { lines: batch.length, error: err.message })
          return
        }
        this.#logger.warn('log batch failed; retrying', { attempt, error: err.message })
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)))
      }
    }
  }
}
