/**
 * The notification events nothing writes as it happens, found by looking: a run still RUNNING past its
 * DURATION_EXCEEDED limit, and a queue whose oldest run has waited past a rule's QUEUE_BACKLOG threshold.
 * The SQL function notification_watch (migration 20261206040000) does the work and writes the outbox rows
 * in one statement; every worker and scheduler process calls it on each reaper pass, and a transaction-level
 * advisory lock inside makes concurrent calls skip rather than double-notify. (WORKER_DOWN needs no watch:
 * the reaper's update of the worker row fires it, see the same migration.)
 */
import type pg from 'pg'

/** One pass; returns the number of deliveries written (0 when another process holds the watch). */
export async function runNotificationWatch(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT notification_watch() AS n')
  return rows[0]?.n ?? 0
}
