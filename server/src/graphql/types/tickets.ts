import { encodeGlobalID as encodeId } from '@pothos/plugin-relay'
import { builder } from '../builder.ts'
import { decodeId, decodeIds } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import { CLEARABLE_RULE_FIELDS, CLEARABLE_TRACKER_FIELDS } from '../../modules/tickets/tickets.service.ts'
import type { TicketDraft } from '../../modules/tickets/ticket-draft.ts'
import { JobRunRef } from './runs.ts'

const TrackerKindEnum = builder.enumType('TicketTrackerKind', {
  values: {
    REDMINE: { description: "Redmine's REST API: issues in `project`, the API key in the credential's password." },
    WEBHOOK: {
      description:
        'A generic tracker: each action is a JSON POST to `url`, signed `X-Switchyard-Signature: t=<unix ts>,v1=<hex HMAC-SHA256(secret, ts + "." + body)>`; a create must answer `{"id": ..., "url": ...}`.',
    },
  } as const,
})
const PriorityEnum = builder.enumType('TicketPriority', { values: ['LOW', 'NORMAL', 'HIGH', 'URGENT'] as const })
const StatusEnum = builder.enumType('TicketStatus', { values: ['OPEN', 'CLOSED'] as const })
const TriggerEnum = builder.enumType('TicketRuleTrigger', {
  values: {
    FAILED: { description: 'Every failed (or timed-out) run of a matching template opens or comments on the ticket.' },
    CONSECUTIVE_FAILURES: { description: "A ticket opens once the template's failure streak reaches consecutiveFailures (default 3); later failures comment." },
  } as const,
})
const ActionKindEnum = builder.enumType('TicketActionKind', { values: ['CREATE', 'COMMENT', 'CLOSE', 'REOPEN'] as const })
const ActionStatusEnum = builder.enumType('TicketActionStatus', { values: ['PENDING', 'DONE', 'FAILED'] as const })

builder.prismaNode('TicketTracker', {
  id: { field: 'id' },
  description: 'An issue tracker that tickets go to.',
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: TrackerKindEnum }),
    url: t.exposeString('url', { description: "REDMINE: Redmine's root URL; WEBHOOK: the URL every action is POSTed to." }),
    credential: t.relation('credential', { description: "The PASSWORD credential whose password is Redmine's API key or the webhook signing secret (never returned)." }),
    project: t.exposeString('project', { nullable: true, description: 'REDMINE: the project identifier or id.' }),
    redmineTrackerId: t.exposeInt('redmineTrackerId', { nullable: true, description: "REDMINE: the tracker (issue type) id; null: the project's default." }),
    closedStatusId: t.exposeInt('closedStatusId', { nullable: true, description: 'REDMINE: the status id that closes an issue; null: the first closed status.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

builder.prismaNode('TicketRule', {
  id: { field: 'id' },
  description: 'Auto-tickets: one open ticket per (rule, failing template); repeated failures comment on it, the recovery comments and can close it.',
  fields: (t) => ({
    name: t.exposeString('name'),
    tracker: t.relation('tracker'),
    templateIds: t.idList({ description: 'Empty: every template.', resolve: (r) => r.templateIds.map((id) => encodeId('JobTemplate', id)) }),
    trigger: t.expose('trigger', { type: TriggerEnum }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { nullable: true, description: 'CONSECUTIVE_FAILURES: the streak that opens a ticket (null: 3).' }),
    priority: t.expose('priority', { type: PriorityEnum }),
    closeOnRecovery: t.exposeBoolean('closeOnRecovery'),
    enabled: t.exposeBoolean('enabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

builder.prismaObject('TicketAction', {
  description: "One change to make in the tracker (create, comment, close, reopen) and its delivery history: the ticket's outbox row.",
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.expose('kind', { type: ActionKindEnum }),
    reason: t.exposeString('reason', { nullable: true, description: 'COMMENT: FAILED_AGAIN or RECOVERED (auto-tickets).' }),
    status: t.expose('status', { type: ActionStatusEnum }),
    attempts: t.exposeInt('attempts'),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    doneAt: t.expose('doneAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
})

builder.prismaNode('Ticket', {
  id: { field: 'id' },
  description: 'A ticket in a tracker, for one or more runs. externalId and url are null until the tracker created it.',
  fields: (t) => ({
    tracker: t.relation('tracker'),
    externalId: t.exposeString('externalId', { nullable: true, description: "The tracker's id (Redmine's issue number)." }),
    url: t.exposeString('url', { nullable: true }),
    title: t.exposeString('title'),
    description: t.exposeString('description'),
    priority: t.expose('priority', { type: PriorityEnum }),
    status: t.expose('status', { type: StatusEnum }),
    dedupKey: t.exposeString('dedupKey', { nullable: true, description: 'Auto-tickets: rule + template; at most one OPEN ticket per key.' }),
    ruleId: t.id({ nullable: true, resolve: (x) => (x.ruleId ? encodeId('TicketRule', x.ruleId) : null) }),
    actions: t.relation('actions', { query: { orderBy: { seq: 'asc' }, take: 200 }, description: 'What was sent to the tracker, in order (up to 200).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    closedAt: t.expose('closedAt', { type: 'DateTime', nullable: true }),
  }),
})

const TicketDraftRef = builder.objectRef<TicketDraft>('TicketDraft').implement({
  description: "A ticket's prefilled text for a failed run: summary, failed targets and log tail.",
  fields: (t) => ({
    title: t.exposeString('title'),
    description: t.exposeString('description'),
    priority: t.field({ type: PriorityEnum, resolve: (d) => d.priority }),
  }),
})

builder.objectField(JobRunRef, 'tickets', (t) =>
  t.prismaField({ type: ['Ticket'], description: "The run's tickets (created from it, or auto-tickets it opened or commented on).", resolve: (_q, run, _a, ctx) => ctx.services.tickets.ticketsOfRun(run.id) }),
)

const trackerFields = (t: PothosSchemaTypes.InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<object>, 'InputObject'>, create: boolean) => ({
  name: t.string({ required: create }),
  kind: t.field({ type: TrackerKindEnum, required: create }),
  url: t.string({ required: create }),
  credentialId: t.id({ required: create, description: "A PASSWORD credential: its password is Redmine's API key or the webhook signing secret." }),
  project: t.string({ description: 'REDMINE (required): project identifier or id.' }),
  redmineTrackerId: t.int(),
  closedStatusId: t.int(),
})
const CreateTicketTrackerInput = builder.inputType('CreateTicketTrackerInput', { fields: (t) => trackerFields(t as never, true) })
const UpdateTicketTrackerInput = builder.inputType('UpdateTicketTrackerInput', { description: 'Omitted fields keep their value.', fields: (t) => trackerFields(t as never, false) })

const ruleFields = (t: PothosSchemaTypes.InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<object>, 'InputObject'>, create: boolean) => ({
  name: t.string({ required: create }),
  trackerId: t.id({ required: create }),
  templateIds: t.idList({ description: 'Empty or omitted (on create): every template.' }),
  trigger: t.field({ type: TriggerEnum, description: create ? 'Default FAILED.' : undefined }),
  consecutiveFailures: t.int(),
  priority: t.field({ type: PriorityEnum }),
  closeOnRecovery: t.boolean({ description: 'Default true.' }),
  enabled: t.boolean({ description: 'Default true.' }),
})
const CreateTicketRuleInput = builder.inputType('CreateTicketRuleInput', { fields: (t) => ruleFields(t as never, true) })
const UpdateTicketRuleInput = builder.inputType('UpdateTicketRuleInput', { description: 'Omitted fields keep their value.', fields: (t) => ruleFields(t as never, false) })

const CreateTicketInput = builder.inputType('CreateTicketInput', {
  fields: (t) => ({
    jobRunId: t.id({ required: true, description: 'A FAILED or TIMED_OUT run.' }),
    trackerId: t.id({ required: true }),
    title: t.string({ required: true }),
    description: t.string(),
    priority: t.field({ type: PriorityEnum, description: 'Default NORMAL.' }),
  }),
})

function trackerInput(input: Record<string, unknown>, update = false) {
  const out: Record<string, unknown> = withoutNulls(input, update ? CLEARABLE_TRACKER_FIELDS : [])
  if (out.credentialId != null) out.credentialId = decodeId(String(out.credentialId), 'Credential', 'input.credentialId')
  return out
}
function ruleInput(input: Record<string, unknown>, update = false) {
  const out: Record<string, unknown> = withoutNulls(input, update ? CLEARABLE_RULE_FIELDS : [])
  if (out.trackerId != null) out.trackerId = decodeId(String(out.trackerId), 'TicketTracker', 'input.trackerId')
  if (out.templateIds != null) out.templateIds = decodeIds(out.templateIds as string[], 'JobTemplate', 'input.templateIds')
  return out
}
const trackerArg = (raw: unknown) => decodeId(String(raw), 'TicketTracker', 'id')
const ruleArg = (raw: unknown) => decodeId(String(raw), 'TicketRule', 'id')
const ticketArg = (raw: unknown) => decodeId(String(raw), 'Ticket', 'id')

builder.queryFields((t) => ({
  ticketTrackers: t.prismaField({ type: ['TicketTracker'], description: 'Operators and admins.', resolve: (_q, _r, _a, ctx) => ctx.services.tickets.listTrackers(ctx.actor) }),
  ticketRules: t.prismaField({ type: ['TicketRule'], description: 'Admins only.', resolve: (_q, _r, _a, ctx) => ctx.services.tickets.listRules(ctx.actor) }),
  tickets: t.prismaField({
    type: ['Ticket'],
    description: 'Tickets, newest first: admins see every one, others those of runs they can see.',
    args: {
      status: t.arg({ type: StatusEnum }),
      trackerId: t.arg.id(),
      first: t.arg.int({ defaultValue: 50, description: '1 to 500.' }),
    },
    resolve: (_q, _r, args, ctx) =>
      ctx.services.tickets.listTickets(ctx.actor, {
        status: args.status ?? null,
        trackerId: args.trackerId == null ? null : decodeId(String(args.trackerId), 'TicketTracker', 'trackerId'),
        first: args.first ?? 50,
      }),
  }),
  ticketDraft: t.field({
    type: TicketDraftRef,
    description: 'The prefilled ticket for a FAILED or TIMED_OUT run (operators and admins who can see it).',
    args: { jobRunId: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.tickets.draft(ctx.actor, decodeId(String(args.jobRunId), 'JobRun', 'jobRunId')),
  }),
}))

builder.mutationFields((t) => ({
  createTicketTracker: t.prismaField({
    type: 'TicketTracker',
    description: 'Admins only. A REDMINE tracker is checked now: the API key must be accepted and the project visible.',
    args: { input: t.arg({ type: CreateTicketTrackerInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.tickets.createTracker(ctx.actor, trackerInput(args.input as Record<string, unknown>)),
  }),
  updateTicketTracker: t.prismaField({
    type: 'TicketTracker',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateTicketTrackerInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.tickets.updateTracker(ctx.actor, trackerArg(args.id), trackerInput(args.input as Record<string, unknown>, true)),
  }),
  deleteTicketTracker: t.id({
    description: "Deletes the tracker, its rules and Switchyard's records of its tickets (the issues stay in the tracker).",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.tickets.deleteTracker(ctx.actor, trackerArg(args.id))
      return args.id
    },
  }),
  createTicketRule: t.prismaField({
    type: 'TicketRule',
    args: { input: t.arg({ type: CreateTicketRuleInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.tickets.createRule(ctx.actor, ruleInput(args.input as Record<string, unknown>)),
  }),
  updateTicketRule: t.prismaField({
    type: 'TicketRule',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateTicketRuleInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.tickets.updateRule(ctx.actor, ruleArg(args.id), ruleInput(args.input as Record<string, unknown>, true)),
  }),
  deleteTicketRule: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.tickets.deleteRule(ctx.actor, ruleArg(args.id))
      return args.id
    },
  }),
  createTicket: t.prismaField({
    type: 'Ticket',
    description: "A ticket for a failed run, created in the tracker by the outbox (externalId/url appear once it is; `actions` shows the delivery). Operators and admins.",
    args: { input: t.arg({ type: CreateTicketInput, required: true }) },
    resolve: (_q, _r, args, ctx) => {
      const input = withoutNulls(args.input as Record<string, unknown>, []) as Record<string, unknown>
      input.jobRunId = decodeId(String(input.jobRunId), 'JobRun', 'input.jobRunId')
      input.trackerId = decodeId(String(input.trackerId), 'TicketTracker', 'input.trackerId')
      return ctx.services.tickets.createTicket(ctx.actor, input)
    },
  }),
  closeTicket: t.prismaField({
    type: 'Ticket',
    description: 'Closes an open ticket here and in the tracker.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.tickets.closeTicket(ctx.actor, ticketArg(args.id)),
  }),
  commentTicket: t.prismaField({
    type: 'Ticket',
    description: "Adds a comment to the ticket's issue in the tracker (delivered by the outbox; `actions` shows it). Operators and admins who can see the ticket.",
    args: { id: t.arg.id({ required: true }), body: t.arg.string({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.tickets.commentTicket(ctx.actor, ticketArg(args.id), args.body),
  }),
  reopenTicket: t.prismaField({
    type: 'Ticket',
    description: 'Reopens a closed ticket here and in the tracker (CONFLICT when its template+rule already has another open ticket).',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.tickets.reopenTicket(ctx.actor, ticketArg(args.id)),
  }),
}))
