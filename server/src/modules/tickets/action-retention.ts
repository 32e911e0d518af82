/**
 * The tickets' delivery log's retention: DONE and FAILED comment, close and reopen actions older than `days`
 * are deleted by the reaper's housekeeping, a batch per statement (a template failing every minute writes
 * a comment a minute). CREATE actions stay as long as their ticket (they say how it came to be, and a failed
 * one is why the ticket has no issue), and PENDING ones are never deleted. 0 keeps them forever.
 */
import type pg from 'pg'

export async function deleteExpiredTicketActions(pool: pg.Pool, days: number, { batch = 1000, maxBatches = 20 } = {}): Promise<number> {
  if (days <= 0) return 0
  let total = 0
  for (let i = 0; i < maxBatches; i++) {
    const { rowCount } = await pool.query(
      `DELETE FROM ticket_action WHERE id IN (
         SELECT id FROM ticket_action
          WHERE status <> 'PENDING' AND kind <> 'CREATE' AND created_at < now() - make_interval(days => $1)
          LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [days, batch],
    )
    total += rowCount ?? 0
    if ((rowCount ?? 0) < batch) break
  }
  return total
}
