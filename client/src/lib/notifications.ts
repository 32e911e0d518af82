/**
 * Notifications in the console, the parts worth testing without a browser: events and statuses in words,
 * a channel's headers as editable rows and back, the delivery log's filters (kept in the URL) and a
 * delivery's timing in words.
 */

export const NOTIFICATION_EVENTS = [
  'RUN_FAILED',
  'RUN_TIMED_OUT',
  'CONSECUTIVE_FAILURES',
  'DURATION_EXCEEDED',
  'RUN_RECOVERED',
  'RUN_SUCCEEDED',
  'RUN_STARTED',
  'RUN_CANCELLED',
  'SCHEDULE_SLOT_MISSED',
  'SCHEDULE_SLOT_SKIPPED',
  'CONFIG_CHANGED',
  'QUEUE_BACKLOG',
  'WORKER_DOWN',
  'WORKER_RECOVERED',
] as const
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number]

const EVENT_LABELS: Record<string, string> = {
  RUN_FAILED: 'Run failed',
  RUN_SUCCEEDED: 'Run succeeded',
  RUN_CANCELLED: 'Run cancelled',
  RUN_RECOVERED: 'Run recovered',
  RUN_STARTED: 'Run started',
  RUN_TIMED_OUT: 'Run timed out',
  DURATION_EXCEEDED: 'Ran too long',
  CONSECUTIVE_FAILURES: 'Failures in a row',
  SCHEDULE_SLOT_MISSED: 'Schedule slot missed',
  SCHEDULE_SLOT_SKIPPED: 'Schedule slot skipped',
  CONFIG_CHANGED: 'Configuration changed',
  QUEUE_BACKLOG: 'Queue backlog',
  WORKER_DOWN: 'Worker down',
  WORKER_RECOVERED: 'Worker back',
}

const EVENT_HINTS: Record<string, string> = {
  RUN_FAILED: 'Failed or timed out (the final outcome, never a retried attempt).',
  RUN_SUCCEEDED: 'Every success.',
  RUN_CANCELLED: 'Cancelled by someone or by a schedule policy.',
  RUN_RECOVERED: 'A success after the template’s previous outcome was a failure.',
  RUN_STARTED: 'The run’s first attempt started (a retry never notifies again).',
  RUN_TIMED_OUT: 'Ended timed out (“Run failed” covers this too).',
  DURATION_EXCEEDED: 'Running longer than a limit, or than a multiple of the template’s usual (p95) duration: noticed while it still runs, once per run.',
  CONSECUTIVE_FAILURES: 'The template failed this many times in a row since its last success (once per streak).',
  SCHEDULE_SLOT_MISSED: 'A schedule’s slot did not run: the scheduler was down past the grace period and the misfire policy gave it up.',
  SCHEDULE_SLOT_SKIPPED: 'A schedule’s slot did not run because of a blackout window or the overlap policy.',
  CONFIG_CHANGED: 'A configuration backup committed changes (with each changed device’s diff summary).',
  QUEUE_BACKLOG: 'The oldest queued run has waited longer than a limit (once, until the queue drains).',
  WORKER_DOWN: 'A worker process stopped heartbeating (any rule scope; a graceful stop does not count).',
  WORKER_RECOVERED: 'A worker that was down heartbeats again.',
}

/** An event in words; an event this console does not know yet (a newer server) as its name, readable. */
export function eventLabel(event: string): string {
  return EVENT_LABELS[event] ?? event.charAt(0) + event.slice(1).toLowerCase().replaceAll('_', ' ')
}

export function eventHint(event: string): string | undefined {
  return EVENT_HINTS[event]
}

export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

export function deliveryStatusLabel(status: string): string {
  return status === 'PENDING' ? 'Pending' : status === 'DELIVERED' ? 'Delivered' : status === 'FAILED' ? 'Failed' : status
}

/** Header rows as the key/value editor edits them, from the channel's `headers` JSON. */
export function headerRows(headers: unknown): Array<[string, string]> {
  if (!headers || typeof headers !== 'object' || Array.isArray(headers)) return []
  return Object.entries(headers as Record<string, unknown>).map(([k, v]) => [k, v == null ? '' : String(v)])
}

/**
 * The rows back as the API's `headers` map. Blank rows are dropped; a value without a name, or a name
 * given twice, is a problem for the form to show (the API would drop or merge them silently).
 */
export function headersInput(rows: ReadonlyArray<readonly [string, string]>): { headers: Record<string, string>; error: string | null } {
  const headers: Record<string, string> = {}
  const seen = new Set<string>()
  for (const [rawName, value] of rows) {
    const name = rawName.trim()
    if (!name && !value.trim()) continue
    if (!name) return { headers, error: 'Every header needs a name.' }
    if (seen.has(name.toLowerCase())) return { headers, error: `The header “${name}” is given twice.` }
    seen.add(name.toLowerCase())
    headers[name] = value
  }
  return { headers, error: null }
}

export interface DeliveryFilterState {
  statuses: DeliveryStatus[]
  events: string[]
  channelId: string | null
  /** Only this run's deliveries (a run page links here with it). */
  runId: string | null
}

export const EMPTY_DELIVERY_FILTERS: DeliveryFilterState = { statuses: [], events: [], channelId: null, runId: null }

export function parseDeliveryFilters(params: URLSearchParams): DeliveryFilterState {
  const list = (key: string) => (params.get(key) ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  return {
    statuses: list('status').filter((s): s is DeliveryStatus => (DELIVERY_STATUSES as readonly string[]).includes(s)),
    events: list('event').filter((e) => /^[A-Z_]+$/.test(e)),
    channelId: params.get('channel') || null,
    runId: params.get('run') || null,
  }
}

export function serializeDeliveryFilters(f: DeliveryFilterState): string {
  const p = new URLSearchParams()
  if (f.statuses.length) p.set('status', f.statuses.join(','))
  if (f.events.length) p.set('event', f.events.join(','))
  if (f.channelId) p.set('channel', f.channelId)
  if (f.runId) p.set('run', f.runId)
  return p.toString()
}

export function hasDeliveryFilters(f: DeliveryFilterState): boolean {
  return !!(f.statuses.length || f.events.length || f.channelId || f.runId)
}

export interface DeliveryLike {
  status: string
  event: string
  channel: { id: string }
  createdAt: string
  deliveredAt: string | null
  nextAttemptAt: string | null
  updatedAt: string
  attempts: number
}

/** Whether a delivery passes the filters (the API filters only by run; the rest is done here). */
export function matchesDeliveryFilters(d: DeliveryLike, f: DeliveryFilterState): boolean {
  if (f.statuses.length && !(f.statuses as string[]).includes(d.status)) return false
  if (f.events.length && !f.events.includes(d.event)) return false
  if (f.channelId && d.channel.id !== f.channelId) return false
  return true
}

/** The log needs another look soon: something is still being delivered. */
export function hasPendingDeliveries(ds: ReadonlyArray<{ status: string }>): boolean {
  return ds.some((d) => d.status === 'PENDING')
}

/**
 * A delivery's timing in words: how long after the event it was delivered, when the next attempt is
 * due, or when it was given up.
 */
export function deliveryTiming(d: DeliveryLike, now = Date.now()): string {
  const created = Date.parse(d.createdAt)
  if (d.status === 'DELIVERED' && d.deliveredAt) return `delivered after ${span(Date.parse(d.deliveredAt) - created)}`
  if (d.status === 'PENDING') {
    if (!d.attempts) return 'waiting for the first attempt'
    if (d.nextAttemptAt) {
      const due = Date.parse(d.nextAttemptAt) - now
      return due > 0 ? `next attempt in ${span(due)}` : 'next attempt due now'
    }
    return 'retrying'
  }
  if (d.status === 'FAILED') return `gave up after ${span(Date.parse(d.updatedAt) - created)}`
  return ''
}

/** A short span: "850 ms", "12 s", "3 min", "2 h". */
export function span(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0 ms'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${Math.round(ms / 3_600_000)} h`
}

/** The receiver's answer in words: "HTTP 500", or "no answer" for a network error. */
export function statusCodeWords(code: number | null, attempts: number): string {
  if (code != null) return `HTTP ${code}`
  return attempts ? 'no answer' : '—'
}
