/** A TEMPLATE node's overrides of its template (modules/workflows/node-overrides.ts), in and out. */
import type { NodeOverrides } from '../../modules/workflows/node-overrides.ts'
import { builder } from '../builder.ts'
import { decodeIds } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import { RetryBackoffEnum } from './enums.ts'
import { TargetSelector, TargetSelectorInput } from './templates.ts'

export const NodeOverridesRef = builder.objectRef<NodeOverrides>('WorkflowNodeOverrides').implement({
  description: 'What a TEMPLATE node changes of its template for its run; null fields keep the template\'s. The template\'s concurrency limit, overlap policy and permissions still apply.',
  fields: (t) => ({
    targetSelector: t.field({ type: TargetSelector, nullable: true, resolve: (o) => o.targetSelector ?? null }),
    timeoutSeconds: t.int({ nullable: true, resolve: (o) => o.timeoutSeconds ?? null }),
    retryMaxAttempts: t.int({ nullable: true, resolve: (o) => o.retryMaxAttempts ?? null }),
    retryDelaySeconds: t.int({ nullable: true, resolve: (o) => o.retryDelaySeconds ?? null }),
    retryBackoff: t.field({ type: RetryBackoffEnum, nullable: true, resolve: (o) => o.retryBackoff ?? null }),
  }),
})

export const NodeOverridesInput = builder.inputType('WorkflowNodeOverridesInput', {
  description: 'Validated like the template\'s own fields; omitted or null fields keep the template\'s.',
  fields: (t) => ({
    targetSelector: t.field({ type: TargetSelectorInput, description: 'Replaces the template\'s selector (the job type must run on targets; an empty selector is refused).' }),
    timeoutSeconds: t.int(),
    retryMaxAttempts: t.int(),
    retryDelaySeconds: t.int(),
    retryBackoff: t.field({ type: RetryBackoffEnum }),
  }),
})

/** GraphQL input to the service's shape: global ids decoded (naming the field), nulls dropped. */
export function overridesInput(o: Record<string, unknown>, base: string): Record<string, unknown> {
  const out: Record<string, unknown> = withoutNulls(o)
  const s = o.targetSelector as { targetIds?: string[] | null; inventoryIds?: string[] | null; tags?: string[] | null; namePatterns?: string[] | null } | null | undefined
  if (s) {
    out.targetSelector = {
      targetIds: decodeIds(s.targetIds?.map(String), 'Target', `${base}.targetSelector.targetIds`),
      inventoryIds: decodeIds(s.inventoryIds?.map(String), 'Inventory', `${base}.targetSelector.inventoryIds`),
      tags: s.tags ?? [],
      namePatterns: s.namePatterns ?? [],
    }
  }
  return out
}
