/**
 * Creating a workflow run inside the caller's transaction: the run row and one workflow_node_run per node
 * (the graph copied, so editing the workflow never changes a run in progress; roots READY, the others
 * PENDING). Shared by a trigger, a WORKFLOW node starting its nested run, and a retry (which passes the
 * node states to copy). Also the budget every root run has for the runs spawned under it.
 */
import { Prisma, type WorkflowEdge, type WorkflowNode, type WorkflowRun } from '../../generated/prisma/client.ts'

/** At most this many runs (node JobRuns, nested workflow runs, retries) under one root workflow run. */
export const MAX_SPAWNED_RUNS = 1000

export interface NewWorkflowRun {
  workflow: { id: string | null; name: string; ownerId: string | null; visibility: 'GLOBAL' | 'PRIVATE' }
  nodes: Array<Pick<WorkflowNode, 'key' | 'position' | 'kind' | 'templateId' | 'subWorkflowId' | 'parameters' | 'joinPolicy' | 'approval' | 'overrides'>>
  edges: Array<Pick<WorkflowEdge, 'fromKey' | 'toKey' | 'kind'>>
  trigger: WorkflowRun['trigger']
  triggeredById: string | null
  parameters: Record<string, unknown>
  secretParameters: Uint8Array<ArrayBuffer> | null
  rootRunId?: string | null
  parentNodeRunId?: string | null
  depth?: number
  retryOfId?: string | null
}

export async function insertWorkflowRun(tx: Prisma.TransactionClient, p: NewWorkflowRun): Promise<WorkflowRun> {
  const run = await tx.workflowRun.create({
    data: {
      workflowId: p.workflow.id,
      workflowName: p.workflow.name,
      trigger: p.trigger,
      triggeredById: p.triggeredById,
      ownerId: p.workflow.ownerId,
      visibility: p.workflow.visibility,
      parameters: p.parameters as Prisma.InputJsonValue,
      secretParameters: p.secretParameters,
      rootRunId: p.rootRunId ?? null,
      parentNodeRunId: p.parentNodeRunId ?? null,
      depth: p.depth ?? 0,
      retryOfId: p.retryOfId ?? null,
    },
  })
  const incoming = new Map<string, Array<{ from: string; kind: string }>>()
  for (const e of p.edges) incoming.set(e.toKey, [...(incoming.get(e.toKey) ?? []), { from: e.fromKey, kind: e.kind }])
  await tx.workflowNodeRun.createMany({ data: p.nodes.map((n) => nodeRunData(run.id, n, incoming.get(n.key) ?? [])) })
  return run
}

export function nodeRunData(workflowRunId: string, n: NewWorkflowRun['nodes'][number], incoming: Array<{ from: string; kind: string }>): Prisma.WorkflowNodeRunCreateManyInput {
  return {
    workflowRunId,
    key: n.key,
    position: n.position,
    kind: n.kind,
    templateId: n.templateId,
    subWorkflowId: n.subWorkflowId,
    parameters: n.parameters as Prisma.InputJsonValue,
    joinPolicy: n.joinPolicy,
    approval: n.approval ?? Prisma.DbNull,
    overrides: n.overrides ?? Prisma.DbNull,
    incoming: incoming as Prisma.InputJsonValue,
    status: incoming.length ? 'PENDING' : 'READY',
  }
}

/**
 * Spends up to `wanted` runs of the root run's budget, under the root run's row lock (a nested run's
 * root is an ancestor: the lock order child → parent holds). Returns how many were granted.
 */
export async function spendBudget(tx: Prisma.TransactionClient, rootRunId: string, wanted: number): Promise<number> {
  if (wanted <= 0) return 0
  const rows = await tx.$queryRaw<Array<{ granted: number }>>`
    WITH old AS (SELECT spawned_runs FROM workflow_run WHERE id = ${rootRunId}::uuid FOR UPDATE)
    UPDATE workflow_run w SET spawned_runs = LEAST(${MAX_SPAWNED_RUNS}, old.spawned_runs + ${wanted}::int)
      FROM old WHERE w.id = ${rootRunId}::uuid
    RETURNING (w.spawned_runs - old.spawned_runs)::int AS granted`
  return rows[0]?.granted ?? 0
}

export function budgetExhausted(rootNumber: number): string {
  return `the limit of ${MAX_SPAWNED_RUNS.toLocaleString('en-US')} runs spawned by one workflow run (root run #${rootNumber}, its nested runs and retries) was reached`
}
