/**
 * MISSED and SKIPPED runs (job or workflow) are schedule slots that never ran — missed while Switchyard
 * was down, skipped by the overlap policy or a blackout window. Lists show why in place of progress,
 * since there is none; the API gives the reason in `error`.
 */
export const NOT_RUN_STATUSES: ReadonlySet<string> = new Set(['MISSED', 'SKIPPED'])

/** Why a run never ran, or null for a run that did (or will). */
export function notRunReason(r: { status: string; error?: string | null }): string | null {
  if (!NOT_RUN_STATUSES.has(r.status)) return null
  return r.error?.trim() || (r.status === 'MISSED' ? 'Missed schedule slot' : 'Skipped schedule slot')
}
