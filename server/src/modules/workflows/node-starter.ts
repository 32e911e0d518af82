/**
 * Starts the READY nodes of a workflow run, inside the caller's transaction and under the workflow run's
 * row lock (so two workers never start one node twice): each TEMPLATE node's parameters are resolved
 * (expressions over the run's parameters and upstream nodes), then its JobRun is created by
 * RunsService.planRun + createRunIn — triggerJobRun's validation and the same run row (runRow), so
 * template visibility, parameter validation and concurrency limits apply — with trigger WORKFLOW, the node's overrides (targets,
 * timeout, retry) applied, and linked to the node. A WORKFLOW node starts its nested workflow run (and
 * that run's roots) the same way — or, in a retry, retries the nested run that failed (startNested).
 * Every JobRun or nested run is first paid from the root run's budget (MAX_SPAWNED_RUNS). A node that
 * cannot start (unresolvable reference, invalid parameters, template or workflow gone or no longer
 * visible, nesting too deep, budget spent) ends FAILED with the reason, and the graph advances past it
 * (workflow_advance) in the same transaction.
 */
import { isDeepStrictEqual } from 'node:util'
import type { JobTemplate, Prisma, WorkflowRun } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import { DomainError } from '../../errors.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import { canSee, type Actor } from '../actor.ts'
import type { NewRun, RunsService } from '../runs/runs.service.ts'
import type { ParameterDefinition } from '../templates/parameters.ts'
import { ExpressionError, resolveValue, type NodeOutcome, type ResolveContext } from './expressions.ts'
import type { ApprovalConfig } from './workflow-graph.ts'
import { applySpecOverrides, selectorOverride, type NodeOverrides } from './node-overrides.ts'
import { budgetExhausted, insertWorkflowRun, spendBudget } from './workflow-run-factory.ts'
import { MAX_NESTING } from './workflow-nesting.ts'
import { copyNodesForRetry, rerunSet } from './retry-copy.ts'
import { resolveParameters } from '../templates/parameters.ts'
import { runOutputs } from '../../jobs/step-outputs.ts'

export interface StarterDeps {
  runs: RunsService
  box: SecretBox
}

interface LockedRun {
  id: string
  status: string
  cancel_requested_at: Date | null
  triggered_by_id: string | null
  parameters: Record<string, unknown>
  secret_parameters: Buffer | null
  depth: number
  root: string
  /** The run this one retries: its WORKFLOW nodes may retry their nested runs (startNested). */
  retry_of: string | null
  /** Who triggered it (node runs act as them), read with the lock: null when deleted or disabled. */
  user_id: string | null
  username: string | null
  role: Actor['role'] | null
}

type ReadyNode = { id: string; key: string; kind: string; templateId: string | null; subWorkflowId: string | null; parameters: unknown; overrides: unknown; approval: unknown }

export interface StartOptions {
  /** Start at most this many nodes (a fan-out is committed in slices, so its first runs start early). */
  limit?: number
}

/** Returns how many nodes were started, and whether READY nodes remain (over `limit`). */
export async function startReadyNodes(tx: Prisma.TransactionClient, workflowRunId: string, deps: StarterDeps, options: StartOptions = {}): Promise<{ started: number; more: boolean }> {
  const limit = options.limit ?? Infinity
  // Waits for the workflow run's lock (never SKIP LOCKED): the trigger's row is new, and the WorkflowStarter
  // must not skip a run its siblings' settles keep locked (see workflow-starter.ts).
  const rows = await tx.$queryRawUnsafe<LockedRun[]>(
    `SELECT r.id, r.status::text AS status, r.cancel_requested_at, r.triggered_by_id, r.parameters, r.secret_parameters, r.depth, COALESCE(r.root_run_id, r.id)::text AS root, r.retry_of_id::text AS retry_of,
            u.id::text AS user_id, u.username, u.role::text AS role
       FROM workflow_run r LEFT JOIN app_user u ON u.id = r.triggered_by_id AND NOT u.disabled
      WHERE r.id = $1::uuid FOR UPDATE OF r`,
    workflowRunId,
  )
  const run = rows[0]
  if (!run || run.status !== 'RUNNING' || run.cancel_requested_at) return { started: 0, more: false }
  // Node runs act as the user who triggered the workflow run (visibility and the run's "triggered by").
  const actor: Actor | null = run.user_id ? { userId: run.user_id, username: run.username!, role: run.role!, via: 'API' } : null
  const secrets = run.secret_parameters ? (JSON.parse(deps.box.open(new Uint8Array(run.secret_parameters))) as Record<string, string>) : {}
  let started = 0
  let more = false
  let notified = false
  const templates = new Map<string, JobTemplate | null>() // a fan-out runs one template many times
  for (;;) {
    const ready = await tx.workflowNodeRun.findMany({ where: { workflowRunId, status: 'READY' }, orderBy: { position: 'asc' }, take: Number.isFinite(limit) ? limit - started + 1 : undefined })
    if (ready.length > limit - started) {
      ready.length = limit - started
      more = true
    }
    if (!ready.length) break
    // Upstream outcomes are read only when some node refers to them (a fan-out of plain nodes skips it), and
    // step outputs (targets' rows, sealed secrets opened) only when one refers to those.
    const refers = ready.some((n) => JSON.stringify([n.parameters, n.approval]).includes('{{'))
    const wantsOutputs = refers && ready.some((n) => JSON.stringify([n.parameters, n.approval]).includes('outputs'))
    const all = refers
      ? await tx.workflowNodeRun.findMany({
          where: { workflowRunId },
          select: {
            key: true,
            status: true,
            jobRun: { select: { result: true, targets: wantsOutputs ? { select: { name: true, outputs: true, secretOutputs: true }, orderBy: { position: 'asc' } } : false } },
          },
        })
      : []
    const ctx: ResolveContext = {
      params: { ...run.parameters, ...secrets },
      secretParams: new Set(Object.keys(secrets)),
      nodes: new Map<string, NodeOutcome>(all.map((n) => [n.key, { status: n.status, result: n.jobRun?.result ?? null, ...(wantsOutputs ? nodeOutputs(n.jobRun?.targets ?? [], deps.box) : {}) }])),
    }
    // Every JobRun and nested run is paid for before it starts; nodes past the budget fail with the limit.
    let budget = await spendBudget(tx, run.root, ready.filter((n) => n.kind !== 'APPROVAL').length)
    let failed = false
    const batch: Array<{ nodeId: string; run: NewRun }> = [] // TEMPLATE nodes: created together below
    for (const node of ready) {
      try {
        if (node.kind === 'APPROVAL') {
          await awaitApproval(tx, node, ctx)
          started++
          continue
        }
        if (budget-- <= 0) throw new ExpressionError(budgetExhausted(await rootNumber(tx, run.root)))
        if (!actor) throw new ExpressionError('the user who triggered the workflow run no longer exists or is disabled')
        if (node.kind === 'WORKFLOW') {
          await startNested(tx, node, run, actor, ctx, deps)
          started++
          continue
        }
        batch.push({ nodeId: node.id, run: await planNode(tx, node, actor, ctx, deps, templates) })
      } catch (e) {
        if (!(e instanceof DomainError) && !(e instanceof ExpressionError)) throw e
        await tx.workflowNodeRun.update({ where: { id: node.id }, data: { status: 'FAILED', reason: `could not start: ${e.message}`, finishedAt: new Date() } })
        failed = true
      }
    }
    // One statement each for the runs, their messages and the nodes, whatever the fan-out: a node's run
    // then starts a few round trips after its parent ended, not after every sibling's.
    if (batch.length) {
      const jobRunIds = await deps.runs.createRunsIn(tx, batch.map((b) => b.run))
      await tx.$queryRaw`WITH started AS (
                             UPDATE workflow_node_run n SET status = 'RUNNING', job_run_id = v.job, started_at = clock_timestamp()
                               FROM unnest(${batch.map((b) => b.nodeId)}::uuid[], ${jobRunIds}::uuid[]) AS v(node, job) WHERE n.id = v.node RETURNING 1)
                           SELECT pg_notify(${CHANNELS.workflowRun}, ${workflowRunId})::text AS n FROM (SELECT count(*) FROM started) AS c`
      notified = true
      started += batch.length
    }
    // Failures decide successors (ON_FAILURE edges, skips), which may leave more nodes READY: loop.
    if (failed) await tx.$executeRawUnsafe(`SELECT workflow_advance($1::uuid)`, workflowRunId)
    else break
    if (started >= limit) {
      more = true
      break
    }
  }
  if (!notified) await tx.$executeRawUnsafe(`SELECT pg_notify($1, $2)`, CHANNELS.workflowRun, workflowRunId)
  return { started, more }
}

/** An APPROVAL node starts waiting: its message rendered now, its deadline set (see node-approvals.ts). */
async function awaitApproval(tx: Prisma.TransactionClient, node: { id: string; approval: unknown }, ctx: ResolveContext): Promise<void> {
  const config = node.approval as ApprovalConfig
  const message = resolveValue(config.message, ctx)
  if (message.secret) throw new ExpressionError('an approval message may not show a SECRET parameter or SECRET step output')
  const now = new Date()
  await tx.workflowNodeRun.update({
    where: { id: node.id },
    data: { status: 'AWAITING_APPROVAL', message: typeof message.value === 'string' ? message.value : JSON.stringify(message.value), startedAt: now, deadlineAt: new Date(now.getTime() + config.timeoutSeconds * 1000) },
  })
}

/** A TEMPLATE node's run as triggerJobRun would plan it (visibility, parameters, targets), with its overrides. */
async function planNode(
  tx: Prisma.TransactionClient,
  node: ReadyNode,
  actor: Actor,
  ctx: ResolveContext,
  deps: StarterDeps,
  templates: Map<string, JobTemplate | null>,
): Promise<NewRun> {
  if (node.templateId && !templates.has(node.templateId)) templates.set(node.templateId, await tx.jobTemplate.findUnique({ where: { id: node.templateId } }))
  const template = node.templateId ? templates.get(node.templateId)! : null
  if (!template) throw new ExpressionError('its job template was deleted')
  if (!canSee(actor, template)) throw new ExpressionError(`job template "${template.name}" is not visible to ${actor.username}`)
  const values = resolveNodeValues(node, template.parameters as ParameterDefinition[], `"${template.name}"`, ctx)
  const overrides = (node.overrides ?? null) as NodeOverrides | null
  const plan = await deps.runs.planRun(tx, template, values, null, null, selectorOverride(overrides))
  return { ...plan, spec: applySpecOverrides(plan.spec, overrides), actor, trigger: 'WORKFLOW', scheduleId: null, retryOfId: null }
}

/**
 * A WORKFLOW node: its nested run is created (depth checked again: definitions may have changed since
 * save), the node is RUNNING, and the nested run's roots start in this transaction. The nested run's
 * outcome becomes the node's (workflow_nested_run_ended, in SQL). In a retry (workflow-retry.ts), a node
 * whose nested run did not succeed retries that run instead — when its parameters resolve to the same
 * values as before (else the old run's results would not hold for the new inputs): the new nested run
 * has `retryOf` the old one, copies its succeeded nodes and re-runs the rest, each of its WORKFLOW nodes
 * doing the same one level down.
 */
async function startNested(tx: Prisma.TransactionClient, node: ReadyNode, run: LockedRun, actor: Actor, ctx: ResolveContext, deps: StarterDeps): Promise<void> {
  const depth = run.depth + 1
  if (depth > MAX_NESTING) throw new ExpressionError(`nesting too deep: its workflow would run at level ${depth}, at most ${MAX_NESTING} (a nested workflow changed since this one was saved?)`)
  const sub = node.subWorkflowId
    ? await tx.workflow.findUnique({ where: { id: node.subWorkflowId }, include: { nodes: { orderBy: { position: 'asc' } }, edges: { orderBy: { position: 'asc' } } } })
    : null
  if (!sub) throw new ExpressionError('its nested workflow was deleted')
  if (!canSee(actor, sub)) throw new ExpressionError(`workflow "${sub.name}" is not visible to ${actor.username}`)
  const values = resolveNodeValues(node, sub.parameters as ParameterDefinition[], `workflow "${sub.name}"`, ctx)
  const params = resolveParameters(sub.parameters as ParameterDefinition[], values, `nodes.${node.key}.parameters`)
  const prior = run.retry_of ? await retriableNestedRun(tx, run.retry_of, node.key, params, deps.box) : null
  const child = await insertWorkflowRun(tx, {
    // A retry re-runs the old nested run's graph (its snapshot), as a top-level retry does.
    workflow: prior ? { id: prior.workflowId, name: prior.workflowName, ownerId: prior.ownerId, visibility: prior.visibility } : sub,
    nodes: prior ? [] : sub.nodes,
    edges: prior ? [] : sub.edges,
    trigger: 'WORKFLOW',
    triggeredById: run.triggered_by_id,
    parameters: params.visible,
    secretParameters: Object.keys(params.secrets).length ? deps.box.seal(JSON.stringify(params.secrets)) : null,
    rootRunId: run.root,
    parentNodeRunId: node.id,
    depth,
    retryOfId: prior?.id ?? null,
  })
  // RUNNING before the retry's nodes are decided: if they leave nothing to run, the nested run ends at
  // once and its outcome must land on a RUNNING node (workflow_nested_run_ended).
  await tx.workflowNodeRun.update({ where: { id: node.id }, data: { status: 'RUNNING', startedAt: new Date(), nestedRunId: child.id } })
  if (prior) {
    const nodes = await tx.workflowNodeRun.findMany({ where: { workflowRunId: prior.id }, orderBy: { position: 'asc' } })
    await copyNodesForRetry(tx, prior, nodes, rerunSet(nodes), child.id)
  }
  await startReadyNodes(tx, child.id, deps)
}

/**
 * The nested run a re-run WORKFLOW node retries: the one the same node of the retried run stands for,
 * if it ended FAILED or CANCELLED and ran with the parameter values (secret ones included) the node
 * resolves to now. Null: start a fresh nested run.
 */
async function retriableNestedRun(
  tx: Prisma.TransactionClient,
  retryOf: string,
  key: string,
  params: { visible: Record<string, unknown>; secrets: Record<string, string> },
  box: SecretBox,
): Promise<WorkflowRun | null> {
  const old = await tx.workflowNodeRun.findUnique({ where: { workflowRunId_key: { workflowRunId: retryOf, key } }, select: { linkedRun: true } })
  const prior = old?.linkedRun
  if (!prior || (prior.status !== 'FAILED' && prior.status !== 'CANCELLED')) return null
  const secrets = prior.secretParameters ? (JSON.parse(box.open(new Uint8Array(prior.secretParameters))) as Record<string, string>) : {}
  return isDeepStrictEqual(prior.parameters, params.visible) && isDeepStrictEqual(secrets, params.secrets) ? prior : null
}

/** A node's parameter values, resolved; a SECRET workflow parameter may only go into a SECRET parameter. */
function resolveNodeValues(node: ReadyNode, defs: ParameterDefinition[], owner: string, ctx: ResolveContext): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  for (const [name, raw] of Object.entries((node.parameters ?? {}) as Record<string, unknown>)) {
    const r = resolveValue(raw, ctx)
    // A SECRET workflow parameter stays secret: only a SECRET parameter (stored sealed) may take it.
    if (r.secret && defs.find((d) => d.name === name)?.type !== 'SECRET') {
      throw new ExpressionError(`parameter "${name}" would receive a SECRET workflow parameter or SECRET step output but is not a SECRET parameter of ${owner}`)
    }
    values[name] = r.value
  }
  return values
}

/**
 * A node's step outputs for expressions: the run-level view with SECRET values unsealed, and the same view
 * holding only those (so a reference can tell it reaches a secret and must go into a SECRET parameter).
 */
function nodeOutputs(targets: Array<{ name: string; outputs: unknown; secretOutputs: Uint8Array | null }>, box: SecretBox): Pick<NodeOutcome, 'outputs' | 'secretOutputs'> {
  const opened = targets.map((t) => {
    const secret = t.secretOutputs ? (JSON.parse(box.open(t.secretOutputs)) as Record<string, unknown>) : null
    const visible = t.outputs as Record<string, unknown> | null
    return { name: t.name, clear: visible ? { ...visible, ...secret } : null, secret }
  })
  return {
    outputs: runOutputs(opened.map((t) => ({ name: t.name, outputs: t.clear }))),
    secretOutputs: runOutputs(opened.map((t) => ({ name: t.name, outputs: t.secret }))),
  }
}

async function rootNumber(tx: Prisma.TransactionClient, root: string): Promise<number> {
  return (await tx.workflowRun.findUniqueOrThrow({ where: { id: root }, select: { number: true } })).number
}
