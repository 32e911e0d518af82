/**
 * A template's overlap policy applied to a run about to be created by something other than a person
 * (a schedule slot, a template dependency): inside the caller's transaction, so the check and the new run
 * commit together. SKIP: not created while a run of the template is queued or running (the reason is
 * returned); CANCEL_PREVIOUS: those runs are cancelled, then it queues; QUEUE (and CANCEL_PREVIOUS): it
 * waits for earlier runs (maxConcurrent 1); ALLOW: the template's own concurrency limit.
 */
import type { JobTemplate, Prisma } from '../../generated/prisma/client.ts'
import type { RunsService } from './runs.service.ts'

export type OverlapOutcome = { skip: string } | { maxConcurrent: number | null }

export async function applyOverlapPolicy(
  tx: Prisma.TransactionClient,
  runs: RunsService,
  template: JobTemplate,
  policy: JobTemplate['overlapPolicy'],
  /** Who supersedes earlier runs, for their cancel reason (e.g. `schedule "nightly"`). */
  by: string,
): Promise<OverlapOutcome> {
  if (policy === 'ALLOW') return { maxConcurrent: template.maxConcurrentRuns }
  const active = await tx.jobRun.findMany({ where: { templateId: template.id, status: { in: ['QUEUED', 'RUNNING'] } }, orderBy: { number: 'asc' }, select: { id: true, number: true, status: true } })
  if (active.length && policy === 'SKIP') {
    return { skip: `skipped: run #${active[0]!.number} of this template is still ${active[0]!.status.toLowerCase()} (overlap policy SKIP)` }
  }
  if (policy === 'CANCEL_PREVIOUS') {
    for (const r of active) await runs.requestCancelIn(tx, r.id, null, `cancelled: superseded by ${by} (overlap policy CANCEL_PREVIOUS)`)
  }
  // QUEUE and CANCEL_PREVIOUS: the new run starts only once earlier ones have ended.
  return { maxConcurrent: 1 }
}
