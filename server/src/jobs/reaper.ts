/**
 * Finds runs whose worker died (no heartbeat for `deadAfterSeconds`, or a silent worker row in this
 * host's PID namespace whose process no longer exists), marks those workers stopped, and settles the runs: another attempt if the retry policy allows,
 * otherwise FAILED with the reason. Also re-sends the message of QUEUED runs that no message can start
 * any more, so a run is never left QUEUED forever either. Safe to run in every process at once: rows are taken with
 * FOR UPDATE SKIP LOCKED and every write is fenced on (worker_id, attempt).
 * Each pass also applies retention: expired artifacts, and whatever `housekeeping` the composition root
 * hands in (the audit trail's retention lives in modules/audit, which jobs/ must not import).
 */
import os from 'node:os'
import type pg from 'pg'
import { appendLinesInTransaction } from '../logs/log-writer.ts'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'
import { isTransient } from '../db/transient.ts'
import { pidNamespace } from './worker-presence.ts'
import { inTransaction, type RunQueue } from './run-queue.ts'
import { retryDelaySeconds, type RunSpec } from './run-spec.ts'
import { closeOpenTargets, deleteExpiredArtifacts, notifyRunChanged, refreshProgress, releaseStrandedRuns, requeueRun } from './run-store.ts'

/** Told of each run the reaper made final (FAILED), after its transaction committed (metrics). */
export type RunFailedObserver = (jobType: string, durationSeconds: number) => void

export class Reaper {
  #timer: NodeJS.Timeout | null = null
  #running: Promise<unknown> = Promise.resolve()
  /** A pass failed on the connection: this reaper could not see the database (nor could the workers). */
  #sawOutage = false
  /**
   * Until then heartbeats are not judged: after an outage every worker's heartbeat is stale because
   * Postgres was unreachable, not because the workers died; each gets `deadAfterSeconds` to beat again.
   */
  #blindUntil = 0

  constructor(
    private readonly pool: pg.Pool,
    private readonly queue: RunQueue,
    private readonly logger: Logger,
    private readonly deadAfterSeconds: number,
    private readonly intervalMs: number,
    private readonly housekeeping: ReadonlyArray<{ name: string; run: () => Promise<unknown> }> = [],
    private readonly onRunFailed: RunFailedObserver = () => {},
  ) {}

  /** Reconciles immediately (runs left RUNNING by a crashed process), then periodically. */
  async start(): Promise<void> {
    await this.reapOnce()
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.reapOnce())
    }, this.intervalMs)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    await this.#running
  }

  /** Returns the ids of the runs it settled. */
  async reapOnce(): Promise<string[]> {
    try {
      const deadLocal = await this.#deadLocalWorkers()
      if (this.#sawOutage) {
        this.#sawOutage = false
        this.#blindUntil = Date.now() + this.deadAfterSeconds * 1000
        this.logger.info('database reachable again; judging heartbeats after the dead-after period', { seconds: this.deadAfterSeconds })
      }
      const judgeHeartbeats = Date.now() >= this.#blindUntil
      const client = await this.pool.connect()
      const reaped: Array<{ runId: string; message: string }> = []
      const failed: Array<{ jobType: string; seconds: number }> = []
      const resent: string[] = []
      try {
        await client.query('BEGIN')
        // Liveness is the worker's heartbeat (its own row, never contended), not the run row's.
        const { rows } = await client.query<{
          id: string
          worker_id: string | null
          attempt: number
          max_attempts: number
          spec: RunSpec
          heartbeat_at: Date | null
          concurrency_key: string | null
          job_type: string
          running_seconds: number
        }>(
          `SELECT r.id, r.worker_id, r.attempt, r.max_attempts, r.spec, COALESCE(w.heartbeat_at, r.heartbeat_at) AS heartbeat_at, r.concurrency_key,
                  r.job_type, EXTRACT(EPOCH FROM now() - COALESCE(r.started_at, r.created_at))::float8 AS running_seconds
             FROM job_run r LEFT JOIN worker w ON w.id = r.worker_id
            WHERE r.status = 'RUNNING'
              AND (w.id IS NULL OR w.stopped_at IS NOT NULL OR ($3 AND w.heartbeat_at < now() - make_interval(secs => $1)) OR r.worker_id = ANY($2::uuid[]))
            ORDER BY r.number LIMIT 500
            FOR UPDATE OF r SKIP LOCKED`,
          [this.deadAfterSeconds, deadLocal, judgeHeartbeats],
        )
        // Dead workers' rows say so (a killed process never wrote its stop); a worker that comes back
        // clears the mark with its next beat.
        await client.query(
          `UPDATE worker SET stopped_at = now()
            WHERE stopped_at IS NULL AND (($3 AND heartbeat_at < now() - make_interval(secs => $1)) OR id = ANY($2::uuid[]))`,
          [this.deadAfterSeconds, deadLocal, judgeHeartbeats],
        )
        for (const r of rows) {
          const why = `worker lost (no heartbeat since ${r.heartbeat_at?.toISOString() ?? 'the run started'})`
          const fence = { runId: r.id, workerId: r.worker_id, attempt: r.attempt }
          if (r.attempt < r.max_attempts && (await requeueRun(client, fence as { runId: string; workerId: null; attempt: number }, why))) {
            const delay = retryDelaySeconds(r.spec, r.attempt + 1)
            await this.queue.enqueue(r.id, { db: inTransaction(client), startAfter: new Date(Date.now() + delay * 1000), timeoutSeconds: r.spec.timeoutSeconds })
            reaped.push({ runId: r.id, message: `${why}; retrying (attempt ${r.attempt + 1} of ${r.max_attempts})` })
          } else {
            await closeOpenTargets(client, r.id, 'FAILED', why)
            await client.query(`UPDATE job_run SET status = 'FAILED', error = $2, finished_at = now(), updated_at = now() WHERE id = $1`, [r.id, why])
            reaped.push({ runId: r.id, message: `run failed: ${why}` })
            failed.push({ jobType: r.job_type, seconds: r.running_seconds })
          }
          await refreshProgress(client, r.id)
          await this.queue.handOffSlot(client, r.concurrency_key)
          await appendLinesInTransaction(client, r.id, [{ targetId: null, stream: 'SYSTEM', level: 'ERROR', text: reaped.at(-1)!.message }])
          await notifyRunChanged(client, r.id)
        }
        // Waiting runs whose slot freed up without a hand-off (see hasWaitingRuns) start now.
        for (const id of await releaseStrandedRuns(client)) {
          await this.queue.enqueue(id, { db: inTransaction(client) })
        }
        // QUEUED runs no message can start any more (see lockOrphanedRuns): sent again, so none waits forever.
        for (const r of await this.queue.lockOrphanedRuns(client, this.deadAfterSeconds)) {
          await this.queue.enqueue(r.id, { db: inTransaction(client), timeoutSeconds: r.timeoutSeconds })
          await client.query(`UPDATE job_run SET updated_at = now() WHERE id = $1`, [r.id])
          const message = 'queued run had no delivery left (its message failed or its fetcher died before claiming it): sent again'
          await appendLinesInTransaction(client, r.id, [{ targetId: null, stream: 'SYSTEM', level: 'WARNING', text: message }])
          resent.push(r.id)
        }
        await client.query('COMMIT')
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {})
        throw e
      } finally {
        client.release()
      }
      for (const f of failed) this.onRunFailed(f.jobType, f.seconds)
      for (const r of reaped) this.logger.warn('reaped run', { runId: r.runId, message: r.message })
      for (const runId of resent) this.logger.warn('re-sent a queued run that had no message left', { runId })
      const tasks = [{ name: 'artifact retention', run: () => deleteExpiredArtifacts(this.pool) }, ...this.housekeeping]
      for (const task of tasks) {
        // Retention failing must not hide that runs were settled (the return value), nor stop the others.
        await task.run().catch((e) => this.logger.error('reaper housekeeping failed', { task: task.name, error: coerceError(e).message }))
      }
      return reaped.map((r) => r.runId)
    } catch (e) {
      if (isTransient(e)) this.#sawOutage = true
      this.logger.error('reaper pass failed', { error: coerceError(e).message })
      return []
    }
  }

  /**
   * Worker rows of this host whose process is gone: their runs need not wait for the timeout. A PID is
   * only evidence inside the PID namespace (and boot) it was recorded in — another container sharing
   * the hostname has PIDs of its own —, and a worker still beating is never taken for dead, whatever
   * its PID says.
   */
  async #deadLocalWorkers(): Promise<string[]> {
    const ns = pidNamespace()
    if (!ns) return []
    const { rows } = await this.pool.query<{ id: string; pid: number }>(
      `SELECT id, pid FROM worker
        WHERE hostname = $1 AND pid_namespace = $2 AND stopped_at IS NULL AND pid <> $3
          AND heartbeat_at < now() - make_interval(secs => $4)`,
      [os.hostname(), ns, process.pid, (2 * this.intervalMs) / 1000],
    )
    return rows.filter((r) => !processExists(r.pid)).map((r) => r.id)
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
