/**
 * The webhook call log's retention: calls older than `days` (SWITCHYARD_AUDIT_RETENTION_DAYS — each call
 * is audited too, so both records go together) are deleted by the reaper's housekeeping, a batch per
 * statement. Their delivery ids go with them: a replay older than that is refused only by a signature's
 * timestamp window. 0 keeps the log forever.
 */
import type pg from 'pg'

export async function deleteExpiredWebhookCalls(pool: pg.Pool, days: number, { batch = 1000, maxBatches = 20 } = {}): Promise<number> {
  if (days <= 0) return 0
  let total = 0
  for (let i = 0; i < maxBatches; i++) {
    const { rowCount } = await pool.query(
      `DELETE FROM webhook_call WHERE id IN (
         SELECT id FROM webhook_call WHERE received_at < now() - make_interval(days => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [days, batch],
    )
    total += rowCount ?? 0
    if ((rowCount ?? 0) < batch) break
  }
  return total
}
