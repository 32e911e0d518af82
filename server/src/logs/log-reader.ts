/** Reads stored log lines by cursor (the line's sequence number), optionally filtered. */
import type pg from 'pg'
import type { LogLevel } from '../jobs/executors/types.ts'
import type { LogStreamName } from './log-writer.ts'

export interface StoredLogLine {
  runId: string
  seq: number
  ts: Date
  level: LogLevel
  stream: LogStreamName
  targetId: string | null
  text: string
}

export interface LogQuery {
  runId: string
  /** Lines with seq > afterSeq. */
  afterSeq: number
  limit: number
  /** Only lines at or above this level. */
  minLevel?: LogLevel | null
  /** Only lines of this run target (run_target.id). */
  targetId?: string | null
  /** Only lines with seq <= untilSeq (a notification's bound, so a read never runs ahead of it). */
  untilSeq?: number | null
}

export const LEVELS: readonly LogLevel[] = ['DEBUG', 'INFO', 'WARNING', 'ERROR']

export async function readLogLines(db: Pick<pg.Pool, 'query'>, q: LogQuery): Promise<StoredLogLine[]> {
  const levels = q.minLevel ? LEVELS.slice(LEVELS.indexOf(q.minLevel)) : null
  const { rows } = await db.query<{ run_id: string; seq: number; ts: Date; level: LogLevel; stream: LogStreamName; target_id: string | null; text: string }>(
    `SELECT run_id, seq, ts, level, stream, target_id, text FROM run_log
      WHERE run_id = $1 AND seq > $2
        AND ($3::int8 IS NULL OR seq <= $3)
        AND ($4::text[] IS NULL OR level::text = ANY($4))
        AND ($5::uuid IS NULL OR target_id = $5)
      ORDER BY seq LIMIT $6`,
    [q.runId, q.afterSeq, q.untilSeq ?? null, levels, q.targetId ?? null, q.limit],
  )
  return rows.map((r) => ({ runId: r.run_id, seq: Number(r.seq), ts: r.ts, level: r.level, stream: r.stream, targetId: r.target_id, text: r.text }))
}
