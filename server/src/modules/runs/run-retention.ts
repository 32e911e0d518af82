/**
 * Run retention: deletes final runs past their age (their targets and artifacts go with them by ON
 * DELETE CASCADE; their log lines are deleted explicitly, see below), a small batch per transaction so
 * no worker or API request waits on it. Most log lines are gone before that: log-partitions.ts drops
 * their week's partition first (it asks keptAmong which runs' lines to keep), so the delete finds little
 * left to delete row by row.
 *
 * run_log has no foreign key to job_run (checking it cost half of Postgres's CPU per logged line), so
 * this is the one place that keeps "no line without its run": the batch's lines are deleted by a second
 * statement of the batch's transaction, after the runs. A second statement, not one more step of the
 * first: it sees lines committed after the first statement's snapshot, and a log writer cannot add any
 * later, because it inserts only after updating the run's row, which the first statement deleted (the
 * writer waits for our commit and then updates nothing; see log-writer.ts).
 *
 * The statement that deletes a batch also adds the runs to their hour's statistics roll-up
 * (run_stats_hourly), so the dashboard's history survives and a crash can neither lose nor double a run.
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

/** A run's duration as the statistics count it (run-stats.service.ts uses the same expression). */
export const RUN_DURATION_MS = `CASE WHEN status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT') AND started_at IS NOT NULL AND finished_at IS NOT NULL
              THEN (extract(epoch FROM finished_at - started_at) * 1000)::float8 END`

/**
 * Whether run `r` is past retention ($1 the younger of both ages in days, $2 final statuses, $3 failed
 * statuses, $4 days, $5 failed days, $6 keep-last). The first created_at bound (the younger of both
 * ages) lets the created_at index narrow the scan. Keep-last: a run goes only when `keepLast` newer
 * final runs of its template exist, so the newest `keepLast` are never candidates, whatever else is
 * deleted with them. Log partition maintenance asks the same question (keptAmong).
 */
const EXPIRED = `r.created_at < now() - make_interval(days => $1)
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
                      WHERE wn.job_run_id = r.id AND (w.status = 'RUNNING' OR wn.status = 'RUNNING'))`

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
    const youngest = this.youngestDays()
    if (youngest === null) return 0
    const batch = this.options.batch ?? 500
    const maxBatches = this.options.maxBatches ?? 20
    let total = 0
    for (let i = 0; i < maxBatches; i++) {
      const deleted = await this.#deleteBatch(youngest, batch)
      if (deleted === null) break
      total += deleted
      if (deleted < batch) break
    }
    return total
  }

  /** The younger of both ages in days; null when retention is off (both 0). */
  youngestDays(): number | null {
    const ages = [this.policy.days, this.policy.failedDays].filter((d) => d > 0)
    return ages.length ? Math.min(...ages) : null
  }

  /**
   * Of these run ids, those of runs that exist and are not past retention (pinned, among the last N of
   * their template, failed and still within their longer period, not final, or younger): log
   * partition maintenance keeps their lines when it drops a partition. All of them when retention is off.
   */
  async keptAmong(db: Pick<pg.Pool, 'query'>, runIds: string[]): Promise<string[]> {
    if (!runIds.length) return []
    const youngest = this.youngestDays()
    const { days, failedDays, keepLast } = this.policy
    const { rows } = await db.query<{ id: string }>(
      youngest === null
        ? `SELECT r.id FROM job_run r WHERE r.id = ANY($1::uuid[])`
        : `SELECT r.id FROM job_run r WHERE r.id = ANY($7::uuid[]) AND NOT (${EXPIRED})`,
      youngest === null ? [runIds] : [youngest, FINAL_RUN_STATUSES, FAILED, days, failedDays, keepLast, runIds],
    )
    return rows.map((r) => r.id)
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
      // The statistics of the deleted runs are added to their hour's roll-up in the same statement, so
      // a crash leaves either both or neither: a run is never counted twice nor lost from the history.
      const { rows: done } = await client.query<{ ids: string[] }>(
        `WITH doomed AS (
           SELECT r.id FROM job_run r
            WHERE ${EXPIRED}
            ORDER BY r.created_at
            LIMIT $7
            FOR UPDATE OF r SKIP LOCKED),
         gone AS (
           DELETE FROM job_run WHERE id IN (SELECT id FROM doomed)
           RETURNING id, created_at, template_id, template_name, schedule_id, trigger, status, visibility, owner_id,
                     ${RUN_DURATION_MS} AS duration_ms),
         rolled AS (
           INSERT INTO run_stats_hourly AS h (hour, template_id, template_name, schedule_id, trigger, status, visibility, owner_id,
                                             runs, timed_runs, duration_ms_sum, duration_ms_max, duration_hist)
           SELECT date_bin('1 hour', created_at, '2000-01-03 00:00:00+00'), template_id, template_name, schedule_id, trigger, status, visibility, owner_id,
                  count(*), count(duration_ms), coalesce(sum(duration_ms), 0), max(duration_ms), run_duration_hist(duration_ms)
             FROM gone GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
           ON CONFLICT (hour, template_id, template_name, schedule_id, trigger, status, visibility, owner_id)
           DO UPDATE SET runs = h.runs + excluded.runs, timed_runs = h.timed_runs + excluded.timed_runs,
                         duration_ms_sum = h.duration_ms_sum + excluded.duration_ms_sum,
                         duration_ms_max = greatest(h.duration_ms_max, excluded.duration_ms_max),
                         duration_hist = run_duration_hist_merge(h.duration_hist, excluded.duration_hist))
         SELECT coalesce(array_agg(id), '{}')::text[] AS ids FROM gone`,
        [youngestDays, FINAL_RUN_STATUSES, FAILED, days, failedDays, keepLast, batch],
      )
      const ids = done[0]!.ids
      if (ids.length) await deleteRunLogs(client, ids)
      await client.query('COMMIT')
      return ids.length
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      client.release()
    }
  }
}

/**
 * Deletes these runs' log lines; call it in the transaction that deleted the runs, after deleting them
 * (run_log has no foreign key, so nothing else does). One probe of each partition's (run_id, seq) key
 * per run: the lines' times are not known, so no partition can be skipped, but most are small or gone.
 */
export async function deleteRunLogs(db: Pick<pg.PoolClient, 'query'>, runIds: string[]): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM run_log WHERE run_id = ANY($1::uuid[])`, [runIds])
  return rowCount ?? 0
}
