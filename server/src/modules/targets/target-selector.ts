/**
 * Target selectors, shared by inventories and job templates. A target is selected when it is listed
 * explicitly, or belongs to a listed inventory, or matches the filter: it carries every tag in `tags`
 * and (when `namePatterns` is given) its name matches at least one glob (`*`, `?`).
 * An empty selector selects nothing.
 */
import { z } from 'zod'
import type { Prisma, PrismaClient, Target } from '../../generated/prisma/client.ts'
import { compileUserRegex } from '../../util/safe-regex.ts'
import { tag } from './targets.service.ts'

export const namePattern = z.string().trim().min(1).max(200)

export const targetSelectorSchema = z.object({
  targetIds: z.array(z.uuid()).max(10000).default([]),
  inventoryIds: z.array(z.uuid()).max(100).default([]),
  tags: z.array(tag).max(50).default([]),
  namePatterns: z.array(namePattern).max(50).default([]),
})
export type TargetSelector = z.output<typeof targetSelectorSchema>

export function isEmptySelector(s: TargetSelector): boolean {
  return !s.targetIds.length && !s.inventoryIds.length && !s.tags.length && !s.namePatterns.length
}

/**
 * Glob to an anchored, case-sensitive regex (`*` any run, `?` one char; everything else literal), on
 * the linear-time engine: `*a*a*a*…` would backtrack polynomially on the default one.
 */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*+/g, '.*').replace(/\?/g, '.')
  return compileUserRegex(`^${body}$`)
}

/**
 * The coarse database filter for the tag/pattern part: tags exactly, patterns narrowed by their
 * literal prefix. The exact glob match is applied in memory to the (already small) result.
 */
function filterWhere(tags: string[], patterns: string[]): Prisma.TargetWhereInput | null {
  if (!tags.length && !patterns.length) return null
  const where: Prisma.TargetWhereInput = {}
  if (tags.length) where.tags = { hasEvery: tags }
  const prefixes = patterns.map((p) => p.split(/[*?]/)[0]!)
  // A pattern starting with a wildcard (`*-2`, `?eb*`) can match any name, so there is nothing to narrow
  // by. (It used to become `{}` inside OR, which Prisma treats as matching nothing, so such patterns
  // selected no target at all.)
  if (prefixes.length && prefixes.every(Boolean)) {
    where.OR = prefixes.map((prefix) => ({ name: { startsWith: prefix } }))
  }
  return where
}

export async function resolveSelector(prisma: PrismaClient, selector: TargetSelector): Promise<Target[]> {
  const byId = new Map<string, Target>()
  const add = (rows: Target[]) => rows.forEach((t) => byId.set(t.id, t))

  const inventories = selector.inventoryIds.length ? await prisma.inventory.findMany({ where: { id: { in: selector.inventoryIds } } }) : []
  const explicitIds = [...selector.targetIds, ...inventories.flatMap((i) => i.targetIds)]
  if (explicitIds.length) add(await prisma.target.findMany({ where: { id: { in: explicitIds } } }))

  const filters: Array<{ tags: string[]; patterns: string[] }> = [
    { tags: selector.tags, patterns: selector.namePatterns },
    ...inventories.map((i) => ({ tags: i.tags, patterns: i.namePatterns })),
  ]
  for (const f of filters) {
    const where = filterWhere(f.tags, f.patterns)
    if (!where) continue
    const regexes = f.patterns.map(globToRegExp)
    const rows = await prisma.target.findMany({ where })
    add(regexes.length ? rows.filter((t) => regexes.some((r) => r.test(t.name))) : rows)
  }
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name))
}
