/**
 * The audit log's filters live in the URL (/audit?action=template&entity=JOB_TEMPLATE&actor=…&range=24h)
 * so a view can be shared, as on the runs page. This module is the codec between the query string,
 * the form state and the API's AuditEventFilter. Pagination ("Load more") is page state, not URL state.
 */
import { RANGES, type RangeKey } from './run-filters'

/**
 * Action families offered in the filter. The API matches an action exactly, or by prefix when it ends
 * with "."; a family may cover several (sign-ins and sign-outs are `login.*` and `logout`).
 */
export const AUDIT_FAMILIES = [
  { value: 'template', label: 'Templates', actions: ['template.'] },
  { value: 'schedule', label: 'Schedules', actions: ['schedule.'] },
  { value: 'blackout', label: 'Blackout windows', actions: ['blackout.'] },
  { value: 'run', label: 'Runs', actions: ['run.'] },
  { value: 'workflow', label: 'Workflows and workflow runs', actions: ['workflow.', 'workflow-run.'] },
  { value: 'target', label: 'Targets', actions: ['target.'] },
  { value: 'inventory', label: 'Inventories', actions: ['inventory.'] },
  { value: 'credential', label: 'Credentials', actions: ['credential.'] },
  { value: 'ticket', label: 'Tickets, trackers and ticket rules', actions: ['ticket.', 'ticket-tracker.', 'ticket-rule.'] },
  { value: 'user', label: 'Users', actions: ['user.'] },
  { value: 'password', label: 'Password changes', actions: ['password.'] },
  { value: 'token', label: 'API tokens', actions: ['token.'] },
  { value: 'login', label: 'Sign-ins and sign-outs', actions: ['login.', 'logout'] },
] as const
export type AuditFamily = (typeof AUDIT_FAMILIES)[number]['value']

export const AUDIT_ENTITY_TYPES = ['JOB_TEMPLATE', 'JOB_SCHEDULE', 'BLACKOUT_WINDOW', 'JOB_RUN', 'TARGET', 'INVENTORY', 'CREDENTIAL', 'USER', 'API_TOKEN', 'INVENTORY_SOURCE', 'WORKFLOW', 'WORKFLOW_RUN', 'NOTIFICATION_CHANNEL', 'NOTIFICATION_RULE', 'TEMPLATE_DEPENDENCY', 'WEBHOOK_ENDPOINT', 'TICKET_TRACKER', 'TICKET_RULE', 'TICKET'] as const
export type AuditEntityType = (typeof AUDIT_ENTITY_TYPES)[number]

export interface AuditFilterState {
  families: AuditFamily[]
  entityTypes: AuditEntityType[]
  /** A User global id. */
  actorId: string | null
  /** A preset relative to now, or a custom from/to (ISO instants). */
  range: RangeKey | null
  from: string | null
  to: string | null
}

export const EMPTY_AUDIT_FILTERS: AuditFilterState = { families: [], entityTypes: [], actorId: null, range: null, from: null, to: null }

export interface AuditEventFilterInput {
  actions?: string[]
  entityTypes?: AuditEntityType[]
  actorId?: string
  since?: string
  until?: string
}

interface ParamsLike {
  get(name: string): string | null
}

function list(params: ParamsLike, name: string): string[] {
  const raw = params.get(name)
  return raw ? [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))] : []
}

function instant(raw: string | null): string | null {
  if (!raw) return null
  const t = Date.parse(raw)
  return Number.isNaN(t) ? null : new Date(t).toISOString()
}

const FAMILY_VALUES: readonly string[] = AUDIT_FAMILIES.map((f) => f.value)

export function parseAuditFilters(params: ParamsLike): AuditFilterState {
  const range = params.get('range')
  const preset = range && range in RANGES ? (range as RangeKey) : null
  return {
    families: list(params, 'action').map((v) => v.toLowerCase()).filter((v): v is AuditFamily => FAMILY_VALUES.includes(v)),
    entityTypes: list(params, 'entity').map((v) => v.toUpperCase()).filter((v): v is AuditEntityType => (AUDIT_ENTITY_TYPES as readonly string[]).includes(v)),
    actorId: params.get('actor') || null,
    range: preset,
    from: preset ? null : instant(params.get('from')),
    to: preset ? null : instant(params.get('to')),
  }
}

/** The query string for a filter state (without '?'); stable order, defaults omitted. */
export function serializeAuditFilters(state: AuditFilterState): string {
  const p = new URLSearchParams()
  if (state.families.length) p.set('action', state.families.join(','))
  if (state.entityTypes.length) p.set('entity', state.entityTypes.join(','))
  if (state.actorId) p.set('actor', state.actorId)
  if (state.range) p.set('range', state.range)
  else {
    if (state.from) p.set('from', state.from)
    if (state.to) p.set('to', state.to)
  }
  return p.toString()
}

export function hasAuditFilters(state: AuditFilterState): boolean {
  return serializeAuditFilters(state) !== ''
}

export function toAuditApiFilter(state: AuditFilterState, now = Date.now()): AuditEventFilterInput {
  const f: AuditEventFilterInput = {}
  if (state.families.length) f.actions = AUDIT_FAMILIES.filter((x) => state.families.includes(x.value)).flatMap((x) => [...x.actions])
  if (state.entityTypes.length) f.entityTypes = state.entityTypes
  if (state.actorId) f.actorId = state.actorId
  if (state.range) f.since = new Date(now - RANGES[state.range]).toISOString()
  else {
    if (state.from) f.since = state.from
    if (state.to) f.until = state.to
  }
  return f
}
