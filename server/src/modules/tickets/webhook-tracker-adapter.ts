/**
 * The generic tracker: each action is a JSON POST to the tracker's URL, signed like a webhook channel
 * (`X-Switchyard-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`) with the outbox row's
 * id in `X-Switchyard-Delivery`. Body: `{ action: "create"|"comment"|"close"|"reopen", ticket: { id,
 * externalId, dedupKey, title, description, priority }, comment }`. A create must answer 2xx with JSON
 * `{ "id": "...", "url": "..." }` (url optional): that id is the ticket's external id from then on.
 */
import { signWebhook } from '../notifications/channel-sender.ts'
import { TrackerError, trackerFetch, type ActionContext, type TrackerAdapter, type TrackerSettings } from './tracker-adapter.ts'

async function post(t: TrackerSettings, ctx: ActionContext, payload: Record<string, unknown>): Promise<string> {
  const body = JSON.stringify(payload)
  const { text } = await trackerFetch(t.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Switchyard-Tickets',
      'x-switchyard-delivery': ctx.deliveryId,
      'x-switchyard-signature': signWebhook(t.secret, body, Math.floor(Date.now() / 1000)),
    },
    body,
    outbound: t.outbound,
  })
  return text
}

export const webhookTrackerAdapter: TrackerAdapter = {
  async createIssue(t, issue, ctx) {
    const text = await post(t, ctx, {
      action: 'create',
      ticket: { id: issue.ticketId, externalId: null, dedupKey: issue.dedupKey, title: issue.title, description: issue.description, priority: issue.priority },
      comment: null,
    })
    let answer: { id?: unknown; url?: unknown }
    try {
      answer = JSON.parse(text) as typeof answer
    } catch {
      throw new TrackerError('the tracker answered a create without a JSON body ({"id": ..., "url": ...})', null, false)
    }
    if ((typeof answer?.id !== 'string' && typeof answer?.id !== 'number') || String(answer.id) === '') throw new TrackerError('the tracker answered a create without an "id"', null, false)
    return { externalId: String(answer.id), url: typeof answer.url === 'string' ? answer.url : null }
  },
  async addComment(t, externalId, body, ctx) {
    await post(t, ctx, { action: 'comment', ticket: { id: ctx.ticketId, externalId }, comment: body })
  },
  async close(t, externalId, ctx) {
    await post(t, ctx, { action: 'close', ticket: { id: ctx.ticketId, externalId }, comment: null })
  },
  async reopen(t, externalId, ctx) {
    await post(t, ctx, { action: 'reopen', ticket: { id: ctx.ticketId, externalId }, comment: null })
  },
}

