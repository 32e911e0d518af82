/**
 * The trust rule for job types that execute user-supplied code on the worker (`executesWorkerCode`): only
 * the roles an admin lists in SWITCHYARD_WORKER_CODE_ROLES may author them. The template service applies
 * it when a template is saved, the dispatcher again when a run starts (against the template owner's
 * current role), so a template whose author has since lost the right does not run.
 */
import type { JobExecutor } from './types.ts'

export type WorkerCodeRoles = ReadonlySet<string>

/** Why `role` may not author templates of this job type; null when it may (or the type runs no code on the worker). */
export function workerCodeRefusal(executor: Pick<JobExecutor, 'type' | 'executesWorkerCode'>, role: string, allowed: WorkerCodeRoles): string | null {
  if (!executor.executesWorkerCode || allowed.has(role)) return null
  const who = allowed.size ? `only ${[...allowed].join(', ')} may` : 'no role may (NONE)'
  return `job type ${executor.type} executes code on the worker: ${who} create, change or run its templates (SWITCHYARD_WORKER_CODE_ROLES), not ${role}`
}
