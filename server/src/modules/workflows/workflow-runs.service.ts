/**
 * Workflow runs from the user's side: trigger, cancel, read. Triggering copies the graph into one
 * workflow_node_run per node (root nodes READY, the others PENDING) and starts the roots in the same
 * transaction; from then on the graph advances in SQL whenever a node's JobRun ends
 * (workflow_advance(), see the workflows migration) and workers start the nodes it makes READY
 * (workflow-starter.ts).
 */
import { Prisma, type PrismaClient, type WorkflowNodeRun, type WorkflowRun } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import { retryConflicts } from '../../db/transient.ts'
import { ForbiddenError, InvalidStateError, NotFoundError, ValidationError } from '../../errors.ts'
import { canSee, requireActor, requireWriter, visibleTo, type Actor } from '../actor.ts'
import { record } from '../audit/audit.service.ts'
import { created } from '../audit/changes.ts'
import type { RunsService } from '../runs/runs.service.ts'
import { resolveParameters, type ParameterDefinition } from '../templates/parameters.ts'
import { decide, mayDecide, type Decision } from './node-approvals.ts'
import { startReadyNodes, type StarterDeps } from './node-starter.ts'
import { insertWorkflowRun } from './workflow-run-factory.ts'
import { retryWorkflowRun } from './workflow-retry.ts'
import { blockedNodes } from './blocked-nodes.ts'
import type { ApprovalConfig } from './workflow-graph.ts'
import type { WorkflowsService, WorkflowWithGraph } from './workflows.service.ts'

export class WorkflowRunsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly workflows: WorkflowsService,
    private readonly runs: RunsService,
    private readonly box: SecretBox,
  ) {}

  async trigger(actor: Actor | null, workflowId: string, parameters: unknown): Promise<WorkflowRun> {
    const a = requireWriter(actor)
    const wf = await this.workflows.get(a, workflowId, 'workflowId')
    if (parameters != null && (typeof parameters !== 'object' || Array.isArray(parameters))) throw ValidationError.field('parameters', 'must be an object of parameter values')
    const params = resolveParameters(wf.parameters as ParameterDefinition[], parameters ?? {})
    // A workflow is no way around a permission: every template it runs must be visible to who triggers it.
    const blocked = await blockedNodes(this.prisma, wf, a)
    if (blocked.length) throw new ForbiddenError(`the job templates of these nodes were deleted or are not visible to you: ${blocked.join(', ')}`)
    return retryConflicts(() =>
      this.prisma.$transaction(async (tx) => {
        const run = await createWorkflowRunIn(tx, { runs: this.runs, box: this.box }, { workflow: wf, actor: a, trigger: a.via === 'SESSION' ? 'MANUAL' : 'API', parameters: params })
        await record(tx, {
          actor: a,
          action: 'workflow-run.trigger',
          entity: { type: 'WorkflowRun', id: run.id, name: `#${run.number} ${run.workflowName}` },
          changes: created(run, ['workflowName', 'trigger', 'parameters']),
        })
        return tx.workflowRun.findUniqueOrThrow({ where: { id: run.id } })
      }, { timeout: 60_000 }),
    )
  }

  /**
   * Cancels every node run still queued or running and skips the nodes that have not started — in the
   * run and in every nested run below it; the workflow run ends CANCELLED once its running nodes have
   * stopped (workflow_advance decides it). Cancelling a nested run alone cancels its WORKFLOW node.
   */
  async cancel(actor: Actor | null, id: string): Promise<WorkflowRun> {
    const a = requireWriter(actor)
    const run = await this.get(a, id)
    if (a.role !== 'ADMIN' && run.triggeredById !== a.userId && run.ownerId !== a.userId) {
      throw new ForbiddenError('only who triggered this workflow run, the owner of its workflow or an admin may cancel it')
    }
    if (run.status !== 'RUNNING') throw new InvalidStateError(`workflow run #${run.number} already ended (${run.status})`)
    return retryConflicts(() =>
      this.prisma.$transaction(async (tx) => {
        if (await requestWorkflowCancelIn(tx, this.runs, id, a.userId, `cancelled with its workflow run by ${a.username}`)) {
          await record(tx, { actor: a, action: 'workflow-run.cancel', entity: { type: 'WorkflowRun', id, name: `#${run.number} ${run.workflowName}` } })
        }
        return tx.workflowRun.findUniqueOrThrow({ where: { id } })
      }),
    )
  }

  /** A new run of a FAILED or CANCELLED one that re-runs only what did not succeed (workflow-retry.ts). */
  async retry(actor: Actor | null, id: string): Promise<WorkflowRun> {
    const a = requireWriter(actor)
    return retryWorkflowRun({ prisma: this.prisma, runs: this.runs, box: this.box }, a, await this.get(a, id))
  }

  decide(actor: Actor | null, nodeRunId: string, decision: Decision, comment: string): Promise<WorkflowNodeRun> {
    return decide(this.prisma, actor, nodeRunId, decision, comment)
  }

  /** Approvals awaiting a decision that the actor may take (self-approval rules included) and has not taken yet. */
  async pendingApprovals(actor: Actor | null, query: Omit<Prisma.WorkflowNodeRunFindManyArgs, 'where' | 'orderBy'> = {}): Promise<WorkflowNodeRun[]> {
    const a = requireActor(actor)
    const rows = await this.prisma.workflowNodeRun.findMany({
      // One who approved already (the node waits for more approvers) has nothing left to decide there.
      where: { status: 'AWAITING_APPROVAL', workflowRun: visibleTo(a), decisions: { none: { userId: a.userId } } },
      select: { id: true, approval: true, workflowRun: { select: { triggeredById: true } } },
      take: 500,
    })
    const ids = rows
      .filter((n) => {
        const config = n.approval as ApprovalConfig
        return a.role !== 'VIEWER' && mayDecide(a, config) && (config.allowSelfApproval || n.workflowRun.triggeredById !== a.userId)
      })
      .map((n) => n.id)
    return this.prisma.workflowNodeRun.findMany({ ...query, where: { id: { in: ids } }, orderBy: { deadlineAt: 'asc' } })
  }

  async get(actor: Actor | null, id: string, field = 'id'): Promise<WorkflowRun> {
    const a = requireActor(actor)
    const run = await this.prisma.workflowRun.findUnique({ where: { id } })
    if (!run || !canSee(a, run)) throw new NotFoundError('workflow run', field)
    return run
  }

  whereFor(actor: Actor | null, filter: { workflowId?: string | null; statuses?: WorkflowRun['status'][] | null } = {}): Prisma.WorkflowRunWhereInput {
    const a = requireActor(actor)
    const and: Prisma.WorkflowRunWhereInput[] = [visibleTo(a)]
    if (filter.workflowId) and.push({ workflowId: filter.workflowId })
    if (filter.statuses?.length) and.push({ status: { in: filter.statuses } })
    return { AND: and }
  }
}

export interface WorkflowRunRequest {
  workflow: WorkflowWithGraph
  /** Whom the node runs act as (visibility, "triggered by"); a schedule's owner for a scheduled run. */
  actor: Actor
  trigger: WorkflowRun['trigger']
  /** Already validated against the workflow's parameter definitions. */
  parameters: { visible: Record<string, unknown>; secrets: Record<string, string> }
  scheduleId?: string | null
  slotAt?: Date | null
  /** For trigger WEBHOOK: the endpoint that was called. */
  webhookEndpointId?: string | null
  /** Record a schedule slot that does not run: created final with this status and reason, no nodes. */
  record?: { status: 'MISSED' | 'SKIPPED' | 'FAILED'; reason: string }
}

/**
 * Creates a workflow run inside the caller's transaction: the graph copied into one workflow_node_run
 * per node (roots READY, the others PENDING) and the roots started. The path every trigger takes
 * (manual, API, schedule), so they behave alike.
 */
export async function createWorkflowRunIn(tx: Prisma.TransactionClient, deps: StarterDeps, p: WorkflowRunRequest): Promise<WorkflowRun> {
  const wf = p.workflow
  const run = await insertWorkflowRun(tx, {
    workflow: wf,
    nodes: p.record ? [] : wf.nodes,
    edges: p.record ? [] : wf.edges,
    trigger: p.trigger,
    triggeredById: p.actor.userId,
    parameters: p.parameters.visible,
    secretParameters: Object.keys(p.parameters.secrets).length ? deps.box.seal(JSON.stringify(p.parameters.secrets)) : null,
    scheduleId: p.scheduleId ?? null,
    slotAt: p.slotAt ?? null,
    webhookEndpointId: p.webhookEndpointId ?? null,
    final: p.record ?? null,
  })
  if (p.record) return run
  await startReadyNodes(tx, run.id, deps)
  return run
}

/**
 * In the caller's transaction: flags a RUNNING workflow run cancelled — with every running nested run
 * below it — cancels their running node runs and skips the nodes that have not started; each run ends
 * CANCELLED once its running nodes have stopped (workflow_advance decides it). False when the run had
 * already ended or was being cancelled.
 */
export async function requestWorkflowCancelIn(tx: Prisma.TransactionClient, runs: RunsService, id: string, byUserId: string | null, reason: string): Promise<boolean> {
  // The run and its running nested runs, deepest first: the lock order of a nested run ending (it locks
  // its parent after itself), after the job runs (as when a run ends, see workflow_advance).
  const tree = await tx.$queryRaw<Array<{ id: string }>>`
    WITH RECURSIVE t AS (
      SELECT id, 0 AS level FROM workflow_run WHERE id = ${id}::uuid
      UNION ALL
      SELECT c.id, t.level + 1 FROM t JOIN workflow_node_run n ON n.workflow_run_id = t.id JOIN workflow_run c ON c.parent_node_run_id = n.id
       WHERE c.status = 'RUNNING' AND t.level < 10)
    SELECT id::text FROM t ORDER BY level DESC, id`
  const ids = tree.map((r) => r.id)
  await tx.$queryRaw`SELECT j.id FROM job_run j JOIN workflow_node_run n ON n.job_run_id = j.id
                      WHERE n.workflow_run_id = ANY(${ids}::uuid[]) AND n.status = 'RUNNING' ORDER BY j.id FOR UPDATE OF j`
  for (const runId of ids) await tx.$queryRaw`SELECT id FROM workflow_run WHERE id = ${runId}::uuid FOR UPDATE`
  const parent = await tx.workflowRun.findUnique({ where: { id }, select: { parentNodeRunId: true } })
  if (parent?.parentNodeRunId) await tx.$queryRaw`SELECT r.id FROM workflow_run r JOIN workflow_node_run n ON n.workflow_run_id = r.id WHERE n.id = ${parent.parentNodeRunId}::uuid FOR UPDATE OF r`
  const marked = await tx.workflowRun.updateMany({ where: { id: { in: ids }, status: 'RUNNING', cancelRequestedAt: null }, data: { cancelRequestedAt: new Date(), updatedAt: new Date() } })
  if (!marked.count) return false
  const running = await tx.workflowNodeRun.findMany({ where: { workflowRunId: { in: ids }, status: 'RUNNING', jobRunId: { not: null } }, select: { jobRunId: true } })
  for (const n of running) await runs.requestCancelIn(tx, n.jobRunId!, byUserId, reason)
  for (const runId of ids) await tx.$executeRaw`SELECT workflow_advance(${runId}::uuid)`
  return true
}

