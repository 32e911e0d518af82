import { builder } from '../builder.ts'
import { encodeGlobalID as encodeId } from '@pothos/plugin-relay'
import { decodeId, decodeIds } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import { CLEARABLE_CHANNEL_FIELDS, CLEARABLE_RULE_FIELDS, type NotificationPreview } from '../../modules/notifications/notifications.service.ts'
import type { SendOutcome } from '../../modules/notifications/channel-sender.ts'
import { shownUrl } from '../../modules/notifications/channel-url.ts'

const NotificationEventEnum = builder.enumType('NotificationEvent', {
  values: {
    RUN_SUCCEEDED: {},
    RUN_FAILED: { description: 'The run ended FAILED or TIMED_OUT (its final outcome, never a retried attempt).' },
    RUN_CANCELLED: {},
    RUN_RECOVERED: { description: "A success after the template's previous outcome was a failure." },
    RUN_STARTED: { description: 'The run started its first attempt (a retry never notifies again).' },
    RUN_TIMED_OUT: { description: 'The run ended TIMED_OUT (RUN_FAILED covers this too).' },
    DURATION_EXCEEDED: { description: "The run has run longer than the rule's durationLimitSeconds, or durationP95Factor × the template's p95: noticed while it is still running (checked every few seconds) or at its end, once per run." },
    CONSECUTIVE_FAILURES: { description: "The template's failure streak reached the rule's consecutiveFailures (once per streak)." },
    SCHEDULE_SLOT_MISSED: { description: "A schedule's slot was recorded MISSED: the scheduler was down past the grace period and the misfire policy did not run it." },
    SCHEDULE_SLOT_SKIPPED: { description: "A schedule's slot was recorded SKIPPED: a blackout window or the overlap policy kept it from running." },
    CONFIG_CHANGED: { description: 'A config_backup run ended with a commit (some configuration changed); `details` has the commit and each changed target\'s diff summary.' },
    WORKER_DOWN: { description: 'A worker process stopped heartbeating and the reaper marked it down (a graceful stop does not notify). Has no run; rules notify whatever their scope.' },
    WORKER_RECOVERED: {
      description:
        'A worker that was marked down heartbeats again, or was restarted: a new worker process of the same host and the same set of roles started after its last heartbeat (`details.replacesWorkerIds`). Once per down worker.',
    },
    QUEUE_BACKLOG: { description: "The oldest queued run in the rule's scope has waited longer than the rule's queueBacklogSeconds (once until the backlog clears)." },
  } as const,
})
const ChannelKindEnum = builder.enumType('NotificationChannelKind', {
  values: {
    WEBHOOK: { description: 'POSTs signed JSON (X-Switchyard-Signature) to any URL.' },
    EMAIL: { description: 'Sends mail over SMTP (text and HTML bodies).' },
    SLACK: { description: 'A Slack (or Slack-compatible) incoming webhook: Block Kit layout.' },
    TEAMS: { description: 'A Microsoft Teams incoming webhook / Workflows URL: an Adaptive Card.' },
    MATTERMOST: { description: 'A Mattermost incoming webhook: a message attachment.' },
  } as const,
})
const SmtpSecurityEnum = builder.enumType('SmtpSecurity', {
  values: {
    NONE: { description: 'Plain SMTP (no TLS even if offered): only for a relay on a trusted network.' },
    STARTTLS: { description: 'Upgrades with STARTTLS and refuses to go on without it (port 587 by default).' },
    TLS: { description: 'Implicit TLS from the first byte (port 465 by default).' },
  } as const,
})
const DeliveryStatusEnum = builder.enumType('NotificationDeliveryStatus', { values: ['PENDING', 'DELIVERED', 'FAILED'] as const })

builder.prismaNode('NotificationChannel', {
  id: { field: 'id' },
  description:
    'Where notifications go. WEBHOOK: run outcomes are POSTed as JSON, signed with `X-Switchyard-Signature: t=<unix ts>,v1=<hex HMAC-SHA256(secret, ts + "." + body)>` (one v1 per active secret); SLACK/TEAMS/MATTERMOST: their incoming-webhook layouts; EMAIL: SMTP.',
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: ChannelKindEnum }),
    url: t.string({
      nullable: true,
      description:
        'WEBHOOK: the URL with its query values (and fragment) masked as •••, which often carry tokens; sending it back unchanged keeps the stored URL. Null for SLACK/TEAMS/MATTERMOST (their URL carries the service token: write-only, see urlHost and hasUrl) and EMAIL.',
      resolve: (c) => shownUrl(c),
    }),
    urlHost: t.exposeString('urlHost', { nullable: true, description: 'The URL\'s host[:port] (every kind but EMAIL).' }),
    hasUrl: t.boolean({ description: 'A URL is stored (for a chat kind, whose URL is write-only: an update without url keeps it).', resolve: (c) => c.url !== null || c.urlSealed !== null }),
    headers: t.field({ type: 'JSON' as never, description: 'Extra request headers, name → value.', resolve: (c) => c.headers as never }),
    secretCredential: t.relation('secretCredential', { nullable: true, description: 'WEBHOOK: the PASSWORD credential whose password is the current signing secret (never returned).' }),
    secondarySecretCredential: t.relation('secondarySecretCredential', { nullable: true, description: 'WEBHOOK, during a rotation: the second active signing secret (addNotificationChannelSecret / retireNotificationChannelSecret).' }),
    smtpHost: t.exposeString('smtpHost', { nullable: true }),
    smtpPort: t.exposeInt('smtpPort', { nullable: true, description: 'Null: 465 for TLS, else 587.' }),
    smtpSecurity: t.field({ type: SmtpSecurityEnum, nullable: true, description: 'Null: STARTTLS.', resolve: (c) => c.smtpSecurity }),
    smtpCredential: t.relation('smtpCredential', { nullable: true, description: 'The PASSWORD credential (username + password) for SMTP AUTH; null: no AUTH.' }),
    smtpCaCertificate: t.exposeString('smtpCaCertificate', { nullable: true, description: 'PEM of a CA trusted for the SMTP server besides the system ones.' }),
    emailFrom: t.exposeString('emailFrom', { nullable: true }),
    emailTo: t.exposeStringList('emailTo'),
    subjectTemplate: t.exposeString('subjectTemplate', { nullable: true, description: 'Liquid; null: the default. EMAIL subject, chat card title.' }),
    bodyTemplate: t.exposeString('bodyTemplate', { nullable: true, description: 'Liquid; null: the default. WEBHOOK: the JSON body; EMAIL: the text part; chat: text above the card facts.' }),
    htmlTemplate: t.exposeString('htmlTemplate', { nullable: true, description: 'Liquid (outputs HTML-escaped); null: the default. EMAIL only.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

builder.prismaNode('NotificationRule', {
  id: { field: 'id' },
  description:
    'Which events notify which channels. Scope: templateIds, workflowIds, scheduleIds and tags (template tags); a run is in scope when any of them matches it, and every run when all are empty. Worker events ignore the scope.',
  fields: (t) => ({
    name: t.exposeString('name'),
    events: t.field({ type: [NotificationEventEnum], resolve: (r) => r.events }),
    templateIds: t.idList({ description: 'Runs of these templates.', resolve: (r) => r.templateIds.map((id) => encodeId('JobTemplate', id)) }),
    workflowIds: t.idList({ description: "Runs of these workflows' nodes, and these workflows' schedule slots.", resolve: (r) => r.workflowIds.map((id) => encodeId('Workflow', id)) }),
    scheduleIds: t.idList({ description: 'Runs and slots of these schedules (for a workflow schedule: its workflow runs\' nodes too).', resolve: (r) => r.scheduleIds.map((id) => encodeId('JobSchedule', id)) }),
    tags: t.exposeStringList('tags', { description: 'Runs of templates carrying any of these tags.' }),
    queueBacklogSeconds: t.exposeInt('queueBacklogSeconds', { nullable: true, description: 'QUEUE_BACKLOG: the oldest queued run in scope waiting longer than this notifies.' }),
    channels: t.prismaField({
      type: ['NotificationChannel'],
      resolve: (query, r, _a, ctx) => ctx.prisma.notificationChannel.findMany({ ...query, where: { id: { in: r.channelIds } }, orderBy: { name: 'asc' } }),
    }),
    enabled: t.exposeBoolean('enabled'),
    durationLimitSeconds: t.exposeInt('durationLimitSeconds', { nullable: true, description: 'DURATION_EXCEEDED: a run longer than this notifies.' }),
    durationP95Factor: t.exposeFloat('durationP95Factor', { nullable: true, description: "DURATION_EXCEEDED: a run longer than this × the p95 of the template's last 100 successes (at least 5) notifies." }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { nullable: true, description: 'CONSECUTIVE_FAILURES: the streak length that notifies (null: 3).' }),
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
    jobRun: t.prismaField({
      type: 'JobRun',
      nullable: true,
      description: 'Null once retention deleted the run, and for events about no job run (a workflow schedule slot: workflowRun; a worker).',
      resolve: (query, d, _a, ctx) => (d.jobRunId ? ctx.prisma.jobRun.findUnique({ ...query, where: { id: d.jobRunId } }) : null),
    }),
    workflowRun: t.prismaField({
      type: 'WorkflowRun',
      nullable: true,
      description: "A workflow schedule slot's event: the MISSED or SKIPPED workflow run.",
      resolve: (query, d, _a, ctx) => (d.workflowRunId ? ctx.prisma.workflowRun.findUnique({ ...query, where: { id: d.workflowRunId } }) : null),
    }),
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
  kind: t.field({ type: ChannelKindEnum, description: create ? 'Default WEBHOOK.' : undefined }),
  url: t.string({ description: create ? 'Required except for EMAIL. SLACK/TEAMS/MATTERMOST: write-only (stored sealed, never returned).' : 'Omitted: the stored URL is kept (a chat URL is write-only; a WEBHOOK URL sent back as shown, query masked, is unchanged).' }),
  headers: t.field({ type: 'JSON' as never, description: 'Extra request headers, name → value.' }),
  secretCredentialId: t.id({ description: 'WEBHOOK (required): a PASSWORD credential whose password is the signing secret.' }),
  smtpHost: t.string({ description: 'EMAIL (required).' }),
  smtpPort: t.int(),
  smtpSecurity: t.field({ type: SmtpSecurityEnum }),
  smtpCredentialId: t.id({ description: 'EMAIL: a PASSWORD credential for SMTP AUTH (null: none).' }),
  smtpCaCertificate: t.string({ description: 'PEM CA certificate to trust for the SMTP server.' }),
  emailFrom: t.string({ description: 'EMAIL (required): e.g. "Switchyard <switchyard@example.com>".' }),
  emailTo: t.stringList({ description: 'EMAIL (at least one).' }),
  subjectTemplate: t.string({ description: 'Liquid template; null: the default.' }),
  bodyTemplate: t.string({ description: 'Liquid template; null: the default.' }),
  htmlTemplate: t.string({ description: 'Liquid template (EMAIL); null: the default.' }),
})
const CreateNotificationChannelInput = builder.inputType('CreateNotificationChannelInput', { fields: (t) => channelFields(t as never, true) })
const UpdateNotificationChannelInput = builder.inputType('UpdateNotificationChannelInput', { description: 'Omitted fields keep their value.', fields: (t) => channelFields(t as never, false) })

const ruleFields = (t: PothosSchemaTypes.InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<object>, 'InputObject'>, create: boolean) => ({
  name: t.string({ required: create }),
  events: t.field({ type: [NotificationEventEnum], required: create }),
  templateIds: t.idList({ description: 'Scope: runs of these templates. All scope lists empty or omitted (on create): every run.' }),
  workflowIds: t.idList({ description: "Scope: runs of these workflows' nodes and these workflows' schedule slots." }),
  scheduleIds: t.idList({ description: 'Scope: runs and slots of these schedules.' }),
  tags: t.stringList({ description: 'Scope: runs of templates carrying any of these tags.' }),
  channelIds: t.idList({ required: create }),
  enabled: t.boolean({ description: 'Default true.' }),
  durationLimitSeconds: t.int({ description: 'DURATION_EXCEEDED: absolute limit in seconds.' }),
  durationP95Factor: t.float({ description: "DURATION_EXCEEDED: k in k × the template's p95." }),
  consecutiveFailures: t.int({ description: 'CONSECUTIVE_FAILURES: streak length (default 3).' }),
  queueBacklogSeconds: t.int({ description: 'QUEUE_BACKLOG (required with it): how long the oldest queued run may wait.' }),
})
const CreateNotificationRuleInput = builder.inputType('CreateNotificationRuleInput', { fields: (t) => ruleFields(t as never, true) })
const UpdateNotificationRuleInput = builder.inputType('UpdateNotificationRuleInput', { description: 'Omitted fields keep their value.', fields: (t) => ruleFields(t as never, false) })

function channelInput(input: Record<string, unknown>, update = false) {
  const out: Record<string, unknown> = withoutNulls(input, update ? CLEARABLE_CHANNEL_FIELDS : [])
  if (out.secretCredentialId != null) out.secretCredentialId = decodeId(String(out.secretCredentialId), 'Credential', 'input.secretCredentialId')
  if (out.smtpCredentialId != null) out.smtpCredentialId = decodeId(String(out.smtpCredentialId), 'Credential', 'input.smtpCredentialId')
  return out
}

const TemplatesInput = builder.inputType('NotificationTemplatesInput', {
  description: 'Templates to preview instead of the saved ones (omitted: the saved one; null: the default).',
  fields: (t) => ({ subjectTemplate: t.string(), bodyTemplate: t.string(), htmlTemplate: t.string() }),
})

const NotificationPreviewType = builder.objectRef<NotificationPreview>('NotificationPreview').implement({
  description: 'What a channel would send, rendered exactly as delivery does.',
  fields: (t) => ({
    event: t.field({ type: NotificationEventEnum, resolve: (p) => p.event as never }),
    subject: t.exposeString('subject', { nullable: true, description: 'EMAIL only.' }),
    text: t.exposeString('text', { nullable: true, description: 'EMAIL only: the text part.' }),
    html: t.exposeString('html', { nullable: true, description: 'EMAIL only: the HTML part.' }),
    body: t.exposeString('body', { nullable: true, description: 'HTTP kinds: the exact JSON request body.' }),
  }),
})

const NotificationTestResultType = builder.objectRef<SendOutcome>('NotificationTestResult').implement({
  description: "The outcome of one message sent now through a channel, with the receiver's answer.",
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    statusCode: t.exposeInt('status', { nullable: true, description: 'HTTP status or SMTP reply code; null when nothing answered.' }),
    error: t.exposeString('error', { nullable: true }),
    response: t.exposeString('response', { nullable: true, description: "The receiver's answer (HTTP body or SMTP reply), up to 2000 characters." }),
    retryable: t.exposeBoolean('retryable', { description: 'Whether a delivery would retry after this outcome.' }),
  }),
})

const channelArg = (raw: unknown) => decodeId(String(raw), 'NotificationChannel', 'id')
const runArg = (raw: unknown) => (raw ? decodeId(String(raw), 'JobRun', 'jobRunId') : undefined)
function ruleInput(input: Record<string, unknown>, update = false) {
  const out: Record<string, unknown> = withoutNulls(input, update ? CLEARABLE_RULE_FIELDS : [])
  if (out.templateIds != null) out.templateIds = decodeIds(out.templateIds as string[], 'JobTemplate', 'input.templateIds')
  if (out.workflowIds != null) out.workflowIds = decodeIds(out.workflowIds as string[], 'Workflow', 'input.workflowIds')
  if (out.scheduleIds != null) out.scheduleIds = decodeIds(out.scheduleIds as string[], 'JobSchedule', 'input.scheduleIds')
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
  notificationPreview: t.field({
    type: NotificationPreviewType,
    description: "A channel's message for a past run (omitted: a sample run), rendered as delivery would; template errors name `templates.<field>` (admins only).",
    args: {
      channelId: t.arg.id({ required: true }),
      jobRunId: t.arg.id(),
      event: t.arg({ type: NotificationEventEnum, description: "Default: the run's status as an event." }),
      templates: t.arg({ type: TemplatesInput }),
    },
    resolve: (_r, args, ctx) =>
      ctx.services.notifications.preview(ctx.actor, decodeId(String(args.channelId), 'NotificationChannel', 'channelId'), {
        jobRunId: runArg(args.jobRunId),
        event: args.event ?? undefined,
        templates: args.templates ? (withoutNulls(args.templates as Record<string, unknown>, ['subjectTemplate', 'bodyTemplate', 'htmlTemplate']) as never) : undefined,
      }),
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
    resolve: (_q, _r, args, ctx) => ctx.services.notifications.updateChannel(ctx.actor, decodeId(String(args.id), 'NotificationChannel', 'id'), channelInput(args.input as Record<string, unknown>, true)),
  }),
  addNotificationChannelSecret: t.prismaField({
    type: 'NotificationChannel',
    description: 'A second active signing secret for a WEBHOOK channel (a rotation): requests then carry a v1= signature for each.',
    args: { id: t.arg.id({ required: true }), secretCredentialId: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) =>
      ctx.services.notifications.addChannelSecret(ctx.actor, channelArg(args.id), decodeId(String(args.secretCredentialId), 'Credential', 'secretCredentialId')),
  }),
  retireNotificationChannelSecret: t.prismaField({
    type: 'NotificationChannel',
    description: 'Stops signing with one of the two active secrets; the other becomes the current one.',
    args: { id: t.arg.id({ required: true }), secretCredentialId: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) =>
      ctx.services.notifications.retireChannelSecret(ctx.actor, channelArg(args.id), decodeId(String(args.secretCredentialId), 'Credential', 'secretCredentialId')),
  }),
  sendTestNotification: t.field({
    type: NotificationTestResultType,
    description: "Sends one message through the channel now (marked as a test; not through the outbox) for a past run or a sample one, and returns the receiver's answer.",
    args: { channelId: t.arg.id({ required: true }), jobRunId: t.arg.id(), event: t.arg({ type: NotificationEventEnum }) },
    resolve: (_r, args, ctx) =>
      ctx.services.notifications.sendTest(ctx.actor, decodeId(String(args.channelId), 'NotificationChannel', 'channelId'), { jobRunId: runArg(args.jobRunId), event: args.event ?? undefined }),
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
    resolve: (_q, _r, args, ctx) => ctx.services.notifications.updateRule(ctx.actor, decodeId(String(args.id), 'NotificationRule', 'id'), ruleInput(args.input as Record<string, unknown>, true)),
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
