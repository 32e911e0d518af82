/**
 * Postgres NOTIFY channels and their payloads. Payloads carry ids and sequence numbers only (NOTIFY
 * caps them at 8000 bytes and they are visible to any session): receivers read the rows themselves.
 */
export const CHANNELS = {
  /** `<runId>:<lastSeq>` — log lines up to lastSeq are committed for the run. One per batch. */
  log: 'switchyard_log',
  /** `<runId>` — a run (status, progress, targets) changed or was created. */
  run: 'switchyard_run',
  /** (empty) — a run message was queued: idle workers fetch at once instead of at their next poll. */
  queued: 'switchyard_queued',
  /** `<scheduleId>` — a schedule was created, edited, paused or deleted: schedulers re-plan their sleep. */
  schedule: 'switchyard_schedule',
  /**
   * `<userId>` — a user's sign-in state changed (a token revoked, signed out, disabled, role or password
   * changed): API processes re-check that user's open WebSocket connections at once.
   */
  auth: 'switchyard_auth',
  /** `<runId>` — cancellation was requested for a running run; the worker holding it aborts it. */
  cancel: 'switchyard_cancel',
  /** `<workflowRunId>` — a workflow run changed (a node ended, started or was skipped; the run ended). */
  workflowRun: 'switchyard_workflow_run',
  /** `<workflowRunId>` — nodes of the workflow run became READY: a worker starts their runs. */
  workflowReady: 'switchyard_workflow_ready',
  /** (empty) — a run's final outcome queued template dependency triggers: a worker starts their runs. */
  dependency: 'switchyard_dependency',
} as const
export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS]

export interface LogAppended {
  runId: string
  lastSeq: number
}

/** `<runId>:<lastSeq>`, as the log writer's INSERT statement builds it with pg_notify (logs/log-writer.ts). */
export function decodeLogAppended(payload: string): LogAppended | null {
  const i = payload.lastIndexOf(':')
  const lastSeq = Number(payload.slice(i + 1))
  if (i <= 0 || !Number.isSafeInteger(lastSeq)) return null
  return { runId: payload.slice(0, i), lastSeq }
}
