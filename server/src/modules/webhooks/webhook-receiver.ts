/**
 * One call to an inbound webhook, after the HTTP layer found the endpoint by its token and read the body
 * (bounded by the endpoint's cap, see http/webhooks.ts). Every answer is JSON with the reason; a call
 * that reaches a known endpoint is recorded (webhook_call) and audited (`webhook.call` / `webhook.reject`,
 * via SYSTEM) in the transaction that starts its run, or that records its refusal.
 *
 * Each call takes the endpoint's row lock, which serialises the endpoint's calls across API processes:
 * the rate limit counts the last minute's recorded calls exactly, and a delivery id already used (by a
 * call that started or skipped a run) is refused as a replay. Rate-limited calls are answered 429 and
 * not recorded, so a flood costs one indexed count each and writes nothing.
 *
 * The run is started the way any trigger starts one (RunsService.planRun + createRunIn for a template,
 * createWorkflowRunIn for a workflow): parameter validation, targets, the queue, concurrency limits, the
 * template's overlap policy. It acts as the endpoint's owner, re-checked on every call.
 */
import type { JobTemplate, Prisma, PrismaClient, WebhookEndpoint } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import { DomainError, ValidationError, type FieldProblem } from '../../errors.ts'
import { canSee, type Actor } from '../actor.ts'
import { entity, record } from '../audit/audit.service.ts'
import { created } from '../audit/changes.ts'
import { applyOverlapPolicy } from '../runs/overlap.ts'
import type { RunsService } from '../runs/runs.service.ts'
import { resolveParameters, type ParameterDefinition } from '../templates/parameters.ts'
import { blockedNodes } from '../workflows/blocked-nodes.ts'
import { createWorkflowRunIn } from '../workflows/workflow-runs.service.ts'
import { mapPayload, type PayloadMapping } from './payload-mapping.ts'
import { signatureProblem } from './webhook-signature.ts'

export interface WebhookCallInput {
  contentType: string | undefined
  signature: string | undefined
  deliveryId: string | undefined
  body: Buffer
}

export interface WebhookAnswer {
  status: number
  body: Record<string, unknown>
  headers?: Record<string, string>
}

/** A refusal with its HTTP status; `fields` name the parameters that failed validation. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message)
  }
}

class RateLimited extends Error {}

const MAX_DELIVERY_ID = 200

export class WebhookReceiver {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly runs: RunsService,
    private readonly box: SecretBox,
  ) {}

  async receive(endpoint: WebhookEndpoint, call: WebhookCallInput): Promise<WebhookAnswer> {
    let values: Record<string, unknown>
    const deliveryId = call.deliveryId?.trim() || null
    try {
      values = await this.#checkRequest(endpoint, call, deliveryId)
    } catch (e) {
      if (!(e instanceof Refusal)) throw e
      return this.#refuse(endpoint, e, deliveryId)
    }
    try {
      return await this.prisma.$transaction(async (tx) => {
        await this.#lockAndLimit(tx, endpoint)
        if (deliveryId && (await tx.webhookCall.count({ where: { endpointId: endpoint.id, deliveryId } }))) {
          throw new Refusal(409, `delivery ${JSON.stringify(deliveryId)} was already received (replay refused)`)
        }
        const started = await this.#start(tx, endpoint, values)
        await tx.webhookCall.create({
          data: { endpointId: endpoint.id, deliveryId, outcome: started.outcome, httpStatus: started.answer.status, reason: started.reason ?? null, jobRunId: started.jobRunId ?? null, workflowRunId: started.workflowRunId ?? null },
        })
        await tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { lastCalledAt: new Date() } })
        await record(tx, {
          actor: null,
          actorName: `webhook "${endpoint.name}"`,
          via: 'SYSTEM',
          action: 'webhook.call',
          entity: entity.of('WebhookEndpoint', endpoint),
          changes: created({ outcome: started.outcome, deliveryId, run: started.runLabel ?? null, reason: started.reason ?? null }, ['outcome', 'deliveryId', 'run', 'reason']),
        })
        return started.answer
      }, { timeout: 60_000 })
    } catch (e) {
      if (e instanceof RateLimited) return rateLimited(endpoint)
      if (e instanceof Refusal) return this.#refuse(endpoint, e, deliveryId)
      // Expected failures of the run's planning (bad parameters, no targets, job type gone): the caller's 422.
      if (e instanceof ValidationError) return this.#refuse(endpoint, new Refusal(422, `the payload does not give valid parameters: ${e.message}`, e.fields), deliveryId)
      if (e instanceof DomainError) return this.#refuse(endpoint, new Refusal(422, `could not start: ${e.message}`), deliveryId)
      throw e
    }
  }

  /** A call refused before it was read through (its body over the cap): recorded and audited like any. */
  tooLarge(endpoint: WebhookEndpoint, deliveryId: string | undefined): Promise<WebhookAnswer> {
    return this.#refuse(endpoint, new Refusal(413, `the body is larger than this endpoint's limit of ${endpoint.maxBodyBytes} bytes`), deliveryId?.trim().slice(0, MAX_DELIVERY_ID) || null)
  }

  /** Content type, signature, JSON, mapping: the checks that need no lock. Returns the mapped values. */
  async #checkRequest(endpoint: WebhookEndpoint, call: WebhookCallInput, deliveryId: string | null): Promise<Record<string, unknown>> {
    if (!/^application\/([\w.+-]*\+)?json\b/i.test(call.contentType ?? '')) throw new Refusal(415, 'the body must be JSON (Content-Type: application/json)')
    if (deliveryId && deliveryId.length > MAX_DELIVERY_ID) throw new Refusal(400, `X-Switchyard-Delivery is longer than ${MAX_DELIVERY_ID} characters`)
    if (endpoint.secretCredentialId) {
      const c = await this.prisma.credential.findUnique({ where: { id: endpoint.secretCredentialId }, select: { secret: true } })
      if (!c) throw new Refusal(401, 'the endpoint\'s signing secret is gone; nothing can be verified')
      const problem = signatureProblem(this.box.open(c.secret), call.signature, call.body, Math.floor(Date.now() / 1000), endpoint.replayWindowSeconds)
      if (problem) throw new Refusal(401, problem)
    }
    let payload: unknown
    try {
      payload = JSON.parse(call.body.toString('utf8'))
    } catch (e) {
      throw new Refusal(400, `the body is not valid JSON: ${(e as Error).message}`)
    }
    return mapPayload(endpoint.parameterMapping as PayloadMapping, payload)
  }

  /** Takes the endpoint's lock and counts the last minute's calls (this one excluded). */
  async #lockAndLimit(tx: Prisma.TransactionClient, endpoint: WebhookEndpoint): Promise<void> {
    await tx.$queryRaw`SELECT id FROM webhook_endpoint WHERE id = ${endpoint.id}::uuid FOR UPDATE`
    const [row] = await tx.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM webhook_call WHERE endpoint_id = ${endpoint.id}::uuid AND received_at > now() - interval '60 seconds'`
    if ((row?.n ?? 0) >= endpoint.rateLimitPerMinute) throw new RateLimited()
  }

  async #start(tx: Prisma.TransactionClient, endpoint: WebhookEndpoint, values: Record<string, unknown>) {
    const actor = await ownerOf(tx, endpoint)
    const deps = { runs: this.runs, box: this.box }
    if (endpoint.templateId) {
      const template = (await tx.jobTemplate.findUnique({ where: { id: endpoint.templateId } })) as JobTemplate
      if (!canSee(actor, template)) throw new Refusal(403, `the endpoint's owner ${actor.username} may no longer see template "${template.name}"`)
      // Planned before the overlap policy: bad parameters are the caller's 422 even while a run is active.
      const plan = await this.runs.planRun(tx, template, values, null, null)
      const overlap = await applyOverlapPolicy(tx, this.runs, template, template.overlapPolicy, `webhook "${endpoint.name}"`)
      if ('skip' in overlap) return { outcome: 'SKIPPED' as const, reason: overlap.skip, answer: { status: 200, body: { status: 'SKIPPED', reason: overlap.skip } } }
      const run = await this.runs.createRunIn(tx, { ...plan, maxConcurrent: overlap.maxConcurrent, actor, trigger: 'WEBHOOK', scheduleId: null, retryOfId: null, webhookEndpointId: endpoint.id })
      const id = Buffer.from(`JobRun:${run.id}`).toString('base64')
      return { outcome: 'STARTED' as const, jobRunId: run.id, runLabel: `#${run.number} ${run.templateName}`, answer: { status: 202, body: { status: 'STARTED', run: { id, number: run.number, link: `/runs/${run.id}` } } } }
    }
    const wf = await tx.workflow.findUniqueOrThrow({ where: { id: endpoint.workflowId! }, include: { nodes: { orderBy: { position: 'asc' } }, edges: { orderBy: { position: 'asc' } } } })
    if (!canSee(actor, wf)) throw new Refusal(403, `the endpoint's owner ${actor.username} may no longer see workflow "${wf.name}"`)
    const blocked = await blockedNodes(tx, wf, actor)
    if (blocked.length) throw new Refusal(403, `the job templates of these nodes were deleted or are not visible to the endpoint's owner ${actor.username}: ${blocked.join(', ')}`)
    const parameters = resolveParameters(wf.parameters as ParameterDefinition[], values)
    const run = await createWorkflowRunIn(tx, deps, { workflow: wf, actor, trigger: 'WEBHOOK', parameters, webhookEndpointId: endpoint.id })
    const id = Buffer.from(`WorkflowRun:${run.id}`).toString('base64')
    return { outcome: 'STARTED' as const, workflowRunId: run.id, runLabel: `#${run.number} ${run.workflowName}`, answer: { status: 202, body: { status: 'STARTED', workflowRun: { id, number: run.number, link: `/workflow-runs/${run.id}` } } } }
  }

  /** Records and audits a refused call (without its delivery id: a forged call must not burn a real id). */
  async #refuse(endpoint: WebhookEndpoint, r: Refusal, deliveryId: string | null): Promise<WebhookAnswer> {
    try {
      await this.prisma.$transaction(async (tx) => {
        await this.#lockAndLimit(tx, endpoint)
        await tx.webhookCall.create({ data: { endpointId: endpoint.id, outcome: 'REJECTED', httpStatus: r.status, reason: r.message } })
        await record(tx, {
          actor: null,
          actorName: `webhook "${endpoint.name}"`,
          via: 'SYSTEM',
          action: 'webhook.reject',
          entity: entity.of('WebhookEndpoint', endpoint),
          changes: created({ status: r.status, reason: r.message, deliveryId }, ['status', 'reason', 'deliveryId']),
        })
      })
    } catch (e) {
      if (e instanceof RateLimited) return rateLimited(endpoint)
      throw e
    }
    return { status: r.status, body: { error: r.message, ...(r.fields.length ? { fields: r.fields } : {}) } }
  }
}

function rateLimited(endpoint: WebhookEndpoint): WebhookAnswer {
  return { status: 429, headers: { 'retry-after': '60' }, body: { error: `rate limit: at most ${endpoint.rateLimitPerMinute} calls per minute to this endpoint` } }
}

/** The endpoint's owner as the run's actor, checked now: an account disabled or demoted since is refused. */
async function ownerOf(tx: Prisma.TransactionClient, endpoint: WebhookEndpoint): Promise<Actor> {
  const u = await tx.user.findUnique({ where: { id: endpoint.ownerId }, select: { id: true, username: true, role: true, disabled: true } })
  if (!u || u.disabled) throw new Refusal(403, 'the endpoint\'s owner is disabled; nothing runs in their name')
  if (u.role === 'VIEWER') throw new Refusal(403, `the endpoint's owner ${u.username} is a viewer and may not run anything`)
  // `via` unset: the run records its owner as who triggered it.
  return { userId: u.id, username: u.username, role: u.role }
}
