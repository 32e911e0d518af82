import { builder } from '../builder.ts'
import { encodeGlobalID as encodeId } from '@pothos/plugin-relay'
import { decodeId, decodeIds } from '../ids.ts'
import { withoutNulls } from '../input.ts'

const NotificationEventEnum = builder.enumType('NotificationEvent', {
  values: {
    RUN_SUCCEEDED: {},
    RUN_FAILED: { description: 'The run ended FAILED or TIMED_OUT (its final outcome, never a retried attempt).' },
    RUN_CANCELLED: {},
    RUN_RECOVERED: { description: "A success after the template's previous outcome was a failure." },
  } as const,
})
const DeliveryStatusEnum = builder.enumType('NotificationDeliveryStatus', { values: ['PENDING', 'DELIVERED', 'FAILED'] as const })

builder.prismaNode('NotificationChannel', {
  id: { field: 'id' },
  description: 'A webhook: run outcomes are POSTed as JSON, signed with `X-Switchyard-Signature: t=<unix ts>,v1=<hex HMAC-SHA256(secret, ts + "." + body)>`.',
  fields: (t) => ({
    name: t.exposeString('name'),
    url: t.exposeString('url'),
    headers: t.field({ type: 'JSON' as never, description: 'Extra request headers, name → value.', resolve: (c) => c.headers as never }),
    secretCredential: t.relation('secretCredential', { description: 'The PASSWORD credential whose password is the signing secret (never returned).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

builder.prismaNode('NotificationRule', {
  id: { field: 'id' },
  description: 'Which final run outcomes, of which templates (none listed: all), notify which channels.',
  fields: (t) => ({
    name: t.exposeString('name'),
    events: t.field({ type: [NotificationEventEnum], resolve: (r) => r.events }),
    templateIds: t.idList({ description: 'Empty: every template.', resolve: (r) => r.templateIds.map((id) => encodeId('JobTemplate', id)) }),
    channels: t.prismaField({
      type: ['NotificationChannel'],
      resolve: (query, r, _a, ctx) => ctx.prisma.notificationChannel.findMany({ ...query, where: { id: { in: r.channelIds } }, orderBy: { name: 'asc' } }),
    }),
    enabled: t.exposeBoolean('enabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

builder.prismaNode('NotificationDelivery', {
  id: { field: 'id' },
  description: 'One notification to one channel, and its delivery history (the outbox row).',
  fields: (t) => ({
    event: t.expose('event', { type: NotificationEventEnum }),
    channel: t.relation('channel'),
    ruleId: t.id({ nullable: true, resolve: (d) => (d.ruleId ? encodeId('NotificationRule', d.ruleId) : null) }),
    jobRun: t.prismaField({ type: 'JobRun', nullable: true, description: 'Null once retention deleted the run.', resolve: (query, d, _a, ctx) => ctx.prisma.jobRun.findUnique({ ...query, where: { id: d.jobRunId } }) }),
    payload: t.field({ type: 'JSON', description: 'The JSON body sent (besides deliveryId).', resolve: (d) => d.payload as never }),
    status: t.expose('status', { type: DeliveryStatusEnum }),
    attempts: t.exposeInt('attempts'),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true, description: "The receiver's HTTP status at the last attempt; null for a network error." }),
    lastError: t.exposeString('lastError', { nullable: true }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const channelFields = (t: PothosSchemaTypes.InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<object>, 'InputObject'>, create: boolean) => ({
  name: t.string({ required: create }),
  url: t.string({ required: create }),
  headers: t.field({ type: 'JSON' as never, description: 'Extra request headers, name → value.' }),
  secretCredentialId: t.id({ required: create, description: 'A PASSWORD credential whose password is the signing secret.' }),
})
const CreateNotificationChannelInput = builder.inputType('CreateNotificationChannelInput', { fields: (t) => channelFields(t as never, true) })
const UpdateNotificationChannelInput = builder.inputType('UpdateNotificationChannelInput', { description: 'Omitted fields keep their value.', fields: (t) => channelFields(t as never, false) })

const ruleFields = (t: PothosSchemaTypes.InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<object>, 'InputObject'>, create: boolean) => ({
  name: t.string({ required: create }),
  events: t.field({ type: [NotificationEventEnum], required: create }),
  templateIds: t.idList({ description: 'Empty or omitted (on create): every template.' }),
  channelIds: t.idList({ required: create }),
  enabled: t.boolean({ description: 'Default true.' }),
})
const CreateNotificationRuleInput = builder.inputType('CreateNotificationRuleInput', { fields: (t) => ruleFields(t as never, true) })
const UpdateNotificationRuleInput = builder.inputType('UpdateNotificationRuleInput', { description: 'Omitted fields keep their value.', fields: (t) => ruleFields(t as never, false) })

function channelInput(input: Record<string, unknown>) {
  const out: Record<string, unknown> = withoutNulls(input)
  if (out.secretCredentialId != null) out.secretCredentialId = decodeId(String(out.secretCredentialId), 'Credential', 'input.secretCredentialId')
  return out
}
function ruleInput(input: Record<string, unknown>) {
  const out: Record<string, unknown> = withoutNulls(input)
  if (out.templateIds != null) out.templateIds = decodeIds(out.templateIds as string[], 'JobTemplate', 'input.templateIds')
  if (out.channelIds != null) out.channelIds = decodeIds(out.channelIds as string[], 'NotificationChannel', 'input.channelIds')
  return out
}

builder.queryFields((t) => ({
  notificationChannels: t.prismaField({ type: ['NotificationChannel'], description: 'Admins only.', resolve: (_q, _r, _a, ctx) => ctx.services.notifications.listChannels(ctx.actor) }),
  notificationRules: t.prismaField({ type: ['NotificationRule'], description: 'Admins only.', resolve: (_q, _r, _a, ctx) => ctx.services.notifications.listRules(ctx.actor) }),
  notificationDeliveries: t.prismaField({
    type: ['NotificationDelivery'],
    description: 'The delivery log, newest first (admins only).',
    args: { jobRunId: t.arg.id(), first: t.arg.int({ defaultValue: 100 }) },
    resolve: (_q, _r, args, ctx) =>
      ctx.services.notifications.listDeliveries(ctx.actor, { jobRunId: args.jobRunId ? decodeId(String(args.jobRunId), 'JobRun', 'jobRunId') : undefined, first: args.first ?? 100 }),
  }),
}))

builder.mutationFields((t) => ({
  createNotificationChannel: t.prismaField({
    type: 'NotificationChannel',
    args: { input: t.arg({ type: CreateNotificationChannelInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.notifications.createChannel(ctx.actor, channelInput(args.input as Record<string, unknown>)),
  }),
  updateNotificationChannel: t.prismaField({
    type: 'NotificationChannel',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateNotificationChannelInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.notifications.updateChannel(ctx.actor, decodeId(String(args.id), 'NotificationChannel', 'id'), channelInput(args.input as Record<string, unknown>)),
  }),
  deleteNotificationChannel: t.id({
    description: 'Deletes the channel and its delivery log.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.notifications.deleteChannel(ctx.actor, decodeId(String(args.id), 'NotificationChannel', 'id'))
      return args.id
    },
  }),
  createNotificationRule: t.prismaField({
    type: 'NotificationRule',
    args: { input: t.arg({ type: CreateNotificationRuleInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.notifications.createRule(ctx.actor, ruleInput(args.input as Record<string, unknown>)),
  }),
  updateNotificationRule: t.prismaField({
    type: 'NotificationRule',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateNotificationRuleInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.notifications.updateRule(ctx.actor, decodeId(String(args.id), 'NotificationRule', 'id'), ruleInput(args.input as Record<string, unknown>)),
  }),
  redeliverNotification: t.prismaField({
    type: 'NotificationDelivery',
    description:
      'Sends a DELIVERED or FAILED notification again as a new delivery (new id, its own attempts and give-up time) with the same payload; a PENDING one is INVALID_STATE. Admins only.',
    args: { id: t.arg.id({ required: true, description: 'A NotificationDelivery id.' }) },
    resolve: (_q, _r, args, ctx) => ctx.services.notifications.redeliver(ctx.actor, decodeId(String(args.id), 'NotificationDelivery', 'id')),
  }),
  deleteNotificationRule: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.notifications.deleteRule(ctx.actor, decodeId(String(args.id), 'NotificationRule', 'id'))
      return args.id
    },
  }),
}))
