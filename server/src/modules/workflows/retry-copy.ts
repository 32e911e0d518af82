/**
 * What a retry copies and what it runs again (workflow-retry.ts): shared by a top-level retry and a
 * WORKFLOW node retrying its nested run (node-starter.ts), so both levels decide alike.
 */
import { Prisma, type WorkflowNodeRun, type WorkflowRun } from '../../generated/prisma/client.ts'
import { nodeRunData } from './workflow-run-factory.ts'

/**
 * In the caller's transaction: the node runs of a new retry run `retryId` of `run` — the nodes in `rerun`
 * afresh (READY or PENDING), the others copied SUCCEEDED with their JobRun or nested run — and the re-run
 * nodes whose parents were all reused decided (READY or SKIPPED) by workflow_advance; the caller starts
 * the READY ones.
 */
export async function copyNodesForRetry(tx: Prisma.TransactionClient, run: Pick<WorkflowRun, 'number'>, nodes: WorkflowNodeRun[], rerun: ReadonlySet<string>, retryId: string): Promise<void> {
  await tx.workflowNodeRun.createMany({
    data: nodes.map((n) => {
      const incoming = n.incoming as Array<{ from: string; kind: string }>
      if (rerun.has(n.key)) return nodeRunData(retryId, { ...n, overrides: n.overrides as Prisma.JsonValue }, incoming)
      return {
        ...nodeRunData(retryId, n, incoming),
        status: 'SUCCEEDED' as const,
        reason: `reused from workflow run #${run.number}`,
        jobRunId: n.jobRunId,
        nestedRunId: n.nestedRunId,
        startedAt: n.startedAt,
        finishedAt: n.finishedAt,
        message: n.message,
      }
    }),
  })
  await tx.$executeRaw`SELECT workflow_advance(${retryId}::uuid)`
}

/** Keys of the nodes to run again: those that did not succeed, and everything downstream of them. */
export function rerunSet(nodes: Array<Pick<WorkflowNodeRun, 'key' | 'status' | 'incoming'>>): Set<string> {
  const children = new Map<string, string[]>()
  for (const n of nodes) for (const e of n.incoming as Array<{ from: string }>) children.set(e.from, [...(children.get(e.from) ?? []), n.key])
  const out = new Set<string>()
  const todo = nodes.filter((n) => n.status !== 'SUCCEEDED').map((n) => n.key)
  while (todo.length) {
    const k = todo.pop()!
    if (out.has(k)) continue
    out.add(k)
    todo.push(...(children.get(k) ?? []))
  }
  return out
}
