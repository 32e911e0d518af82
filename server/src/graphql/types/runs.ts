import type { JobRun } from '../../generated/prisma/client.ts'
import type { StoredLogLine } from '../../logs/log-reader.ts'
import { readLogLines } from '../../logs/log-reader.ts'
import { ValidationError } from '../../errors.ts'
import { canSee } from '../../modules/actor.ts'
import { canSeeSchedule } from '../../modules/schedules/schedules.service.ts'
import { builder } from '../builder.ts'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../argument-guard.ts'
import { decodeId, decodeIds } from '../ids.ts'
import { LogLevelEnum, LogStreamEnum, RunStatusEnum, RunTriggerEnum, TargetStatusEnum, VisibilityEnum } from './enums.ts'
import { encodeGlobalID } from '@pothos/plugin-relay'
import { runOutputs, type TargetOutputs } from '../../jobs/step-outputs.ts'
import { batchLoad } from '../batch-loader.ts'
import type { GraphQLContext } from '../context.ts'

/** The targets' outputs of each run, in target order (runs without targets: no entry). */
export async function targetOutputsOfRuns(ctx: GraphQLContext, runIds: readonly string[]): Promise<Map<string, TargetOutputs[]>> {
  const rows = await ctx.prisma.runTarget.findMany({ where: { runId: { in: [...runIds] } }, select: { runId: true, name: true, outputs: true }, orderBy: [{ runId: 'asc' }, { position: 'asc' }] })
  const byRun = new Map<string, TargetOutputs[]>()
  for (const { runId, ...t } of rows) {
    const list = byRun.get(runId) ?? []
    list.push(t as TargetOutputs)
    byRun.set(runId, list)
  }
  return byRun
}

const OUTPUTS_DOC = 'SECRET values are masked (••••••); they reach downstream workflow nodes only as SECRET parameters.'

const RunProgress = builder.objectRef<{ total: number; done: number; failed: number }>('RunProgress').implement({
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Targets in the run.' }),
    done: t.exposeInt('done', { description: 'Targets finished, whatever their outcome.' }),
    failed: t.exposeInt('failed'),
    percent: t.float({ resolve: (p) => (p.total === 0 ? 0 : Math.round((p.done / p.total) * 1000) / 10) }),
  }),
})

builder.prismaNode('RunTarget', {
  id: { field: 'id' },
  description: 'One target of a run and what happened on it.',
  fields: (t) => ({
    target: t.relation('target', { nullable: true, description: 'The target, unless it was deleted since.' }),
    name: t.exposeString('name'),
    host: t.exposeString('host'),
    port: t.exposeInt('port'),
    status: t.expose('status', { type: TargetStatusEnum }),
    attempt: t.exposeInt('attempt'),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    durationMs: t.int({ nullable: true, resolve: (r) => (r.startedAt ? (r.finishedAt ?? new Date()).getTime() - r.startedAt.getTime() : null) }),
    error: t.exposeString('error', { nullable: true }),
    retryable: t.exposeBoolean('retryable'),
    outputTail: t.exposeString('outputTail'),
    result: t.expose('result', { type: 'JSON', nullable: true }),
    outputs: t.expose('outputs', {
      type: 'JSON',
      nullable: true,
      description: `Step outputs this target published in its final successful attempt (null: none). ${OUTPUTS_DOC}`,
    }),
  }),
})

builder.prismaNode('RunArtifact', {
  id: { field: 'id' },
  // Only the columns the fields need: never load the content with a listing.
  select: { id: true },
  description: 'A file a run produced (e.g. downloaded from a target), kept until `expiresAt`.',
  fields: (t) => ({
    name: t.exposeString('name'),
    size: t.exposeInt('size', { description: 'Bytes.' }),
    sha256: t.exposeString('sha256'),
    runTargetId: t.id({ nullable: true, select: { runTargetId: true }, resolve: (a) => (a.runTargetId ? encodeGlobalID('RunTarget', a.runTargetId) : null) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    downloadPath: t.string({
      description: 'GET this path on the API origin with the same bearer token to download the file.',
      resolve: (a) => `/artifacts/${a.id}`,
    }),
  }),
})

export const JobRunRef = builder.prismaNode('JobRun', {
  id: { field: 'id' },
  fields: (t) => ({
    number: t.exposeInt('number', { description: 'Human-friendly run number (#1234).' }),
    template: t.prismaField({
      type: 'JobTemplate',
      nullable: true,
      description: 'The template, unless it was deleted since or is now private to someone else.',
      select: { templateId: true },
      resolve: async (query, r, _a, ctx) => {
        if (!r.templateId || !ctx.actor) return null
        const t = await ctx.prisma.jobTemplate.findUnique({ ...query, where: { id: r.templateId } })
        return t && canSee(ctx.actor, t) ? t : null
      },
    }),
    templateName: t.exposeString('templateName'),
    jobType: t.exposeString('jobType'),
    schedule: t.prismaField({
      type: 'JobSchedule',
      nullable: true,
      description: 'The schedule that created the run, unless deleted since or private to someone else.',
      select: { scheduleId: true },
      resolve: async (query, r, _a, ctx) => {
        if (!r.scheduleId || !ctx.actor) return null
        // A schedule is visible with its template only (it exposes it as `template`).
        const access = await ctx.prisma.jobSchedule.findUnique({ where: { id: r.scheduleId }, select: { visibility: true, ownerId: true, template: { select: { visibility: true, ownerId: true } } } })
        if (!access || !canSeeSchedule(ctx.actor, access)) return null
        return ctx.prisma.jobSchedule.findUnique({ ...query, where: { id: r.scheduleId } })
      },
    }),
    slotAt: t.expose('slotAt', { type: 'DateTime', nullable: true, description: 'For scheduled runs: the slot it was created for.' }),
    trigger: t.expose('trigger', { type: RunTriggerEnum }),
    triggeredBy: t.relation('triggeredBy', { nullable: true }),
    retryOf: t.prismaField({
      type: 'JobRun',
      nullable: true,
      select: { retryOfId: true },
      description: 'The run this one retried, unless it was deleted since or is private to someone else.',
      resolve: async (query, r, _a, ctx) => {
        if (!r.retryOfId || !ctx.actor) return null
        const run = await ctx.prisma.jobRun.findUnique({ ...query, where: { id: r.retryOfId } })
        return run && canSee(ctx.actor, run) ? run : null
      },
    }),
    webhookEndpoint: t.prismaField({
      type: 'WebhookEndpoint',
      nullable: true,
      select: { webhookEndpointId: true },
      description: 'For trigger WEBHOOK: the endpoint that was called (for its owner and admins; null for others or once deleted).',
      resolve: async (query, r, _a, ctx) => {
        if (!r.webhookEndpointId || !ctx.actor) return null
        const e = await ctx.prisma.webhookEndpoint.findUnique({ ...query, where: { id: r.webhookEndpointId } })
        return e && (ctx.actor.role === 'ADMIN' || e.ownerId === ctx.actor.userId) ? e : null
      },
    }),
    triggeredByRun: t.prismaField({
      type: 'JobRun',
      nullable: true,
      select: { triggeredByRunId: true },
      description: 'For trigger DEPENDENCY: the run whose final status started this one, unless deleted since or private to someone else.',
      resolve: async (query, r, _a, ctx) => {
        if (!r.triggeredByRunId || !ctx.actor) return null
        const run = await ctx.prisma.jobRun.findUnique({ ...query, where: { id: r.triggeredByRunId } })
        return run && canSee(ctx.actor, run) ? run : null
      },
    }),
    visibility: t.expose('visibility', { type: VisibilityEnum }),
    parameters: t.expose('parameters', { type: 'JSON', description: 'Parameter values; SECRET ones are masked.' }),
    status: t.expose('status', { type: RunStatusEnum }),
    attempt: t.exposeInt('attempt'),
    maxAttempts: t.exposeInt('maxAttempts'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    durationMs: t.int({ nullable: true, resolve: (r) => (r.startedAt ? (r.finishedAt ?? new Date()).getTime() - r.startedAt.getTime() : null) }),
    cancelRequestedAt: t.expose('cancelRequestedAt', { type: 'DateTime', nullable: true }),
    cancelledBy: t.prismaField({
      type: 'User',
      nullable: true,
      description: 'Who asked to cancel the run; null when no one did (e.g. a schedule\'s CANCEL_PREVIOUS policy) or the user was deleted.',
      select: { cancelRequestedBy: true },
      resolve: (query, r, _a, ctx) => (r.cancelRequestedBy ? ctx.prisma.user.findUnique({ ...query, where: { id: r.cancelRequestedBy } }) : null),
    }),
    retries: t.prismaField({
      type: ['JobRun'],
      description: 'Runs started as retries of this one, newest first.',
      select: { id: true },
      resolve: (query, r, _a, ctx) => ctx.prisma.jobRun.findMany({ ...query, where: { retryOfId: r.id }, orderBy: { number: 'desc' } }),
    }),
    progress: t.field({ type: RunProgress, resolve: (r) => ({ total: r.targetsTotal, done: r.targetsDone, failed: r.targetsFailed }) }),
    targets: t.relation('targets', { query: { orderBy: { position: 'asc' } } }),
    result: t.expose('result', { type: 'JSON', nullable: true }),
    outputs: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'Step outputs of the run: with one target, that target\'s outputs; with several, an object keyed by target name ' +
        `(targets that published none are left out); null when no target published any. ${OUTPUTS_DOC}`,
      // Loaded here, only when asked for (a relation in `select` is not loaded for rows the root
      // resolvers fetch without Pothos' query), and batched: a page of runs costs one query, not one each.
      resolve: async (r, _a, ctx) => runOutputs((await batchLoad(ctx, targetOutputsOfRuns, r.id)) ?? []),
    }),
    error: t.exposeString('error', { nullable: true }),
    logLineCount: t.int({ resolve: (r) => Number(r.logSeq) }),
    logTruncated: t.boolean({ description: 'Output past the run\'s log limit was dropped (see droppedLogLines).', resolve: (r) => r.logDroppedLines > 0 }),
    droppedLogLines: t.exposeInt('logDroppedLines', { description: 'Output lines past the run\'s log limit that were not stored (known once the run ends).' }),
    pinned: t.exposeBoolean('pinned', { description: 'Retention never deletes a pinned run (see pinJobRun).' }),
    droppedLogBytes: t.float({ description: 'Bytes of those lines.', resolve: (r) => Number(r.logDroppedBytes) }),
    artifacts: t.relation('artifacts', { query: { orderBy: { createdAt: 'asc' } } }),
  }),
})

/** The newest visible run of each template asked for in this turn, in one query (see RunsService.latestVisibleRuns). */
const latestRunsOf = (ctx: GraphQLContext, templateIds: readonly string[]) => ctx.services.runs.latestVisibleRuns(ctx.actor, templateIds)

builder.prismaObjectField('JobTemplate', 'latestRun', (t) =>
  t.prismaField({
    type: 'JobRun',
    nullable: true,
    description: 'The newest run of this template that you can see (as `jobRuns` filtered by it, first: 1); null when none. Batched: a list of templates costs one query for all their latest runs.',
    select: { id: true },
    resolve: async (_q, tpl, _a, ctx) => (await batchLoad(ctx, latestRunsOf, tpl.id)) ?? null,
  }),
)

export const LogLineRef = builder.objectRef<StoredLogLine>('LogLine').implement({
  fields: (t) => ({
    seq: t.exposeInt('seq', { description: 'Position in the run log (1, 2, 3 …); use it as the `after` cursor.' }),
    ts: t.expose('ts', { type: 'DateTime' }),
    level: t.expose('level', { type: LogLevelEnum }),
    stream: t.expose('stream', { type: LogStreamEnum }),
    targetId: t.id({ nullable: true, description: 'The RunTarget the line belongs to; null for run-level lines.', resolve: (l) => (l.targetId ? encodeGlobalID('RunTarget', l.targetId) : null) }),
    text: t.exposeString('text'),
  }),
})

const LogPage = builder.objectRef<{ lines: StoredLogLine[]; lastSeq: number; hasMore: boolean }>('LogPage').implement({
  fields: (t) => ({
    lines: t.field({ type: [LogLineRef], resolve: (p) => p.lines }),
    lastSeq: t.exposeInt('lastSeq', { description: 'Cursor for the next page (the last line\'s seq, or `after` when empty).' }),
    hasMore: t.exposeBoolean('hasMore'),
  }),
})

export const JobRunFilterInput = builder.inputType('JobRunFilter', {
  description: 'Each list matches any of its values; the conditions combine with AND.',
  fields: (t) => ({
    statuses: t.field({ type: [RunStatusEnum] }),
    jobTypes: t.stringList(),
    triggers: t.field({ type: [RunTriggerEnum] }),
    templateIds: t.idList(),
    scheduleIds: t.idList(),
    createdAfter: t.field({ type: 'DateTime' }),
    createdBefore: t.field({ type: 'DateTime' }),
  }),
})

export type JobRunFilterArg = typeof JobRunFilterInput.$inferInput

export function runFilter(f: JobRunFilterArg | null | undefined) {
  if (!f) return {}
  return {
    statuses: f.statuses ?? null,
    jobTypes: f.jobTypes ?? null,
    triggers: f.triggers ?? null,
    templateIds: decodeIds(f.templateIds?.map(String), 'JobTemplate', 'filter.templateIds'),
    scheduleIds: decodeIds(f.scheduleIds?.map(String), 'JobSchedule', 'filter.scheduleIds'),
    createdAfter: f.createdAfter ?? null,
    createdBefore: f.createdBefore ?? null,
  }
}

const MAX_LOG_PAGE = 5000

builder.queryFields((t) => ({
  jobRuns: t.prismaConnection(
    {
      type: 'JobRun',
      cursor: 'number',
      description: 'Runs you can see, newest first.',
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: MAX_PAGE_SIZE,
      args: { filter: t.arg({ type: JobRunFilterInput }) },
      resolve: (query, _r, args, ctx) =>
        ctx.prisma.jobRun.findMany({ ...query, where: ctx.services.runs.whereFor(ctx.actor, runFilter(args.filter)), orderBy: { number: 'desc' } }),
      totalCount: (_p, args, ctx) => ctx.prisma.jobRun.count({ where: ctx.services.runs.whereFor(ctx.actor, runFilter(args.filter)) }),
    },
    {},
  ),
  jobRun: t.prismaField({
    type: 'JobRun',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.runs.get(ctx.actor, decodeId(String(args.id), 'JobRun', 'id')),
  }),
  jobRunLog: t.field({
    type: LogPage,
    description: 'A page of a run\'s log after a cursor, optionally only lines at or above `level`, or of one target.',
    args: {
      runId: t.arg.id({ required: true }),
      after: t.arg.int({ defaultValue: 0 }),
      first: t.arg.int({ defaultValue: 1000 }),
      level: t.arg({ type: LogLevelEnum }),
      target: t.arg.id({ description: 'A RunTarget id.' }),
    },
    resolve: async (_r, args, ctx) => {
      const runId = decodeId(String(args.runId), 'JobRun', 'runId')
      await ctx.services.runs.get(ctx.actor, runId)
      const first = args.first ?? 1000
      if (first < 1 || first > MAX_LOG_PAGE) throw ValidationError.field('first', `must be 1-${MAX_LOG_PAGE}`)
      const after = args.after ?? 0
      if (after < 0) throw ValidationError.field('after', 'must be >= 0')
      const lines = await readLogLines(ctx.services.pool, {
        runId,
        afterSeq: after,
        limit: first + 1,
        minLevel: args.level ?? null,
        targetId: args.target ? decodeId(String(args.target), 'RunTarget', 'target') : null,
      })
      const page = lines.slice(0, first)
      return { lines: page, lastSeq: page.at(-1)?.seq ?? after, hasMore: lines.length > first }
    },
  }),
}))

builder.mutationFields((t) => ({
  triggerJobRun: t.prismaField({
    type: 'JobRun',
    description: 'Creates a QUEUED run of the template (its queue message commits in the same transaction).',
    args: {
      templateId: t.arg.id({ required: true }),
      parameters: t.arg({ type: 'JSON', description: 'Values by parameter name.' }),
      targets: t.arg.idList({ description: 'Run on these targets instead of the template\'s selector.' }),
    },
    resolve: (_q, _r, args, ctx) =>
      ctx.services.runs.trigger(ctx.actor, {
        templateId: decodeId(String(args.templateId), 'JobTemplate', 'templateId'),
        parameters: args.parameters,
        targetIds: args.targets ? decodeIds(args.targets.map(String), 'Target', 'targets') : null,
      }),
  }),
  cancelJobRun: t.prismaField({
    type: 'JobRun',
    description: 'A queued run never starts; a running one has its remote work stopped and ends CANCELLED.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.runs.cancel(ctx.actor, decodeId(String(args.id), 'JobRun', 'id')),
  }),
  pinJobRun: t.prismaField({
    type: 'JobRun',
    description: 'Pins the run so retention never deletes it (pinned: false lets it age out again); whoever may cancel or retry it may.',
    args: { id: t.arg.id({ required: true }), pinned: t.arg.boolean({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.runs.setPinned(ctx.actor, decodeId(String(args.id), 'JobRun', 'id'), args.pinned),
  }),
  retryJobRun: t.prismaField({
    type: 'JobRun',
    description: 'A new run with the same spec and parameters, on all targets or only those that did not succeed.',
    args: { id: t.arg.id({ required: true }), onlyFailedTargets: t.arg.boolean({ defaultValue: false }) },
    resolve: (_q, _r, args, ctx) => ctx.services.runs.retry(ctx.actor, decodeId(String(args.id), 'JobRun', 'id'), args.onlyFailedTargets ?? false),
  }),
}))

export type { JobRun }
