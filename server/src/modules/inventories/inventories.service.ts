/**
 * Inventories: named, saved target selectors. Anyone may select targets through any inventory; only its
 * owner (or an admin) may change or delete it, since templates of others may rely on what it selects.
 */
import { z } from 'zod'
import type { Inventory, PrismaClient, Target } from '../../generated/prisma/client.ts'
import { ConflictError, NotFoundError, ValidationError, isUniqueViolation } from '../../errors.ts'
import { requireActor, requireCanEdit, requireWriter, type Actor } from '../actor.ts'
import { audited, entity } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { tag } from '../targets/targets.service.ts'
import { namePattern, resolveSelector } from '../targets/target-selector.ts'

const createInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  description: z.string().max(2000).default(''),
  tags: z.array(tag).max(50).default([]),
  namePatterns: z.array(namePattern).max(50).default([]),
  targetIds: z.array(z.uuid()).max(10000).default([]),
})

const AUDITED_FIELDS = ['name', 'description', 'tags', 'namePatterns', 'targetIds']

export class InventoriesService {
  constructor(private readonly prisma: PrismaClient) {}

  list(actor: Actor | null): Promise<Inventory[]> {
    requireActor(actor)
    return this.prisma.inventory.findMany({ orderBy: { name: 'asc' } })
  }

  async get(actor: Actor | null, id: string): Promise<Inventory> {
    requireActor(actor)
    const row = await this.prisma.inventory.findUnique({ where: { id } })
    if (!row) throw new NotFoundError('inventory')
    return row
  }

  async create(actor: Actor | null, raw: unknown): Promise<Inventory> {
    const a = requireWriter(actor)
    const input = parseInput(createInput, raw)
    await this.checkTargets(input.targetIds)
    try {
      return await audited(
        this.prisma,
        (tx) => tx.inventory.create({ data: { ...input, ownerId: a.userId } }),
        (row) => ({ actor: a, action: 'inventory.create', entity: entity.of('Inventory', row), changes: created(row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `an inventory named "${input.name}" already exists`)
      throw e
    }
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<Inventory> {
    requireWriter(actor)
    const input = parsePatch(createInput, raw) // only the given fields: omitted ones keep their value
    const existing = await this.prisma.inventory.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('inventory')
    const a = requireCanEdit(actor, existing, 'inventory')
    if (input.targetIds) await this.checkTargets(input.targetIds)
    try {
      return await audited(
        this.prisma,
        (tx) => tx.inventory.update({ where: { id }, data: input }),
        (row) => ({ actor: a, action: 'inventory.update', entity: entity.of('Inventory', row), changes: changed(existing, row, AUDITED_FIELDS) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `an inventory named "${input.name}" already exists`)
      throw e
    }
  }

  async delete(actor: Actor | null, id: string): Promise<Inventory> {
    requireWriter(actor)
    const row = await this.prisma.inventory.findUnique({ where: { id } })
    if (!row) throw new NotFoundError('inventory')
    const a = requireCanEdit(actor, row, 'inventory')
    return audited(
      this.prisma,
      (tx) => tx.inventory.delete({ where: { id } }),
      (deleted) => ({ actor: a, action: 'inventory.delete', entity: entity.of('Inventory', deleted) }),
    )
  }

  /** The targets the inventory selects right now. */
  resolve(inventory: Inventory): Promise<Target[]> {
    return resolveSelector(this.prisma, { targetIds: inventory.targetIds, inventoryIds: [], tags: inventory.tags, namePatterns: inventory.namePatterns })
  }

  private async checkTargets(ids: string[]): Promise<void> {
    if (!ids.length) return
    const found = new Set((await this.prisma.target.findMany({ where: { id: { in: ids } }, select: { id: true } })).map((t) => t.id))
    const i = ids.findIndex((id) => !found.has(id))
    if (i >= 0) throw ValidationError.field(`input.targetIds.${i}`, 'no such target')
  }
}
