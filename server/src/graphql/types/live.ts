import { encodeGlobalID } from '@pothos/plugin-relay'
import type { JobRun } from '../../generated/prisma/client.ts'
import type { LogBatch } from '../../modules/runs/run-live.ts'
import { ValidationError } from '../../errors.ts'
import { requireActor } from '../../modules/actor.ts'
import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { LogLevelEnum } from './enums.ts'
import { JobRunFilterInput, JobRunRef, LogLineRef, runFilter } from './runs.ts'

const LogBatchRef = builder.objectRef<LogBatch>('LogBatch').implement({
  description: 'Consecutive log lines of a run. Resume after a reconnect with `after: lastSeq`.',
  fields: (t) => ({
    runId: t.id({ resolve: (b) => encodeGlobalID('JobRun', b.runId) }),
    lines: t.field({ type: [LogLineRef], resolve: (b) => b.lines }),
    lastSeq: t.exposeInt('lastSeq'),
  }),
})

builder.subscriptionFields((t) => ({
  jobRunLogAppended: t.field({
    type: LogBatchRef,
    description:
      'Stored lines after `after` (a seq; 0 for the whole log), then new lines as they are written, in order, without gaps or duplicates, in batches. Completes once the run has ended and every line was sent.',
    args: {
      runId: t.arg.id({ required: true }),
      after: t.arg.int({ defaultValue: 0 }),
      level: t.arg({ type: LogLevelEnum, description: 'Only lines at or above this level.' }),
      target: t.arg.id({ description: 'Only lines of this RunTarget.' }),
    },
    subscribe: (_r, args, ctx) => {
      const after = args.after ?? 0
      if (after < 0) throw ValidationError.field('after', 'must be >= 0')
      return ctx.services.live.logBatches(ctx.actor, decodeId(String(args.runId), 'JobRun', 'runId'), after, {
        minLevel: args.level ?? null,
        targetId: args.target ? decodeId(String(args.target), 'RunTarget', 'target') : null,
      })
    },
    resolve: (batch) => batch,
  }),
  jobRunUpdated: t.field({
    type: JobRunRef,
    description: 'The run now, then every change of status, progress or target results; completes after its final state.',
    args: { runId: t.arg.id({ required: true }) },
    subscribe: (_r, args, ctx) => ctx.services.live.runUpdates(ctx.actor, decodeId(String(args.runId), 'JobRun', 'runId')),
    resolve: (run: JobRun) => run,
  }),
  jobRunsChanged: t.field({
    type: JobRunRef,
    description: 'Runs created or changed that match the filter, for dashboards.',
    args: { filter: t.arg({ type: JobRunFilterInput }) },
    subscribe: (_r, args, ctx) => {
      requireActor(ctx.actor)
      return ctx.services.live.runsChanged(ctx.actor, runFilter(args.filter))
    },
    resolve: (run: JobRun) => run,
  }),
}))
