/**
 * Moves an outbox table's rows onto a pg-boss queue, outside any run's path. Shared by the notification
 * outbox (notification_delivery, webhook-delivery.ts) and the tickets' (ticket_action, ticket-delivery.ts);
 * what an attempt does with a row stays with its owner.
 *
 *  - Woken by the table's NOTIFY channel, and by a periodic sweep for wake-ups lost while the LISTEN
 *    connection was down (or rows written without a NOTIFY).
 *  - Single-flight: a wake-up during a relay pass sets an "again" flag instead of starting a second pass,
 *    so a burst of NOTIFYs costs one pass plus one.
 *  - Each batch is claimed `FOR UPDATE SKIP LOCKED` and its messages are inserted in the same transaction
 *    that marks the rows enqueued: any number of workers (processes) relay each row exactly once, and a
 *    crash before COMMIT leaves the row for the next pass.
 *  - A row still PENDING long after its last message was due (STALE_SECONDS) lost that message (the
 *    worker holding it was killed): the claim query picks it up again and it gets a new one.
 *  - A failed attempt (`recordFailure`) is tried again after an exponential backoff with full jitter, by a
 *    message sent in the transaction that records the failure, until the give-up time after the row was
 *    written; a failure not worth retrying, or running out of time, marks the row FAILED.
 */
import type { PgBoss, WorkOptions } from 'pg-boss'
import type pg from 'pg'
import type { NotificationRetry } from '../config.ts'
import { retryTransient } from '../db/transient.ts'
import { inTransaction } from '../jobs/run-queue.ts'
import type { PgListener } from '../pubsub/pg-listener.ts'
import { coerceError } from '../util/errors.ts'
import { excerpt } from '../util/excerpt.ts'
import type { Logger } from '../util/logger.ts'

/** A failure's reason is kept this long on its row (a receiver's error page can be any size). */
const MAX_ERROR_CHARS = 2000

/** Rows per claim transaction: a full batch is followed by the next at once. */
export const RELAY_BATCH = 100
/**
 * A PENDING row whose next attempt is this overdue lost its message (the worker holding it was killed, or
 * the attempt failed to record its outcome): the relay sends a new one.
 */
export const STALE_SECONDS = 300

/** Full jitter: uniformly 0..min(max, base·2^(attempt-1)), at least base/2 so receivers get a breather. */
export function backoffMs(retry: NotificationRetry, attempt: number): number {
  const cap = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(attempt - 1, 30))
  return Math.max(retry.baseMs / 2, Math.random() * cap)
}

/** A failed attempt: the status code (null: a network error), the reason, and whether to try again. */
export interface AttemptFailure {
  status: number | null
  error: string | null
  retryable: boolean
}

/** A row an attempt holds the lease of. */
export interface AttemptLease {
  id: string
  /** When the row was written: the give-up time counts from it. */
  createdAt: Date
  /** Attempts recorded before this one. */
  attempts: number
}

export interface OutboxSpec {
  /**
   * The outbox table: its rows have `id uuid`, `enqueued_at` and `next_attempt_at` (the relay's), and
   * `attempts`, `last_status_code`, `last_error`, `updated_at` and `status` (written by recordFailure).
   */
  table: string
  /** The NOTIFY channel its writers wake the relay on. */
  channel: string
  /** The pg-boss queue; each message carries one row's id as `data[idKey]`. */
  queue: string
  idKey: string
  /**
   * Selects and locks (`FOR UPDATE [OF alias] SKIP LOCKED`) the ids of rows due a message: never enqueued,
   * or enqueued and overdue by more than `$1` seconds. At most `$2` rows, oldest first.
   */
  claimSql: string
  /** The queue worker's polling and batch settings. */
  work: WorkOptions
  /** One attempt at one row; must not throw (its outcome belongs on the row). */
  attempt: (id: string) => Promise<void>
  /** Names the rows in the log line of a failed relay pass ("notifications", "ticket actions"). */
  what: string
  /** Backoff and give-up time of failed attempts. */
  retry: NotificationRetry
  /** The table's FAILED status as SQL, cast to its enum (`'FAILED'::"NotificationDeliveryStatus"`). */
  failedStatus: string
}

export class OutboxRelay {
  #off: (() => Promise<void>) | null = null
  #timer: NodeJS.Timeout | null = null
  #relaying: Promise<void> | null = null
  #again = false
  #stopped = false

  constructor(
    private readonly pool: pg.Pool,
    private readonly boss: PgBoss,
    private readonly listener: PgListener,
    private readonly logger: Logger,
    private readonly sweepMs: number,
    private readonly spec: OutboxSpec,
  ) {}

  async start(): Promise<void> {
    const { queue, idKey } = this.spec
    // pg-boss retries nothing itself: the attempt decides (status code, deadline) and schedules the next one.
    await this.boss.createQueue(queue, { retryLimit: 0, deleteAfterSeconds: 3 * 86400 })
    await this.boss.work<Record<string, string>>(queue, this.spec.work, async (jobs) => {
      await Promise.all(jobs.map((j) => this.spec.attempt(j.data[idKey]!)))
    })
    this.#off = await this.listener.on(this.spec.channel, () => this.relay())
    this.#timer = setInterval(() => this.relay(), this.sweepMs)
    this.#timer.unref()
    this.relay()
  }

  async stop(): Promise<void> {
    // No pass starts from now on, not even one a wake-up queued with the "again" flag.
    this.#stopped = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    await this.#off?.()
    this.#off = null
    await this.boss.offWork(this.spec.queue).catch(() => {})
    await this.idle()
  }

  /** Sends a queue message for every row due one (coalesces concurrent wake-ups). */
  relay(): void {
    if (this.#stopped) return
    if (this.#relaying) {
      this.#again = true
      return
    }
    this.#relaying = this.#relayAll()
      .catch((e) => this.logger.warn(`relaying ${this.spec.what} failed`, { error: coerceError(e).message }))
      .finally(() => {
        this.#relaying = null
        if (this.#again) {
          this.#again = false
          this.relay()
        }
      })
  }

  /**
   * A write that records what an attempt did outside (a receiver answered, a tracker acted). Lost to a
   * Postgres restart or outage, it would leave the row leased and the attempt made again minutes later
   * (a second webhook, a duplicate issue), so it is retried for as long as this process lives, as a run's
   * result is (dispatcher.ts). A process killed meanwhile leaves the lease, which the stale sweep ends.
   */
  durably<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retryTransient(fn, { logger: this.logger, what, attempts: Infinity })
  }

  /** Resolves once the relay pass in flight (and any it queued with the "again" flag) has finished. */
  async idle(): Promise<void> {
    while (this.#relaying) await this.#relaying
  }

  /**
   * Records a failed attempt at a row: the next attempt after a backoff, or FAILED. `lease` is the row as
   * the attempt's lease returned it: its id, when it was written and its attempts before this one (the
   * lease keeps other attempts off the row, so the count cannot have moved; no read is needed for it).
   * `onGiveUp` runs in the same transaction when no retry is scheduled. Returns the row's next attempt time
   * (null: FAILED), or undefined when the row is gone.
   */
  async recordFailure(lease: AttemptLease, failure: AttemptFailure, onGiveUp?: (client: pg.PoolClient) => Promise<unknown>): Promise<Date | null | undefined> {
    const { table, queue, idKey, retry, failedStatus } = this.spec
    const { id, createdAt } = lease
    const delay = backoffMs(retry, lease.attempts + 1)
    const giveUp = !failure.retryable || Date.now() + delay > createdAt.getTime() + retry.giveUpMs
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      const { rows: next } = await client.query<{ next_attempt_at: Date | null }>(
        `UPDATE ${table} SET attempts = attempts + 1, last_status_code = $2, last_error = $3, updated_at = now(),
                status = CASE WHEN $4 THEN ${failedStatus} ELSE status END,
                next_attempt_at = CASE WHEN $4 THEN NULL ELSE now() + make_interval(secs => $5::double precision / 1000) END
          WHERE id = $1 RETURNING next_attempt_at`,
        [id, failure.status, failure.error === null ? null : excerpt(failure.error, MAX_ERROR_CHARS), giveUp, delay],
      )
      // The start time is the database's, the same clock the attempts' leases compare with.
      const at = next[0]?.next_attempt_at
      if (at) await this.boss.send(queue, { [idKey]: id }, { db: inTransaction(client), startAfter: at })
      else await onGiveUp?.(client)
      await client.query('COMMIT')
      return next[0] ? next[0].next_attempt_at : undefined
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      client.release()
    }
  }

  async #relayAll(): Promise<void> {
    const { table, queue, idKey, claimSql } = this.spec
    for (let more = true; more; ) {
      const client = await this.pool.connect()
      try {
        await client.query('BEGIN')
        const { rows } = await client.query<{ id: string }>(claimSql, [STALE_SECONDS, RELAY_BATCH])
        if (rows.length) {
          // One statement for the batch's messages (not one round trip per row).
          await this.boss.insert(queue, rows.map((r) => ({ data: { [idKey]: r.id }, retryLimit: 0 })), { db: inTransaction(client) })
          await client.query(`UPDATE ${table} SET enqueued_at = now(), next_attempt_at = now() WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)])
        }
        await client.query('COMMIT')
        more = rows.length === RELAY_BATCH
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {})
        throw e
      } finally {
        client.release()
      }
    }
  }
}
