/**
 * Delivers the notification outbox (notification_delivery rows written by the job_run trigger, see the
 * 20261204180000_notifications migration) to channels of every kind (channel-sender.ts), outside any
 * run's path:
 *
 *  - the relay (woken by the trigger's NOTIFY, and a periodic sweep for lost wake-ups) sends one pg-boss
 *    message per new row, in the transaction that marks the row enqueued, under SKIP LOCKED — so any
 *    number of workers relay each row once — and a new one for a row whose message was lost (overdue);
 *  - the queue's handler makes one attempt. Network errors, 408, 429 and 5xx (SMTP: 4xx) are retried by sending the
 *    next message with a start time (exponential backoff with full jitter) until `giveUpMs` after the
 *    row was written; anything else, or running out of time, marks it FAILED with the reason.
 * Each attempt's outcome is written to the row: that is the delivery log. The delivery id goes out as
 * `X-Switchyard-Delivery` so receivers can drop a duplicate (a worker killed after the receiver answered
 * but before the row was updated delivers again).
 */
import type { PgBoss } from 'pg-boss'
import type pg from 'pg'
import type { NotificationRetry } from '../../config.ts'
import { poolQuery } from '../../db/credential-use.ts'
import { inTransaction } from '../../jobs/run-queue.ts'
import type { NotificationOutcome } from '../../metrics/metrics.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import { coerceError } from '../../util/errors.ts'
import type { Logger } from '../../util/logger.ts'
import { loadSendableChannel, retryableHttp, type ChannelSender } from './channel-sender.ts'
import type { RunPayload } from './message-templates.ts'

export { signWebhook } from './channel-sender.ts'

export const NOTIFICATION_QUEUE = 'switchyard-notification'
export const NOTIFICATION_CHANNEL = 'switchyard_notification'
/** How long an attempt holds its row (well past the sender's timeouts). */
const LEASE_SECONDS = 120
/**
 * A PENDING row whose next attempt is this overdue lost its message (the worker holding it was killed, or
 * the attempt failed to record its outcome): the relay sends a new one.
 */
const STALE_SECONDS = 300

/** The HTTP statuses worth another attempt (network errors are null). */
export const retryable = retryableHttp

/** Full jitter: uniformly 0..min(max, base·2^(attempt-1)), at least base/2 so receivers get a breather. */
export function backoffMs(retry: NotificationRetry, attempt: number): number {
  const cap = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(attempt - 1, 30))
  return Math.max(retry.baseMs / 2, Math.random() * cap)
}

interface DeliveryRow {
  id: string
  payload: RunPayload
  /** When the row was written (a redelivery is a new row): the give-up deadline counts from it. */
  created_at: Date
  channel_id: string
}

/** Told of every attempt's outcome (metrics). */
/** channelKind: the channel's kind in lower case (webhook, email, slack, teams, mattermost), or deleted. */
export type AttemptObserver = (channelKind: string, outcome: NotificationOutcome, requestSeconds: number | null, sinceEventSeconds: number) => void

export class WebhookDelivery {
  #off: (() => Promise<void>) | null = null
  #timer: NodeJS.Timeout | null = null
  #relaying: Promise<void> | null = null
  #again = false

  constructor(
    private readonly pool: pg.Pool,
    private readonly boss: PgBoss,
    private readonly listener: PgListener,
    private readonly sender: ChannelSender,
    private readonly retry: NotificationRetry,
    private readonly logger: Logger,
    private readonly sweepMs: number,
    private readonly onAttempt: AttemptObserver = () => {},
  ) {}

  async start(): Promise<void> {
    // pg-boss retries nothing itself: the handler decides (status code, deadline) and schedules the next attempt.
    await this.boss.createQueue(NOTIFICATION_QUEUE, { retryLimit: 0, deleteAfterSeconds: 3 * 86400 })
    // A full batch fetches the next at once (no polling pause): a burst of failures drains at the
    // receivers' pace, not at batchSize per polling interval.
    await this.boss.work<{ deliveryId: string }>(NOTIFICATION_QUEUE, { pollingIntervalSeconds: 0.5, batchSize: 10, burstWhenBatchFull: true }, async (jobs) => {
      await Promise.all(jobs.map((j) => this.attempt(j.data.deliveryId)))
    })
    this.#off = await this.listener.on(NOTIFICATION_CHANNEL, () => this.relay())
    this.#timer = setInterval(() => this.relay(), this.sweepMs)
    this.#timer.unref()
    this.relay()
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    await this.#off?.()
    await this.boss.offWork(NOTIFICATION_QUEUE).catch(() => {})
    await this.#relaying
  }

  /** Sends a queue message for every outbox row not yet enqueued (coalesces concurrent wake-ups). */
  relay(): void {
    if (this.#relaying) {
      this.#again = true
      return
    }
    this.#relaying = this.#relayAll()
      .catch((e) => this.logger.warn('relaying notifications failed', { error: coerceError(e).message }))
      .finally(() => {
        this.#relaying = null
        if (this.#again) {
          this.#again = false
          this.relay()
        }
      })
  }

  async #relayAll(): Promise<void> {
    for (let more = true; more; ) {
      const client = await this.pool.connect()
      try {
        await client.query('BEGIN')
        const { rows } = await client.query<{ id: string }>(
          `SELECT id FROM notification_delivery
            WHERE status = 'PENDING' AND (enqueued_at IS NULL OR next_attempt_at < now() - make_interval(secs => $1))
            ORDER BY created_at LIMIT 100 FOR UPDATE SKIP LOCKED`,
          [STALE_SECONDS],
        )
        // One statement for the batch's messages (not one round trip per row).
        if (rows.length) await this.boss.insert(NOTIFICATION_QUEUE, rows.map((r) => ({ data: { deliveryId: r.id }, retryLimit: 0 })), { db: inTransaction(client) })
        if (rows.length) await client.query('UPDATE notification_delivery SET enqueued_at = now(), next_attempt_at = now() WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)])
        await client.query('COMMIT')
        more = rows.length === 100
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {})
        throw e
      } finally {
        client.release()
      }
    }
  }

  /** One attempt at one delivery; never throws (the outcome is on the row). */
  async attempt(id: string): Promise<void> {
    try {
      // Takes a lease (next_attempt_at moved past this attempt's timeout) so a second message for the row
      // — the relay re-sending a stale one — never runs a concurrent attempt. Nothing returned: delivered,
      // failed, deleted, leased by another attempt, or not yet due (a stale message).
      const { rows } = await this.pool.query<DeliveryRow>(
        `UPDATE notification_delivery d SET next_attempt_at = now() + make_interval(secs => $2)
          WHERE d.id = $1 AND d.status = 'PENDING'
            AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now() + interval '1 second')
          RETURNING d.id, d.payload, d.created_at, d.channel_id`,
        [id, LEASE_SECONDS],
      )
      const row = rows[0]
      if (!row) return
      const channel = await loadSendableChannel(poolQuery(this.pool), row.channel_id)
      const posted = performance.now()
      const outcome = channel
        ? await this.sender.send(channel, row.payload, { deliveryId: row.id })
        : { ok: false, status: null, error: 'the channel was deleted', retryable: false, response: null }
      const requestSeconds = channel ? (performance.now() - posted) / 1000 : null
      // Counted once the outcome is recorded: an attempt whose row update fails is made again.
      const kind = channel ? channel.kind.toLowerCase() : 'deleted'
      const observe = (o: NotificationOutcome) => this.onAttempt(kind, o, requestSeconds, (Date.now() - row.created_at.getTime()) / 1000)
      if (outcome.ok) {
        await this.pool.query(
          `UPDATE notification_delivery SET status = 'DELIVERED', attempts = attempts + 1, last_status_code = $2, last_error = NULL,
                  delivered_at = now(), next_attempt_at = NULL, updated_at = now() WHERE id = $1`,
          [id, outcome.status],
        )
        observe('delivered')
        return
      }
      const { rows: counted } = await this.pool.query<{ attempts: number }>('SELECT attempts + 1 AS attempts FROM notification_delivery WHERE id = $1', [id])
      const delay = backoffMs(this.retry, counted[0]?.attempts ?? 1)
      const giveUp = !outcome.retryable || Date.now() + delay > row.created_at.getTime() + this.retry.giveUpMs
      const client = await this.pool.connect()
      try {
        await client.query('BEGIN')
        const { rows: next } = await client.query<{ next_attempt_at: Date | null }>(
          `UPDATE notification_delivery SET attempts = attempts + 1, last_status_code = $2, last_error = $3, updated_at = now(),
                  status = CASE WHEN $4 THEN 'FAILED'::"NotificationDeliveryStatus" ELSE status END,
                  next_attempt_at = CASE WHEN $4 THEN NULL ELSE now() + make_interval(secs => $5::double precision / 1000) END
            WHERE id = $1 RETURNING next_attempt_at`,
          [id, outcome.status, outcome.error, giveUp, delay],
        )
        // The start time is the database's, the same clock the lease above compares with.
        const at = next[0]?.next_attempt_at
        if (at) await this.boss.send(NOTIFICATION_QUEUE, { deliveryId: id }, { db: inTransaction(client), startAfter: at })
        await client.query('COMMIT')
        if (next[0]) observe(at ? 'retry' : 'failed')
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {})
        throw e
      } finally {
        client.release()
      }
    } catch (e) {
      // Left PENDING with its lease: the relay re-sends it once overdue (STALE_SECONDS).
      this.logger.error('notification delivery failed', { deliveryId: id, error: coerceError(e).message })
    }
  }
}
