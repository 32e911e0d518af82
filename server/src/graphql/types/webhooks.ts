import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import { NotFoundError } from '../../errors.ts'
import { canSee } from '../../modules/actor.ts'
import { WEBHOOK_PATH, type EndpointWithToken } from '../../modules/webhooks/webhooks.service.ts'

const WebhookCallOutcomeEnum = builder.enumType('WebhookCallOutcome', {
  description: 'STARTED: a run was queued; SKIPPED: the template\'s overlap policy SKIP; REJECTED: refused with a 4xx (see reason).',
  values: ['STARTED', 'SKIPPED', 'REJECTED'] as const,
})

builder.prismaObject('WebhookCall', {
  description: 'A call that reached the endpoint (rate-limited calls are not recorded).',
  fields: (t) => ({
    receivedAt: t.expose('receivedAt', { type: 'DateTime' }),
    deliveryId: t.exposeString('deliveryId', { nullable: true, description: 'X-Switchyard-Delivery of a call that started or skipped a run (a replay of it is refused).' }),
    outcome: t.expose('outcome', { type: WebhookCallOutcomeEnum }),
    httpStatus: t.exposeInt('httpStatus'),
    reason: t.exposeString('reason', { nullable: true }),
    jobRun: t.prismaField({
      type: 'JobRun',
      nullable: true,
      select: { jobRunId: true },
      resolve: async (query, c, _a, ctx) => {
        if (!c.jobRunId || !ctx.actor) return null
        const run = await ctx.prisma.jobRun.findUnique({ ...query, where: { id: c.jobRunId } })
        return run && canSee(ctx.actor, run) ? run : null
      },
    }),
    workflowRun: t.prismaField({
      type: 'WorkflowRun',
      nullable: true,
      select: { workflowRunId: true },
      resolve: async (query, c, _a, ctx) => {
        if (!c.workflowRunId || !ctx.actor) return null
        const run = await ctx.prisma.workflowRun.findUnique({ ...query, where: { id: c.workflowRunId } })
        return run && canSee(ctx.actor, run) ? run : null
      },
    }),
  }),
})

builder.prismaNode('WebhookEndpoint', {
  id: { field: 'id' },
  description: `An inbound webhook: POST JSON to ${WEBHOOK_PATH}<token> to start a run of its template or workflow, acting as its owner. The token is shown only when created or rotated.`,
  fields: (t) => ({
    name: t.exposeString('name'),
    template: t.prismaField({
      type: 'JobTemplate',
      nullable: true,
      select: { templateId: true },
      resolve: async (query, e, _a, ctx) => {
        if (!e.templateId) return null
        const row = await ctx.prisma.jobTemplate.findUnique({ ...query, where: { id: e.templateId } })
        if (!row || !ctx.actor || !canSee(ctx.actor, row)) throw new NotFoundError('job template', 'template')
        return row
      },
    }),
    workflow: t.prismaField({
      type: 'Workflow',
      nullable: true,
      select: { workflowId: true },
      resolve: async (query, e, _a, ctx) => {
        if (!e.workflowId) return null
        const row = await ctx.prisma.workflow.findUnique({ ...query, where: { id: e.workflowId } })
        if (!row || !ctx.actor || !canSee(ctx.actor, row)) throw new NotFoundError('workflow', 'workflow')
        return row
      },
    }),
    enabled: t.exposeBoolean('enabled'),
    secretCredential: t.relation('secretCredential', { nullable: true, description: 'The PASSWORD credential whose password verifies X-Switchyard-Signature (never returned); null: calls are not signed.' }),
    parameterMapping: t.expose('parameterMapping', { type: 'JSON', description: '{ parameter: { path: "/a/b" | "a.b" } | { value: literal } }' }),
    rateLimitPerMinute: t.exposeInt('rateLimitPerMinute'),
    maxBodyBytes: t.exposeInt('maxBodyBytes'),
    replayWindowSeconds: t.exposeInt('replayWindowSeconds'),
    lastCalledAt: t.expose('lastCalledAt', { type: 'DateTime', nullable: true }),
    owner: t.relation('owner'),
    recentCalls: t.relation('calls', { description: 'The latest 50 calls, newest first.', query: { orderBy: { receivedAt: 'desc' }, take: 50 } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const WebhookEndpointWithToken = builder.objectRef<EndpointWithToken>('WebhookEndpointWithToken').implement({
  description: 'The endpoint and its URL token: shown this once (only a hash is stored).',
  fields: (t) => ({
    endpoint: t.prismaField({ type: 'WebhookEndpoint', resolve: (_q, p) => p.endpoint }),
    token: t.exposeString('token'),
    path: t.string({ description: 'The URL path to POST to, on the API server.', resolve: (p) => `${WEBHOOK_PATH}${p.token}` }),
  }),
})

const endpointInput = (name: string, required: boolean) =>
  builder.inputType(name, {
    description: required ? undefined : 'Omitted fields keep their value.',
    fields: (t) => ({
      name: t.string({ required }),
      templateId: t.id({ description: 'The job template to run; exactly one of templateId and workflowId (on update, giving one replaces the other).' }),
      workflowId: t.id({ description: 'The workflow to run.' }),
      enabled: t.boolean(),
      secretCredentialId: t.id({ description: 'A PASSWORD credential whose password is the HMAC secret; calls must then be signed. null: unsigned calls.' }),
      parameterMapping: t.field({ type: 'JSON', description: '{ parameter: { path: "/a/b" | "a.b" } | { value: literal } }; validated against the parameters.' }),
      rateLimitPerMinute: t.int({ description: 'Default 60.' }),
      maxBodyBytes: t.int({ description: 'Default 65536, at most 1 MiB.' }),
      replayWindowSeconds: t.int({ description: 'How far a signature timestamp may be from now. Default 300.' }),
    }),
  })
const CreateInput = endpointInput('CreateWebhookEndpointInput', true)
const UpdateInput = endpointInput('UpdateWebhookEndpointInput', false)

function args(input: Record<string, unknown>) {
  const out: Record<string, unknown> = withoutNulls(input, ['secretCredentialId'])
  if (input.templateId) out.templateId = decodeId(String(input.templateId), 'JobTemplate', 'input.templateId')
  if (input.workflowId) out.workflowId = decodeId(String(input.workflowId), 'Workflow', 'input.workflowId')
  if (input.secretCredentialId) out.secretCredentialId = decodeId(String(input.secretCredentialId), 'Credential', 'input.secretCredentialId')
  return out
}

builder.queryFields((t) => ({
  webhookEndpoints: t.prismaField({
    type: ['WebhookEndpoint'],
    description: 'Your webhook endpoints (an admin: everyone\'s), optionally of one template or workflow.',
    args: { templateId: t.arg.id(), workflowId: t.arg.id() },
    resolve: (query, _r, a, ctx) =>
      ctx.services.webhooks.list(
        ctx.actor,
        { templateId: a.templateId ? decodeId(String(a.templateId), 'JobTemplate', 'templateId') : null, workflowId: a.workflowId ? decodeId(String(a.workflowId), 'Workflow', 'workflowId') : null },
        query,
      ),
  }),
  webhookEndpoint: t.prismaField({
    type: 'WebhookEndpoint',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, a, ctx) => ctx.services.webhooks.get(ctx.actor, decodeId(String(a.id), 'WebhookEndpoint', 'id')),
  }),
}))

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: WebhookEndpointWithToken,
    args: { input: t.arg({ type: CreateInput, required: true }) },
    resolve: (_r, a, ctx) => ctx.services.webhooks.create(ctx.actor, args(a.input as Record<string, unknown>)),
  }),
  updateWebhookEndpoint: t.prismaField({
    type: 'WebhookEndpoint',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInput, required: true }) },
    resolve: (_q, _r, a, ctx) => ctx.services.webhooks.update(ctx.actor, decodeId(String(a.id), 'WebhookEndpoint', 'id'), args(a.input as Record<string, unknown>)),
  }),
  rotateWebhookEndpointToken: t.field({
    type: WebhookEndpointWithToken,
    description: 'A new URL token (shown once); the old URL stops working at once.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, a, ctx) => ctx.services.webhooks.rotateToken(ctx.actor, decodeId(String(a.id), 'WebhookEndpoint', 'id')),
  }),
  deleteWebhookEndpoint: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, a, ctx) => {
      await ctx.services.webhooks.delete(ctx.actor, decodeId(String(a.id), 'WebhookEndpoint', 'id'))
      return a.id
    },
  }),
}))
