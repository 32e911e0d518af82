/**
 * The SQL the dispatcher and reaper run against job_run / run_target. Hand-written because these
 * statements are the concurrency control: a claim is one conditional UPDATE, and every later write
 * is fenced by (worker_id, attempt) so a worker that lost its run (reaped while partitioned) can
 * never overwrite what the run's new owner does.
 */
import type pg from 'pg'
import { CHANNELS } from '../pubsub/channels.ts'

export type Queryable = Pick<pg.PoolClient, 'query'>

export interface ClaimedRun {
  id: string
  number: number
  templateName: string
  jobType: string
  spec: unknown
  parameters: Record<string, unknown>
  secretParameters: Buffer | null
  attempt: number
  maxAttempts: number
  cancelRequestedAt: Date | null
}

export interface RunFence {
  runId: string
  workerId: string
  attempt: number
}

/** QUEUED → RUNNING for this worker, or null when the run is not (or no longer) queued. */
export async function claimRun(db: Queryable, runId: string, workerId: string): Promise<ClaimedRun | null> {
  const { rows } = await db.query(
    `WITH claimed AS (
       UPDATE job_run SET status = 'RUNNING', attempt = attempt + 1, started_at = COALESCE(started_at, now()),
              heartbeat_at = now(), worker_id = $2, updated_at = now()
        WHERE id = $1 AND status = 'QUEUED'
        RETURNING id, number, template_name, job_type, spec, parameters, secret_parameters, attempt, max_attempts, cancel_requested_at
     )
     SELECT claimed.*, pg_notify('${CHANNELS.run}', claimed.id::text) FROM claimed`,
    [runId, workerId],
  )
  const r = rows[0]
  if (!r) return null
  return {
    id: r.id,
    number: r.number,
    templateName: r.template_name,
    jobType: r.job_type,
    spec: r.spec,
    parameters: r.parameters ?? {},
    secretParameters: r.secret_parameters,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    cancelRequestedAt: r.cancel_requested_at,
  }
}

export interface PendingTargetRow {
  id: string
  target_id: string | null
  name: string
  host: string
  port: number
  tags: string[] | null
  attributes: Record<string, unknown> | null
  host_key_fingerprint: string | null
  host_key_algorithm: string | null
  credential_kind: 'PASSWORD' | 'PRIVATE_KEY' | null
  credential_username: string | null
  credential_secret: Buffer | null
  credential_passphrase: Buffer | null
}

/** The run's targets still to do in this attempt, with the current target row and its credential. */
export async function loadPendingTargets(db: Queryable, runId: string): Promise<PendingTargetRow[]> {
  const { rows } = await db.query<PendingTargetRow>(
    `SELECT rt.id, rt.target_id, rt.name, COALESCE(t.host, rt.host) AS host, COALESCE(t.port, rt.port) AS port,
            t.tags, t.attributes, t.host_key_fingerprint, t.host_key_algorithm,
            c.kind AS credential_kind, c.username AS credential_username, c.secret AS credential_secret, c.passphrase AS credential_passphrase
       FROM run_target rt
       LEFT JOIN target t ON t.id = rt.target_id
       LEFT JOIN credential c ON c.id = t.credential_id
      WHERE rt.run_id = $1 AND rt.status IN ('PENDING', 'RUNNING')
      ORDER BY rt.position`,
    [runId],
  )
  return rows
}

export async function markTargetStarted(db: Queryable, runTargetId: string, attempt: number): Promise<void> {
  await db.query(`UPDATE run_target SET status = 'RUNNING', started_at = now(), finished_at = NULL, attempt = $2 WHERE id = $1`, [runTargetId, attempt])
}

export async function markTargetFinished(
  db: Queryable,
  runTargetId: string,
  r: { status: string; exitCode: number | null; error: string | null; retryable: boolean; outputTail: string; result: unknown },
): Promise<void> {
  await db.query(
    `UPDATE run_target SET status = $2::"TargetStatus", exit_code = $3, error = $4, retryable = $5, output_tail = $6, result = $7::jsonb,
            finished_at = now(), started_at = COALESCE(started_at, now())
      WHERE id = $1`,
    [runTargetId, r.status, r.exitCode, r.error, r.retryable, r.outputTail, r.result === undefined ? null : JSON.stringify(r.result)],
  )
}

/** Recomputes the run's progress counters from its targets (robust across retries and reaping). */
export async function refreshProgress(db: Queryable, runId: string): Promise<void> {
  await db.query(
    `UPDATE job_run r SET targets_done = s.done, targets_failed = s.failed, updated_at = now()
       FROM (SELECT count(*) FILTER (WHERE status NOT IN ('PENDING', 'RUNNING')) AS done,
                    count(*) FILTER (WHERE status IN ('FAILED', 'TIMED_OUT', 'CANCELLED')) AS failed
               FROM run_target WHERE run_id = $1) s
      WHERE r.id = $1`,
    [runId],
  )
}

export async function notifyRunChanged(db: Queryable, runId: string): Promise<void> {
  await db.query(`SELECT pg_notify('${CHANNELS.run}', $1)`, [runId])
}

export async function recordHostKey(db: Queryable, targetId: string, fingerprint: string, algorithm: string): Promise<void> {
  // Only the first key is trusted: a concurrent run cannot replace one that was recorded meanwhile.
  await db.query(`UPDATE target SET host_key_fingerprint = $2, host_key_algorithm = $3 WHERE id = $1 AND host_key_fingerprint IS NULL`, [targetId, fingerprint, algorithm])
}

export interface TargetTally {
  total: number
  succeeded: number
  retryableFailed: number
  failures: Array<{ name: string; status: string; error: string | null }>
}

export async function tallyTargets(db: Queryable, runId: string): Promise<TargetTally> {
  const { rows } = await db.query<{ name: string; status: string; error: string | null; retryable: boolean }>(
    'SELECT name, status, error, retryable FROM run_target WHERE run_id = $1 ORDER BY position',
    [runId],
  )
  const failed = rows.filter((r) => r.status !== 'SUCCEEDED' && r.status !== 'SKIPPED')
  return {
    total: rows.length,
    succeeded: rows.filter((r) => r.status === 'SUCCEEDED').length,
    retryableFailed: failed.filter((r) => r.retryable && r.status === 'FAILED').length,
    failures: failed.map((r) => ({ name: r.name, status: r.status, error: r.error })),
  }
}

/** Closes targets the executor left open (it crashed, or was aborted before reaching them). */
export async function closeOpenTargets(db: Queryable, runId: string, status: string, error: string): Promise<void> {
  await db.query(
    `UPDATE run_target SET status = $2::"TargetStatus", error = COALESCE(error, $3), finished_at = now()
      WHERE run_id = $1 AND status IN ('PENDING', 'RUNNING')`,
    [runId, status, error],
  )
}

/** Final state for the run, only if this worker still holds this attempt. Returns false otherwise. */
export async function finishRun(
  db: Queryable,
  fence: RunFence,
  r: { status: string; error: string | null; result: unknown },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE job_run SET status = $4::"RunStatus", error = $5, result = $6::jsonb, finished_at = now(), updated_at = now()
      WHERE id = $1 AND worker_id = $2 AND attempt = $3 AND status = 'RUNNING'`,
    [fence.runId, fence.workerId, fence.attempt, r.status, r.error, r.result === undefined ? null : JSON.stringify(r.result)],
  )
  return rowCount === 1
}

/**
 * Back to QUEUED for another attempt: retryable failed targets (and any left open) return to
 * PENDING; succeeded and permanently failed targets keep their results.
 */
export async function requeueRun(db: Queryable, fence: RunFence | { runId: string; workerId: null; attempt: number }, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE job_run SET status = 'QUEUED', worker_id = NULL, heartbeat_at = NULL, error = $4, updated_at = now()
      WHERE id = $1 AND ($2::uuid IS NULL OR worker_id = $2) AND attempt = $3 AND status = 'RUNNING'`,
    [fence.runId, fence.workerId, fence.attempt, error],
  )
  if (rowCount !== 1) return false
  await db.query(
    `UPDATE run_target SET status = 'PENDING', exit_code = NULL, error = NULL, retryable = false, finished_at = NULL
      WHERE run_id = $1 AND (status IN ('PENDING', 'RUNNING') OR (status = 'FAILED' AND retryable))`,
    [fence.runId],
  )
  return true
}
