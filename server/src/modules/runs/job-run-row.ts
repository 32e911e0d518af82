/**
 * A `job_run` row as pg returns it (snake_case, `SELECT *` / `RETURNING *`) turned into the JobRun
 * Prisma would have returned, for the hot paths that write runs with plain SQL. Every column is named:
 * job-run-row.test.ts fails when the table gains a column this does not map, and compares the result
 * with Prisma's own read of the same row.
 */
import type { JobRun } from '../../generated/prisma/client.ts'

export type JobRunRow = Record<string, unknown>

export const JOB_RUN_COLUMNS = [
  'id', 'number', 'template_id', 'template_name', 'job_type', 'spec', 'schedule_id', 'trigger', 'triggered_by_id', 'retry_of_id',
  'owner_id', 'visibility', 'parameters', 'secret_parameters', 'status', 'attempt', 'max_attempts', 'created_at', 'started_at',
  'finished_at', 'updated_at', 'heartbeat_at', 'worker_id', 'cancel_requested_at', 'cancel_requested_by', 'targets_total',
  'targets_done', 'targets_failed', 'result', 'error', 'log_seq', 'log_dropped_lines', 'log_dropped_bytes', 'slot_at',
  'concurrency_key', 'max_concurrent', 'waiting_since', 'pinned', 'triggered_by_run_id', 'webhook_endpoint_id',
] as const

export function jobRunFromRow(r: JobRunRow): JobRun {
  return {
    id: r.id as string,
    number: r.number as number,
    templateId: r.template_id as string | null,
    templateName: r.template_name as string,
    jobType: r.job_type as string,
    spec: r.spec as JobRun['spec'],
    scheduleId: r.schedule_id as string | null,
    trigger: r.trigger as JobRun['trigger'],
    triggeredById: r.triggered_by_id as string | null,
    retryOfId: r.retry_of_id as string | null,
    ownerId: r.owner_id as string | null,
    visibility: r.visibility as JobRun['visibility'],
    parameters: r.parameters as JobRun['parameters'],
    // pg gives a Buffer; Prisma a plain Uint8Array.
    secretParameters: r.secret_parameters == null ? null : new Uint8Array(r.secret_parameters as Buffer),
    status: r.status as JobRun['status'],
    attempt: r.attempt as number,
    maxAttempts: r.max_attempts as number,
    createdAt: r.created_at as Date,
    startedAt: r.started_at as Date | null,
    finishedAt: r.finished_at as Date | null,
    updatedAt: r.updated_at as Date,
    heartbeatAt: r.heartbeat_at as Date | null,
    workerId: r.worker_id as string | null,
    cancelRequestedAt: r.cancel_requested_at as Date | null,
    cancelRequestedBy: r.cancel_requested_by as string | null,
    targetsTotal: r.targets_total as number,
    targetsDone: r.targets_done as number,
    targetsFailed: r.targets_failed as number,
    result: r.result as JobRun['result'],
    error: r.error as string | null,
    // int8 arrives as a string (pg does not guess at precision); Prisma gives a bigint.
    logSeq: BigInt(r.log_seq as string),
    logDroppedLines: r.log_dropped_lines as number,
    logDroppedBytes: BigInt(r.log_dropped_bytes as string),
    slotAt: r.slot_at as Date | null,
    concurrencyKey: r.concurrency_key as string | null,
    maxConcurrent: r.max_concurrent as number | null,
    waitingSince: r.waiting_since as Date | null,
    pinned: r.pinned as boolean,
    triggeredByRunId: r.triggered_by_run_id as string | null,
    webhookEndpointId: r.webhook_endpoint_id as string | null,
  }
}
