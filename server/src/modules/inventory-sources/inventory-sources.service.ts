/**
 * Inventory sources: where targets come from besides hand entry (today a Nautobot). Everyone signed in sees
 * them; operators and admins create them; only the owner (or an admin) changes, tests, previews, syncs or
 * deletes one, since those use its API token and change the targets it manages. Naming a credential — the
 * API token or the default credential for new targets — needs the right to use it (db/credential-use.ts).
 */
import { z } from 'zod'
import type { OutboundPolicy } from '../../net/outbound-policy.ts'
import { checkOutboundTarget, httpUrlSchema } from '../http-url.ts'
import type { InventorySource, JobRun, Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import { ConflictError, DomainError, NotFoundError, ValidationError, isUniqueViolation } from '../../errors.ts'
import { retryConflicts } from '../../db/transient.ts'
import { requireActor, requireCanEdit, requireWriter, type Actor } from '../actor.ts'
import { audited, entity, record } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { requireMayUse } from '../credentials/credential-access.ts'
import { runAuditChanges, type RunsService } from '../runs/runs.service.ts'
import { tag } from '../targets/targets.service.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { deviceCustomFieldKeys, nautobotVersion, SourceError } from './nautobot-client.ts'
import type { InventorySync } from './inventory-sync.ts'
import { customFieldMappingsOf, MANAGED_ATTRIBUTES, type SyncPlan } from './sync-plan.ts'

const filterValues = z.array(z.string().trim().min(1).max(200)).max(100).default([])
const filterSchema = z
  .object({ locations: filterValues, roles: filterValues, platforms: filterValues, statuses: filterValues, tags: filterValues })
  .strict()

const customFieldMapping = z
  .object({
    customField: z
      .string()
      .trim()
      .min(1, 'required')
      .max(50)
      .regex(/^[A-Za-z0-9_]+$/, "a Nautobot custom field key (letters, digits and _, as in the field's Key)"),
    attribute: z
      .string()
      .trim()
      .max(100)
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'attribute names are identifiers (letters, digits and _, not starting with a digit)')
      .refine((a) => !(MANAGED_ATTRIBUTES as readonly string[]).includes(a), `the source sets ${MANAGED_ATTRIBUTES.join(', ')} itself; choose another name`)
      .nullish(),
    tagPrefix: z
      .string()
      .trim()
      .max(50)
      .regex(/^[a-zA-Z0-9_./=-]+$/, 'a tag prefix uses letters, digits and _ . / = - (the tag is prefix:value)')
      .nullish(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (!m.attribute && !m.tagPrefix) ctx.addIssue({ code: 'custom', path: ['attribute'], message: 'map the custom field to an attribute, a tag prefix or both' })
  })

const customFieldMappings = z
  .array(customFieldMapping)
  .max(50, 'at most 50 custom field mappings')
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>()
    list.forEach((m, i) => {
      if (!m.attribute) return
      if (seen.has(m.attribute)) ctx.addIssue({ code: 'custom', path: [i, 'attribute'], message: `attribute "${m.attribute}" is already set by mapping ${seen.get(m.attribute)! + 1}` })
      else seen.set(m.attribute, i)
    })
  })

const createInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  description: z.string().max(2000).default(''),
  kind: z.enum(['NAUTOBOT']),
  url: httpUrlSchema({ base: true }),
  tokenCredentialId: z.uuid(),
  tlsVerify: z.boolean().default(true),
  caCertificate: z
    .string()
    .max(100_000)
    .refine((s) => s.includes('-----BEGIN CERTIFICATE-----'), 'must be PEM (-----BEGIN CERTIFICATE-----)')
    .nullish(),
  filter: filterSchema.default({ locations: [], roles: [], platforms: [], statuses: [], tags: [] }),
  defaultPort: z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(22),
  defaultCredentialId: z.uuid().nullish(),
  extraTags: z.array(tag).max(50).default([]),
  syncMode: z.enum(['ADDITIVE', 'AUTHORITATIVE']).default('ADDITIVE'),
  maxDeleteFraction: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').default(0.2),
  customFieldMappings: customFieldMappings.default([]),
  syncBeforeRunMaxAgeSeconds: z.number().int().min(10, 'at least 10 seconds').max(30 * 86_400, 'at most 30 days').nullish(),
  syncBeforeRunRequired: z.boolean().default(false),
})

const AUDITED_FIELDS = [
  'name', 'description', 'kind', 'url', 'tokenCredentialId', 'tlsVerify', 'caCertificate', 'filter', 'defaultPort', 'defaultCredentialId', 'extraTags', 'syncMode', 'maxDeleteFraction',
  'customFieldMappings', 'syncBeforeRunMaxAgeSeconds', 'syncBeforeRunRequired',
]

/** Stored without empty optional parts, so an unchanged mapping compares (and audits) as unchanged. */
function normalizedMappings(list: z.output<typeof customFieldMappings>): Prisma.InputJsonValue {
  return list.map((m) => ({ customField: m.customField, attribute: m.attribute || null, tagPrefix: m.tagPrefix || null }))
}

export interface SourceTestResult {
  ok: boolean
  message: string
  version: string | null
  deviceCount: number | null
}

/** An unreachable or refusing source, for the API (preview): a typed error with the source's own words. */
export class SourceUnavailableError extends DomainError {
  constructor(message: string) {
    super('SOURCE_UNAVAILABLE', message)
    this.name = 'SourceUnavailableError'
  }
}

export class InventorySourcesService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sync: InventorySync,
    private readonly runs: RunsService,
    private readonly outbound?: OutboundPolicy,
  ) {}

  list(actor: Actor | null): Promise<InventorySource[]> {
    requireActor(actor)
    return this.prisma.inventorySource.findMany({ orderBy: { name: 'asc' } })
  }

  async get(actor: Actor | null, id: string): Promise<InventorySource> {
    requireActor(actor)
    const row = await this.prisma.inventorySource.findUnique({ where: { id } })
    if (!row) throw new NotFoundError('inventory source')
    return row
  }

  async create(actor: Actor | null, raw: unknown): Promise<InventorySource> {
    const a = requireWriter(actor)
    const input = parseInput(createInput, raw)
    await checkOutboundTarget(this.outbound, 'input.url', input.url)
    await this.checkCredentials(a, input)
    try {
      return await audited(
        this.prisma,
        (tx) => tx.inventorySource.create({
          data: {
            ...input,
            caCertificate: input.caCertificate ?? null,
            defaultCredentialId: input.defaultCredentialId ?? null,
            syncBeforeRunMaxAgeSeconds: input.syncBeforeRunMaxAgeSeconds ?? null,
            customFieldMappings: normalizedMappings(input.customFieldMappings),
            ownerId: a.userId,
          },
        }),
        (row) => ({ actor: a, action: 'inventory-source.create', entity: entity.of('InventorySource', row), changes: created(row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `an inventory source named "${input.name}" already exists`)
      throw e
    }
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<InventorySource> {
    requireWriter(actor)
    const input = parsePatch(createInput, raw) // only the given fields: omitted ones keep their value
    const existing = await this.prisma.inventorySource.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('inventory source')
    const a = requireCanEdit(actor, existing, 'inventory source')
    await checkOutboundTarget(this.outbound, 'input.url', input.url)
    // A new URL sends the token elsewhere: re-check the right to use it, as a target's move does.
    const token = input.tokenCredentialId ?? (input.url !== undefined && input.url !== existing.url ? existing.tokenCredentialId : undefined)
    await this.checkCredentials(a, { tokenCredentialId: token, defaultCredentialId: input.defaultCredentialId }, input.tokenCredentialId ? 'input.tokenCredentialId' : 'input.url')
    try {
      return await audited(
        this.prisma,
        (tx) =>
          tx.inventorySource.update({
            where: { id },
            data: {
              ...input,
              ...(input.customFieldMappings ? { customFieldMappings: normalizedMappings(input.customFieldMappings) } : {}),
            } as Prisma.InventorySourceUncheckedUpdateInput,
          }),
        (row) => ({ actor: a, action: 'inventory-source.update', entity: entity.of('InventorySource', row), changes: changed(existing, row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `an inventory source named "${input.name}" already exists`)
      throw e
    }
  }

  /** Its targets stay (made hand-managed: no source), owned as before. */
  async delete(actor: Actor | null, id: string): Promise<InventorySource> {
    requireWriter(actor)
    const row = await this.prisma.inventorySource.findUnique({ where: { id } })
    if (!row) throw new NotFoundError('inventory source')
    const a = requireCanEdit(actor, row, 'inventory source')
    return audited(
      this.prisma,
      (tx) => tx.inventorySource.delete({ where: { id } }),
      (deleted) => ({ actor: a, action: 'inventory-source.delete', entity: entity.of('InventorySource', deleted) }),
    )
  }

  /** Connects with the token and counts the devices the filter selects. A failure is a result, not an error. */
  async test(actor: Actor | null, id: string): Promise<SourceTestResult> {
    const source = await this.usable(actor, id)
    try {
      const conn = await this.sync.connection(source)
      const version = await nautobotVersion(conn).catch((e: unknown) => {
        if (e instanceof SourceError) throw new SourceError(e.message.split(conn.token).join('••••••'), e.transient)
        throw e
      })
      const { devices } = await this.sync.fetch(source)
      // A mapped key Nautobot does not have reads as unset on every device: worth saying here.
      const mapped = customFieldMappingsOf(source).map((m) => m.customField)
      const known = mapped.length ? new Set(await deviceCustomFieldKeys(conn)) : new Set<string>()
      const unknown = [...new Set(mapped.filter((k) => !known.has(k)))]
      const message =
        `connected to Nautobot${version ? ` ${version}` : ''}: the filter selects ${devices.length} ${devices.length === 1 ? 'device' : 'devices'}` +
        (unknown.length ? `; Nautobot has no device custom field ${unknown.map((k) => `"${k}"`).join(', ')} (the mapping sets nothing from it)` : '')
      return { ok: true, message, version, deviceCount: devices.length }
    } catch (e) {
      if (e instanceof SourceError) return { ok: false, message: e.message, version: null, deviceCount: null }
      throw e
    }
  }

  /** The dry run: what a sync would do now. Changes nothing. */
  async preview(actor: Actor | null, id: string): Promise<SyncPlan> {
    const source = await this.usable(actor, id)
    try {
      return await this.sync.preview(source)
    } catch (e) {
      if (e instanceof SourceError) throw new SourceUnavailableError(e.message)
      throw e
    }
  }

  /** Triggers an ordinary `inventory_sync` run (owned by the caller, visible to everyone). */
  async triggerSync(actor: Actor | null, id: string, force: boolean): Promise<JobRun> {
    const source = await this.usable(actor, id)
    const a = requireWriter(actor)
    return retryConflicts(() =>
      this.prisma.$transaction(async (tx) => {
        const run = await this.runs.createRunIn(tx, {
          actor: a,
          trigger: a.via === 'SESSION' ? 'MANUAL' : 'API',
          template: { id: null, name: `inventory sync: ${source.name}`.slice(0, 200), jobType: 'inventory_sync', ownerId: a.userId, visibility: 'GLOBAL' },
          spec: {
            config: { sourceId: source.id, force },
            timeoutSeconds: 1800,
            retry: { maxAttempts: 1, delaySeconds: 0, backoff: 'FIXED' },
            maxParallelTargets: 1,
            successThreshold: null,
            usesTargets: false,
          },
          parameters: {},
          secretParameters: null,
          targets: [],
          scheduleId: null,
          retryOfId: null,
          // Syncs of one source queue behind each other.
          concurrencyKey: `inventory-source:${source.id}`,
          maxConcurrent: 1,
        })
        await record(tx, { actor: a, action: 'run.trigger', entity: entity.run(run), changes: { ...runAuditChanges(run), ...created({ source: source.name, force }, ['source', 'force']) } })
        return run
      }),
    )
  }

  /** The source, if the actor may use it (its owner or an admin, and allowed to use its credentials). */
  private async usable(actor: Actor | null, id: string): Promise<InventorySource> {
    requireWriter(actor)
    const source = await this.prisma.inventorySource.findUnique({ where: { id } })
    if (!source) throw new NotFoundError('inventory source')
    const a = requireCanEdit(actor, source, 'inventory source')
    await requireMayUse(this.prisma, a.userId, [{ field: 'id', id: source.tokenCredentialId }], (name) => `this source's API token is credential "${name}", which you may not use`)
    return source
  }

  private async checkCredentials(a: Actor, input: { tokenCredentialId?: string | null; defaultCredentialId?: string | null }, tokenField = 'input.tokenCredentialId'): Promise<void> {
    const named = [
      ...(input.tokenCredentialId ? [{ field: tokenField, id: input.tokenCredentialId }] : []),
      ...(input.defaultCredentialId ? [{ field: 'input.defaultCredentialId', id: input.defaultCredentialId }] : []),
    ]
    if (!named.length) return
    const rows = await this.prisma.credential.findMany({ where: { id: { in: named.map((n) => n.id) } }, select: { id: true, kind: true } })
    const problems = named.flatMap((n) => {
      const row = rows.find((r) => r.id === n.id)
      if (!row) return [{ field: n.field === 'input.url' ? 'input.tokenCredentialId' : n.field, message: 'no such credential' }]
      if (n.field !== 'input.defaultCredentialId' && row.kind !== 'PASSWORD') return [{ field: n.field, message: 'the API token must be a PASSWORD credential (its password is the token)' }]
      return []
    })
    if (problems.length) throw new ValidationError(problems)
    await requireMayUse(this.prisma, a.userId, named, (name) => `you may not use credential "${name}"`)
  }
}
