/**
 * Webhook endpoints from the user's side: create (the URL token is returned once, only its SHA-256 is
 * stored), update (omitted fields keep their value), rotate the token, delete, read. An endpoint is its
 * owner's (and admins'): only they see or change it, and its runs act as the owner (re-checked on every
 * call, see webhook-receiver.ts).
 */
import crypto from 'node:crypto'
import { z } from 'zod'
import type { JobTemplate, Prisma, PrismaClient, WebhookEndpoint, Workflow } from '../../generated/prisma/client.ts'
import { NotFoundError, ValidationError, type FieldProblem } from '../../errors.ts'
import { canSee, requireActor, requireCanEdit, requireWriter, type Actor } from '../actor.ts'
import { entity, record } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { requireMayUse } from '../credentials/credential-access.ts'
import { resolveParameters, type ParameterDefinition } from '../templates/parameters.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { blockedNodes } from '../workflows/blocked-nodes.ts'
import { mappingProblems, mappingSchema, type PayloadMapping } from './payload-mapping.ts'

export const WEBHOOK_PATH = '/hooks/'

const endpointFields = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  templateId: z.uuid().nullish(),
  workflowId: z.uuid().nullish(),
  enabled: z.boolean().default(true),
  secretCredentialId: z.uuid().nullish(),
  parameterMapping: mappingSchema.default({}),
  rateLimitPerMinute: z.number().int().min(1).max(6000).default(60),
  maxBodyBytes: z.number().int().min(16).max(1_048_576, 'at most 1 MiB').default(65_536),
  replayWindowSeconds: z.number().int().min(10).max(86_400).default(300),
})

const AUDITED = ['name', 'templateId', 'workflowId', 'enabled', 'secretCredentialId', 'parameterMapping', 'rateLimitPerMinute', 'maxBodyBytes', 'replayWindowSeconds']

export interface EndpointWithToken {
  endpoint: WebhookEndpoint
  /** Shown once: the URL path is WEBHOOK_PATH + token. */
  token: string
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex')
}

function newToken(): string {
  return `whk_${crypto.randomBytes(32).toString('base64url')}`
}

export class WebhooksService {
  constructor(private readonly prisma: PrismaClient) {}

  list(actor: Actor | null, filter: { templateId?: string | null; workflowId?: string | null } = {}, query: Omit<Prisma.WebhookEndpointFindManyArgs, 'where'> = {}): Promise<WebhookEndpoint[]> {
    const a = requireActor(actor)
    const and: Prisma.WebhookEndpointWhereInput[] = a.role === 'ADMIN' ? [] : [{ ownerId: a.userId }]
    if (filter.templateId) and.push({ templateId: filter.templateId })
    if (filter.workflowId) and.push({ workflowId: filter.workflowId })
    return this.prisma.webhookEndpoint.findMany({ orderBy: { name: 'asc' }, ...query, where: { AND: and } })
  }

  async get(actor: Actor | null, id: string, field = 'id'): Promise<WebhookEndpoint> {
    const a = requireActor(actor)
    const row = await this.prisma.webhookEndpoint.findUnique({ where: { id } })
    if (!row || (a.role !== 'ADMIN' && row.ownerId !== a.userId)) throw new NotFoundError('webhook endpoint', field)
    return row
  }

  async create(actor: Actor | null, raw: unknown): Promise<EndpointWithToken> {
    const a = requireWriter(actor)
    const input = parseInput(endpointFields, raw)
    const target = await this.target(a, input, null)
    await this.checkMapping(target, input.parameterMapping)
    await this.checkSecret(a, input.secretCredentialId)
    const token = newToken()
    return this.prisma.$transaction(async (tx) => {
      const endpoint = await tx.webhookEndpoint.create({
        data: {
          name: input.name,
          templateId: target.kind === 'template' ? target.row.id : null,
          workflowId: target.kind === 'workflow' ? target.row.id : null,
          ownerId: a.userId,
          enabled: input.enabled,
          tokenHash: hashToken(token),
          secretCredentialId: input.secretCredentialId ?? null,
          parameterMapping: input.parameterMapping as Prisma.InputJsonValue,
          rateLimitPerMinute: input.rateLimitPerMinute,
          maxBodyBytes: input.maxBodyBytes,
          replayWindowSeconds: input.replayWindowSeconds,
        },
      })
      await record(tx, { actor: a, action: 'webhook.create', entity: entity.of('WebhookEndpoint', endpoint), changes: created(endpoint, AUDITED) })
      return { endpoint, token }
    })
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<WebhookEndpoint> {
    requireWriter(actor) // a viewer is refused as such, before "not found" (their endpoints do not exist)
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'webhook endpoint')
    const patch = parsePatch(endpointFields, raw)
    const target = await this.target(a, patch, existing)
    const retargeted = (patch.templateId != null && patch.templateId !== existing.templateId) || (patch.workflowId != null && patch.workflowId !== existing.workflowId)
    if (patch.parameterMapping !== undefined || retargeted) await this.checkMapping(target, patch.parameterMapping ?? (existing.parameterMapping as PayloadMapping))
    if (patch.secretCredentialId) await this.checkSecret(a, patch.secretCredentialId)
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.webhookEndpoint.update({
        where: { id },
        data: {
          name: patch.name,
          templateId: target.kind === 'template' ? target.row.id : null,
          workflowId: target.kind === 'workflow' ? target.row.id : null,
          enabled: patch.enabled,
          secretCredentialId: patch.secretCredentialId,
          parameterMapping: patch.parameterMapping as Prisma.InputJsonValue | undefined,
          rateLimitPerMinute: patch.rateLimitPerMinute,
          maxBodyBytes: patch.maxBodyBytes,
          replayWindowSeconds: patch.replayWindowSeconds,
        },
      })
      await record(tx, { actor: a, action: 'webhook.update', entity: entity.of('WebhookEndpoint', row), changes: changed(existing, row, AUDITED) })
      return row
    })
  }

  /** A new URL token; the old one stops working at once. */
  async rotateToken(actor: Actor | null, id: string): Promise<EndpointWithToken> {
    requireWriter(actor) // a viewer is refused as such, before "not found" (their endpoints do not exist)
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'webhook endpoint')
    const token = newToken()
    return this.prisma.$transaction(async (tx) => {
      const endpoint = await tx.webhookEndpoint.update({ where: { id }, data: { tokenHash: hashToken(token) } })
      await record(tx, { actor: a, action: 'webhook.rotate-token', entity: entity.of('WebhookEndpoint', endpoint) })
      return { endpoint, token }
    })
  }

  async delete(actor: Actor | null, id: string): Promise<WebhookEndpoint> {
    requireWriter(actor) // a viewer is refused as such, before "not found" (their endpoints do not exist)
    const existing = await this.get(actor, id)
    const a = requireCanEdit(actor, existing, 'webhook endpoint')
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.webhookEndpoint.delete({ where: { id } })
      await record(tx, { actor: a, action: 'webhook.delete', entity: entity.of('WebhookEndpoint', row) })
      return row
    })
  }

  /** What the endpoint runs: exactly one of a template or a workflow, visible to the actor. */
  private async target(actor: Actor, input: { templateId?: string | null; workflowId?: string | null }, existing: WebhookEndpoint | null): Promise<Target> {
    if (input.templateId && input.workflowId) throw ValidationError.field('input.workflowId', 'an endpoint runs a job template or a workflow, not both: give templateId or workflowId')
    const templateId = input.templateId ?? (input.workflowId ? null : existing?.templateId)
    const workflowId = input.workflowId ?? (input.templateId ? null : existing?.workflowId)
    if (templateId) {
      const t = await this.prisma.jobTemplate.findUnique({ where: { id: templateId } })
      if (!t || !canSee(actor, t)) throw new NotFoundError('job template', 'input.templateId')
      return { kind: 'template', row: t }
    }
    if (!workflowId) throw ValidationError.field('input.templateId', 'required: the job template (templateId) or the workflow (workflowId) the endpoint runs')
    const w = await this.prisma.workflow.findUnique({ where: { id: workflowId }, include: { nodes: true, edges: true } })
    if (!w || !canSee(actor, w)) throw new NotFoundError('workflow', 'input.workflowId')
    // Calls run as the owner: a workflow they could not trigger is refused when chosen (and 403 per call after).
    const blocked = input.workflowId ? await blockedNodes(this.prisma, w, actor) : []
    if (blocked.length) throw ValidationError.field('input.workflowId', `the job templates of these nodes were deleted or are not visible to you: ${blocked.join(', ')}`)
    return { kind: 'workflow', row: w }
  }

  private async checkMapping(target: Target, mapping: PayloadMapping): Promise<void> {
    const defs = target.row.parameters as ParameterDefinition[]
    const problems: FieldProblem[] = mappingProblems(mapping, defs, 'input.parameterMapping')
    // Literals are checked now against their definitions (paths are checked with each call's body).
    const literals = Object.fromEntries(Object.entries(mapping).flatMap(([k, e]) => ('value' in e && defs.some((d) => d.name === k) ? [[k, e.value]] : [])))
    try {
      resolveParameters(defs.filter((d) => d.name in literals).map((d) => ({ ...d, required: false })), literals, 'input.parameterMapping')
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e
      problems.push(...e.fields)
    }
    if (problems.length) throw new ValidationError(problems)
  }

  private async checkSecret(actor: Actor, id: string | null | undefined): Promise<void> {
    if (!id) return
    const c = await this.prisma.credential.findUnique({ where: { id }, select: { id: true, kind: true } })
    if (!c) throw ValidationError.field('input.secretCredentialId', 'no such credential')
    if (c.kind !== 'PASSWORD') throw ValidationError.field('input.secretCredentialId', 'must be a PASSWORD credential (its password is the signing secret)')
    await requireMayUse(this.prisma, actor.userId, [{ id, field: 'input.secretCredentialId' }])
  }
}

type Target = { kind: 'template'; row: JobTemplate } | { kind: 'workflow'; row: Workflow }
