/** A job run started by a workflow knows its place there: the workflow run and the node it ran for. */
import { canSee } from '../../modules/actor.ts'
import { builder } from '../builder.ts'
import { JobRunRef } from './runs.ts'
import { WorkflowNodeRunRef } from './workflows.ts'

builder.objectField(JobRunRef, 'workflowNode', (t) =>
  t.field({
    type: WorkflowNodeRunRef,
    nullable: true,
    description: 'For a run with trigger WORKFLOW: the node it ran for (and through it the workflow run), unless that workflow run is not visible to you.',
    resolve: async (run, _a, ctx) => {
      if (run.trigger !== 'WORKFLOW' || !ctx.actor) return null
      // A retried workflow run copies its succeeded nodes with their JobRuns: the node that ran it is the first.
      const node = await ctx.prisma.workflowNodeRun.findFirst({ where: { jobRunId: run.id }, orderBy: { workflowRun: { createdAt: 'asc' } }, include: { workflowRun: true } })
      return node && canSee(ctx.actor, node.workflowRun) ? node : null
    },
  }),
)
