/**
 * A run's spec: everything about what it executes, frozen from the template when the run is created
 * so later edits to the template never change a run that is queued, running or being retried.
 */
import type { JobTemplate } from '../generated/prisma/client.ts'
import type { OutputDeclaration } from './step-outputs.ts'

export interface RunSpec {
  config: unknown
  timeoutSeconds: number | null
  retry: { maxAttempts: number; delaySeconds: number; backoff: 'FIXED' | 'EXPONENTIAL' }
  maxParallelTargets: number
  /** null: every target must succeed; otherwise the percentage of targets that must. */
  successThreshold: number | null
  usesTargets: boolean
  /** The template's log caps (null or absent in older runs: the worker's defaults). */
  logLimitLines?: number | null
  logLimitBytes?: number | null
  /** The template's declared step outputs (absent in older runs: none declared). */
  outputs?: OutputDeclaration[]
  /**
   * The selector the run's targets were resolved with when it was triggered (a template's, or a workflow
   * node's override). Absent when the targets were given (explicit ids, a retry) and in older runs. A sync
   * of an inventory source before the run adds that source's targets the selector now matches (PreRunSync).
   */
  targetSelector?: { targetIds: string[]; inventoryIds: string[]; tags: string[]; namePatterns: string[] }
}

export function specFromTemplate(t: JobTemplate, usesTargets: boolean): RunSpec {
  return {
    config: t.config,
    timeoutSeconds: t.timeoutSeconds,
    retry: { maxAttempts: t.retryMaxAttempts, delaySeconds: t.retryDelaySeconds, backoff: t.retryBackoff },
    maxParallelTargets: t.maxParallelTargets,
    successThreshold: t.successThreshold,
    usesTargets,
    logLimitLines: t.logLimitLines,
    logLimitBytes: t.logLimitBytes,
    outputs: (t.outputs ?? []) as unknown as OutputDeclaration[],
  }
}

/** Delay before attempt `nextAttempt` (2, 3, ...): fixed, or doubling from the base delay. */
export function retryDelaySeconds(spec: RunSpec, nextAttempt: number): number {
  const { delaySeconds, backoff } = spec.retry
  if (backoff === 'FIXED') return delaySeconds
  return Math.min(6 * 3600, Math.max(1, delaySeconds) * 2 ** Math.max(0, nextAttempt - 2))
}

/** Whether enough targets succeeded, per the spec's success rule. */
export function meetsSuccessRule(spec: RunSpec, succeeded: number, total: number): boolean {
  if (total === 0) return true
  if (spec.successThreshold == null) return succeeded === total
  return (succeeded / total) * 100 >= spec.successThreshold
}

export const FINAL_RUN_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED'] as const
export function isFinalStatus(status: string): boolean {
  return (FINAL_RUN_STATUSES as readonly string[]).includes(status)
}
