/**
 * Delivers the tickets' outbox (ticket_action rows, written by the job_run trigger of the 20261206030000_tickets
 * migration or by TicketsService) to the trackers, outside any run's path — the notification outbox's shape
 * (webhook-delivery.ts) with one addition: a ticket's actions go in order (`seq`), since a comment needs the
 * issue its CREATE made. So the relay (outbox-relay.ts) only enqueues the oldest PENDING action of each ticket, and each
 * finished action wakes the relay for the next.
 *
 * Retries: network errors, 408, 429 and 5xx are tried again with exponential backoff and full jitter until
 * the notification give-up time after the row was written; anything else, or running out of time, marks the
 * action FAILED with the reason (a failed CREATE fails the ticket's later actions: there is no issue to
 * comment on). A tracker that is down therefore delays only its own tickets, never a run.
 *
 * At-least-once: a worker killed after the tracker answered but before the row was updated repeats the
 * action. The webhook tracker gets the action id as X-Switchyard-Delivery to drop such a repeat; Redmine has
 * no idempotency key, so such a crash can leave a duplicate issue or comment there.
 */
import type { PgBoss } from 'pg-boss'
import type pg from 'pg'
import type { NotificationRetry } from '../../config.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import { poolQuery } from '../../db/credential-use.ts'
import { OutboxRelay } from '../outbox-relay.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import { coerceError } from '../../util/errors.ts'
import type { Logger } from '../../util/logger.ts'
import { redmineAdapter } from './redmine-adapter.ts'
import { runComment, ticketDraft } from './ticket-draft.ts'
import type { OutboundPolicy } from '../../net/outbound-policy.ts'
import { TrackerError, type TicketPriority, type TrackerAdapter, type TrackerSettings } from './tracker-adapter.ts'
import { webhookTrackerAdapter } from './webhook-tracker-adapter.ts'

export const TICKET_QUEUE = 'switchyard-ticket'
export const TICKET_CHANNEL = 'switchyard_ticket'
const LEASE_SECONDS = 120

export const ADAPTERS: Record<TrackerSettings['kind'], TrackerAdapter> = { REDMINE: redmineAdapter, WEBHOOK: webhookTrackerAdapter }

interface ActionRow {
  id: string
  ticket_id: string
  kind: 'CREATE' | 'COMMENT' | 'CLOSE' | 'REOPEN'
  reason: string | null
  body: string | null
  job_run_id: string | null
  created_at: Date
  attempts: number
}

interface TicketRow {
  id: string
  external_id: string | null
  dedup_key: string | null
  title: string
  description: string
  priority: TicketPriority
  tracker: Omit<TrackerSettings, 'secret'> & { secret: Uint8Array | null }
}

const TICKET_SQL = `
  SELECT t.id, t.external_id, t.dedup_key, t.title, t.description, t.priority::text AS priority,
         json_build_object('id', k.id, 'name', k.name, 'kind', k.kind::text, 'url', k.url, 'project', k.project,
                           'redmineTrackerId', k.redmine_tracker_id, 'closedStatusId', k.closed_status_id) AS tracker,
         c.secret
    FROM ticket t JOIN ticket_tracker k ON k.id = t.tracker_id LEFT JOIN credential c ON c.id = k.credential_id
   WHERE t.id = $1::uuid`

/** No earlier action of the same ticket is still PENDING (the per-ticket order). */
const IS_HEAD = `NOT EXISTS (SELECT 1 FROM ticket_action p WHERE p.ticket_id = a.ticket_id AND p.status = 'PENDING' AND p.seq < a.seq)`

export class TicketDelivery {
  readonly #relay: OutboxRelay

  constructor(
    private readonly pool: pg.Pool,
    boss: PgBoss,
    listener: PgListener,
    private readonly box: SecretBox,
    retry: NotificationRetry,
    private readonly publicUrl: string | null,
    private readonly logger: Logger,
    sweepMs: number,
    private readonly outbound: OutboundPolicy | null = null,
    private readonly adapters: Record<TrackerSettings['kind'], TrackerAdapter> = ADAPTERS,
  ) {
    this.#relay = new OutboxRelay(pool, boss, listener, logger, sweepMs, {
      table: 'ticket_action',
      channel: TICKET_CHANNEL,
      queue: TICKET_QUEUE,
      idKey: 'actionId',
      // Only each ticket's oldest PENDING action: the next one is relayed once this one is finished.
      claimSql: `SELECT a.id FROM ticket_action a
                  WHERE a.status = 'PENDING' AND (a.enqueued_at IS NULL OR a.next_attempt_at < now() - make_interval(secs => $1))
                    AND ${IS_HEAD}
                  ORDER BY a.seq LIMIT $2 FOR UPDATE OF a SKIP LOCKED`,
      work: { pollingIntervalSeconds: 0.5, batchSize: 10 },
      attempt: (id) => this.attempt(id),
      what: 'ticket actions',
      retry,
      failedStatus: `'FAILED'::"TicketActionStatus"`,
    })
  }

  start(): Promise<void> {
    return this.#relay.start()
  }

  stop(): Promise<void> {
    return this.#relay.stop()
  }

  /** One attempt at one action; never throws (the outcome is on the row). */
  async attempt(id: string): Promise<void> {
    try {
      const { rows } = await this.pool.query<ActionRow>(
        `UPDATE ticket_action a SET next_attempt_at = now() + make_interval(secs => $2)
          WHERE a.id = $1 AND a.status = 'PENDING' AND (a.next_attempt_at IS NULL OR a.next_attempt_at <= now() + interval '1 second')
            AND ${IS_HEAD}
          RETURNING a.id, a.ticket_id, a.kind::text AS kind, a.reason, a.body, a.job_run_id, a.created_at, a.attempts`,
        [id, LEASE_SECONDS],
      )
      const action = rows[0]
      if (!action) return
      let outcome: { ok: true } | { ok: false; status: number | null; error: string; retryable: boolean }
      try {
        await this.#perform(action)
        outcome = { ok: true }
      } catch (e) {
        const err = coerceError(e)
        outcome = err instanceof TrackerError ? { ok: false, status: err.status, error: err.message, retryable: err.retryable } : { ok: false, status: null, error: err.message, retryable: true }
      }
      if (outcome.ok) {
        await this.#durable('recording a delivered ticket action', () =>
          this.pool.query(
            `WITH done AS (UPDATE ticket_action SET status = 'DONE', attempts = attempts + 1, last_error = NULL, done_at = now(), next_attempt_at = NULL, updated_at = now() WHERE id = $1)
             SELECT pg_notify($2, '')`,
            [id, TICKET_CHANNEL],
          ),
        )
        return
      }
      await this.#durable('recording a failed ticket action', () =>
        this.#relay.recordFailure({ id, createdAt: action.created_at, attempts: action.attempts }, outcome, (client) =>
          // A given-up action lets the ticket's next one go (which fails at once if there is no issue).
          client.query('SELECT pg_notify($1, \'\')', [TICKET_CHANNEL]),
        ),
      )
    } catch (e) {
      this.logger.error('ticket action failed', { actionId: id, error: coerceError(e).message })
    }
  }

  /** A write recording what the tracker did: see OutboxRelay.durably. */
  #durable<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.#relay.durably(what, fn)
  }

  async #perform(action: ActionRow): Promise<void> {
    const query = poolQuery(this.pool)
    const ticket = ((await query(TICKET_SQL, [action.ticket_id])) as Array<TicketRow & { secret: Uint8Array | null }>)[0]
    if (!ticket) throw new TrackerError('the ticket was deleted', null, false)
    if (!ticket.secret) throw new TrackerError("the tracker's credential is gone", null, false)
    const settings: TrackerSettings = { ...ticket.tracker, secret: this.box.open(ticket.secret), outbound: this.outbound }
    const adapter = this.adapters[settings.kind]
    const ctx = { deliveryId: action.id, ticketId: ticket.id }
    if (action.kind === 'CREATE') {
      if (ticket.external_id) return // made by an earlier attempt whose outcome was not recorded
      let { title, description } = ticket
      // An auto-ticket's text is made now, from the final run (the trigger only wrote a provisional title).
      if (!description && action.job_run_id) {
        const draft = await ticketDraft(query, action.job_run_id, this.publicUrl, ticket.priority)
        if (draft) {
          ;({ title, description } = draft)
          await this.pool.query('UPDATE ticket SET title = $2, description = $3, updated_at = now() WHERE id = $1', [ticket.id, title, description])
        }
      }
      const created = await adapter.createIssue(settings, { ticketId: ticket.id, title, description: description || title, priority: ticket.priority, dedupKey: ticket.dedup_key }, ctx)
      // The issue exists now: losing its id to an outage would make the next attempt create another.
      await this.#durable("recording the tracker's issue id", () => this.pool.query('UPDATE ticket SET external_id = $2, url = $3, updated_at = now() WHERE id = $1', [ticket.id, created.externalId, created.url]))
      return
    }
    if (!ticket.external_id) throw new TrackerError('the ticket was never created in the tracker (its CREATE failed)', null, false)
    if (action.kind === 'COMMENT') {
      const body = action.body ?? (action.job_run_id && (action.reason === 'FAILED_AGAIN' || action.reason === 'RECOVERED') ? await runComment(query, action.job_run_id, action.reason, this.publicUrl) : null)
      if (!body) throw new TrackerError('the comment has no text', null, false)
      await adapter.addComment(settings, ticket.external_id, body, ctx)
    } else if (action.kind === 'CLOSE') {
      await adapter.close(settings, ticket.external_id, ctx)
    } else {
      await adapter.reopen(settings, ticket.external_id, ctx)
    }
  }
}
