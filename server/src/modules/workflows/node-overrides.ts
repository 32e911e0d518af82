/**
 * A TEMPLATE node's overrides of its template: the target selector, the timeout and the retry policy,
 * validated by the template's own rules (runPolicyFields, targetSelectorSchema) and applied to the spec
 * of the node's JobRun. Nothing else is overridable: the template's concurrency limit and overlap policy
 * (the run's concurrencyKey/maxConcurrent), its visibility and its credentials' use rules still apply —
 * a workflow is no way around a limit or a permission.
 */
import { z } from 'zod'
import type { PrismaClient } from '../../generated/prisma/client.ts'
import type { FieldProblem } from '../../errors.ts'
import type { RunSpec } from '../../jobs/run-spec.ts'
import { runPolicyFields } from '../templates/templates.service.ts'
import { targetSelectorSchema, isEmptySelector, type TargetSelector } from '../targets/target-selector.ts'

export const nodeOverridesSchema = z.strictObject({
  /** Replaces the template's selector (an empty selector is refused: it would select nothing). */
  targetSelector: targetSelectorSchema.nullish(),
  timeoutSeconds: runPolicyFields.timeoutSeconds.nullish(),
  retryMaxAttempts: runPolicyFields.retryMaxAttempts.nullish(),
  retryDelaySeconds: runPolicyFields.retryDelaySeconds.nullish(),
  retryBackoff: runPolicyFields.retryBackoff.nullish(),
})
export type NodeOverrides = z.output<typeof nodeOverridesSchema>

/** Overrides without a value set count as none (stored as null). */
export function normalizeOverrides(o: NodeOverrides | null | undefined): NodeOverrides | null {
  if (!o) return null
  const kept = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as NodeOverrides
  return Object.keys(kept).length ? kept : null
}

/**
 * Save-time problems of one node's overrides: a selector only for a job type that runs on targets, not
 * empty, naming targets and inventories that exist (as a template's selector must).
 */
export async function overrideProblems(prisma: PrismaClient, o: NodeOverrides, usesTargets: boolean, jobType: string, base: string): Promise<FieldProblem[]> {
  const problems: FieldProblem[] = []
  const s = o.targetSelector
  if (!s) return problems
  if (!usesTargets) return [{ field: `${base}.targetSelector`, message: `job type ${jobType} does not run on targets` }]
  if (isEmptySelector(s)) return [{ field: `${base}.targetSelector`, message: 'selects nothing: name targets, inventories, tags or name patterns (or leave it out to use the template\'s)' }]
  const targets = s.targetIds.length ? new Set((await prisma.target.findMany({ where: { id: { in: s.targetIds } }, select: { id: true } })).map((t) => t.id)) : new Set<string>()
  s.targetIds.forEach((id, i) => {
    if (!targets.has(id)) problems.push({ field: `${base}.targetSelector.targetIds.${i}`, message: 'no such target' })
  })
  const inventories = s.inventoryIds.length ? new Set((await prisma.inventory.findMany({ where: { id: { in: s.inventoryIds } }, select: { id: true } })).map((t) => t.id)) : new Set<string>()
  s.inventoryIds.forEach((id, i) => {
    if (!inventories.has(id)) problems.push({ field: `${base}.targetSelector.inventoryIds.${i}`, message: 'no such inventory' })
  })
  return problems
}

/** The template's spec with the node's timeout and retry overrides applied. */
export function applySpecOverrides(spec: RunSpec, o: NodeOverrides | null): RunSpec {
  if (!o) return spec
  return {
    ...spec,
    timeoutSeconds: o.timeoutSeconds ?? spec.timeoutSeconds,
    retry: {
      maxAttempts: o.retryMaxAttempts ?? spec.retry.maxAttempts,
      delaySeconds: o.retryDelaySeconds ?? spec.retry.delaySeconds,
      backoff: o.retryBackoff ?? spec.retry.backoff,
    },
  }
}

export function selectorOverride(o: NodeOverrides | null): TargetSelector | null {
  return o?.targetSelector ?? null
}
