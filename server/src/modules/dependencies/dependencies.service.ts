/**
 * Template dependencies from the user's side: "run template B after template A finishes with status S".
 * A dependency is seen by whoever can see both templates; its owner (or an admin) changes it, and B's
 * runs act as its owner (re-checked when each run starts, see dependency-starter.ts). Every save checks
 * the whole graph under one advisory lock, so two concurrent saves cannot together close a cycle.
 */
import { z } from 'zod'
import type { JobTemplate, Prisma, PrismaClient, TemplateDependency } from '../../generated/prisma/client.ts'
import { NotFoundError, ValidationError } from '../../errors.ts'
import { canSee, requireActor, requireCanEdit, requireWriter, visibleTo, type Actor } from '../actor.ts'
import { entity, record } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { resolveParameters, type ParameterDefinition } from '../templates/parameters.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { cycleThrough, longestChainThrough, MAX_CHAIN } from './dependency-graph.ts'

export const FINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] as const

const dependencyFields = z.object({
  upstreamTemplateId: z.uuid(),
  downstreamTemplateId: z.uuid(),
  onStatuses: z.array(z.enum(FINAL_STATUSES)).min(1, 'at least one final status').max(4).default(['SUCCEEDED']),
  parameters: z.record(z.string(), z.unknown()).default({}),
  enabled: z.boolean().default(true),
})

const AUDITED = ['upstreamTemplateId', 'downstreamTemplateId', 'onStatuses', 'parameters', 'enabled']
/** Any fixed key: every save that touches links takes it for the graph check. */
const GRAPH_LOCK = 0x5d3f_0011

export class DependenciesService {
  constructor(private readonly prisma: PrismaClient) {}

  list(actor: Actor | null, templateId: string | null, query: Omit<Prisma.TemplateDependencyFindManyArgs, 'where'> = {}): Promise<TemplateDependency[]> {
    const a = requireActor(actor)
    const and: Prisma.TemplateDependencyWhereInput[] = [{ upstream: visibleTo(a) }, { downstream: visibleTo(a) }]
    if (templateId) and.push({ OR: [{ upstreamTemplateId: templateId }, { downstreamTemplateId: templateId }] })
    return this.prisma.templateDependency.findMany({ orderBy: { createdAt: 'asc' }, ...query, where: { AND: and } })
  }

  async get(actor: Actor | null, id: string, field = 'id'): Promise<TemplateDependency> {
    const a = requireActor(actor)
    const row = await this.prisma.templateDependency.findUnique({ where: { id }, include: { upstream: { select: { visibility: true, ownerId: true } }, downstream: { select: { visibility: true, ownerId: true } } } })
    if (!row || !canSee(a, row.upstream) || !canSee(a, row.downstream)) throw new NotFoundError('template dependency', field)
    const { upstream: _u, downstream: _d, ...dep } = row
    return dep
  }

  async create(actor: Actor | null, raw: unknown): Promise<TemplateDependency> {
    const a = requireWriter(actor)
    const input = parseInput(dependencyFields, raw)
    const [up, down] = await Promise.all([this.visibleTemplate(a, input.upstreamTemplateId, 'input.upstreamTemplateId'), this.visibleTemplate(a, input.downstreamTemplateId, 'input.downstreamTemplateId')])
    checkParameters(down, input.parameters)
    return this.prisma.$transaction(async (tx) => {
      await this.checkGraph(tx, { from: up.id, to: down.id }, null)
      const existing = await tx.templateDependency.findFirst({ where: { upstreamTemplateId: up.id, downstreamTemplateId: down.id }, select: { id: true } })
      if (existing) throw ValidationError.field('input.downstreamTemplateId', `"${down.name}" already depends on "${up.name}": change that dependency instead`)
      const row = await tx.templateDependency.create({
        data: { upstreamTemplateId: up.id, downstreamTemplateId: down.id, onStatuses: input.onStatuses, parameters: input.parameters as Prisma.InputJsonValue, enabled: input.enabled, ownerId: a.userId },
      })
      await record(tx, { actor: a, action: 'dependency.create', entity: entity.of('TemplateDependency', { id: row.id, name: `${up.name} → ${down.name}` }), changes: created(row, AUDITED) })
      return row
    })
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<TemplateDependency> {
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'template dependency')
    const patch = parsePatch(dependencyFields, raw) // omitted fields keep their value
    const up = await this.visibleTemplate(a, patch.upstreamTemplateId ?? existing.upstreamTemplateId, 'input.upstreamTemplateId')
    const down = await this.visibleTemplate(a, patch.downstreamTemplateId ?? existing.downstreamTemplateId, 'input.downstreamTemplateId')
    if (patch.parameters !== undefined || patch.downstreamTemplateId) checkParameters(down, patch.parameters ?? (existing.parameters as Record<string, unknown>))
    return this.prisma.$transaction(async (tx) => {
      await this.checkGraph(tx, { from: up.id, to: down.id }, id)
      const row = await tx.templateDependency.update({
        where: { id },
        data: { upstreamTemplateId: up.id, downstreamTemplateId: down.id, onStatuses: patch.onStatuses, parameters: patch.parameters as Prisma.InputJsonValue | undefined, enabled: patch.enabled },
      })
      await record(tx, { actor: a, action: 'dependency.update', entity: entity.of('TemplateDependency', { id, name: `${up.name} → ${down.name}` }), changes: changed(existing, row, AUDITED) })
      return row
    })
  }

  async delete(actor: Actor | null, id: string): Promise<TemplateDependency> {
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'template dependency')
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.templateDependency.delete({ where: { id } })
      await record(tx, { actor: a, action: 'dependency.delete', entity: entity.of('TemplateDependency', { id, name: id }) })
      return row
    })
  }

  private async visibleTemplate(actor: Actor, id: string, field: string): Promise<JobTemplate> {
    const t = await this.prisma.jobTemplate.findUnique({ where: { id } })
    if (!t || !canSee(actor, t)) throw new NotFoundError('job template', field)
    return t
  }

  /** No cycle (named as a path of template names) and no chain over MAX_CHAIN links, with the link saved. */
  private async checkGraph(tx: Prisma.TransactionClient, link: { from: string; to: string }, replacing: string | null): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${GRAPH_LOCK})`
    const rows = await tx.templateDependency.findMany({ where: replacing ? { id: { not: replacing } } : {}, select: { upstreamTemplateId: true, downstreamTemplateId: true } })
    const links = rows.map((r) => ({ from: r.upstreamTemplateId, to: r.downstreamTemplateId }))
    const cycle = cycleThrough(links, link)
    if (cycle) {
      const names = new Map((await tx.jobTemplate.findMany({ where: { id: { in: cycle } }, select: { id: true, name: true } })).map((t) => [t.id, t.name]))
      throw ValidationError.field('input.downstreamTemplateId', `this dependency would close a cycle: ${cycle.map((id) => names.get(id) ?? id).join(' → ')}`)
    }
    const length = longestChainThrough(links, link)
    if (length > MAX_CHAIN) throw ValidationError.field('input.downstreamTemplateId', `this dependency would make a chain of ${length} dependent templates; at most ${MAX_CHAIN} are allowed`)
  }
}

/** The values B's runs will get, checked now against B's definitions (and again when each run starts). */
function checkParameters(template: JobTemplate, values: Record<string, unknown>): void {
  const defs = template.parameters as ParameterDefinition[]
  const secret = Object.keys(values).find((k) => defs.find((d) => d.name === k)?.type === 'SECRET')
  // Stored in clear, like any dependency field: a SECRET belongs in the template's default (sealed).
  if (secret) throw ValidationError.field(`input.parameters.${secret}`, 'a dependency cannot set a SECRET parameter; give it a default in the template')
  resolveParameters(defs, values, 'input.parameters')
}
