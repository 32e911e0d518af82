/** Subscriptions over many workflow runs: the runs list/dashboard feed and the approvals inbox. */
import type { WorkflowNodeRun, WorkflowRun } from '../../generated/prisma/client.ts'
import { requireActor } from '../../modules/actor.ts'
import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { WorkflowNodeRunRef, WorkflowRunRef, WorkflowRunStatusEnum } from './workflows.ts'

builder.subscriptionFields((t) => ({
  workflowRunsChanged: t.field({
    type: WorkflowRunRef,
    description: 'Workflow runs you can see, created or changed, that match the filter (a workflow, statuses): for lists and dashboards.',
    args: { workflowId: t.arg.id(), statuses: t.arg({ type: [WorkflowRunStatusEnum] }) },
    subscribe: (_r, args, ctx) => {
      requireActor(ctx.actor)
      return ctx.services.workflowFeeds.runsChanged(ctx.actor, {
        workflowId: args.workflowId ? decodeId(String(args.workflowId), 'Workflow', 'workflowId') : null,
        statuses: args.statuses ?? null,
      })
    },
    resolve: (run: WorkflowRun) => run,
  }),
  pendingApprovalsChanged: t.field({
    type: [WorkflowNodeRunRef],
    description: 'Your approvals inbox (as `pendingApprovals`) now, then the whole list again each time it changes.',
    subscribe: (_r, _a, ctx) => ctx.services.workflowFeeds.pendingApprovals(ctx.actor),
    resolve: (list: WorkflowNodeRun[]) => list,
  }),
}))
