/**
 * Run retention: deletes final runs past their age (their targets, logs and artifacts go with them by
 * ON DELETE CASCADE), a small batch per statement so no worker or API request waits on it.
 *
 * What is never deleted:
 * - a run that is not final (QUEUED, RUNNING);
 * - a pinned run;
 * - the last `keepLast` final runs of each template (runs whose template was deleted are grouped by the
 *   template name they recorded);
 * - a run a workflow run still in progress references: its node row's `job_run_id` would be set to
 *   NULL by the foreign key (ON DELETE SET NULL), and the workflow sweep that catches up a node left
 *   RUNNING behind a final run finds that node through it.
 * Age is counted from the run's creation: failed runs (FAILED, TIMED_OUT) after `failedDays`, every
 * other final run after `days`; 0 keeps that kind forever.
 *
 * Every process with a reaper calls `runIfDue`; a transaction-level advisory lock tried per batch lets
 * one process at a time do the work (the others skip the pass), and `FOR UPDATE SKIP LOCKED` steps
 * over any run another transaction holds. A crash mid-pass loses nothing: each batch commits alone.
 */
import type pg from 'pg'
import { FINAL_RUN_STATUSES } from '../../jobs/run-spec.ts'

export interface RunRetentionPolicy {
  /** Final runs other than failed ones are deleted this many days after they were created; 0: never. */
  days: number
  /** FAILED and TIMED_OUT runs; 0: never. */
  failedDays: number
  /** The newest final runs of each template kept whatever their age. */
  keepLast: number
}

const FAILED = ['FAILED', 'TIMED_OUT']
const LOCK_KEY = 'switchyard-run-retention'

export class RunRetention {
  #lastPassAt = 0

  constructor(
    private readonly pool: pg.Pool,
    private readonly policy: RunRetentionPolicy,
    private readonly options: { batch?: number; maxBatches?: number; minIntervalMs?: number } = {},
  ) {}

  /** A pass unless this process made one less than `minIntervalMs` (a minute) ago; the reaper calls it every few seconds. */
  async runIfDue(): Promise<number> {
    const now = Date.now()
    if (now - this.#lastPassAt < (this.options.minIntervalMs ?? 60_000)) return 0
    this.#lastPassAt = now
    return this.deleteExpired()
  }

  /**
   * Deletes up to `maxBatches` batches of `batch` runs, each in its own short transaction; what is left
   * waits for the next pass. Returns how many runs it deleted (0 when another process holds the lock).
   */
  async deleteExpired(): Promise<number> {
    const ages = [this.policy.days, this.policy.failedDays].filter((d) => d > 0)
    if (!ages.length) return 0
    const batch = this.options.batch ?? 500
    const maxBatches = this.options.maxBatches ?? 20
    let total = 0
    for (let i = 0; i < maxBatches; i++) {
      const deleted = await this.#deleteBatch(Math.min(...ages), batch)
      if (deleted === null) break
      total += deleted
      if (deleted < batch) break
    }
    return total
  }

  /** One batch in one transaction; null when another process is applying retention. */
  async #deleteBatch(youngestDays: number, batch: number): Promise<number | null> {
    const { days, failedDays, keepLast } = this.policy
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [LOCK_KEY])
      if (!rows[0]!.locked) {
        await client.query('ROLLBACK')
        return null
      }
      // The first created_at bound (the younger of both ages) lets the created_at index narrow the scan.
      // Keep-last: a run goes only when `keepLast` newer final runs of its template exist, so the newest
      // `keepLast` are never candidates, whatever else is deleted with them.
      const { rowCount } = await client.query(
        `WITH doomed AS (
           SELECT r.id FROM job_run r
            WHERE r.created_at < now() - make_interval(days => $1)
              AND r.status::text = ANY($2::text[])
              AND NOT r.pinned
              AND CASE WHEN r.status::text = ANY($3::text[])
                       THEN $5::int > 0 AND r.created_at < now() - make_interval(days => $5)
                       ELSE $4::int > 0 AND r.created_at < now() - make_interval(days => $4) END
              AND (SELECT count(*) FROM (
                     SELECT 1 FROM job_run n
                      WHERE (n.template_id = r.template_id OR (r.template_id IS NULL AND n.template_id IS NULL AND n.template_name = r.template_name))
                        AND n.status::text = ANY($2::text[])
                        AND (n.created_at, n.number) > (r.created_at, r.number)
                      LIMIT $6) newer) >= $6
              AND NOT EXISTS (
                     SELECT 1 FROM workflow_node_run wn JOIN workflow_run w ON w.id = wn.workflow_run_id
                      WHERE wn.job_run_id = r.id AND (w.status = 'RUNNING' OR wn.status = 'RUNNING'))
            ORDER BY r.created_at
            LIMIT $7
            FOR UPDATE OF r SKIP LOCKED)
         DELETE FROM job_run WHERE id IN (SELECT id FROM doomed)`,
        [youngestDays, FINAL_RUN_STATUSES, FAILED, days, failedDays, keepLast, batch],
      )
      await client.query('COMMIT')
      return rowCount ?? 0
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      client.release()
    }
  }
}
