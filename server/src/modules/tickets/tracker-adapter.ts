/**
 * The shape every issue tracker fits: create an issue, comment on it, close it, reopen it. An adapter is a
 * plain object per tracker kind (Redmine, the generic webhook tracker; GitHub, GitLab or Jira would add one
 * file each), given the tracker's settings with its secret already opened. Adapters throw TrackerError with
 * the HTTP status and whether another attempt may help; the delivery (ticket-delivery.ts) decides retries.
 */
import { retryableHttp } from '../notifications/channel-sender.ts'
import { coerceError } from '../../util/errors.ts'
import { isOutboundDenied, type OutboundPolicy } from '../../net/outbound-policy.ts'

export type TicketPriority = 'LOW' | 'NORMAL' | 'HIGH' | 'URGENT'

export interface TrackerSettings {
  id: string
  name: string
  kind: 'REDMINE' | 'WEBHOOK'
  url: string
  /** The opened secret: Redmine's API key, or the webhook tracker's signing secret. Never logged. */
  secret: string
  project: string | null
  redmineTrackerId: number | null
  closedStatusId: number | null
  /** The operator's outbound policy (SSRF guard), checked on the resolved address at connect time. */
  outbound?: OutboundPolicy | null
}

export interface IssueDraft {
  /** Switchyard's ticket id (the webhook tracker's idempotency key for a create). */
  ticketId: string
  title: string
  description: string
  priority: TicketPriority
  dedupKey: string | null
}

export interface CreatedIssue {
  externalId: string
  url: string | null
}

export interface ActionContext {
  /** The outbox row's id, sent as X-Switchyard-Delivery so a receiver can drop a repeat. */
  deliveryId: string
  ticketId: string
}

export interface TrackerAdapter {
  createIssue(t: TrackerSettings, issue: IssueDraft, ctx: ActionContext): Promise<CreatedIssue>
  addComment(t: TrackerSettings, externalId: string, body: string, ctx: ActionContext): Promise<void>
  close(t: TrackerSettings, externalId: string, ctx: ActionContext): Promise<void>
  reopen(t: TrackerSettings, externalId: string, ctx: ActionContext): Promise<void>
}

export class TrackerError extends Error {
  constructor(
    message: string,
    /** HTTP status; null when nothing answered. */
    readonly status: number | null,
    readonly retryable: boolean,
  ) {
    super(message)
    this.name = 'TrackerError'
  }
}

const ATTEMPT_TIMEOUT_MS = 15_000

/** One HTTP call to a tracker: a non-2xx answer or a network error becomes a TrackerError. */
export async function trackerFetch(url: string, init: { method: string; headers: Record<string, string>; body?: string; outbound?: OutboundPolicy | null }): Promise<{ status: number; text: string }> {
  const { outbound, ...request } = init
  let res: Response
  try {
    res = await fetch(url, { ...request, redirect: 'manual', signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), ...(outbound ? { dispatcher: outbound.dispatcher } : {}) } as RequestInit)
  } catch (e) {
    const err = coerceError(e)
    const cause = (err as { cause?: unknown }).cause
    // A denied address stays denied: no retry.
    throw new TrackerError(cause instanceof Error ? `${err.message}: ${cause.message}` : err.message, null, !isOutboundDenied(cause) && !isOutboundDenied(err))
  }
  const text = await res.text().catch(() => '')
  if (res.status < 200 || res.status >= 300) {
    throw new TrackerError(`the tracker answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 500)}` : ''}`.trim(), res.status, retryableHttp(res.status))
  }
  return { status: res.status, text }
}
