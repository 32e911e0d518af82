import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import { canSee } from '../../modules/actor.ts'
import { FINAL_STATUSES } from '../../modules/dependencies/dependencies.service.ts'

const DependencyStatusEnum = builder.enumType('DependencyRunStatus', {
  description: 'A final run status a dependency can wait for.',
  values: FINAL_STATUSES,
})
const DependencyTriggerStatusEnum = builder.enumType('DependencyTriggerStatus', {
  description: 'PENDING: a worker is about to start the run; STARTED: it did (see `run`); SKIPPED: the template\'s overlap policy SKIP; FAILED: it could not start (see `reason`).',
  values: ['PENDING', 'STARTED', 'SKIPPED', 'FAILED'] as const,
})

/** A run through these fields only when its viewer may see it (a dependency's templates may be seen by more). */
function visibleRun<T extends { visibility: 'GLOBAL' | 'PRIVATE'; ownerId: string | null }>(ctx: { actor: Parameters<typeof canSee>[0] | null }, run: T | null): T | null {
  return run && ctx.actor && canSee(ctx.actor, run) ? run : null
}

builder.prismaObject('TemplateDependencyTrigger', {
  description: 'One final outcome of the upstream template that matched the dependency, and what came of it.',
  fields: (t) => ({
    status: t.expose('status', { type: DependencyTriggerStatusEnum }),
    reason: t.exposeString('reason', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    handledAt: t.expose('handledAt', { type: 'DateTime', nullable: true }),
    upstreamRun: t.prismaField({ type: 'JobRun', nullable: true, select: { upstreamRunId: true }, resolve: async (query, r, _a, ctx) => visibleRun(ctx, await ctx.prisma.jobRun.findUnique({ ...query, where: { id: r.upstreamRunId } })) }),
    run: t.prismaField({ type: 'JobRun', nullable: true, select: { runId: true }, resolve: async (query, r, _a, ctx) => (r.runId ? (visibleRun(ctx, await ctx.prisma.jobRun.findUnique({ ...query, where: { id: r.runId } }))) : null) }),
  }),
})

builder.prismaNode('TemplateDependency', {
  id: { field: 'id' },
  description: 'Run the downstream template after a run of the upstream template ends with one of `onStatuses` (its final outcome, after retries). The run acts as the owner.',
  fields: (t) => ({
    upstream: t.relation('upstream'),
    downstream: t.relation('downstream'),
    onStatuses: t.field({ type: [DependencyStatusEnum], resolve: (d) => d.onStatuses as Array<(typeof FINAL_STATUSES)[number]> }),
    parameters: t.expose('parameters', { type: 'JSON', description: 'Parameter values for the downstream run.' }),
    enabled: t.exposeBoolean('enabled'),
    owner: t.relation('owner'),
    recentTriggers: t.relation('triggers', { description: 'The latest 20 matched outcomes, newest first.', query: { orderBy: { createdAt: 'desc' }, take: 20 } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const dependencyInput = (name: string, required: boolean) =>
  builder.inputType(name, {
    description: required ? undefined : 'Omitted fields keep their value.',
    fields: (t) => ({
      upstreamTemplateId: t.id({ required, description: 'Template A: its runs\' final outcomes trigger.' }),
      downstreamTemplateId: t.id({ required, description: 'Template B: the one that runs.' }),
      onStatuses: t.field({ type: [DependencyStatusEnum], description: 'Default [SUCCEEDED].' }),
      parameters: t.field({ type: 'JSON', description: 'Values for B\'s parameters (not SECRET ones).' }),
      enabled: t.boolean(),
    }),
  })
const CreateInput = dependencyInput('CreateTemplateDependencyInput', true)
const UpdateInput = dependencyInput('UpdateTemplateDependencyInput', false)

function args(input: Record<string, unknown>) {
  const out: Record<string, unknown> = withoutNulls(input)
  if (input.upstreamTemplateId) out.upstreamTemplateId = decodeId(String(input.upstreamTemplateId), 'JobTemplate', 'input.upstreamTemplateId')
  if (input.downstreamTemplateId) out.downstreamTemplateId = decodeId(String(input.downstreamTemplateId), 'JobTemplate', 'input.downstreamTemplateId')
  return out
}

builder.queryFields((t) => ({
  templateDependencies: t.prismaField({
    type: ['TemplateDependency'],
    description: 'Dependencies between templates you can see (both ends); with templateId, those it is an end of.',
    args: { templateId: t.arg.id() },
    resolve: (query, _r, a, ctx) => ctx.services.dependencies.list(ctx.actor, a.templateId ? decodeId(String(a.templateId), 'JobTemplate', 'templateId') : null, query),
  }),
}))

builder.mutationFields((t) => ({
  createTemplateDependency: t.prismaField({
    type: 'TemplateDependency',
    args: { input: t.arg({ type: CreateInput, required: true }) },
    resolve: (_q, _r, a, ctx) => ctx.services.dependencies.create(ctx.actor, args(a.input as Record<string, unknown>)),
  }),
  updateTemplateDependency: t.prismaField({
    type: 'TemplateDependency',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInput, required: true }) },
    resolve: (_q, _r, a, ctx) => ctx.services.dependencies.update(ctx.actor, decodeId(String(a.id), 'TemplateDependency', 'id'), args(a.input as Record<string, unknown>)),
  }),
  deleteTemplateDependency: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, a, ctx) => {
      await ctx.services.dependencies.delete(ctx.actor, decodeId(String(a.id), 'TemplateDependency', 'id'))
      return a.id
    },
  }),
}))
