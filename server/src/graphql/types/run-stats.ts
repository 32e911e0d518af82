import { canSee, requireActor } from '../../modules/actor.ts'
import type { FailingTemplate, RunStats, StatsBucket } from '../../modules/runs/run-stats.service.ts'
import { MAX_BUCKETS, MAX_FAILING_TEMPLATES, MAX_RANGE_DAYS } from '../../modules/runs/run-stats.service.ts'
import { builder } from '../builder.ts'
import { decodeIds } from '../ids.ts'
import { RunStatusEnum, RunTriggerEnum } from './enums.ts'

export const StatsBucketEnum = builder.enumType('StatsBucket', {
  description: 'Width of the time buckets of run statistics. Buckets are aligned to UTC (hours, and days from 00:00 UTC).',
  values: {
    HOUR: { description: 'One bucket per UTC hour.' },
    DAY: { description: 'One bucket per UTC day (00:00–24:00 UTC).' },
  } as const,
})

const JobRunStatsFilterInput = builder.inputType('JobRunStatsFilter', {
  description:
    `Which runs the statistics cover: runs created in [since, until) that you can see. Each list matches any of its values; ` +
    `the conditions combine with AND. The range may span at most ${MAX_RANGE_DAYS} days and ${MAX_BUCKETS} buckets.`,
  fields: (t) => ({
    since: t.field({
      type: 'DateTime',
      required: true,
      description: 'Start of the range, truncated to the start of its bucket in UTC (with HOUR, 09:41Z becomes 09:00Z; with DAY, 00:00Z of that day).',
    }),
    until: t.field({ type: 'DateTime', description: 'End of the range (exclusive); defaults to now. Must be after `since`.' }),
    templateIds: t.idList({ description: 'Only runs of these templates.' }),
    scheduleIds: t.idList({ description: 'Only runs created by these schedules.' }),
    triggers: t.field({ type: [RunTriggerEnum], description: 'Only runs started this way.' }),
    bucket: t.field({ type: StatsBucketEnum, defaultValue: 'HOUR', description: 'Width of the `buckets` time series (UTC-aligned).' }),
  }),
})

const JobRunStatusCount = builder.objectRef<{ status: RunStats['byStatus'][number]['status']; count: number }>('JobRunStatusCount').implement({
  description: 'How many runs of the range are in one status.',
  fields: (t) => ({
    status: t.expose('status', { type: RunStatusEnum, description: 'The status.' }),
    count: t.exposeInt('count', { description: 'Runs of the range now in this status (0 when none).' }),
  }),
})

const JobRunDurationStats = builder.objectRef<RunStats['duration']>('JobRunDurationStats').implement({
  description:
    'Durations (startedAt to finishedAt, in milliseconds; means and percentiles rounded to 3 decimals) of the runs of the range that reached an outcome — SUCCEEDED, FAILED or TIMED_OUT — and ' +
    'have both times. Cancelled, missed and skipped runs are left out. Every figure but `count` is null when there is no such run.',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'Runs the durations are taken from.' }),
    avgMs: t.exposeFloat('avgMs', { nullable: true, description: 'Mean duration.' }),
    p50Ms: t.exposeFloat('p50Ms', { nullable: true, description: 'Median duration (continuous percentile: interpolated between the two middle runs). When the range includes runs retention deleted, read from their duration histogram (within about 9 %).' }),
    p95Ms: t.exposeFloat('p95Ms', { nullable: true, description: '95th percentile duration (continuous, interpolated; from the duration histogram, within about 9 %, when the range includes runs retention deleted).' }),
    maxMs: t.exposeFloat('maxMs', { nullable: true, description: 'Longest duration.' }),
  }),
})

const JobRunStatsBucket = builder.objectRef<StatsBucket>('JobRunStatsBucket').implement({
  description: 'Runs created within one UTC hour or day of the range.',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime', description: 'Start of the bucket (UTC-aligned); it ends where the next one starts, the last one at `until`.' }),
    total: t.exposeInt('total', { description: 'Runs created in the bucket, any status.' }),
    succeeded: t.exposeInt('succeeded', { description: 'Of those, SUCCEEDED.' }),
    failed: t.exposeInt('failed', { description: 'Of those, FAILED or TIMED_OUT.' }),
    avgDurationMs: t.exposeFloat('avgDurationMs', { nullable: true, description: 'Mean duration of those that reached an outcome (as in `duration`); null when none did.' }),
  }),
})

const FailingTemplateRef = builder.objectRef<FailingTemplate>('JobRunStatsTemplate').implement({
  description: 'A template and how its runs of the range went.',
  fields: (t) => ({
    template: t.prismaField({
      type: 'JobTemplate',
      nullable: true,
      description: 'The template, unless it was deleted since or is now private to someone else.',
      resolve: async (query, f, _a, ctx) => {
        if (!f.templateId || !ctx.actor) return null
        const tpl = await ctx.prisma.jobTemplate.findUnique({ ...query, where: { id: f.templateId } })
        return tpl && canSee(ctx.actor, tpl) ? tpl : null
      },
    }),
    templateName: t.exposeString('templateName', { description: 'The template\'s name as recorded on its latest run of the range (kept when the template is gone).' }),
    failed: t.exposeInt('failed', { description: 'Runs that FAILED or TIMED_OUT.' }),
    total: t.exposeInt('total', { description: 'All its runs of the range, any status.' }),
  }),
})

const JobRunStatsRef = builder.objectRef<RunStats>('JobRunStats').implement({
  description: 'Statistics of the runs you can see that were created in a range (see JobRunStatsFilter). Counts only ever include runs `jobRuns` would list for you, and runs retention deleted that it would have listed (kept as hourly roll-ups: such a run counts at the start of its creation hour).',
  fields: (t) => ({
    since: t.field({ type: 'DateTime', description: 'Start of the range actually used: `filter.since` truncated to its UTC bucket.', resolve: (s) => s.range.since }),
    until: t.field({ type: 'DateTime', description: 'End of the range (exclusive): `filter.until`, or the time of the request.', resolve: (s) => s.range.until }),
    bucket: t.field({ type: StatsBucketEnum, description: 'Width of `buckets`.', resolve: (s) => s.range.bucket }),
    total: t.exposeInt('total', { description: 'Runs in the range, any status.' }),
    byStatus: t.field({
      type: [JobRunStatusCount],
      description: 'Runs per status, one entry for every RunStatus (count 0 when none), in the order the enum declares.',
      resolve: (s) => s.byStatus,
    }),
    succeeded: t.exposeInt('succeeded', { description: 'Runs that SUCCEEDED.' }),
    failed: t.exposeInt('failed', { description: 'Runs that FAILED or TIMED_OUT.' }),
    successRate: t.exposeFloat('successRate', {
      nullable: true,
      description: 'succeeded / (succeeded + failed), from 0 to 1; null when no run reached an outcome. Cancelled, queued, running, missed and skipped runs do not count.',
    }),
    duration: t.field({ type: JobRunDurationStats, description: 'How long the runs that reached an outcome took.', resolve: (s) => s.duration }),
    buckets: t.field({
      type: [JobRunStatsBucket],
      description: 'The range as consecutive UTC hours or days, oldest first, every bucket present (empty ones with zeros), so bucket totals add up to `total`.',
      resolve: (s) => s.buckets,
    }),
    failingTemplates: t.field({
      type: [FailingTemplateRef],
      description: `Templates with FAILED or TIMED_OUT runs in the range, most failures first (then most runs). Runs of deleted templates group by name.`,
      args: { limit: t.arg.int({ defaultValue: 5, description: `How many templates, 1-${MAX_FAILING_TEMPLATES}.` }) },
      resolve: (s, args, ctx) => ctx.services.runStats.failingTemplates(s.range, args.limit ?? 5),
    }),
  }),
})

builder.queryFields((t) => ({
  jobRunStats: t.field({
    type: JobRunStatsRef,
    description:
      'Counts, success rate, duration percentiles, a UTC-bucketed time series and the most failing templates of the runs you can see, computed by the server. ' +
      'Runs belong to the range by their creation time; buckets are in UTC.',
    args: { filter: t.arg({ type: JobRunStatsFilterInput, required: true }) },
    resolve: (_r, { filter: f }, ctx) => {
      requireActor(ctx.actor)
      const range = ctx.services.runStats.range(ctx.actor, {
        since: f.since,
        until: f.until ?? null,
        templateIds: decodeIds(f.templateIds?.map(String), 'JobTemplate', 'filter.templateIds'),
        scheduleIds: decodeIds(f.scheduleIds?.map(String), 'JobSchedule', 'filter.scheduleIds'),
        triggers: f.triggers ?? null,
        bucket: f.bucket ?? 'HOUR',
      })
      return ctx.services.runStats.summary(range)
    },
  }),
}))
