/**
 * The delivery log's retention: DELIVERED and FAILED outbox rows older than `days` are deleted by the
 * reaper's housekeeping, a batch per statement. PENDING rows are never deleted (they still have to go
 * out, or give up and become FAILED first). 0 keeps the log forever.
 */
import type pg from 'pg'

export async function deleteExpiredDeliveries(pool: pg.Pool, days: number, { batch = 1000, maxBatches = 20 } = {}): Promise<number> {
  if (days <= 0) return 0
  let total = 0
  for (let i = 0; i < maxBatches; i++) {
    const { rowCount } = await pool.query(
      `DELETE FROM notification_delivery WHERE id IN (
         SELECT id FROM notification_delivery
          WHERE status <> 'PENDING' AND created_at < now() - make_interval(days => $1)
          LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [days, batch],
    )
    total += rowCount ?? 0
    if ((rowCount ?? 0) < batch) break
  }
  return total
}
