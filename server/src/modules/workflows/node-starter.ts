/**
 * Starts the READY nodes of a workflow run, inside the caller's transaction and under the workflow run's
 * row lock (so two workers never start one node twice): each TEMPLATE node's parameters are resolved
 * (expressions over the run's parameters and upstream nodes), then its JobRun is created by
 * RunsService.planRun + createRunIn — the path triggerJobRun takes, so template visibility, parameter
 * validation and concurrency limits apply — with trigger WORKFLOW and linked to the node. A node that
 * cannot start (unresolvable reference, invalid parameters, template gone or no longer visible) ends
 * FAILED with the reason, and the graph advances past it (workflow_advance) in the same transaction.
 */
import type { JobTemplate, Prisma } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import { DomainError } from '../../errors.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import { canSee, type Actor } from '../actor.ts'
import type { RunsService } from '../runs/runs.service.ts'
import type { ParameterDefinition } from '../templates/parameters.ts'
import { ExpressionError, resolveValue, type NodeOutcome, type ResolveContext } from './expressions.ts'
import type { ApprovalConfig } from './workflow-graph.ts'
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
}

export interface StartOptions {
  /** Block on the workflow run's lock (the trigger, whose row is new); otherwise skip a run another
   * transaction holds — it either starts the nodes itself or will NOTIFY again when it commits
   * (workflow_advance notifies whenever it leaves nodes READY). */
  wait?: boolean
  /** Start at most this many nodes (a fan-out is committed in slices, so its first runs start early). */
  limit?: number
}

/** Returns how many nodes were started, and whether READY nodes remain (over `limit`). */
export async function startReadyNodes(tx: Prisma.TransactionClient, workflowRunId: string, deps: StarterDeps, options: StartOptions = {}): Promise<{ started: number; more: boolean }> {
  const wait = options.wait ?? false
  const limit = options.limit ?? Infinity
  const rows = await tx.$queryRawUnsafe<LockedRun[]>(
    `SELECT id, status::text AS status, cancel_requested_at, triggered_by_id, parameters, secret_parameters FROM workflow_run WHERE id = $1::uuid FOR UPDATE${wait ? '' : ' SKIP LOCKED'}`,
    workflowRunId,
  )
  const run = rows[0]
  if (!run || run.status !== 'RUNNING' || run.cancel_requested_at) return { started: 0, more: false }
  const actor = await actorOf(tx, run.triggered_by_id)
  const secrets = run.secret_parameters ? (JSON.parse(deps.box.open(new Uint8Array(run.secret_parameters))) as Record<string, string>) : {}
  let started = 0
  let more = false
  const templates = new Map<string, JobTemplate | null>() // a fan-out runs one template many times
  for (;;) {
    const ready = await tx.workflowNodeRun.findMany({ where: { workflowRunId, status: 'READY' }, orderBy: { position: 'asc' }, take: Number.isFinite(limit) ? limit - started + 1 : undefined })
    if (ready.length > limit - started) {
      ready.length = limit - started
      more = true
    }
    if (!ready.length) break
    // Step outputs (targets' rows, sealed secrets opened) are loaded only when a starting node refers to them.
    const wantsOutputs = ready.some((n) => JSON.stringify([n.parameters, n.approval]).includes('outputs'))
    const all = await tx.workflowNodeRun.findMany({
      where: { workflowRunId },
      select: {
        key: true,
        status: true,
        jobRun: { select: { result: true, targets: wantsOutputs ? { select: { name: true, outputs: true, secretOutputs: true }, orderBy: { position: 'asc' } } : false } },
      },
    })
    const ctx: ResolveContext = {
      params: { ...run.parameters, ...secrets },
      secretParams: new Set(Object.keys(secrets)),
      nodes: new Map<string, NodeOutcome>(all.map((n) => [n.key, { status: n.status, result: n.jobRun?.result ?? null, ...(wantsOutputs ? nodeOutputs(n.jobRun?.targets ?? [], deps.box) : {}) }])),
    }
    let failed = false
    for (const node of ready) {
      try {
        if (node.kind === 'APPROVAL') {
          await awaitApproval(tx, node, ctx)
          started++
          continue
        }
        if (!actor) throw new ExpressionError('the user who triggered the workflow run no longer exists or is disabled')
        const jobRunId = await startNode(tx, node, actor, ctx, deps, templates)
        await tx.workflowNodeRun.update({ where: { id: node.id }, data: { status: 'RUNNING', jobRunId, startedAt: new Date() } })
        started++
      } catch (e) {
        if (!(e instanceof DomainError) && !(e instanceof ExpressionError)) throw e
        await tx.workflowNodeRun.update({ where: { id: node.id }, data: { status: 'FAILED', reason: `could not start: ${e.message}`, finishedAt: new Date() } })
        failed = true
      }
    }
    // Failures decide successors (ON_FAILURE edges, skips), which may leave more nodes READY: loop.
    if (failed) await tx.$executeRawUnsafe(`SELECT workflow_advance($1::uuid)`, workflowRunId)
    else break
    if (started >= limit) {
      more = true
      break
    }
  }
  await tx.$executeRawUnsafe(`SELECT pg_notify($1, $2)`, CHANNELS.workflowRun, workflowRunId)
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

async function startNode(
  tx: Prisma.TransactionClient,
  node: { id: string; key: string; templateId: string | null; parameters: unknown },
  actor: Actor,
  ctx: ResolveContext,
  deps: StarterDeps,
  templates: Map<string, JobTemplate | null>,
): Promise<string> {
  if (node.templateId && !templates.has(node.templateId)) templates.set(node.templateId, await tx.jobTemplate.findUnique({ where: { id: node.templateId } }))
  const template = node.templateId ? templates.get(node.templateId)! : null
  if (!template) throw new ExpressionError('its job template was deleted')
  if (!canSee(actor, template)) throw new ExpressionError(`job template "${template.name}" is not visible to ${actor.username}`)
  const defs = template.parameters as ParameterDefinition[]
  const values: Record<string, unknown> = {}
  for (const [name, raw] of Object.entries((node.parameters ?? {}) as Record<string, unknown>)) {
    const r = resolveValue(raw, ctx)
    // A SECRET workflow parameter stays secret: only a SECRET template parameter (stored sealed) may take it.
    if (r.secret && defs.find((d) => d.name === name)?.type !== 'SECRET') {
      throw new ExpressionError(`parameter "${name}" would receive a SECRET workflow parameter or SECRET step output but is not a SECRET parameter of "${template.name}"`)
    }
    values[name] = r.value
  }
  const plan = await deps.runs.planRun(tx, template, values, null, null)
  const jobRun = await deps.runs.createRunIn(tx, { ...plan, actor, trigger: 'WORKFLOW', scheduleId: null, retryOfId: null })
  return jobRun.id
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

/** Node runs act as the user who triggered the workflow run (visibility and the run's "triggered by"). */
async function actorOf(tx: Prisma.TransactionClient, userId: string | null): Promise<Actor | null> {
  if (!userId) return null
  const u = await tx.user.findUnique({ where: { id: userId }, select: { id: true, username: true, role: true, disabled: true } })
  return u && !u.disabled ? { userId: u.id, username: u.username, role: u.role, via: 'API' } : null
}
