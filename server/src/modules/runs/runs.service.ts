/**
 * Runs from the user's side: trigger, cancel, retry, list, read. Execution itself is the
 * dispatcher's (jobs/dispatcher.ts); this module only creates and commands runs.
 */
import type { JobRun, Prisma, PrismaClient, Target } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import type { ExecutorRegistry } from '../../jobs/executors/registry.ts'
import type { RunQueue } from '../../jobs/run-queue.ts'
import type { LogWriter } from '../../logs/log-writer.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import { InvalidStateError, NotFoundError, ValidationError } from '../../errors.ts'
import { canSee, requireActor, requireWriter, type Actor } from '../actor.ts'
import { resolveSelector, targetSelectorSchema } from '../targets/target-selector.ts'
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
    private readonly logs: LogWriter,
  ) {}

  async trigger(actor: Actor | null, input: TriggerInput, trigger?: RunTrigger, extra: { scheduleId?: string } = {}): Promise<JobRun> {
    const a = requireWriter(actor)
    const template = await this.prisma.jobTemplate.findUnique({ where: { id: input.templateId } })
    if (!template || !canSee(a, template)) throw new NotFoundError('job template', 'templateId')
    const executor = this.registry.get(template.jobType)
    if (!executor) throw new InvalidStateError(`job type "${template.jobType}" is not available on this server`)
    const params = resolveParameters(template.parameters as ParameterDefinition[], input.parameters)

    let targets: Target[] = []
    if (executor.usesTargets) {
      if (input.targetIds?.length) {
        const rows = await this.prisma.target.findMany({ where: { id: { in: input.targetIds } } })
        const missing = input.targetIds.findIndex((id) => !rows.some((t) => t.id === id))
        if (missing >= 0) throw ValidationError.field(`targets.${missing}`, 'no such target')
        targets = rows.sort((x, y) => x.name.localeCompare(y.name))
      } else {
        targets = await resolveSelector(this.prisma, targetSelectorSchema.parse(template.targetSelector))
      }
      if (!targets.length) throw ValidationError.field('targets', 'the template selects no targets; add targets to its selector or pass targets')
    } else if (input.targetIds?.length) {
      throw ValidationError.field('targets', `job type ${template.jobType} does not run on targets`)
    }

    const spec = specFromTemplate(template, executor.usesTargets)
    return this.createRun({
      actor: a,
      trigger: trigger ?? (a.via === 'SESSION' ? 'MANUAL' : 'API'),
      template: { id: template.id, name: template.name, jobType: template.jobType, ownerId: template.ownerId, visibility: template.visibility },
      spec,
      parameters: params.visible,
      secretParameters: Object.keys(params.secrets).length ? this.box.seal(JSON.stringify(params.secrets)) : null,
      targets: targets.map((t) => ({ targetId: t.id, name: t.name, host: t.host, port: t.port })),
      scheduleId: extra.scheduleId ?? null,
      retryOfId: null,
    })
  }

  /** A new run of the same spec and parameters; all targets, or only those that did not succeed. */
  async retry(actor: Actor | null, runId: string, onlyFailedTargets: boolean): Promise<JobRun> {
    const a = requireWriter(actor)
    const run = await this.getVisible(a, runId, 'id')
    if (!isFinalStatus(run.status)) throw new InvalidStateError(`run #${run.number} is still ${run.status.toLowerCase()}; cancel it or wait for it to finish`)
    const targets = await this.prisma.runTarget.findMany({ where: { runId }, orderBy: { position: 'asc' } })
    const chosen = onlyFailedTargets ? targets.filter((t) => t.status !== 'SUCCEEDED') : targets
    if (onlyFailedTargets && targets.length && !chosen.length) throw ValidationError.field('onlyFailedTargets', 'every target of this run succeeded; nothing to retry')
    return this.createRun({
      actor: a,
      trigger: 'RETRY',
      template: { id: run.templateId, name: run.templateName, jobType: run.jobType, ownerId: run.ownerId, visibility: run.visibility },
      spec: run.spec as unknown as RunSpec,
      parameters: run.parameters as Record<string, unknown>,
      secretParameters: run.secretParameters ? new Uint8Array(run.secretParameters) : null,
      targets: chosen.map((t) => ({ targetId: t.targetId, name: t.name, host: t.host, port: t.port })),
      scheduleId: run.scheduleId,
      retryOfId: run.id,
    })
  }

  private async createRun(p: {
    actor: Actor
    trigger: RunTrigger
    template: { id: string | null; name: string; jobType: string; ownerId: string | null; visibility: 'GLOBAL' | 'PRIVATE' }
    spec: RunSpec
    parameters: Record<string, unknown>
    secretParameters: Uint8Array<ArrayBuffer> | null
    targets: Array<{ targetId: string | null; name: string; host: string; port: number }>
    scheduleId: string | null
    retryOfId: string | null
  }): Promise<JobRun> {
    // Run row, its targets and its queue message commit together: no run without a message, and
    // no message for a run that does not exist.
    return this.prisma.$transaction(async (tx) => {
      const run = await tx.jobRun.create({
        data: {
          templateId: p.template.id,
          templateName: p.template.name,
          jobType: p.template.jobType,
          spec: p.spec as unknown as Prisma.InputJsonValue,
          scheduleId: p.scheduleId,
          trigger: p.trigger,
          triggeredById: p.actor.via === 'SYSTEM' ? null : p.actor.userId,
          retryOfId: p.retryOfId,
          ownerId: p.template.ownerId,
          visibility: p.template.visibility,
          parameters: p.parameters as Prisma.InputJsonValue,
          secretParameters: p.secretParameters,
          maxAttempts: p.spec.retry.maxAttempts,
          targetsTotal: p.targets.length,
        },
      })
      if (p.targets.length) {
        await tx.runTarget.createMany({ data: p.targets.map((t, position) => ({ runId: run.id, position, ...t })) })
      }
      await this.queue.enqueue(run.id, { tx, timeoutSeconds: p.spec.timeoutSeconds })
      await tx.$executeRaw`SELECT pg_notify(${CHANNELS.run}, ${run.id})`
      return run
    })
  }

  async cancel(actor: Actor | null, runId: string): Promise<JobRun> {
    const a = requireWriter(actor)
    const run = await this.getVisible(a, runId, 'id')
    if (isFinalStatus(run.status)) throw new InvalidStateError(`run #${run.number} already ended (${run.status})`)
    const now = new Date()
    const updated = await this.prisma.$transaction(async (tx) => {
      // A queued run is cancelled outright: the claim only takes QUEUED runs, so it never starts.
      const queued = await tx.jobRun.updateMany({
        where: { id: runId, status: 'QUEUED' },
        data: { status: 'CANCELLED', finishedAt: now, cancelRequestedAt: now, cancelRequestedBy: a.userId, updatedAt: now, error: `cancelled by ${a.username} before it started` },
      })
      if (queued.count) {
        await tx.runTarget.updateMany({ where: { runId, status: { in: ['PENDING', 'RUNNING'] } }, data: { status: 'CANCELLED' } })
      } else {
        // Running: ask the worker that holds it; it stops the remote work and records CANCELLED.
        await tx.jobRun.updateMany({ where: { id: runId, status: 'RUNNING', cancelRequestedAt: null }, data: { cancelRequestedAt: now, cancelRequestedBy: a.userId, updatedAt: now } })
        await tx.$executeRaw`SELECT pg_notify(${CHANNELS.cancel}, ${runId})`
      }
      await tx.$executeRaw`SELECT pg_notify(${CHANNELS.run}, ${runId})`
      return tx.jobRun.findUniqueOrThrow({ where: { id: runId } })
    })
    this.logs.append({ runId, targetId: null, stream: 'SYSTEM', level: 'WARNING', text: `cancel requested by ${a.username}` })
    return updated
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
    const and: Prisma.JobRunWhereInput[] = [{ OR: [{ visibility: 'GLOBAL' }, { ownerId: a.userId }] }]
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
