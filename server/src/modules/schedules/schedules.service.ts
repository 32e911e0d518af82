/**
 * Schedules from the user's side: CRUD, pause/resume, run now, previews. Every write recomputes
 * `nextRunAt` from now and bumps `version` under the row's lock, so the very next slot follows the
 * new definition and nothing computed for the old one can fire (the scheduler locks the same row).
 */
import type { JobSchedule, JobTemplate, Prisma, PrismaClient, Workflow } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import { InvalidStateError, NotFoundError, ValidationError, type FieldProblem } from '../../errors.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import { retryConflicts } from '../../db/transient.ts'
import { blackoutAt, type Blackout } from '../../schedules/blackout.ts'
import { describeSchedule } from '../../schedules/describe.ts'
import { nextFireTime, upcomingFireTimes } from '../../schedules/fire-times.ts'
import { wallOf } from '../../schedules/timezone.ts'
import { canSee, exposesNoMoreThan, requireActor, requireCanEdit, requireCanSetVisibility, requireWriter, visibleTo, type Actor } from '../actor.ts'
import { entity, record } from '../audit/audit.service.ts'
import { changed, created, secretsChanged, type Changes } from '../audit/changes.ts'
import type { RunsService } from '../runs/runs.service.ts'
import { resolveParameters, type ParameterDefinition } from '../templates/parameters.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { blockedNodes } from '../workflows/blocked-nodes.ts'
import { toBlackout } from './blackouts.service.ts'
import { INTERVAL_UNITS, scheduleFields, specOf, timingProblems, type TimingFields } from './schedule-input.ts'

export interface ScheduleFilter {
  templateIds?: string[] | null
  workflowIds?: string[] | null
  active?: boolean | null
  search?: string | null
}

export interface UpcomingSlot {
  at: Date
  /** Name of the blackout window that will skip this slot, if any. */
  blackout: string | null
}

/** The stored fields the audit trail compares (blackouts and secret parameters are added apart). */
const AUDITED_FIELDS = [
  'name', 'description', 'templateId', 'workflowId', 'kind', 'cronExpression', 'intervalSeconds', 'dailyTime', 'daysOfWeek', 'onceAt', 'timezone', 'startAt', 'endAt',
  'active', 'parameters', 'misfirePolicy', 'misfireGraceSeconds', 'misfireMaxRuns', 'overlapPolicy', 'visibility',
]

export class SchedulesService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly runs: RunsService,
    private readonly defaultTimezone: string,
  ) {}

  list(actor: Actor | null, filter: ScheduleFilter = {}, query: Omit<Prisma.JobScheduleFindManyArgs, 'where'> = {}): Promise<JobSchedule[]> {
    const a = requireActor(actor)
    const and: Prisma.JobScheduleWhereInput[] = [visibleSchedules(a)]
    if (filter.templateIds?.length) and.push({ templateId: { in: filter.templateIds } })
    if (filter.workflowIds?.length) and.push({ workflowId: { in: filter.workflowIds } })
    if (filter.active !== null && filter.active !== undefined) and.push({ active: filter.active })
    if (filter.search?.trim()) and.push({ name: { contains: filter.search.trim(), mode: 'insensitive' } })
    return this.prisma.jobSchedule.findMany({ orderBy: [{ nextRunAt: { sort: 'asc', nulls: 'last' } }, { name: 'asc' }], ...query, where: { AND: and } })
  }

  async get(actor: Actor | null, id: string, field = 'id'): Promise<JobSchedule> {
    const a = requireActor(actor)
    const row = await this.prisma.jobSchedule.findUnique({ where: { id }, include: { template: { select: { visibility: true, ownerId: true } }, workflow: { select: { visibility: true, ownerId: true } } } })
    if (!row || !canSeeSchedule(a, row)) throw new NotFoundError('schedule', field)
    const { template: _template, workflow: _workflow, ...schedule } = row
    return schedule
  }

  async create(actor: Actor | null, raw: unknown): Promise<JobSchedule> {
    const a = requireWriter(actor)
    const input = parseInput(scheduleFields, raw)
    requireCanSetVisibility(a, input.visibility)
    const fired = await this.firedThing(a, input, null)
    checkOverlapFor(fired, input.overlapPolicy)
    const now = new Date()
    const timing = this.timing(input, null, now)
    rejectPastOnce(timing, now)
    const params = this.sealParameters(fired.row, input.parameters, null)
    await this.checkBlackouts(input.blackoutIds)
    const row = await this.prisma.$transaction(async (tx) => {
      await lockAndCheckExposure(tx, fired, input.visibility)
      const schedule = await tx.jobSchedule.create({
        data: {
          name: input.name,
          description: input.description,
          templateId: fired.kind === 'template' ? fired.row.id : null,
          workflowId: fired.kind === 'workflow' ? fired.row.id : null,
          ...timing,
          active: input.active,
          parameters: params.visible as Prisma.InputJsonValue,
          secretParameters: params.sealed,
          misfirePolicy: input.misfirePolicy,
          misfireGraceSeconds: input.misfireGraceSeconds,
          misfireMaxRuns: input.misfireMaxRuns,
          overlapPolicy: input.overlapPolicy ?? null,
          ownerId: a.userId,
          visibility: input.visibility,
          lastSlotAt: now,
          nextRunAt: input.active ? specNext(timing, now) : null,
          blackouts: { create: input.blackoutIds.map((blackoutId) => ({ blackoutId })) },
        },
      })
      await tx.$executeRaw`SELECT pg_notify(${CHANNELS.schedule}, ${schedule.id})`
      const changes: Changes = { ...created(schedule, AUDITED_FIELDS), ...created(input, ['blackoutIds']), ...secretsChanged(params.changedSecrets) }
      await record(tx, { actor: a, action: 'schedule.create', entity: entity.of('JobSchedule', schedule), changes })
      return schedule
    })
    return row
  }

  update(actor: Actor | null, id: string, raw: unknown): Promise<JobSchedule> {
    return this.#update(actor, id, raw, 'schedule.update')
  }

  async #update(actor: Actor | null, id: string, raw: unknown, action: string): Promise<JobSchedule> {
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'schedule')
    // Only the given fields: an omitted one keeps its value (a pause must not reset the misfire policy,
    // visibility, overrides or blackout links to their create-time defaults).
    const input = parsePatch(scheduleFields, raw)
    if (input.visibility) requireCanSetVisibility(a, input.visibility)
    const fired = await this.firedThing(a, input, existing)
    const retargeted = (input.templateId != null && input.templateId !== existing.templateId) || (input.workflowId != null && input.workflowId !== existing.workflowId)
    checkOverlapFor(fired, input.overlapPolicy === undefined ? existing.overlapPolicy : input.overlapPolicy)
    const now = new Date()
    const timing = this.timing(input, existing, now)
    // A ONCE time in the past never fires: refused whenever the edit touches the timing or resumes.
    if (TIMING_INPUTS.some((k) => input[k] !== undefined) || input.active === true) rejectPastOnce(timing, now)
    const params = input.parameters !== undefined || retargeted ? this.sealParameters(fired.row, input.parameters ?? (existing.parameters as Record<string, unknown>), existing) : null
    if (input.blackoutIds) await this.checkBlackouts(input.blackoutIds)
    return this.prisma.$transaction(async (tx) => {
      // Lock first: a scheduler tick holding this schedule finishes before the edit applies.
      await tx.$queryRaw`SELECT id FROM job_schedule WHERE id = ${id}::uuid FOR UPDATE`
      await lockAndCheckExposure(tx, fired, input.visibility ?? existing.visibility)
      const blackoutsBefore = input.blackoutIds ? (await tx.jobScheduleBlackout.findMany({ where: { scheduleId: id }, select: { blackoutId: true } })).map((b) => b.blackoutId) : []
      const active = input.active ?? existing.active
      const updated = await tx.jobSchedule.update({
        where: { id },
        data: {
          name: input.name,
          description: input.description,
          templateId: fired.kind === 'template' ? fired.row.id : null,
          workflowId: fired.kind === 'workflow' ? fired.row.id : null,
          ...timing,
          active,
          ...(params ? { parameters: params.visible as Prisma.InputJsonValue, secretParameters: params.sealed } : {}),
          misfirePolicy: input.misfirePolicy,
          misfireGraceSeconds: input.misfireGraceSeconds,
          misfireMaxRuns: input.misfireMaxRuns,
          overlapPolicy: input.overlapPolicy === undefined ? undefined : input.overlapPolicy,
          visibility: input.visibility,
          version: { increment: 1 },
          // Slots before the edit were the old definition's: none of them is "missed" under the new one.
          lastSlotAt: now,
          nextRunAt: active ? specNext(timing, now) : null,
          ...(input.blackoutIds ? { blackouts: { deleteMany: {}, create: input.blackoutIds.map((blackoutId) => ({ blackoutId })) } } : {}),
        },
      })
      await tx.$executeRaw`SELECT pg_notify(${CHANNELS.schedule}, ${id})`
      const changes: Changes = {
        ...changed(existing, updated, AUDITED_FIELDS),
        ...(input.blackoutIds ? changed({ blackoutIds: blackoutsBefore.sort() }, { blackoutIds: [...new Set(input.blackoutIds)].sort() }, ['blackoutIds']) : {}),
        ...secretsChanged(params?.changedSecrets ?? []),
      }
      await record(tx, { actor: a, action, entity: entity.of('JobSchedule', updated), changes })
      return updated
    })
  }

  /** Pausing stops the very next slot; resuming fires from the next slot after now (pauses are not misfires). */
  setActive(actor: Actor | null, id: string, active: boolean): Promise<JobSchedule> {
    return this.#update(actor, id, { active }, active ? 'schedule.resume' : 'schedule.pause')
  }

  async delete(actor: Actor | null, id: string): Promise<JobSchedule> {
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'schedule')
    // Retried on a deadlock: the delete sets its runs' schedule_id to NULL while workers update those runs.
    return retryConflicts(() => this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM job_schedule WHERE id = ${id}::uuid FOR UPDATE`
      const deleted = await tx.jobSchedule.delete({ where: { id } })
      await tx.$executeRaw`SELECT pg_notify(${CHANNELS.schedule}, ${id})`
      await record(tx, { actor: a, action: 'schedule.delete', entity: entity.of('JobSchedule', deleted) })
      return deleted
    }))
  }

  /** A run of the schedule's template with the schedule's parameters, now (not a slot). */
  async runNow(actor: Actor | null, id: string) {
    const a = requireWriter(actor)
    const schedule = await this.get(a, id)
    if (!schedule.templateId) throw new InvalidStateError(`schedule "${schedule.name}" runs a workflow: trigger the workflow (triggerWorkflowRun) to run it now`)
    const template = await this.visibleTemplate(a, schedule.templateId)
    const plan = await this.runs.planRun(this.prisma, template, withoutSecrets(template, schedule.parameters), schedule.secretParameters, null)
    return this.prisma.$transaction(async (tx) => {
      const run = await this.runs.createRunIn(tx, { ...plan, actor: a, trigger: a.via === 'API' ? 'API' : 'MANUAL', scheduleId: schedule.id, retryOfId: null })
      await record(tx, { actor: a, action: 'schedule.run-now', entity: entity.of('JobSchedule', schedule), changes: created({ run: `#${run.number}`, parameters: run.parameters }, ['run', 'parameters']) })
      return run
    })
  }

  describe(row: JobSchedule): string {
    return describeSchedule(specOf(row))
  }

  async upcoming(row: JobSchedule, count: number): Promise<UpcomingSlot[]> {
    if (!row.active) return []
    const windows = await this.blackoutsOf(row.id)
    return upcomingFireTimes(specOf(row), new Date(Math.max(Date.now(), (row.nextRunAt?.getTime() ?? Date.now()) - 1)), count).map((at) => ({ at, blackout: blackoutAt(windows, at)?.name ?? null }))
  }

  /** Validates timing input without saving and returns the next fire times (for live previews). */
  preview(actor: Actor | null, raw: unknown, count: number): { description: string; upcoming: Date[] } {
    requireActor(actor)
    const input = parsePatch(scheduleFields, raw)
    if (!input.kind) throw ValidationError.field('input.kind', 'required')
    const timing = this.timing(input, null, new Date())
    const spec = specOf({ ...timing, createdAt: new Date() })
    return { description: describeSchedule(spec), upcoming: upcomingFireTimes(spec, new Date(), count) }
  }

  private async blackoutsOf(scheduleId: string): Promise<Blackout[]> {
    const links = await this.prisma.jobScheduleBlackout.findMany({ where: { scheduleId }, include: { blackout: true } })
    return links.map((l) => toBlackout(l.blackout))
  }

  /** Merges timing input over the existing row and validates the result as a whole. */
  private timing(input: Partial<ReturnType<typeof scheduleFields.parse>>, existing: JobSchedule | null, now: Date): TimingFields {
    const kind = input.kind ?? existing?.kind ?? 'CRON'
    const merged: TimingFields = {
      kind,
      cronExpression: input.cronExpression !== undefined ? input.cronExpression : existing?.cronExpression,
      intervalSeconds:
        input.intervalEvery !== undefined && input.intervalEvery !== null
          ? input.intervalEvery * INTERVAL_UNITS[input.intervalUnit ?? 'SECONDS']
          : existing?.intervalSeconds,
      dailyTime: input.dailyTime !== undefined ? input.dailyTime : existing?.dailyTime,
      daysOfWeek: input.daysOfWeek ?? existing?.daysOfWeek ?? [],
      onceAt: input.onceAt !== undefined ? input.onceAt : existing?.onceAt,
      timezone: input.timezone ?? existing?.timezone ?? this.defaultTimezone,
      startAt: input.startAt !== undefined ? input.startAt : existing?.startAt,
      endAt: input.endAt !== undefined ? input.endAt : existing?.endAt,
    }
    // An interval needs a fixed anchor: its start time, or now when none was given.
    if (kind === 'INTERVAL' && !merged.startAt) merged.startAt = existing?.startAt ?? now
    const problems: FieldProblem[] = timingProblems(merged)
    if (problems.length) throw new ValidationError(problems)
    // Clear fields of other kinds so a row never carries a stale expression.
    return {
      kind,
      cronExpression: kind === 'CRON' ? merged.cronExpression!.trim().replace(/\s+/g, ' ') : null,
      intervalSeconds: kind === 'INTERVAL' ? merged.intervalSeconds : null,
      dailyTime: kind === 'DAILY_AT' ? merged.dailyTime : null,
      daysOfWeek: kind === 'DAILY_AT' ? [...new Set(merged.daysOfWeek)].sort() : [],
      onceAt: kind === 'ONCE' ? merged.onceAt : null,
      timezone: merged.timezone,
      startAt: merged.startAt ?? null,
      endAt: merged.endAt ?? null,
    }
  }

  private async visibleTemplate(actor: Actor, id: string): Promise<JobTemplate> {
    const t = await this.prisma.jobTemplate.findUnique({ where: { id } })
    if (!t || !canSee(actor, t)) throw new NotFoundError('job template', 'input.templateId')
    return t
  }

  /**
   * What the schedule fires: exactly one of a template or a workflow, visible to the actor. On update,
   * giving one replaces the other; giving neither keeps the stored one.
   */
  private async firedThing(actor: Actor, input: { templateId?: string | null; workflowId?: string | null }, existing: JobSchedule | null): Promise<FiredThing> {
    if (input.templateId && input.workflowId) throw ValidationError.field('input.workflowId', 'a schedule runs a job template or a workflow, not both: give templateId or workflowId')
    const templateId = input.templateId ?? (input.workflowId ? null : existing?.templateId)
    const workflowId = input.workflowId ?? (input.templateId ? null : existing?.workflowId)
    if (templateId) return { kind: 'template', row: await this.visibleTemplate(actor, templateId) }
    if (!workflowId) throw ValidationError.field('input.templateId', 'required: the job template (templateId) or the workflow (workflowId) the schedule runs')
    const w = await this.prisma.workflow.findUnique({ where: { id: workflowId }, include: { nodes: true, edges: true } })
    if (!w || !canSee(actor, w)) throw new NotFoundError('workflow', 'input.workflowId')
    // Its slots run as the schedule's owner: a workflow they could not trigger is refused when chosen, not at
    // each slot. (Only when chosen: a template made private later must not stop its owner pausing the schedule.)
    const blocked = input.workflowId ? await blockedNodes(this.prisma, w, actor) : []
    if (blocked.length) throw ValidationError.field('input.workflowId', `the job templates of these nodes were deleted or are not visible to you: ${blocked.join(', ')}`)
    return { kind: 'workflow', row: w }
  }

  /** Validates parameter overrides against the template; secret values are sealed, never stored in clear. */
  private sealParameters(template: { parameters: unknown }, given: Record<string, unknown>, existing: JobSchedule | null) {
    const defs = template.parameters as ParameterDefinition[]
    const kept = existing?.secretParameters ? (JSON.parse(this.box.open(existing.secretParameters)) as Record<string, string>) : {}
    // A masked value coming back from a form means "keep the stored secret".
    const merged = { ...kept, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== '••••••')) }
    const resolved = resolveParameters(defs, merged, 'input.parameters')
    const explicit = Object.fromEntries(Object.entries(resolved.visible).filter(([k]) => k in merged))
    // For the audit trail: which secret values were set, replaced or dropped (by name; never the values).
    const changedSecrets = [...new Set([...Object.keys(kept), ...Object.keys(resolved.secrets)])].filter((k) => kept[k] !== resolved.secrets[k]).map((k) => `parameters.${k}`)
    // Unchanged secrets keep their stored envelope (sealing again would rewrite the column for nothing).
    const sealed = !changedSecrets.length && existing ? existing.secretParameters : Object.keys(resolved.secrets).length ? this.box.seal(JSON.stringify(resolved.secrets)) : null
    return { visible: explicit, sealed, changedSecrets }
  }

  private async checkBlackouts(ids: string[]): Promise<void> {
    if (!ids.length) return
    const found = new Set((await this.prisma.blackoutWindow.findMany({ where: { id: { in: ids } }, select: { id: true } })).map((b) => b.id))
    const i = ids.findIndex((id) => !found.has(id))
    if (i >= 0) throw ValidationError.field(`input.blackoutIds.${i}`, 'no such blackout window')
  }
}

/** Schedules an actor may see: visible themselves, and of a template (or workflow) the actor may see too. */
export function visibleSchedules(actor: Actor): Prisma.JobScheduleWhereInput {
  return { AND: [visibleTo(actor), { OR: [{ template: visibleTo(actor) }, { workflow: visibleTo(actor) }] }] }
}

/**
 * A schedule exposes its template (`jobSchedule.template`): it is visible only to those who can see
 * both. (Rows saved before GLOBAL schedules of PRIVATE templates were refused stay hidden that way.)
 */
type Visible = { visibility: 'GLOBAL' | 'PRIVATE'; ownerId: string | null }
export function canSeeSchedule(actor: Actor, row: Visible & { template: Visible | null; workflow?: Visible | null }): boolean {
  const fired = row.template ?? row.workflow
  return canSee(actor, row) && !!fired && canSee(actor, fired)
}

type FiredThing = { kind: 'template'; row: JobTemplate } | { kind: 'workflow'; row: Workflow }

/**
 * A workflow run cannot wait in a queue the way a job run waits for a concurrency slot (its nodes start
 * at once), so QUEUE is refused rather than silently behaving like ALLOW.
 */
function checkOverlapFor(fired: FiredThing, policy: string | null | undefined): void {
  if (fired.kind === 'workflow' && policy === 'QUEUE') {
    throw ValidationError.field('input.overlapPolicy', 'QUEUE is not available for a workflow schedule: choose ALLOW, SKIP or CANCEL_PREVIOUS')
  }
}

async function lockAndCheckExposure(tx: Prisma.TransactionClient, fired: FiredThing, visibility: 'GLOBAL' | 'PRIVATE'): Promise<void> {
  if (fired.kind === 'template') return lockTemplateAndCheckExposure(tx, fired.row.id, visibility)
  const [w] = await tx.$queryRaw<Array<{ visibility: 'GLOBAL' | 'PRIVATE'; name: string }>>`SELECT visibility::text AS visibility, name FROM workflow WHERE id = ${fired.row.id}::uuid FOR SHARE`
  if (w && !exposesNoMoreThan({ visibility }, w)) {
    throw ValidationError.field('input.visibility', `a GLOBAL schedule cannot run the PRIVATE workflow "${w.name}": keep the schedule PRIVATE or make the workflow GLOBAL first`)
  }
}

/**
 * A GLOBAL schedule of a PRIVATE template would show the template to everyone. Checked under a share
 * lock on the template, so a concurrent change of the template to PRIVATE (which takes an update
 * lock and checks its schedules) cannot slip in between.
 */
async function lockTemplateAndCheckExposure(tx: Prisma.TransactionClient, templateId: string, visibility: 'GLOBAL' | 'PRIVATE'): Promise<void> {
  const [t] = await tx.$queryRaw<Array<{ visibility: 'GLOBAL' | 'PRIVATE'; name: string }>>`SELECT visibility::text AS visibility, name FROM job_template WHERE id = ${templateId}::uuid FOR SHARE`
  if (t && !exposesNoMoreThan({ visibility }, t)) {
    throw ValidationError.field('input.visibility', `a GLOBAL schedule cannot run the PRIVATE template "${t.name}": keep the schedule PRIVATE or make the template GLOBAL first`)
  }
}

/** The inputs that define when a schedule fires. */
const TIMING_INPUTS = ['kind', 'cronExpression', 'intervalEvery', 'intervalUnit', 'dailyTime', 'daysOfWeek', 'onceAt', 'timezone', 'startAt', 'endAt'] as const

/** A ONCE schedule whose instant has passed would be stored and never fire: a field error instead. */
function rejectPastOnce(timing: TimingFields, now: Date): void {
  if (timing.kind !== 'ONCE' || specNext(timing, now)) return
  const at = nextFireTime(specOf({ ...timing, startAt: null, endAt: null }), new Date(0))
  const localNow = new Date(wallOf(timing.timezone, now.getTime())).toISOString().slice(0, 16).replace('T', ' ')
  const when = timing.onceAt!.replace('T', ' ')
  throw ValidationError.field(
    'input.onceAt',
    at && at <= now
      ? `${when} in ${timing.timezone} is in the past (it is now ${localNow} there): a ONCE schedule must be in the future`
      : `${when} in ${timing.timezone} is outside the schedule's startAt/endAt: it would never fire`,
  )
}

function specNext(timing: TimingFields, now: Date): Date | null {
  return upcomingFireTimes(specOf({ ...timing, createdAt: now }), now, 1)[0] ?? null
}

/** The schedule's stored parameters minus SECRET ones (those come sealed, separately). */
export function withoutSecrets(template: { parameters: unknown }, parameters: unknown): Record<string, unknown> {
  const secret = new Set((template.parameters as ParameterDefinition[]).filter((d) => d.type === 'SECRET').map((d) => d.name))
  return Object.fromEntries(Object.entries((parameters as Record<string, unknown>) ?? {}).filter(([k]) => !secret.has(k)))
}
