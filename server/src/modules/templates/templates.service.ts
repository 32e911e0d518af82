/** Job templates: what to run (type + validated config), where (selector), and how (timeout, retry, parallelism). */
import { z } from 'zod'
import type { JobTemplate, Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import type { ExecutorRegistry, JobTypeInfo } from '../../jobs/executors/registry.ts'
import { workerCodeRefusal, type WorkerCodeRoles } from '../../jobs/executors/worker-code.ts'
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, isUniqueViolation, type FieldProblem } from '../../errors.ts'
import { canSee, requireActor, requireCanEdit, requireCanSetVisibility, requireWriter, visibleTo, type Actor } from '../actor.ts'
import { audited, entity } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { parseInput, parsePatch, rejectNul, zodProblems } from '../validation.ts'
import { targetSelectorSchema, type TargetSelector } from '../targets/target-selector.ts'
import { tag } from '../targets/targets.service.ts'
import { parameterDefinitionsSchema } from './parameters.ts'
import { outputDeclarationsSchema, type OutputDeclaration } from '../../jobs/step-outputs.ts'
import { requireMayUse, useOf } from '../credentials/credential-access.ts'
import type { OutboundPolicy } from '../../net/outbound-policy.ts'
import { checkOutboundTarget } from '../http-url.ts'

/** How a run is timed and retried: the same rules for a template and for a workflow node's overrides of it. */
export const runPolicyFields = {
  timeoutSeconds: z.number().int().min(1, 'must be at least 1 second').max(7 * 86400, 'must be at most 7 days'),
  retryMaxAttempts: z.number().int().min(1, 'at least 1 (no retry)').max(20),
  retryDelaySeconds: z.number().int().min(0).max(86400),
  retryBackoff: z.enum(['FIXED', 'EXPONENTIAL']),
}

const baseInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  description: z.string().max(5000).default(''),
  jobType: z.string().min(1, 'required'),
  config: z.unknown(),
  targetSelector: targetSelectorSchema.default({ targetIds: [], inventoryIds: [], tags: [], namePatterns: [] }),
  parameters: parameterDefinitionsSchema.default([]),
  outputs: outputDeclarationsSchema.default([]),
  timeoutSeconds: runPolicyFields.timeoutSeconds.nullish(),
  retryMaxAttempts: runPolicyFields.retryMaxAttempts.default(1),
  retryDelaySeconds: runPolicyFields.retryDelaySeconds.default(0),
  retryBackoff: runPolicyFields.retryBackoff.default('FIXED'),
  maxParallelTargets: z.number().int().min(1).max(1000).default(10),
  successThreshold: z.number().min(0, 'a percentage 0-100').max(100, 'a percentage 0-100').nullish(),
  overlapPolicy: z.enum(['ALLOW', 'SKIP', 'QUEUE', 'CANCEL_PREVIOUS']).default('ALLOW'),
  maxConcurrentRuns: z.number().int().min(1, 'at least 1 (null: no limit)').max(1000).nullish(),
  logLimitLines: z.number().int().min(1, 'at least 1 (null: the server default)').max(2_147_483_647).nullish(),
  logLimitBytes: z.number().int().min(1, 'at least 1 (null: the server default)').max(2_147_483_647).nullish(),
  visibility: z.enum(['GLOBAL', 'PRIVATE']).default('PRIVATE'),
  // Labels for grouping (notification rules select templates by tag), stored as a set.
  tags: z.array(tag).max(50).default([]).transform((xs) => [...new Set(xs)]),
})

/**
 * A PRIVATE template is seen by its owner (and admins) only, so every schedule of it must be too: a
 * GLOBAL schedule, or anyone else's, would expose it (`jobSchedule.template`). Rather than silently
 * demoting or hiding other people's schedules, the change is refused and the schedules are named.
 * The template row is locked so a schedule cannot be made GLOBAL meanwhile (that takes a share lock).
 */
async function checkCanBecomePrivate(tx: Prisma.TransactionClient, template: JobTemplate): Promise<void> {
  await tx.$queryRaw`SELECT id FROM job_template WHERE id = ${template.id}::uuid FOR UPDATE`
  const exposing = await tx.jobSchedule.findMany({
    where: { templateId: template.id, OR: [{ visibility: 'GLOBAL' }, { ownerId: { not: template.ownerId } }] },
    select: { name: true, visibility: true, owner: { select: { username: true } } },
    orderBy: { name: 'asc' },
  })
  if (!exposing.length) return
  const names = exposing.map((s) => `"${s.name}" (${s.visibility === 'GLOBAL' ? 'GLOBAL' : `owned by ${s.owner.username}`})`)
  throw ValidationError.field(
    'input.visibility',
    `cannot make the template PRIVATE while other users can see ${names.length > 1 ? 'these schedules' : 'its schedule'}: ${names.join(', ')}. Make GLOBAL schedules PRIVATE and delete other users' schedules of it first`,
  )
}

/** Every user-editable field (large ones, like the config, are cut short in the trail). */
const AUDITED_FIELDS = Object.keys(baseInput.shape)

export interface TemplateFilter {
  search?: string | null
  jobTypes?: string[] | null
}

export interface JobTypeAuthoring extends JobTypeInfo {
  canAuthor: boolean
  /** Why the caller may not author it, in words; null when they may. */
  authorRefusal: string | null
}

export class TemplatesService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly registry: ExecutorRegistry,
    /** SWITCHYARD_WORKER_CODE_ROLES: who may author templates whose job type executes code on the worker. */
    private readonly workerCodeRoles: WorkerCodeRoles = new Set(['ADMIN']),
    /** The SSRF policy: hosts a config writes out are checked at save (see `JobExecutor.outboundRefs`). */
    private readonly outbound?: OutboundPolicy,
  ) {}

  list(actor: Actor | null, filter: TemplateFilter = {}, query: Omit<Prisma.JobTemplateFindManyArgs, 'where'> = {}): Promise<JobTemplate[]> {
    const a = requireActor(actor)
    rejectNul(filter)
    const where: Prisma.JobTemplateWhereInput = { AND: [visibleTo(a)] }
    if (filter.search?.trim()) where.name = { contains: filter.search.trim(), mode: 'insensitive' }
    if (filter.jobTypes?.length) where.jobType = { in: filter.jobTypes }
    return this.prisma.jobTemplate.findMany({ orderBy: { name: 'asc' }, ...query, where })
  }

  /** Invisible (private, someone else's) and missing look the same: not found. */
  async get(actor: Actor | null, id: string): Promise<JobTemplate> {
    const a = requireActor(actor)
    const row = await this.prisma.jobTemplate.findUnique({ where: { id } })
    if (!row || !canSee(a, row)) throw new NotFoundError('job template')
    return row
  }

  async create(actor: Actor | null, raw: unknown): Promise<JobTemplate> {
    const a = requireWriter(actor)
    const input = parseInput(baseInput, raw)
    requireCanSetVisibility(a, input.visibility)
    this.requireWorkerCodeRole(input.jobType, a.role)
    const config = this.validateConfig(input.jobType, input.config)
    this.checkOutputs(input.jobType, input.outputs)
    await this.checkCredentialRefs(a, null, input.jobType, config)
    await this.checkSourceRefs(a, null, input.jobType, config)
    await this.checkOutboundRefs(input.jobType, config)
    await this.checkSelector(input.targetSelector)
    try {
      return await audited(
        this.prisma,
        (tx) =>
          tx.jobTemplate.create({
            data: { ...input, config: config as Prisma.InputJsonValue, ownerId: a.userId, targetSelector: input.targetSelector, parameters: input.parameters as Prisma.InputJsonValue, outputs: input.outputs as Prisma.InputJsonValue },
          }),
        (row) => ({ actor: a, action: 'template.create', entity: entity.of('JobTemplate', row), changes: created(row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `you already have a template named "${input.name}"`)
      throw e
    }
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<JobTemplate> {
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'template')
    const input = parsePatch(baseInput, raw) // only the given fields: omitted ones keep their value
    if (input.visibility) requireCanSetVisibility(a, input.visibility)
    const jobType = input.jobType ?? existing.jobType
    // A new type invalidates the old config, so the config must then be given too.
    if (input.jobType && input.jobType !== existing.jobType && input.config === undefined) {
      throw ValidationError.field('input.config', `required when changing the job type to ${input.jobType}`)
    }
    // Whoever changes it, and whoever owns it (runs check the owner: an admin's edit must not leave an
    // operator's template that would then fail every run).
    this.requireWorkerCodeRole(jobType, a.role)
    if (existing.ownerId !== a.userId) {
      const owner = await this.prisma.user.findUnique({ where: { id: existing.ownerId }, select: { username: true, role: true } })
      const refusal = owner ? this.workerCodeRefusal(jobType, owner.role) : null
      if (owner && refusal) throw new ForbiddenError(`this template belongs to ${owner.username} (${owner.role}); ${refusal}`)
    }
    const config = input.config !== undefined ? this.validateConfig(jobType, input.config) : undefined
    if (input.outputs !== undefined || input.jobType) this.checkOutputs(jobType, input.outputs ?? (existing.outputs as OutputDeclaration[]))
    if (config !== undefined) await this.checkCredentialRefs(a, existing.ownerId, jobType, config)
    if (config !== undefined) await this.checkSourceRefs(a, existing.ownerId, jobType, config)
    if (config !== undefined) await this.checkOutboundRefs(jobType, config)
    if (input.targetSelector) await this.checkSelector(input.targetSelector)
    try {
      return await audited(
        this.prisma,
        async (tx) => {
          if (input.visibility === 'PRIVATE' && existing.visibility !== 'PRIVATE') await checkCanBecomePrivate(tx, existing)
          return tx.jobTemplate.update({
            where: { id },
            data: {
              ...input,
              config: config as Prisma.InputJsonValue | undefined,
              parameters: input.parameters as Prisma.InputJsonValue | undefined,
              outputs: input.outputs as Prisma.InputJsonValue | undefined,
            },
          })
        },
        (row) => ({ actor: a, action: 'template.update', entity: entity.of('JobTemplate', row), changes: changed(existing, row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `you already have a template named "${input.name}"`)
      throw e
    }
  }

  async delete(actor: Actor | null, id: string): Promise<JobTemplate> {
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'template')
    return audited(
      this.prisma,
      (tx) => tx.jobTemplate.delete({ where: { id } }),
      (row) => ({ actor: a, action: 'template.delete', entity: entity.of('JobTemplate', row) }),
    )
  }

  /**
   * Explicit targets and inventories must exist when the selector is saved (as inventories check their
   * targets): an id that matches nothing was silently kept and the run later selected fewer targets.
   */
  private async checkSelector(selector: TargetSelector): Promise<void> {
    const problems: FieldProblem[] = []
    const missing = async (ids: string[], field: string, find: (ids: string[]) => Promise<Array<{ id: string }>>) => {
      if (!ids.length) return
      const found = new Set((await find(ids)).map((r) => r.id))
      ids.forEach((id, i) => {
        if (!found.has(id)) problems.push({ field: `input.targetSelector.${field}.${i}`, message: `no such ${field === 'targetIds' ? 'target' : 'inventory'}` })
      })
    }
    await missing(selector.targetIds, 'targetIds', (ids) => this.prisma.target.findMany({ where: { id: { in: ids } }, select: { id: true } }))
    await missing(selector.inventoryIds, 'inventoryIds', (ids) => this.prisma.inventory.findMany({ where: { id: { in: ids } }, select: { id: true } }))
    if (problems.length) throw new ValidationError(problems)
  }

  /**
   * Credentials the config names must exist and be of a kind that fits where they are used (a key for an
   * ssh remote, a password or token for https): caught at save, not at 3 a.m. during the run. And the
   * one saving must be allowed to use each (see credential-access.ts), as must the template's owner when
   * an admin edits someone else's template: runs open them on the owner's behalf (the dispatcher checks
   * again). Existence is no secret here: every signed-in user sees the credential list.
   */
  private async checkCredentialRefs(actor: Actor, ownerId: string | null, jobType: string, config: unknown): Promise<void> {
    const refs = this.registry.get(jobType)?.credentialRefs?.(config) ?? []
    if (!refs.length) return
    const found = await useOf(this.prisma, actor.userId, refs.map((r) => r.id))
    const problems: FieldProblem[] = []
    const named = refs.map((ref) => ({ field: ['input.config', ...ref.path].join('.'), id: ref.id, ref }))
    for (const { field, id, ref } of named) {
      const c = found.get(id)
      if (!c) problems.push({ field, message: 'no such credential' })
      else if (!ref.kinds.includes(c.kind)) problems.push({ field, message: `credential "${c.name}" is a ${c.kind} credential; ${ref.purpose}` })
    }
    if (problems.length) throw new ValidationError(problems)
    await requireMayUse(this.prisma, actor.userId, named)
    if (ownerId && ownerId !== actor.userId) {
      const owner = await this.prisma.user.findUnique({ where: { id: ownerId }, select: { username: true } })
      await requireMayUse(this.prisma, ownerId, named, (name) => `the template's owner "${owner?.username ?? '?'}" may not use credential "${name}"`)
    }
  }

  /**
   * Inventory sources the config uses (prefix_scan's Nautobot, compare_devices / sync_devices): each must exist, be of a kind the job type reads, and the one saving — and
   * the template's owner, when an admin edits someone else's — must own it or be an admin and may use its
   * API token credential, since runs open that token on the owner's behalf (checked again at run time).
   */
  private async checkSourceRefs(actor: Actor, ownerId: string | null, jobType: string, config: unknown): Promise<void> {
    const refs = this.registry.get(jobType)?.sourceRefs?.(config) ?? []
    if (!refs.length) return
    const sources = await this.prisma.inventorySource.findMany({ where: { id: { in: refs.map((r) => r.id) } } })
    const users = [{ id: actor.userId, role: actor.role, who: 'you' }]
    if (ownerId && ownerId !== actor.userId) {
      const owner = await this.prisma.user.findUnique({ where: { id: ownerId }, select: { username: true, role: true } })
      users.push({ id: ownerId, role: owner?.role ?? 'VIEWER', who: `the template's owner "${owner?.username ?? '?'}"` })
    }
    const missing = refs.filter((r) => !sources.some((s) => s.id === r.id))
    if (missing.length) throw new ValidationError(missing.map((r) => ({ field: ['input.config', ...r.path].join('.'), message: 'no such inventory source' })))
    // A source the job type cannot read (the kinds it names) is a mistake in the config, not a permission.
    const wrongKind = refs.flatMap((r) => {
      const source = sources.find((s) => s.id === r.id)!
      return r.kinds && !r.kinds.includes(source.kind)
        ? [{ field: ['input.config', ...r.path].join('.'), message: `inventory source "${source.name}" is a ${source.kind} source; job type ${jobType} reads ${r.kinds.join(' or ')}` }]
        : []
    })
    if (wrongKind.length) throw new ValidationError(wrongKind)
    const problems: FieldProblem[] = []
    for (const ref of refs) {
      const field = ['input.config', ...ref.path].join('.')
      const source = sources.find((s) => s.id === ref.id)!
      for (const u of users) {
        if (u.role !== 'ADMIN' && source.ownerId !== u.id) problems.push({ field, message: `${u.who} may not use inventory source "${source.name}" (only its owner or an admin)` })
        else await requireMayUse(this.prisma, u.id, [{ field, id: source.tokenCredentialId }], (name) => `${u.who} may not use credential "${name}", the API token of inventory source "${source.name}"`)
      }
    }
    if (problems.length) throw ForbiddenError.fields(problems)
  }

  /**
   * The job types, each with whether `actor` may author templates of it (create one, or change one to it)
   * and why not — the rule create/update apply, so a form can leave out what would be refused.
   */
  jobTypes(actor: Actor | null): JobTypeAuthoring[] {
    const a = requireActor(actor)
    return this.registry.describe().map((info) => {
      const refusal = a.role === 'VIEWER' ? 'viewers have read-only access' : this.workerCodeRefusal(info.type, a.role)
      return { ...info, canAuthor: refusal === null, authorRefusal: refusal }
    })
  }

  private workerCodeRefusal(jobType: string, role: string): string | null {
    const executor = this.registry.get(jobType)
    return executor ? workerCodeRefusal(executor, role, this.workerCodeRoles) : null
  }

  private requireWorkerCodeRole(jobType: string, role: string): void {
    const refusal = this.workerCodeRefusal(jobType, role)
    if (refusal) throw new ForbiddenError(refusal)
  }

  /** Hosts the config writes out, against the outbound policy (a denied address, a name DNS says does not exist). */
  private async checkOutboundRefs(jobType: string, config: unknown): Promise<void> {
    for (const ref of this.registry.get(jobType)?.outboundRefs?.(config) ?? []) {
      await checkOutboundTarget(this.outbound, ['input.config', ...ref.path].join('.'), ref.urlOrHost)
    }
  }

  /** Declared outputs only where the job type can publish them (a declaration nothing fills is a trap downstream). */
  private checkOutputs(jobType: string, outputs: readonly OutputDeclaration[]): void {
    if (outputs.length && !this.registry.get(jobType)?.publishesOutputs) {
      const able = this.registry.types().filter((t) => this.registry.get(t)?.publishesOutputs)
      throw ValidationError.field('input.outputs', `job type ${jobType} publishes no step outputs (only ${able.join(', ')} do); remove the declarations`)
    }
  }

  /** Validates a config against its job type's schema; problems name `input.config.<path>`. */
  validateConfig(jobType: string, config: unknown): unknown {
    const executor = this.registry.get(jobType)
    if (!executor) throw ValidationError.field('input.jobType', `unknown job type "${jobType}" (known: ${this.registry.types().join(', ')})`)
    const result = executor.configSchema.safeParse(config ?? {})
    if (!result.success) throw new ValidationError(zodProblems(result.error, 'input.config'))
    return result.data
  }
}
