/**
 * Runs from the user's side: trigger, cancel, retry, list, read. Execution itself is the
 * dispatcher's (jobs/dispatcher.ts); this module only creates and commands runs.
 */
import type pg from 'pg'
import type { JobRun, JobTemplate, Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import type { ExecutorRegistry } from '../../jobs/executors/registry.ts'
import { enqueueMany, type RunQueue } from '../../jobs/run-queue.ts'
import { randomUUID } from 'node:crypto'
import { appendLinesInTransaction } from '../../logs/log-writer.ts'
import { isConflict, isTransient, retryConflicts } from '../../db/transient.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import { ForbiddenError, InvalidStateError, NotFoundError, ValidationError } from '../../errors.ts'
import { canSee, requireActor, requireWriter, visibleTo, type Actor } from '../actor.ts'
import { entity, eventRow, record, recordMany } from '../audit/audit.service.ts'
import { CommittedError, insertRunsInOneStatement, type RunToInsert } from './one-statement-insert.ts'
import { JobTemplateReader } from '../templates/job-template-row.ts'
import { GroupCommit } from '../../util/group-commit.ts'
import { changed, created, type Changes } from '../audit/changes.ts'
import { resolveSelector, targetSelectorSchema, type TargetSelector } from '../targets/target-selector.ts'
import { resolveParameters, type ParameterDefinition } from '../templates/parameters.ts'
import { isFinalStatus, specFromTemplate, type RunSpec } from '../../jobs/run-spec.ts'

export type RunStatus = JobRun['status']
export type RunTrigger = JobRun['trigger']

export interface RunFilter {
  statuses?: RunStatus[] | null
  jobTypes?: string[] | null
  triggers?: RunTrigger[] | null
  templateIds?: string[] | null
  scheduleIds?: string[] | null
  createdAfter?: Date | null
  createdBefore?: Date | null
}

export interface RunPlan {
  template: { id: string | null; name: string; jobType: string; ownerId: string | null; visibility: 'GLOBAL' | 'PRIVATE' }
  spec: RunSpec
  parameters: Record<string, unknown>
  secretParameters: Uint8Array<ArrayBuffer> | null
  targets: Array<{ targetId: string | null; name: string; host: string; port: number }>
  concurrencyKey: string | null
  maxConcurrent: number | null
}

export interface NewRun extends RunPlan {
  actor: Actor
  trigger: RunTrigger
  scheduleId: string | null
  slotAt?: Date | null
  retryOfId: string | null
  /** For trigger DEPENDENCY: the upstream run whose final status started this one. */
  triggeredByRunId?: string | null
  /** For trigger WEBHOOK: the endpoint that was called. */
  webhookEndpointId?: string | null
  /** Record a slot that does not execute: created final with this status and reason. */
  record?: { status: 'MISSED' | 'SKIPPED' | 'FAILED'; reason: string }
}

/** What the audit trail shows of a new run (its parameters as users see them: SECRET values masked). */
export function runAuditChanges(run: Pick<JobRun, 'templateName' | 'trigger' | 'targetsTotal'> & { parameters: unknown }): Changes {
  return created(run, ['templateName', 'trigger', 'parameters', 'targetsTotal'])
}

export interface TriggerInput {
  templateId: string
  parameters?: unknown
  /** Overrides the template's selector with these target ids. */
  targetIds?: string[] | null
}

export class RunsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly registry: ExecutorRegistry,
    private readonly box: SecretBox,
    private readonly queue: RunQueue,
    private readonly pool: pg.Pool,
  ) {
    this.#templates = new JobTemplateReader(pool)
  }

  readonly #templates: JobTemplateReader

  async trigger(actor: Actor | null, input: TriggerInput, trigger?: RunTrigger, extra: { scheduleId?: string } = {}): Promise<JobRun> {
    const a = requireWriter(actor)
    const template = await this.#templates.find(input.templateId)
    if (!template || !canSee(a, template)) throw new NotFoundError('job template', 'templateId')
    const plan = await this.planRun(this.prisma, template, input.parameters, null, input.targetIds ?? null)
    // Validated: what is left to fail is the write, which concurrent triggers share (#triggers).
    return this.#triggers.submit({
      ...plan,
      actor: a,
      trigger: trigger ?? (a.via === 'SESSION' ? 'MANUAL' : 'API'),
      scheduleId: extra.scheduleId ?? null,
      retryOfId: null,
    })
  }

  /**
   * Triggers arriving together commit together (#insertTriggered). A batch that fails is committed
   * trigger by trigger, so a failure is only its own caller's.
   */
  readonly #triggers = new GroupCommit<NewRun, JobRun>({
    max: 100,
    splittable: triggerBatchSplittable,
    one: async (p) => (await this.#insertTriggered([p]))[0]!,
    many: (plans) => this.#insertTriggered(plans),
  })

  /**
   * Triggered runs (no `record`) with their targets, queue messages, notifications and audit events: in
   * one statement that commits on its own (one-statement-insert.ts), or, when that statement cannot be
   * built exactly, in a transaction of a few statements. Either is retried whole on a deadlock.
   */
  async #insertTriggered(plans: NewRun[]): Promise<JobRun[]> {
    const runs: RunToInsert[] = plans.map((p) => {
      const row = { ...runRow(p), targetsTotal: p.targets.length }
      // The audit event as recordMany writes it; its entity name needs the run's number (the statement adds it).
      const audit = eventRow({ actor: p.actor, action: 'run.trigger', entity: { type: 'JobRun', id: null, name: null }, changes: runAuditChanges(row) })
      return { id: randomUUID(), row, targets: p.targets, timeoutSeconds: p.spec.timeoutSeconds, audit: { actorId: audit.actorId, actorName: audit.actorName, via: audit.via, action: audit.action, changes: audit.changes ?? null } }
    })
    return (
      (await retryConflicts(() => insertRunsInOneStatement(this.pool, this.queue, runs))) ??
      retryConflicts(() =>
        this.prisma.$transaction(async (tx) => {
          const created = await this.#insertRuns(tx, plans, true)
          await recordMany(tx, created.map((run, i) => ({ actor: plans[i]!.actor, action: 'run.trigger', entity: entity.run(run), changes: runAuditChanges(run) })))
          return created
        }),
      )
    )
  }

  /**
   * Everything a new run of `template` needs: validated parameters (secret values split off and
   * sealed), the spec, and the targets (explicit ids, else the template's selector, resolved now).
   * `sealedSecrets` are secret values stored elsewhere (a schedule's), merged under the given ones.
   */
  async planRun(
    db: PrismaClient | Prisma.TransactionClient,
    template: JobTemplate,
    parameters: unknown,
    sealedSecrets: Uint8Array | null,
    targetIds: string[] | null,
    /** Replaces the template's selector (a workflow node's override); explicit targetIds still win. */
    selector: TargetSelector | null = null,
  ): Promise<RunPlan> {
    const executor = this.registry.get(template.jobType)
    if (!executor) throw new InvalidStateError(`job type "${template.jobType}" is not available on this server`)
    if (parameters != null && (typeof parameters !== 'object' || Array.isArray(parameters))) throw ValidationError.field('parameters', 'must be an object of parameter values')
    const stored = sealedSecrets ? (JSON.parse(this.box.open(sealedSecrets)) as Record<string, string>) : {}
    const params = resolveParameters(template.parameters as ParameterDefinition[], { ...stored, ...((parameters as Record<string, unknown> | null) ?? {}) })
    let targets: Array<{ id: string; name: string; host: string; port: number }> = []
    let resolvedWith: TargetSelector | undefined
    if (executor.usesTargets) {
      if (targetIds?.length) {
        const rows = await db.target.findMany({ where: { id: { in: targetIds } } })
        const missing = targetIds.findIndex((id) => !rows.some((t) => t.id === id))
        if (missing >= 0) throw ValidationError.field(`targets.${missing}`, 'no such target')
        targets = rows.sort((x, y) => x.name.localeCompare(y.name))
      } else {
        resolvedWith = selector ?? targetSelectorSchema.parse(template.targetSelector)
        targets = await resolveSelector(db as PrismaClient, resolvedWith)
      }
      if (!targets.length) throw ValidationError.field('targets', 'the template selects no targets; add targets to its selector or pass targets')
    } else if (targetIds?.length) {
      throw ValidationError.field('targets', `job type ${template.jobType} does not run on targets`)
    }
    return {
      template: { id: template.id, name: template.name, jobType: template.jobType, ownerId: template.ownerId, visibility: template.visibility },
      spec: { ...specFromTemplate(template, executor.usesTargets), ...(resolvedWith ? { targetSelector: resolvedWith } : {}) },
      parameters: params.visible,
      secretParameters: Object.keys(params.secrets).length ? this.box.seal(JSON.stringify(params.secrets)) : null,
      targets: targets.map((t) => ({ targetId: t.id, name: t.name, host: t.host, port: t.port })),
      concurrencyKey: template.id,
      maxConcurrent: template.maxConcurrentRuns,
    }
  }

  /** A new run of the same spec and parameters; all targets, or only those that did not succeed. */
  async retry(actor: Actor | null, runId: string, onlyFailedTargets: boolean): Promise<JobRun> {
    const a = requireWriter(actor)
    const run = await this.getVisible(a, runId, 'id')
    requireCanAct(a, run, 'retry')
    if (!isFinalStatus(run.status)) throw new InvalidStateError(`run #${run.number} is still ${run.status.toLowerCase()}; cancel it or wait for it to finish`)
    const targets = await this.prisma.runTarget.findMany({ where: { runId }, orderBy: { position: 'asc' } })
    const chosen = onlyFailedTargets ? targets.filter((t) => t.status !== 'SUCCEEDED') : targets
    if (onlyFailedTargets && targets.length && !chosen.length) throw ValidationError.field('onlyFailedTargets', 'every target of this run succeeded; nothing to retry')
    // The new run connects to each target's current address (a fixed host/port is why one retries): record
    // that one, as a fresh trigger does, not the failed run's. A deleted target keeps its recorded address.
    const targetIds = chosen.flatMap((t) => (t.targetId ? [t.targetId] : []))
    const current = new Map((await this.prisma.target.findMany({ where: { id: { in: targetIds } }, select: { id: true, host: true, port: true } })).map((t) => [t.id, t]))
    return this.prisma.$transaction(async (tx) => {
      const retried = await this.createRunIn(tx, {
        actor: a,
        trigger: 'RETRY',
        template: { id: run.templateId, name: run.templateName, jobType: run.jobType, ownerId: run.ownerId, visibility: run.visibility },
        // Its own targets only: a sync before it adds none by the original run's selector.
        spec: withoutSelector(run.spec as unknown as RunSpec),
        parameters: run.parameters as Record<string, unknown>,
        secretParameters: run.secretParameters ? new Uint8Array(run.secretParameters) : null,
        targets: chosen.map((t) => {
          const now = t.targetId ? current.get(t.targetId) : undefined
          return { targetId: t.targetId, name: t.name, host: now?.host ?? t.host, port: now?.port ?? t.port }
        }),
        scheduleId: run.scheduleId,
        retryOfId: run.id,
        concurrencyKey: run.concurrencyKey,
        maxConcurrent: run.maxConcurrent,
      })
      const changes = { ...runAuditChanges(retried), ...created({ retryOf: `#${run.number}`, onlyFailedTargets }, ['retryOf', 'onlyFailedTargets']) }
      await record(tx, { actor: a, action: 'run.retry', entity: entity.run(retried), changes })
      return retried
    })
  }

  /**
   * Creates a run inside the caller's transaction. A run to execute is QUEUED and its queue message
   * commits with it (no run without a message, no message without a run). A run that only records
   * what happened to a schedule slot (`record`: MISSED, SKIPPED, or FAILED before it could start)
   * is created final, with the reason, and never queued.
   */
  async createRunIn(tx: Prisma.TransactionClient, p: NewRun): Promise<JobRun> {
    const now = new Date()
    const run = await tx.jobRun.create({
      data: {
        ...runRow(p),
        targetsTotal: p.record ? 0 : p.targets.length,
        ...(p.record ? { status: p.record.status, error: p.record.reason, finishedAt: now } : {}),
      },
    })
    if (!p.record) {
      if (p.targets.length) await tx.runTarget.createMany({ data: p.targets.map((t, position) => ({ runId: run.id, position, ...t })) })
      await this.queue.enqueue(run.id, { tx, timeoutSeconds: p.spec.timeoutSeconds, wake: false })
      // The run's change and the workers' wake-up in one statement.
      await tx.$queryRaw`SELECT pg_notify(${CHANNELS.run}, ${run.id})::text AS r, pg_notify(${CHANNELS.queued}, '')::text AS q`
    } else {
      await tx.$executeRaw`SELECT pg_notify(${CHANNELS.run}, ${run.id})`
    }
    return run
  }

  /**
   * Creates many runs to execute in the caller's transaction, in a few statements whatever their number
   * (a workflow's fan-out): the rows as createRunIn writes them (QUEUED), their targets, their queue
   * messages and their change notifications. Returns their ids in the order given.
   */
  async createRunsIn(tx: Prisma.TransactionClient, plans: NewRun[]): Promise<string[]> {
    return (await this.#insertRuns(tx, plans, false)).map((r) => r.id)
  }

  /** createRunsIn, returning the rows (all columns) when `returning`, else only their ids. */
  async #insertRuns(tx: Prisma.TransactionClient, plans: NewRun[], returning: boolean): Promise<JobRun[]> {
    if (!plans.length) return []
    const ids = plans.map(() => randomUUID())
    const data = plans.map((p, i) => ({ id: ids[i], ...runRow(p), targetsTotal: p.targets.length }))
    let rows: JobRun[]
    if (returning) {
      const byId = new Map((await tx.jobRun.createManyAndReturn({ data })).map((r) => [r.id, r]))
      rows = ids.map((id) => byId.get(id)!)
    } else {
      await tx.jobRun.createMany({ data })
      rows = ids.map((id) => ({ id }) as JobRun)
    }
    const targets = plans.flatMap((p, i) => p.targets.map((t, position) => ({ runId: ids[i]!, position, ...t })))
    if (targets.length) await tx.runTarget.createMany({ data: targets })
    await enqueueMany(this.queue, tx, plans.map((p, i) => ({ runId: ids[i]!, timeoutSeconds: p.spec.timeoutSeconds })), { wake: false })
    // Each run's change and the workers' wake-up, in one statement.
    await tx.$queryRaw`SELECT pg_notify(c, p)::text AS n FROM (SELECT ${CHANNELS.run}::text AS c, id AS p FROM unnest(${ids}::text[]) AS id UNION ALL SELECT ${CHANNELS.queued}::text, '') AS m`
    return rows
  }

  async cancel(actor: Actor | null, runId: string): Promise<JobRun> {
    const a = requireWriter(actor)
    const run = await this.getVisible(a, runId, 'id')
    requireCanAct(a, run, 'cancel')
    if (isFinalStatus(run.status)) throw new InvalidStateError(`run #${run.number} already ended (${run.status})`)
    // Retried whole on a deadlock: it writes the run, its targets and its log, as the run's worker does.
    return retryConflicts(() => this.prisma.$transaction(async (tx) => {
      // The line commits with the request, so it precedes the run's final line in every log.
      await appendLinesInTransaction({ query: (text, values) => tx.$queryRawUnsafe(text, ...values) }, runId, [
        { targetId: null, stream: 'SYSTEM', level: 'WARNING', text: `cancel requested by ${a.username}` },
      ])
      await this.requestCancelIn(tx, runId, a.userId, `cancelled by ${a.username} before it started`)
      const cancelled = await tx.jobRun.findUniqueOrThrow({ where: { id: runId } })
      await record(tx, { actor: a, action: 'run.cancel', entity: entity.run(cancelled), changes: changed(run, cancelled, ['status', 'cancelRequestedAt']) })
      return cancelled
    }))
  }

  /**
   * In the caller's transaction: a QUEUED run is cancelled outright (the claim only takes QUEUED
   * runs, so it never starts); a RUNNING one is flagged and its worker told to stop the remote work
   * and record CANCELLED. Returns what happened.
   */
  async requestCancelIn(tx: Prisma.TransactionClient, runId: string, byUserId: string | null, queuedReason: string): Promise<'cancelled' | 'requested' | 'final'> {
    const now = new Date()
    const queued = await tx.jobRun.updateMany({
      where: { id: runId, status: 'QUEUED' },
      data: { status: 'CANCELLED', finishedAt: now, cancelRequestedAt: now, cancelRequestedBy: byUserId, updatedAt: now, error: queuedReason, waitingSince: null },
    })
    let outcome: 'cancelled' | 'requested' | 'final' = 'final'
    if (queued.count) {
      await tx.runTarget.updateMany({ where: { runId, status: { in: ['PENDING', 'RUNNING'] } }, data: { status: 'CANCELLED' } })
      outcome = 'cancelled'
    } else {
      const running = await tx.jobRun.updateMany({ where: { id: runId, status: 'RUNNING', cancelRequestedAt: null }, data: { cancelRequestedAt: now, cancelRequestedBy: byUserId, updatedAt: now } })
      if (running.count) {
        await tx.$executeRaw`SELECT pg_notify(${CHANNELS.cancel}, ${runId})`
        outcome = 'requested'
      }
    }
    await tx.$executeRaw`SELECT pg_notify(${CHANNELS.run}, ${runId})`
    return outcome
  }

  /**
   * Pins a run (retention never deletes it) or unpins it; whoever may cancel or retry the run may.
   * Setting what is already set changes nothing and records nothing.
   */
  async setPinned(actor: Actor | null, runId: string, pinned: boolean): Promise<JobRun> {
    const a = requireWriter(actor)
    const run = await this.getVisible(a, runId, 'id')
    requireCanAct(a, run, pinned ? 'pin' : 'unpin')
    if (run.pinned === pinned) return run
    return this.prisma.$transaction(async (tx) => {
      const updated = await tx.jobRun.update({ where: { id: runId }, data: { pinned } })
      await record(tx, { actor: a, action: pinned ? 'run.pin' : 'run.unpin', entity: entity.run(updated), changes: changed(run, updated, ['pinned']) })
      return updated
    })
  }

  /**
   * The newest run (by number, as `jobRuns` orders) of each template that the actor can see, in one
   * query for all of them (templates without such a run: no entry).
   */
  async latestVisibleRuns(actor: Actor | null, templateIds: readonly string[]): Promise<Map<string, JobRun>> {
    const a = requireActor(actor)
    if (!templateIds.length) return new Map()
    const admin = a.role === 'ADMIN'
    const latest = await this.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT l.id FROM unnest(${[...templateIds]}::uuid[]) AS k(template_id)
      CROSS JOIN LATERAL (
        SELECT r.id FROM job_run r
         WHERE r.template_id = k.template_id AND (${admin} OR r.visibility = 'GLOBAL' OR r.owner_id = ${admin ? null : a.userId}::uuid)
         ORDER BY r.number DESC LIMIT 1
      ) l`
    if (!latest.length) return new Map()
    const runs = await this.prisma.jobRun.findMany({ where: { id: { in: latest.map((r) => r.id) } } })
    return new Map(runs.map((r) => [r.templateId!, r]))
  }

  async get(actor: Actor | null, runId: string): Promise<JobRun> {
    return this.getVisible(requireActor(actor), runId, 'id')
  }

  private async getVisible(actor: Actor, runId: string, field: string): Promise<JobRun> {
    const run = await this.prisma.jobRun.findUnique({ where: { id: runId } })
    if (!run || !canSee(actor, run)) throw new NotFoundError('run', field)
    return run
  }

  /** The where clause for a filter, restricted to what the actor may see. */
  whereFor(actor: Actor | null, filter: RunFilter = {}): Prisma.JobRunWhereInput {
    const a = requireActor(actor)
    const and: Prisma.JobRunWhereInput[] = [visibleTo(a)]
    if (filter.statuses?.length) and.push({ status: { in: filter.statuses } })
    if (filter.jobTypes?.length) and.push({ jobType: { in: filter.jobTypes } })
    if (filter.triggers?.length) and.push({ trigger: { in: filter.triggers } })
    if (filter.templateIds?.length) and.push({ templateId: { in: filter.templateIds } })
    if (filter.scheduleIds?.length) and.push({ scheduleId: { in: filter.scheduleIds } })
    if (filter.createdAfter) and.push({ createdAt: { gte: filter.createdAfter } })
    if (filter.createdBefore) and.push({ createdAt: { lt: filter.createdBefore } })
    return { AND: and }
  }

  /** Whether a run matches a filter (used to route live change events to dashboard subscriptions). */
  static matches(run: JobRun, filter: RunFilter): boolean {
    if (filter.statuses?.length && !filter.statuses.includes(run.status)) return false
    if (filter.jobTypes?.length && !filter.jobTypes.includes(run.jobType)) return false
    if (filter.triggers?.length && !filter.triggers.includes(run.trigger)) return false
    if (filter.templateIds?.length && (!run.templateId || !filter.templateIds.includes(run.templateId))) return false
    if (filter.scheduleIds?.length && (!run.scheduleId || !filter.scheduleIds.includes(run.scheduleId))) return false
    if (filter.createdAfter && run.createdAt < filter.createdAfter) return false
    if (filter.createdBefore && run.createdAt >= filter.createdBefore) return false
    return true
  }
}

/**
 * Anyone may see a GLOBAL run, but only whoever triggered it, the owner of its template or an admin may
 * cancel, retry or pin it (a run a schedule fired has no triggering user: its template's owner decides).
 */
function requireCanAct(actor: Actor, run: JobRun, verb: 'cancel' | 'retry' | 'pin' | 'unpin'): void {
  if (actor.role === 'ADMIN' || run.triggeredById === actor.userId || run.ownerId === actor.userId) return
  throw new ForbiddenError(`only who triggered this run, the owner of its template or an admin may ${verb} it`)
}

/**
 * Whether a failed trigger batch surely wrote nothing, so its triggers may be committed one by one. Not
 * after a lost connection (the COMMIT may have succeeded unseen) nor after a commit whose answer could
 * not be read (CommittedError): committing the triggers again would create their runs twice.
 */
export function triggerBatchSplittable(e: unknown): boolean {
  if (e instanceof CommittedError) return false
  return isConflict(e) || !isTransient(e)
}

function withoutSelector(spec: RunSpec): RunSpec {
  const { targetSelector: _selector, ...rest } = spec
  return rest
}

/** The job_run columns a new run gets from its plan (createRunIn and the batched insert write the same row). */
function runRow(p: NewRun) {
  return {
    templateId: p.template.id,
    templateName: p.template.name,
    jobType: p.template.jobType,
    spec: p.spec as unknown as Prisma.InputJsonValue,
    scheduleId: p.scheduleId,
    slotAt: p.slotAt ?? null,
    trigger: p.trigger,
    triggeredById: p.actor.via === 'SYSTEM' ? null : p.actor.userId,
    retryOfId: p.retryOfId,
    triggeredByRunId: p.triggeredByRunId ?? null,
    webhookEndpointId: p.webhookEndpointId ?? null,
    ownerId: p.template.ownerId,
    visibility: p.template.visibility,
    parameters: p.parameters as Prisma.InputJsonValue,
    secretParameters: p.secretParameters,
    maxAttempts: p.spec.retry.maxAttempts,
    concurrencyKey: p.concurrencyKey ?? null,
    maxConcurrent: p.maxConcurrent ?? null,
  }
}
