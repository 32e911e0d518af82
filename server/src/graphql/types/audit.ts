import { encodeGlobalID } from '@pothos/plugin-relay'
import { AUDIT_ENTITY_TYPES, type AuditFilter } from '../../modules/audit/audit.service.ts'
import { SECRET_CHANGED } from '../../modules/audit/changes.ts'
import { requireAdmin } from '../../modules/actor.ts'
import { builder } from '../builder.ts'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../argument-guard.ts'
import { decodeId, decodeIdOf } from '../ids.ts'

export const AuditViaEnum = builder.enumType('AuditVia', {
  description: 'How the actor of an audit event acted.',
  values: {
    SESSION: { description: 'Signed in (the web console, or a token from `login`).' },
    API_TOKEN: { description: 'With an API token (`createApiToken`).' },
    SCHEDULE: { description: 'Reserved for actions a schedule takes on its own. (The runs a schedule fires are not audit events: nobody acted, and each run records its schedule.)' },
    SYSTEM: { description: 'Switchyard itself, e.g. the first admin created on first start.' },
  } as const,
})

// Values are the GraphQL type names (what global ids encode), so `entityId` can be rebuilt and matched.
export const AuditEntityTypeEnum = builder.enumType('AuditEntityType', {
  description: 'What kind of thing an audit event is about.',
  values: {
    USER: { value: 'User', description: 'A user: the account, its password, its sign-ins.' },
    API_TOKEN: { value: 'ApiToken', description: 'An API token.' },
    CREDENTIAL: { value: 'Credential', description: 'A credential.' },
    TARGET: { value: 'Target', description: 'A target.' },
    INVENTORY: { value: 'Inventory', description: 'An inventory.' },
    INVENTORY_SOURCE: { value: 'InventorySource', description: 'An inventory source (Nautobot).' },
    JOB_TEMPLATE: { value: 'JobTemplate', description: 'A job template.' },
    JOB_SCHEDULE: { value: 'JobSchedule', description: 'A schedule.' },
    BLACKOUT_WINDOW: { value: 'BlackoutWindow', description: 'A blackout window.' },
    JOB_RUN: { value: 'JobRun', description: 'A run.' },
    WORKFLOW: { value: 'Workflow', description: 'A workflow.' },
    WORKFLOW_RUN: { value: 'WorkflowRun', description: 'A workflow run.' },
    NOTIFICATION_CHANNEL: { value: 'NotificationChannel', description: 'A notification channel (webhook).' },
    NOTIFICATION_RULE: { value: 'NotificationRule', description: 'A notification rule.' },
    TEMPLATE_DEPENDENCY: { value: 'TemplateDependency', description: 'A template dependency (run B after A).' },
    WEBHOOK_ENDPOINT: { value: 'WebhookEndpoint', description: 'An inbound webhook endpoint (and each call to it).' },
    TICKET_TRACKER: { value: 'TicketTracker', description: 'A ticket tracker (Redmine, generic webhook).' },
    TICKET_RULE: { value: 'TicketRule', description: 'An auto-ticket rule.' },
    TICKET: { value: 'Ticket', description: 'A ticket in a tracker.' },
  } as const,
})

interface AuditChange {
  field: string
  redacted: boolean
  oldValue: unknown
  newValue: unknown
}

const AuditChangeRef = builder.objectRef<AuditChange>('AuditChange').implement({
  description: 'One field an audited action changed (or set, for a creation).',
  fields: (t) => ({
    field: t.exposeString('field', { description: 'The field, as named in the API input (`parameters.<name>` for a schedule\'s SECRET parameter).' }),
    redacted: t.exposeBoolean('redacted', {
      description: 'A secret (password, private key, passphrase, SECRET parameter value): only the fact that it changed is recorded, never a value.',
    }),
    oldValue: t.expose('oldValue', { type: 'JSON', nullable: true, description: 'The value before; null for a creation or a secret. Long values are cut to 200 characters plus "…".' }),
    newValue: t.expose('newValue', { type: 'JSON', nullable: true, description: 'The value after; null for a secret. Long values are cut to 200 characters plus "…".' }),
  }),
})

/** The stored jsonb `{ field: { old?, new? } | "changed" }` as a list, by field name (jsonb keeps no order). */
function changeList(changes: unknown): AuditChange[] {
  if (!changes || typeof changes !== 'object' || Array.isArray(changes)) return []
  const entries = Object.entries(changes as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return entries.map(([field, c]) => {
    if (c === SECRET_CHANGED) return { field, redacted: true, oldValue: null, newValue: null }
    const v = (c ?? {}) as { old?: unknown; new?: unknown }
    return { field, redacted: false, oldValue: v.old ?? null, newValue: v.new ?? null }
  })
}

builder.prismaNode('AuditEvent', {
  id: { field: 'id' },
  description: 'One entry of the audit trail: who did what, when, and how.',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', description: 'When it happened.' }),
    actorId: t.id({
      nullable: true,
      description: 'The User who acted (kept even if the user is renamed or disabled since); null when no user did (a schedule, a failed login, the system).',
      resolve: (e) => (e.actorId ? encodeGlobalID('User', e.actorId) : null),
    }),
    actor: t.prismaField({
      type: 'User',
      nullable: true,
      description: 'The acting user as they are now, if they still exist.',
      resolve: (query, e, _a, ctx) => (e.actorId ? ctx.prisma.user.findUnique({ ...query, where: { id: e.actorId } }) : null),
    }),
    actorName: t.exposeString('actorName', {
      nullable: true,
      description: 'The actor\'s username at the time; for `login.failed`, the username that was tried.',
    }),
    via: t.expose('via', { type: AuditViaEnum, description: 'How the actor acted: a session, an API token, a schedule, or Switchyard itself.' }),
    action: t.exposeString('action', { description: '`<entity>.<verb>`, e.g. `template.update`, `run.trigger`, `login.failed`.' }),
    entityType: t.field({ type: AuditEntityTypeEnum, description: 'What kind of thing the action was about.', resolve: (e) => e.entityType as (typeof AUDIT_ENTITY_TYPES)[number] }),
    entityId: t.id({
      nullable: true,
      description: 'The global id of the entity (also after it was deleted, when it resolves to nothing); null for a failed login of an unknown user.',
      resolve: (e) => (e.entityId ? encodeGlobalID(e.entityType, e.entityId) : null),
    }),
    entityName: t.exposeString('entityName', { nullable: true, description: 'The entity\'s name at the time (a run: `#<number> <template>`).' }),
    changes: t.field({
      type: [AuditChangeRef],
      description: 'The fields the action changed, by name, with old and new values (none for deletions, sign-ins and sign-outs).',
      resolve: (e) => changeList(e.changes),
    }),
  }),
})

const AuditEventFilterInput = builder.inputType('AuditEventFilter', {
  description: 'Conditions combine with AND; each list matches any of its values.',
  fields: (t) => ({
    actions: t.stringList({ description: 'Actions (`template.update`), or families ending in "." (`template.` is every template action).' }),
    entityTypes: t.field({ type: [AuditEntityTypeEnum], description: 'Only events about these kinds of things.' }),
    entityId: t.id({ description: 'Only events about this entity: the global id of a user, token, credential, target, inventory, template, schedule, blackout window or run.' }),
    actorId: t.id({ description: 'Only events by this User.' }),
    via: t.field({ type: [AuditViaEnum], description: 'Only events done this way.' }),
    since: t.field({ type: 'DateTime', description: 'Only events at or after this instant.' }),
    until: t.field({ type: 'DateTime', description: 'Only events before this instant.' }),
  }),
})

function auditFilter(f: typeof AuditEventFilterInput.$inferInput | null | undefined): AuditFilter {
  if (!f) return {}
  const entity = f.entityId ? decodeIdOf(String(f.entityId), AUDIT_ENTITY_TYPES, 'filter.entityId') : null
  return {
    actions: f.actions ?? null,
    entityTypes: f.entityTypes ?? null,
    entity: entity ? { type: entity.typename, id: entity.id } : null,
    actorId: f.actorId ? decodeId(String(f.actorId), 'User', 'filter.actorId') : null,
    via: f.via ?? null,
    since: f.since ?? null,
    until: f.until ?? null,
  }
}

builder.queryFields((t) => ({
  auditEvents: t.prismaConnection(
    {
      type: 'AuditEvent',
      cursor: 'id',
      description: 'The audit trail, newest first (admins only; others get FORBIDDEN): who changed what, when, and how. Kept for `SWITCHYARD_AUDIT_RETENTION_DAYS`.',
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: MAX_PAGE_SIZE,
      args: { filter: t.arg({ type: AuditEventFilterInput, description: 'Which events; all when omitted.' }) },
      resolve: (query, _r, args, ctx) => {
        requireAdmin(ctx.actor) // before looking at the filter: non-admins learn nothing, not even about bad input
        const where = ctx.services.audit.whereFor(ctx.actor, auditFilter(args.filter))
        return ctx.prisma.auditEvent.findMany({ ...query, where, orderBy: [{ at: 'desc' }, { id: 'desc' }] })
      },
    },
    { name: 'AuditEventConnection', description: 'A page of audit events, newest first.', edgesField: { description: 'The events of this page, newest first.' } },
    { name: 'AuditEventEdge', description: 'An audit event and its cursor.', nodeField: { description: 'The event.' } },
  ),
}))
