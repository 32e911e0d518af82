/**
 * Retry from failed nodes. A retry is a NEW workflow run (trigger RETRY, `retryOf` the run it retries),
 * so the failed attempt stays as it was — its node states, reasons and runs remain readable — and each
 * attempt has its own event log. Chosen over re-opening the run for that reason.
 *
 * What re-runs: every node that did not succeed (failed, timed out, cancelled, skipped, or never
 * started) and every node downstream of one (its inputs may change, and a handler that ran on a
 * failure must be decided again). The rest — succeeded nodes all of whose ancestors succeeded — are
 * copied as SUCCEEDED with their JobRun (so their outputs feed the re-run nodes exactly as before) and
 * never run again. The graph, parameters and secret values are the retried run's (its snapshot, not the
 * workflow as edited since). A reused WORKFLOW node keeps its link to the nested run it stands for.
 *
 * A WORKFLOW node that re-runs retries its nested run the same way when that run did not succeed and the
 * node's parameters resolve to the same values as before (node-starter.ts): a new nested run with
 * `retryOf` the old one, which re-runs only what failed inside it — recursively, level by level. With
 * other inputs (an upstream node re-ran and produced other outputs) its old results would not hold, so
 * it starts a fresh nested run, as it does when the old nested run succeeded or never started.
 *
 * Only a FAILED or CANCELLED top-level run can be retried through the API (a nested run is retried
 * through its parent), by a user who could trigger it: an operator or admin who sees the run and its
 * workflow (if it still exists) and every template of a node that will run again, nested retries
 * included. The retry, its nested retries and every run they start are paid from the root run's budget
 * (workflow-run-factory.ts).
 */
import type { PrismaClient, WorkflowRun } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import { retryConflicts } from '../../db/transient.ts'
import { ForbiddenError, InvalidStateError } from '../../errors.ts'
import { canSee, type Actor } from '../actor.ts'
import { blockedNodes } from './blocked-nodes.ts'
import { record } from '../audit/audit.service.ts'
import type { RunsService } from '../runs/runs.service.ts'
import { startReadyNodes } from './node-starter.ts'
import { budgetExhausted, insertWorkflowRun, spendBudget } from './workflow-run-factory.ts'
import { copyNodesForRetry, rerunSet } from './retry-copy.ts'

interface RetryDeps {
  prisma: PrismaClient
  runs: RunsService
  box: SecretBox
}

export async function retryWorkflowRun(deps: RetryDeps, actor: Actor, run: WorkflowRun): Promise<WorkflowRun> {
  const { prisma } = deps
  if (run.parentNodeRunId) throw new InvalidStateError(`workflow run #${run.number} is nested in another workflow run: retry that one (its WORKFLOW node re-runs this workflow)`)
  if (run.status === 'RUNNING') throw new InvalidStateError(`workflow run #${run.number} is still running; cancel it or wait for it to end`)
  if (run.status === 'SUCCEEDED') throw new InvalidStateError(`workflow run #${run.number} succeeded: there is nothing to retry`)
  if (run.workflowId) {
    const wf = await prisma.workflow.findUnique({ where: { id: run.workflowId }, select: { ownerId: true, visibility: true } })
    if (wf && !canSee(actor, wf)) throw new ForbiddenError('its workflow is not visible to you')
  }
  const nodes = await prisma.workflowNodeRun.findMany({ where: { workflowRunId: run.id }, orderBy: { position: 'asc' } })
  const rerun = rerunSet(nodes)
  const blocked = await blockedTemplateNodes(prisma, actor, nodes, rerun, '')
  if (blocked.length) throw new ForbiddenError(`the job templates of these nodes were deleted or are not visible to you: ${blocked.join(', ')}`)
  const root = run.rootRunId ?? run.id

  return retryConflicts(() =>
    prisma.$transaction(
      async (tx) => {
        if (!(await spendBudget(tx, root, 1))) {
          const number = (await tx.workflowRun.findUniqueOrThrow({ where: { id: root }, select: { number: true } })).number
          throw new InvalidStateError(budgetExhausted(number))
        }
        const retry = await insertWorkflowRun(tx, {
          workflow: { id: run.workflowId, name: run.workflowName, ownerId: run.ownerId, visibility: run.visibility },
          nodes: [],
          edges: [],
          trigger: 'RETRY',
          triggeredById: actor.userId,
          parameters: run.parameters as Record<string, unknown>,
          secretParameters: run.secretParameters ? new Uint8Array(run.secretParameters) : null,
          rootRunId: root,
          retryOfId: run.id,
        })
        await copyNodesForRetry(tx, run, nodes, rerun, retry.id)
        await startReadyNodes(tx, retry.id, { runs: deps.runs, box: deps.box })
        await record(tx, {
          actor,
          action: 'workflow-run.retry',
          entity: { type: 'WorkflowRun', id: retry.id, name: `#${retry.number} ${retry.workflowName}` },
          changes: { retryOf: { new: `#${run.number}` }, rerun: { new: nodes.filter((n) => rerun.has(n.key)).map((n) => n.key).join(', ') } },
        })
        return tx.workflowRun.findUniqueOrThrow({ where: { id: retry.id } })
      },
      { timeout: 60_000 },
    ),
  )
}

type NodeRow = Awaited<ReturnType<PrismaClient['workflowNodeRun']['findMany']>>[number]

/**
 * The TEMPLATE nodes that would run again and whose template the actor cannot see (or that was deleted),
 * as paths (`mid → leaf → l2`): at this level, and inside every re-run WORKFLOW node whose nested run
 * did not succeed — that nested run is retried the same way, from its own rerun set, level by level.
 * Conservative: a nested run that will start fresh instead (its node's inputs changed, which is only
 * known when the node starts) is checked as if retried, and its nodes are checked again as they start.
 * Checked up front so the retry is refused whole instead of failing a node three levels down.
 */
async function blockedTemplateNodes(prisma: PrismaClient, actor: Actor, nodes: NodeRow[], rerun: Set<string>, prefix: string): Promise<string[]> {
  const again = nodes.filter((n) => rerun.has(n.key))
  const blocked = (await blockedNodes(prisma, { nodes: again }, actor)).map((key) => `${prefix}${key}`)
  for (const n of again) {
    if (n.kind !== 'WORKFLOW' || !n.nestedRunId) continue
    const nested = await prisma.workflowRun.findUnique({ where: { id: n.nestedRunId }, select: { id: true, status: true } })
    if (!nested || (nested.status !== 'FAILED' && nested.status !== 'CANCELLED')) continue
    const inner = await prisma.workflowNodeRun.findMany({ where: { workflowRunId: nested.id }, orderBy: { position: 'asc' } })
    blocked.push(...(await blockedTemplateNodes(prisma, actor, inner, rerunSet(inner), `${prefix}${n.key} → `)))
  }
  return blocked
}
