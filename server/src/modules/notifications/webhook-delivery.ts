/**
 * Delivers the notification outbox (notification_delivery rows written by the job_run trigger, see the
 * 20261204180000_notifications migration) to channels of every kind (channel-sender.ts), outside any
 * run's path:
 *
 *  - the relay (outbox-relay.ts: woken by the trigger's NOTIFY, and a periodic sweep for lost wake-ups) sends
 *    one pg-boss message per new row, in the transaction that marks the row enqueued, under SKIP LOCKED — so
 *    any number of workers relay each row once — and a new one for a row whose message was lost (overdue);
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
import { OutboxRelay } from '../outbox-relay.ts'
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

/** The HTTP statuses worth another attempt (network errors are null). */
export const retryable = retryableHttp


interface DeliveryRow {
  id: string
  payload: RunPayload
  /** When the row was written (a redelivery is a new row): the give-up deadline counts from it. */
  created_at: Date
  channel_id: string
  attempts: number
}

/** Told of every attempt's outcome (metrics). */
/** channelKind: the channel's kind in lower case (webhook, email, slack, teams, mattermost), or deleted. */
export type AttemptObserver = (channelKind: string, outcome: NotificationOutcome, requestSeconds: number | null, sinceEventSeconds: number) => void

export class WebhookDelivery {
  readonly #relay: OutboxRelay

  constructor(
    private readonly pool: pg.Pool,
    boss: PgBoss,
    listener: PgListener,
    private readonly sender: ChannelSender,
    retry: NotificationRetry,
    private readonly logger: Logger,
    sweepMs: number,
    private readonly onAttempt: AttemptObserver = () => {},
  ) {
    this.#relay = new OutboxRelay(pool, boss, listener, logger, sweepMs, {
      table: 'notification_delivery',
      channel: NOTIFICATION_CHANNEL,
      queue: NOTIFICATION_QUEUE,
      idKey: 'deliveryId',
      claimSql: `SELECT id FROM notification_delivery
                  WHERE status = 'PENDING' AND (enqueued_at IS NULL OR next_attempt_at < now() - make_interval(secs => $1))
                  ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      // A full batch fetches the next at once (no polling pause): a burst of failures drains at the
      // receivers' pace, not at batchSize per polling interval.
      work: { pollingIntervalSeconds: 0.5, batchSize: 10, burstWhenBatchFull: true },
      attempt: (id) => this.attempt(id),
      what: 'notifications',
      retry,
      failedStatus: `'FAILED'::"NotificationDeliveryStatus"`,
    })
  }

  start(): Promise<void> {
    return this.#relay.start()
  }

  stop(): Promise<void> {
    return this.#relay.stop()
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
          RETURNING d.id, d.payload, d.created_at, d.channel_id, d.attempts`,
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
      // The receiver has answered: its outcome must reach the row, through an outage too, or the
      // message would be sent again once the lease is overdue (OutboxRelay.durably).
      if (outcome.ok) {
        await this.#relay.durably('recording a delivered notification', () =>
          this.pool.query(
            `UPDATE notification_delivery SET status = 'DELIVERED', attempts = attempts + 1, last_status_code = $2, last_error = NULL,
                    delivered_at = now(), next_attempt_at = NULL, updated_at = now() WHERE id = $1`,
            [id, outcome.status],
          ),
        )
        observe('delivered')
        return
      }
      const next = await this.#relay.durably('recording a failed notification attempt', () => this.#relay.recordFailure({ id, createdAt: row.created_at, attempts: row.attempts }, outcome))
      if (next !== undefined) observe(next ? 'retry' : 'failed')
    } catch (e) {
      // Left PENDING with its lease: the relay re-sends it once overdue (outbox-relay.ts, STALE_SECONDS).
      this.logger.error('notification delivery failed', { deliveryId: id, error: coerceError(e).message })
    }
  }
}
