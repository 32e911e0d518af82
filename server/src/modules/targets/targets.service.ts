/**
 * Targets: the servers and devices jobs run on. Shared: anyone may run jobs on any target, with the
 * target's credential; so only its owner (or an admin) may change or delete it — repointing someone's
 * target at your own host would hand you its credential — and setting a credential, or moving a target
 * that has one, needs the right to use that credential.
 */
import net from 'node:net'
import { z } from 'zod'
import type { Prisma, PrismaClient, Target } from '../../generated/prisma/client.ts'
import { ConflictError, NotFoundError, isUniqueViolation } from '../../errors.ts'
import { requireActor, requireCanEdit, requireWriter, type Actor } from '../actor.ts'
import { requireMayUse } from '../credentials/credential-access.ts'
import { audited, entity } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { parseInput, parsePatch, rejectNul } from '../validation.ts'

const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\.?$/
export const targetName = z.string().trim().min(1, 'required').max(200).regex(/^[^\s]+$/, 'must not contain spaces')
export const tag = z.string().trim().min(1).max(100).regex(/^[a-zA-Z0-9_.:\/=-]+$/, 'tags use letters, digits and _ . : / = -')

const host = z
  .string()
  .trim()
  .min(1, 'required')
  // A name ending in an all-digit label is a mistyped address (`10.0.0.256`, `192.168.1`), not a host
  // name (RFC 1123 §2.1); it used to be accepted and only failed when a run tried to resolve it.
  .refine((h) => net.isIP(h) !== 0 || (HOSTNAME.test(h) && !/(^|\.)\d+\.?$/.test(h)), 'must be a hostname or an IPv4/IPv6 address')

/** Attributes are labels for templates and paths, not a document store: bounded so every target row stays small. */
export const MAX_ATTRIBUTES = 100
export const MAX_ATTRIBUTES_BYTES = 64 * 1024

const attributes = z
  .record(z.string().max(100).regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'attribute names are identifiers'), z.union([z.string(), z.number(), z.boolean(), z.null()]))
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`)
  .refine((a) => Buffer.byteLength(JSON.stringify(a)) <= MAX_ATTRIBUTES_BYTES, `at most ${MAX_ATTRIBUTES_BYTES / 1024} KiB in all (as JSON)`)

const createInput = z.object({
  name: targetName,
  description: z.string().max(2000).default(''),
  host,
  port: z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(22),
  credentialId: z.uuid().nullish(),
  tags: z.array(tag).max(100).default([]),
  attributes: attributes.default({}),
})

/** What the audit trail shows of a target (the host key too: a cleared one is worth knowing about). */
const AUDITED_FIELDS = ['name', 'description', 'host', 'port', 'credentialId', 'tags', 'attributes', 'hostKeyFingerprint']

export interface TargetFilter {
  search?: string | null
  tags?: string[] | null
}

export class TargetsService {
  constructor(private readonly prisma: PrismaClient) {}

  list(actor: Actor | null, filter: TargetFilter = {}, query: Omit<Prisma.TargetFindManyArgs, 'where'> = {}): Promise<Target[]> {
    requireActor(actor)
    rejectNul(filter)
    return this.prisma.target.findMany({ ...query, where: whereFor(filter), orderBy: { name: 'asc' } })
  }

  async get(actor: Actor | null, id: string): Promise<Target> {
    requireActor(actor)
    const row = await this.prisma.target.findUnique({ where: { id } })
    if (!row) throw new NotFoundError('target')
    return row
  }

  async create(actor: Actor | null, raw: unknown): Promise<Target> {
    const a = requireWriter(actor)
    const input = parseInput(createInput, raw)
    await this.checkCredential(a, input.credentialId, 'input.credentialId')
    try {
      return await audited(
        this.prisma,
        (tx) => tx.target.create({ data: { ...input, tags: dedupe(input.tags), credentialId: input.credentialId ?? null, ownerId: a.userId } }),
        (row) => ({ actor: a, action: 'target.create', entity: entity.of('Target', row), changes: created(row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `a target named "${input.name}" already exists`)
      throw e
    }
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<Target> {
    requireWriter(actor)
    const input = parsePatch(createInput, raw) // only the given fields: omitted ones keep their value
    const existing = await this.prisma.target.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('target')
    const a = requireCanEdit(actor, existing, 'target')
    // A new address is a new machine: forget the host key trusted for the old one.
    const moved = (input.host !== undefined && input.host !== existing.host) || (input.port !== undefined && input.port !== existing.port)
    if (input.credentialId !== undefined && input.credentialId !== existing.credentialId) await this.checkCredential(a, input.credentialId, 'input.credentialId')
    // Moving a target moves where its credential is sent: an admin may have set one its owner may not use.
    else if (moved && existing.credentialId) await this.checkCredential(a, existing.credentialId, input.host !== undefined && input.host !== existing.host ? 'input.host' : 'input.port')
    try {
      return await audited(
        this.prisma,
        (tx) =>
          tx.target.update({
            where: { id },
            data: {
              ...input,
              tags: input.tags ? dedupe(input.tags) : undefined,
              ...(moved ? { hostKeyFingerprint: null, hostKeyAlgorithm: null } : {}),
            },
          }),
        (row) => ({ actor: a, action: 'target.update', entity: entity.of('Target', row), changes: changed(existing, row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `a target named "${input.name}" already exists`)
      throw e
    }
  }

  async delete(actor: Actor | null, id: string): Promise<Target> {
    requireWriter(actor)
    const existing = await this.prisma.target.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('target')
    const a = requireCanEdit(actor, existing, 'target')
    return audited(
      this.prisma,
      (tx) => tx.target.delete({ where: { id } }),
      (row) => ({ actor: a, action: 'target.delete', entity: entity.of('Target', row) }),
    )
  }

  /** After a legitimate re-key: the next connection trusts whatever key the host presents. */
  async forgetHostKey(actor: Actor | null, id: string): Promise<Target> {
    requireWriter(actor)
    const existing = await this.prisma.target.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('target')
    // Forgetting the key lets the next connection trust any host answering at the address: the owner's call.
    const a = requireCanEdit(actor, existing, 'target')
    return audited(
      this.prisma,
      (tx) => tx.target.update({ where: { id }, data: { hostKeyFingerprint: null, hostKeyAlgorithm: null } }),
      (row) => ({ actor: a, action: 'target.forget-host-key', entity: entity.of('Target', row), changes: changed(existing, row, ['hostKeyFingerprint', 'hostKeyAlgorithm']) }),
    )
  }

  private async checkCredential(actor: Actor, id: string | null | undefined, field: string): Promise<void> {
    if (!id) return
    const found = await this.prisma.credential.count({ where: { id } })
    if (!found) throw new NotFoundError('credential', 'input.credentialId')
    await requireMayUse(this.prisma, actor.userId, [{ field, id }], (name) =>
      field === 'input.credentialId' ? `you may not use credential "${name}"` : `this target uses credential "${name}", which you may not use: moving the target would send it elsewhere`,
    )
  }
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)]
}

function whereFor(filter: TargetFilter): Prisma.TargetWhereInput {
  const where: Prisma.TargetWhereInput = {}
  if (filter.search?.trim()) {
    const s = filter.search.trim()
    where.OR = [{ name: { contains: s, mode: 'insensitive' } }, { host: { contains: s, mode: 'insensitive' } }]
  }
  if (filter.tags?.length) where.tags = { hasEvery: filter.tags }
  return where
}
