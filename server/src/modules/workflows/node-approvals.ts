/**
 * APPROVAL nodes: decisions and deadlines. Every decision is taken under the workflow run's row lock
 * (the lock the graph's advance takes), so concurrent decisions are serialised: the first that settles
 * the node wins and later ones find it no longer awaiting approval. A rejection fails the node; enough
 * distinct approvals make it succeed; the deadline applies the node's `onTimeout` (FAIL unless the
 * workflow says CANCEL or, explicitly, APPROVE). The graph then advances in the same transaction.
 */
import type { Prisma, PrismaClient, WorkflowNodeRun } from '../../generated/prisma/client.ts'
import { retryConflicts } from '../../db/transient.ts'
import { ConflictError, ForbiddenError, InvalidStateError, NotFoundError } from '../../errors.ts'
import { canSee, requireWriter, type Actor } from '../actor.ts'
import { record } from '../audit/audit.service.ts'
import type { ApprovalConfig } from './workflow-graph.ts'

export type Decision = 'APPROVE' | 'REJECT'

/** Whether `actor` may decide this node at all (role or named user); self-approval is checked apart. */
export function mayDecide(actor: Actor, config: ApprovalConfig): boolean {
  return config.approverRoles.includes(actor.role) || config.approverUserIds.includes(actor.userId)
}

export async function decide(prisma: PrismaClient, actor: Actor | null, nodeRunId: string, decision: Decision, comment: string): Promise<WorkflowNodeRun> {
  const a = requireWriter(actor)
  const node = await prisma.workflowNodeRun.findUnique({ where: { id: nodeRunId }, include: { workflowRun: true } })
  if (!node || node.kind !== 'APPROVAL' || !canSee(a, node.workflowRun)) throw new NotFoundError('approval', 'nodeRunId')
  const config = node.approval as ApprovalConfig
  if (!mayDecide(a, config)) throw new ForbiddenError(`you are not an approver of node "${node.key}"`)
  if (!config.allowSelfApproval && node.workflowRun.triggeredById === a.userId && decision === 'APPROVE') {
    throw new ForbiddenError('you triggered this workflow run, so you may not approve it (self-approval is not allowed for this node)')
  }
  return retryConflicts(() =>
    prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM workflow_run WHERE id = ${node.workflowRunId}::uuid FOR UPDATE`
      const now = await tx.workflowNodeRun.findUniqueOrThrow({ where: { id: nodeRunId } })
      if (now.status !== 'AWAITING_APPROVAL') throw new InvalidStateError(`node "${node.key}" no longer awaits approval (${now.status})`)
      if (now.deadlineAt && now.deadlineAt <= new Date()) throw new InvalidStateError(`the approval of node "${node.key}" timed out`)
      if (await tx.workflowApproval.findFirst({ where: { nodeRunId, userId: a.userId } })) throw new ConflictError('nodeRunId', 'you already decided on this approval')
      await tx.workflowApproval.create({ data: { nodeRunId, userId: a.userId, username: a.username, decision, comment } })
      const entity = { type: 'WorkflowRun' as const, id: node.workflowRunId, name: `#${node.workflowRun.number} ${node.workflowRun.workflowName}` }
      await record(tx, { actor: a, action: decision === 'APPROVE' ? 'workflow-run.approve' : 'workflow-run.reject', entity, changes: { node: { new: node.key }, comment: { new: comment } } })
      if (decision === 'REJECT') {
        await settle(tx, now, 'FAILED', `rejected by ${a.username}${comment ? `: ${comment}` : ''}`)
      } else {
        const approvals = await tx.workflowApproval.count({ where: { nodeRunId, decision: 'APPROVE' } })
        if (approvals >= config.minApprovals) await settle(tx, now, 'SUCCEEDED', null)
        else await tx.$executeRaw`SELECT pg_notify('switchyard_workflow_run', ${node.workflowRunId})`
      }
      return tx.workflowNodeRun.findUniqueOrThrow({ where: { id: nodeRunId } })
    }),
  )
}

/** Applies `onTimeout` to approvals past their deadline. Returns how many it settled. */
export async function expireApprovals(prisma: PrismaClient): Promise<number> {
  const due = await prisma.workflowNodeRun.findMany({ where: { status: 'AWAITING_APPROVAL', deadlineAt: { lte: new Date() } }, select: { id: true, workflowRunId: true }, take: 100 })
  let settled = 0
  for (const d of due) {
    await retryConflicts(() =>
      prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM workflow_run WHERE id = ${d.workflowRunId}::uuid FOR UPDATE`
        const node = await tx.workflowNodeRun.findUniqueOrThrow({ where: { id: d.id } })
        if (node.status !== 'AWAITING_APPROVAL') return
        const config = node.approval as ApprovalConfig
        const after = `no decision within ${config.timeoutSeconds}s`
        if (config.onTimeout === 'APPROVE') await settle(tx, node, 'SUCCEEDED', `${after}: approved, as the node's onTimeout says`)
        else if (config.onTimeout === 'CANCEL') await settle(tx, node, 'CANCELLED', `${after}: cancelled, as the node's onTimeout says`)
        else await settle(tx, node, 'TIMED_OUT', `${after}: failed`)
        settled++
      }),
    )
  }
  return settled
}

async function settle(tx: Prisma.TransactionClient, node: WorkflowNodeRun, status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT', reason: string | null): Promise<void> {
  await tx.workflowNodeRun.update({ where: { id: node.id }, data: { status, reason, finishedAt: new Date() } })
  await tx.$executeRaw`SELECT workflow_advance(${node.workflowRunId}::uuid)`
}
