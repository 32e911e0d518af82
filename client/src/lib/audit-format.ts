/** How audit events read in the console: who, how, about what (with a link where a page exists), what changed. */
import type { AuditEntityType } from './audit-filters'

export const ENTITY_LABELS: Record<AuditEntityType, string> = {
  JOB_TEMPLATE: 'Template',
  JOB_SCHEDULE: 'Schedule',
  BLACKOUT_WINDOW: 'Blackout window',
  JOB_RUN: 'Run',
  TARGET: 'Target',
  INVENTORY: 'Inventory',
  CREDENTIAL: 'Credential',
  USER: 'User',
  API_TOKEN: 'API token',
  INVENTORY_SOURCE: 'Inventory source',
  WORKFLOW: 'Workflow',
  WORKFLOW_RUN: 'Workflow run',
  NOTIFICATION_CHANNEL: 'Notification channel',
  NOTIFICATION_RULE: 'Notification rule',
  TEMPLATE_DEPENDENCY: 'Template dependency',
  WEBHOOK_ENDPOINT: 'Webhook endpoint',
  TICKET_TRACKER: 'Ticket tracker',
  TICKET_RULE: 'Auto-ticket rule',
  TICKET: 'Ticket',
}

const VIA_LABELS: Record<string, string> = { SESSION: 'Session', API_TOKEN: 'API token', SCHEDULE: 'Schedule', SYSTEM: 'System' }

export function viaLabel(via: string): string {
  return VIA_LABELS[via] ?? via
}

/** Who acted, in words: a schedule and Switchyard itself have no user. */
export function actorLabel(e: { actorName: string | null; via: string }): string {
  if (e.actorName) return e.actorName
  return e.via === 'SCHEDULE' ? 'Scheduler' : e.via === 'SYSTEM' ? 'Switchyard' : 'Unknown'
}

/**
 * Where the entity can be seen: its own page for templates, schedules and runs, the list page for the
 * others. Nothing for deleted entities, for API tokens (no page of their own: they are listed per user,
 * on the account page for your own and, for admins, on the users page) or without an id.
 */
export function entityHref(type: AuditEntityType, id: string | null, action: string): string | null {
  if (!id || action.endsWith('.delete')) return null
  switch (type) {
    case 'JOB_TEMPLATE':
      return `/templates/${encodeURIComponent(id)}`
    case 'JOB_SCHEDULE':
      return `/schedules/${encodeURIComponent(id)}`
    case 'JOB_RUN':
      return `/runs/${encodeURIComponent(id)}`
    case 'BLACKOUT_WINDOW':
      return '/schedules'
    case 'TARGET':
      return '/targets'
    case 'INVENTORY':
      return '/inventories'
    case 'CREDENTIAL':
      return '/credentials'
    case 'USER':
      return '/users'
    case 'INVENTORY_SOURCE':
      return `/inventory-sources/${encodeURIComponent(id)}`
    case 'NOTIFICATION_CHANNEL':
    case 'NOTIFICATION_RULE':
      return '/notifications'
    case 'TICKET_TRACKER':
    case 'TICKET_RULE':
      return '/notifications/tickets'
    // A ticket is shown on its runs' pages; the audit entry does not name them.
    case 'TICKET':
      return null
    case 'API_TOKEN':
    // No pages in the UI yet for these (managed through the API).
    case 'WORKFLOW':
    case 'WORKFLOW_RUN':
    case 'TEMPLATE_DEPENDENCY':
    case 'WEBHOOK_ENDPOINT':
      return null
  }
}

/** A stored value as short text: strings as they are (empty ones quoted), the rest as JSON, null as "—". */
export function formatAuditValue(v: unknown): string {
  if (v === null || v === undefined) return '—'
  if (typeof v === 'string') return v === '' ? '""' : v
  return JSON.stringify(v)
}

export interface AuditChangeLike {
  field: string
  redacted: boolean
  oldValue: unknown
  newValue: unknown
}

/** Creations (and runs started) have no old values worth showing. */
function creates(action: string): boolean {
  return /\.(create|trigger|retry|run-now)$/.test(action)
}

/** One change as a line: `password changed`, `port: 22` (created), `name: a → b` (updated). */
export function describeChange(c: AuditChangeLike, action: string): string {
  if (c.redacted) return `${c.field} changed`
  if (creates(action) && c.oldValue == null) return `${c.field}: ${formatAuditValue(c.newValue)}`
  return `${c.field}: ${formatAuditValue(c.oldValue)} → ${formatAuditValue(c.newValue)}`
}
