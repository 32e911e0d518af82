/** APPROVAL nodes of workflows: their config, decisions, the approve/reject mutations and the inbox query. */
import { ON_TIMEOUT, type ApprovalConfig } from '../../modules/workflows/workflow-graph.ts'
import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { RoleEnum } from './enums.ts'

const OnTimeoutEnum = builder.enumType('ApprovalOnTimeout', { values: ON_TIMEOUT, description: 'What an approval\'s deadline does: FAIL (default; the node ends TIMED_OUT), CANCEL, or APPROVE (only when set).' })
const DecisionEnum = builder.enumType('ApprovalDecision', { values: ['APPROVE', 'REJECT'] as const })

export const Approval = builder.objectRef<ApprovalConfig>('WorkflowApprovalConfig').implement({
  fields: (t) => ({
    approverRoles: t.field({ type: [RoleEnum], resolve: (a) => a.approverRoles }),
    approvers: t.prismaField({ type: ['User'], resolve: (query, a, _args, ctx) => ctx.prisma.user.findMany({ ...query, where: { id: { in: a.approverUserIds } }, orderBy: { username: 'asc' } }) }),
    minApprovals: t.exposeInt('minApprovals'),
    allowSelfApproval: t.exposeBoolean('allowSelfApproval'),
    timeoutSeconds: t.exposeInt('timeoutSeconds'),
    onTimeout: t.expose('onTimeout', { type: OnTimeoutEnum }),
    message: t.exposeString('message', { description: 'As written (a node run shows it rendered).' }),
  }),
})

builder.prismaObject('WorkflowApproval', {
  fields: (t) => ({
    username: t.exposeString('username'),
    decision: t.expose('decision', { type: DecisionEnum }),
    comment: t.exposeString('comment'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
})

export const ApprovalInput = builder.inputType('WorkflowApprovalInput', {
  fields: (t) => ({
    approverRoles: t.field({ type: [RoleEnum], description: 'Users with these roles may decide.' }),
    approverUserIds: t.idList({ description: 'These users may decide.' }),
    minApprovals: t.int({ description: 'Distinct approvals needed (default 1); any rejection fails the node.' }),
    allowSelfApproval: t.boolean({ description: 'Default false: who triggered the workflow run may not approve it.' }),
    timeoutSeconds: t.int({ required: true }),
    onTimeout: t.field({ type: OnTimeoutEnum }),
    message: t.string({ description: 'May use {{ params.x }} and {{ nodes.<key>… }} like node parameters.' }),
  }),
})

builder.queryFields((t) => ({
  pendingApprovals: t.prismaField({
    type: ['WorkflowNodeRun'],
    description: 'APPROVAL node runs awaiting a decision that you may take, oldest deadline first.',
    resolve: (query, _r, _a, ctx) => ctx.services.workflowRuns.pendingApprovals(ctx.actor, query),
  }),
}))

builder.mutationFields((t) => ({
  approveWorkflowNode: t.prismaField({
    type: 'WorkflowNodeRun',
    description: 'Approve an APPROVAL node run you may decide (not one you triggered, unless the node allows it).',
    args: { nodeRunId: t.arg.id({ required: true }), comment: t.arg.string() },
    resolve: (_q, _r, args, ctx) => ctx.services.workflowRuns.decide(ctx.actor, decodeId(String(args.nodeRunId), 'WorkflowNodeRun', 'nodeRunId'), 'APPROVE', args.comment ?? ''),
  }),
  rejectWorkflowNode: t.prismaField({
    type: 'WorkflowNodeRun',
    description: 'Reject an APPROVAL node run: the node fails (its ON_FAILURE edges apply).',
    args: { nodeRunId: t.arg.id({ required: true }), comment: t.arg.string() },
    resolve: (_q, _r, args, ctx) => ctx.services.workflowRuns.decide(ctx.actor, decodeId(String(args.nodeRunId), 'WorkflowNodeRun', 'nodeRunId'), 'REJECT', args.comment ?? ''),
  }),
}))
