import { builder } from '../builder.ts'
import { decodeId, decodeIds } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import type { UpcomingSlot } from '../../modules/schedules/schedules.service.ts'
import { NotFoundError, ValidationError } from '../../errors.ts'
import { canSee } from '../../modules/actor.ts'
import { VisibilityEnum } from './enums.ts'

const ScheduleKindEnum = builder.enumType('ScheduleKind', {
  description: 'CRON: 5-field, or 6 with seconds first (L, #, W, ranges, steps, names). INTERVAL: every N seconds/minutes/hours from its start time. DAILY_AT: HH:MM on some or all days. ONCE: one local date-time.',
  values: ['CRON', 'INTERVAL', 'DAILY_AT', 'ONCE'] as const,
})
const IntervalUnitEnum = builder.enumType('IntervalUnit', { values: ['SECONDS', 'MINUTES', 'HOURS'] as const })
export const MisfirePolicyEnum = builder.enumType('MisfirePolicy', {
  description: 'What happens to slots missed while Switchyard was down: SKIP records them MISSED; RUN_ONCE runs one catch-up for the latest; RUN_ALL runs each (up to misfireMaxRuns, the rest MISSED).',
  values: ['SKIP', 'RUN_ONCE', 'RUN_ALL'] as const,
})
export const OverlapPolicyEnum = builder.enumType('OverlapPolicy', {
  description: 'What a scheduled slot does while an earlier run of the template has not finished: ALLOW runs anyway; SKIP records it SKIPPED; QUEUE waits for the earlier run; CANCEL_PREVIOUS cancels earlier runs, then starts.',
  values: ['ALLOW', 'SKIP', 'QUEUE', 'CANCEL_PREVIOUS'] as const,
})
const BlackoutKindEnum = builder.enumType('BlackoutKind', { values: ['ABSOLUTE', 'RECURRING'] as const })

const UpcomingSlotRef = builder.objectRef<UpcomingSlot>('UpcomingSlot').implement({
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    blackout: t.exposeString('blackout', { nullable: true, description: 'The blackout window that will skip this slot, if any.' }),
  }),
})

const SchedulePreview = builder.objectRef<{ description: string; upcoming: Date[] }>('SchedulePreview').implement({
  fields: (t) => ({
    description: t.exposeString('description'),
    upcoming: t.field({ type: ['DateTime'], resolve: (p) => p.upcoming }),
  }),
})

builder.prismaNode('BlackoutWindow', {
  id: { field: 'id' },
  description: 'A period during which linked schedules do not fire (their slots are recorded SKIPPED).',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    kind: t.expose('kind', { type: BlackoutKindEnum }),
    timezone: t.exposeString('timezone'),
    startAt: t.expose('startAt', { type: 'DateTime', nullable: true }),
    endAt: t.expose('endAt', { type: 'DateTime', nullable: true }),
    daysOfWeek: t.exposeIntList('daysOfWeek'),
    startTime: t.exposeString('startTime', { nullable: true }),
    durationMinutes: t.exposeInt('durationMinutes', { nullable: true }),
    owner: t.relation('owner', { nullable: true, description: 'Who may change or delete it (and admins); null: admin-managed.' }),
  }),
})

builder.prismaNode('JobSchedule', {
  id: { field: 'id' },
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    template: t.prismaField({
      type: 'JobTemplate',
      nullable: true,
      description: 'The job template it runs; null when it runs a workflow.',
      select: { templateId: true },
      // Schedules are only reachable when their template is visible too (see visibleSchedules), so the
      // check never fails through the API; it keeps a new access path from exposing a private template.
      resolve: async (query, s, _a, ctx) => {
        if (!s.templateId) return null
        const template = await ctx.prisma.jobTemplate.findUnique({ ...query, where: { id: s.templateId } })
        if (!template || !ctx.actor || !canSee(ctx.actor, template)) throw new NotFoundError('job template', 'template')
        return template
      },
    }),
    workflow: t.prismaField({
      type: 'Workflow',
      nullable: true,
      description: 'The workflow it runs; null when it runs a job template.',
      select: { workflowId: true },
      resolve: async (query, s, _a, ctx) => {
        if (!s.workflowId) return null
        const workflow = await ctx.prisma.workflow.findUnique({ ...query, where: { id: s.workflowId } })
        if (!workflow || !ctx.actor || !canSee(ctx.actor, workflow)) throw new NotFoundError('workflow', 'workflow')
        return workflow
      },
    }),
    kind: t.expose('kind', { type: ScheduleKindEnum }),
    cronExpression: t.exposeString('cronExpression', { nullable: true }),
    intervalSeconds: t.exposeInt('intervalSeconds', { nullable: true }),
    dailyTime: t.exposeString('dailyTime', { nullable: true }),
    daysOfWeek: t.exposeIntList('daysOfWeek'),
    onceAt: t.exposeString('onceAt', { nullable: true, description: 'Local date-time in the schedule\'s timezone.' }),
    timezone: t.exposeString('timezone'),
    startAt: t.expose('startAt', { type: 'DateTime', nullable: true }),
    endAt: t.expose('endAt', { type: 'DateTime', nullable: true }),
    active: t.exposeBoolean('active'),
    parameters: t.expose('parameters', { type: 'JSON', description: 'Parameter overrides; SECRET values are masked.' }),
    misfirePolicy: t.expose('misfirePolicy', { type: MisfirePolicyEnum }),
    misfireGraceSeconds: t.exposeInt('misfireGraceSeconds'),
    misfireMaxRuns: t.exposeInt('misfireMaxRuns'),
    overlapPolicy: t.expose('overlapPolicy', { type: OverlapPolicyEnum, nullable: true, description: 'null: the template\'s (ALLOW for a workflow).' }),
    visibility: t.expose('visibility', { type: VisibilityEnum }),
    owner: t.relation('owner'),
    nextRunAt: t.expose('nextRunAt', { type: 'DateTime', nullable: true, description: 'The next slot; null when paused or finished.' }),
    lastRunAt: t.expose('lastRunAt', { type: 'DateTime', nullable: true }),
    version: t.exposeInt('version'),
    summary: t.string({ description: 'The timing in words.', resolve: (s, _a, ctx) => ctx.services.schedules.describe(s) }),
    upcomingRuns: t.field({
      type: [UpcomingSlotRef],
      args: { count: t.arg.int({ defaultValue: 5 }) },
      resolve: (s, args, ctx) => {
        const count = args.count ?? 5
        if (count < 1 || count > 100) throw ValidationError.field('count', 'must be 1-100')
        return ctx.services.schedules.upcoming(s, count)
      },
    }),
    blackouts: t.prismaField({
      type: ['BlackoutWindow'],
      resolve: (query, s, _a, ctx) => ctx.prisma.blackoutWindow.findMany({ ...query, where: { schedules: { some: { scheduleId: s.id } } }, orderBy: { name: 'asc' } }),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const scheduleInput = (name: string, required: boolean) =>
  builder.inputType(name, {
    description: required ? undefined : 'Omitted fields keep their value.',
    fields: (t) => ({
      name: t.string({ required }),
      description: t.string(),
      templateId: t.id({ description: 'The job template to run; exactly one of templateId and workflowId (on update, giving one replaces the other).' }),
      workflowId: t.id({ description: 'The workflow to run (its runs record the schedule and trigger SCHEDULE).' }),
      kind: t.field({ type: ScheduleKindEnum, required }),
      cronExpression: t.string(),
      intervalEvery: t.int(),
      intervalUnit: t.field({ type: IntervalUnitEnum, description: 'Default SECONDS.' }),
      dailyTime: t.string({ description: 'HH:MM' }),
      daysOfWeek: t.intList({ description: '0 = Sunday … 6 = Saturday; empty: every day.' }),
      onceAt: t.string({ description: 'YYYY-MM-DDTHH:MM[:SS] in the schedule\'s timezone.' }),
      timezone: t.string({ description: 'IANA name; default from server config.' }),
      startAt: t.field({ type: 'DateTime' }),
      endAt: t.field({ type: 'DateTime' }),
      active: t.boolean(),
      parameters: t.field({ type: 'JSON' }),
      misfirePolicy: t.field({ type: MisfirePolicyEnum }),
      misfireGraceSeconds: t.int(),
      misfireMaxRuns: t.int(),
      overlapPolicy: t.field({ type: OverlapPolicyEnum }),
      visibility: t.field({ type: VisibilityEnum }),
      blackoutIds: t.idList(),
    }),
  })
const CreateJobScheduleInput = scheduleInput('CreateJobScheduleInput', true)
const UpdateJobScheduleInput = scheduleInput('UpdateJobScheduleInput', false)
const PreviewScheduleInput = scheduleInput('PreviewScheduleInput', false)

function scheduleArgs(input: Record<string, unknown>) {
  const out: Record<string, unknown> = withoutNulls(input, ['startAt', 'endAt', 'overlapPolicy', 'cronExpression', 'dailyTime', 'onceAt'])
  if (input.templateId) out.templateId = decodeId(String(input.templateId), 'JobTemplate', 'input.templateId')
  if (input.workflowId) out.workflowId = decodeId(String(input.workflowId), 'Workflow', 'input.workflowId')
  if (input.blackoutIds) out.blackoutIds = decodeIds((input.blackoutIds as unknown[]).map(String), 'BlackoutWindow', 'input.blackoutIds')
  return out
}

const BlackoutInput = builder.inputType('BlackoutWindowInput', {
  fields: (t) => ({
    name: t.string(),
    description: t.string(),
    kind: t.field({ type: BlackoutKindEnum }),
    timezone: t.string(),
    startAt: t.field({ type: 'DateTime' }),
    endAt: t.field({ type: 'DateTime' }),
    daysOfWeek: t.intList(),
    startTime: t.string({ description: 'HH:MM local, for RECURRING windows.' }),
    durationMinutes: t.int(),
  }),
})

builder.queryFields((t) => ({
  jobSchedules: t.prismaField({
    type: ['JobSchedule'],
    description: 'Schedules you can see, soonest next run first.',
    args: { templateIds: t.arg.idList(), workflowIds: t.arg.idList(), active: t.arg.boolean(), search: t.arg.string() },
    resolve: (query, _r, args, ctx) =>
      ctx.services.schedules.list(
        ctx.actor,
        { templateIds: decodeIds(args.templateIds?.map(String), 'JobTemplate', 'templateIds'), workflowIds: decodeIds(args.workflowIds?.map(String), 'Workflow', 'workflowIds'), active: args.active, search: args.search },
        query,
      ),
  }),
  jobSchedule: t.prismaField({
    type: 'JobSchedule',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.schedules.get(ctx.actor, decodeId(String(args.id), 'JobSchedule', 'id')),
  }),
  previewJobSchedule: t.field({
    type: SchedulePreview,
    description: 'Validates timing fields without saving and returns the next fire times (for live previews in forms).',
    args: { input: t.arg({ type: PreviewScheduleInput, required: true }), count: t.arg.int({ defaultValue: 5 }) },
    resolve: (_r, args, ctx) => {
      const count = args.count ?? 5
      if (count < 1 || count > 100) throw ValidationError.field('count', 'must be 1-100')
      const input = scheduleArgs(args.input as Record<string, unknown>)
      return ctx.services.schedules.preview(ctx.actor, input, count)
    },
  }),
  blackoutWindows: t.prismaField({ type: ['BlackoutWindow'], resolve: (_q, _r, _a, ctx) => ctx.services.blackouts.list(ctx.actor) }),
}))

builder.mutationFields((t) => ({
  createJobSchedule: t.prismaField({
    type: 'JobSchedule',
    args: { input: t.arg({ type: CreateJobScheduleInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.schedules.create(ctx.actor, scheduleArgs(args.input as Record<string, unknown>)),
  }),
  updateJobSchedule: t.prismaField({
    type: 'JobSchedule',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateJobScheduleInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.schedules.update(ctx.actor, decodeId(String(args.id), 'JobSchedule', 'id'), scheduleArgs(args.input as Record<string, unknown>)),
  }),
  setJobScheduleActive: t.prismaField({
    type: 'JobSchedule',
    description: 'Pause or resume. Resuming fires from the next slot after now; slots during the pause are not misfires.',
    args: { id: t.arg.id({ required: true }), active: t.arg.boolean({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.schedules.setActive(ctx.actor, decodeId(String(args.id), 'JobSchedule', 'id'), args.active),
  }),
  deleteJobSchedule: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.schedules.delete(ctx.actor, decodeId(String(args.id), 'JobSchedule', 'id'))
      return args.id
    },
  }),
  runJobScheduleNow: t.prismaField({
    type: 'JobRun',
    description: 'Runs the schedule\'s template with its parameters now (in addition to its slots). A workflow schedule is refused (INVALID_STATE): trigger the workflow.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.schedules.runNow(ctx.actor, decodeId(String(args.id), 'JobSchedule', 'id')),
  }),
  createBlackoutWindow: t.prismaField({
    type: 'BlackoutWindow',
    args: { input: t.arg({ type: BlackoutInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.blackouts.create(ctx.actor, withoutNulls(args.input)),
  }),
  updateBlackoutWindow: t.prismaField({
    type: 'BlackoutWindow',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: BlackoutInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.blackouts.update(ctx.actor, decodeId(String(args.id), 'BlackoutWindow', 'id'), withoutNulls(args.input, ['startAt', 'endAt'])),
  }),
  deleteBlackoutWindow: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.blackouts.delete(ctx.actor, decodeId(String(args.id), 'BlackoutWindow', 'id'))
      return args.id
    },
  }),
}))
