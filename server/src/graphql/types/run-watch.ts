/**
 * Watching runs and the "my runs ended" feed (the console's toasts): see modules/runs/run-watch.service.ts.
 */
import type { JobRun, WorkflowRun } from '../../generated/prisma/client.ts'
import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { JobRunRef } from './runs.ts'
import { WorkflowRunRef } from './workflows.ts'

builder.objectField(JobRunRef, 'watchedByMe', (t) =>
  t.boolean({
    description: 'You watch this run (watchJobRun): its end shows up in myJobRunsEnded, on every device.',
    resolve: (run, _a, ctx) => ctx.services.runWatch.isWatching(ctx.actor, run.id),
  }),
)

builder.objectField(WorkflowRunRef, 'watchedByMe', (t) =>
  t.boolean({
    description: 'You watch this workflow run (watchWorkflowRun): its end shows up in myWorkflowRunsEnded.',
    resolve: (run, _a, ctx) => ctx.services.workflowRunWatch.isWatching(ctx.actor, run.id),
  }),
)

builder.mutationFields((t) => ({
  watchWorkflowRun: t.prismaField({
    type: 'WorkflowRun',
    description: 'Watch a workflow run you may see: when it ends, myWorkflowRunsEnded tells you. Idempotent.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.workflowRunWatch.watch(ctx.actor, decodeId(String(args.id), 'WorkflowRun', 'id')),
  }),
  unwatchWorkflowRun: t.prismaField({
    type: 'WorkflowRun',
    description: 'Stop watching a workflow run (those you started still notify you). Idempotent.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.workflowRunWatch.unwatch(ctx.actor, decodeId(String(args.id), 'WorkflowRun', 'id')),
  }),
  watchJobRun: t.prismaField({
    type: 'JobRun',
    description: 'Watch a run you may see: when it ends, myJobRunsEnded tells you (the console shows a toast). Idempotent.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.runWatch.watch(ctx.actor, decodeId(String(args.id), 'JobRun', 'id')),
  }),
  unwatchJobRun: t.prismaField({
    type: 'JobRun',
    description: 'Stop watching a run (runs you started still notify you). Idempotent.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.runWatch.unwatch(ctx.actor, decodeId(String(args.id), 'JobRun', 'id')),
  }),
}))

builder.subscriptionFields((t) => ({
  myJobRunsEnded: t.field({
    type: JobRunRef,
    description:
      'Runs you started or watch, each once when it reaches its final status (SUCCEEDED, FAILED, CANCELLED, TIMED_OUT), while you may see them. `since`: also those that ended after this time (at most 15 minutes back), so a client resuming after a disconnect misses nothing; it should drop runs it has shown already (by id).',
    args: { since: t.arg({ type: 'DateTime' }) },
    subscribe: (_r, args, ctx) => ctx.services.runWatch.myRunsEnded(ctx.actor, (args.since as Date | null | undefined) ?? null),
    resolve: (run: JobRun) => run,
  }),
  myWorkflowRunsEnded: t.field({
    type: WorkflowRunRef,
    description:
      'Workflow runs you started or watch, each once when it ends (SUCCEEDED, FAILED, CANCELLED), while you may see them; `since` as in myJobRunsEnded.',
    args: { since: t.arg({ type: 'DateTime' }) },
    subscribe: (_r, args, ctx) => ctx.services.workflowRunWatch.myWorkflowRunsEnded(ctx.actor, (args.since as Date | null | undefined) ?? null),
    resolve: (run: WorkflowRun) => run,
  }),
}))
