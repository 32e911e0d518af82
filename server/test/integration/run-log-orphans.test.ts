/**
 * run_log has no foreign key to job_run (migration 20261206110000: checking it cost half of Postgres's
 * CPU per logged line), so no line must outlive its run by any path that deletes runs or lines:
 * - retention batches (RunRetention) delete the runs' lines in the same transaction, wherever they
 *   are: the migration's legacy partition, a weekly partition, a partition maintenance swapped, DEFAULT;
 * - partition maintenance drops or swaps old partitions (lines go, runs stay for retention);
 * - a log writer racing retention: one holding the run's row makes retention skip the run this pass;
 *   one arriving while retention deletes the run waits for it and then writes nothing.
 * job_run rows are deleted nowhere else (templates, schedules, users and workflows are SET NULL).
 *
 * Each test has its own database, seeded by SQL with runs and lines weeks old.
 */
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LogWriter, appendLinesInTransaction } from '../../src/logs/log-writer.ts'
import { LogPartitions } from '../../src/modules/runs/log-partitions.ts'
import { RunRetention } from '../../src/modules/runs/run-retention.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { eventually } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

const DAY = 86_400_000
let db: TestDatabase
let pool: pg.Pool

beforeEach(async () => {
  db = await createTestDatabase('logorphans')
  pool = new pg.Pool({ connectionString: db.url, max: 6 })
  // The database is dropped WITH (FORCE) after each test: a connection it ends is no failure.
  pool.on('error', () => {})
})
afterEach(async () => {
  await pool?.end()
  await db?.drop()
})

interface Seed {
  name: string
  status?: string
  daysAgo: number
  pinned?: boolean
  /** Lines written this many days ago (default: at creation; negative: in the future). */
  linesDaysAgo?: number
  lines?: number
}

/** Runs of template "tpl" (no template row: grouped by name) with `lines` log lines each. */
async function seed(runs: Seed[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {}
  for (const r of runs) {
    const created = new Date(Date.now() - r.daysAgo * DAY)
    const lines = r.lines ?? 3
    const status = r.status ?? 'SUCCEEDED'
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO job_run (template_name, job_type, spec, trigger, status, created_at, started_at, finished_at, pinned, log_seq)
       VALUES ('tpl', 'noop', '{}', 'MANUAL', $1::"RunStatus", $2, $2, CASE WHEN $1 = 'RUNNING' THEN NULL ELSE $2::timestamptz + interval '2 seconds' END, $3, $4)
       RETURNING id`,
      [status, created, r.pinned ?? false, lines],
    )
    ids[r.name] = rows[0]!.id
    const at = new Date(Date.now() - (r.linesDaysAgo ?? r.daysAgo) * DAY)
    await pool.query(
      `INSERT INTO run_log (run_id, seq, ts, level, stream, target_id, text)
       SELECT $1, g, $2::timestamptz + g * interval '1 millisecond', 'INFO', 'STDOUT', NULL, $3 || ' line ' || g FROM generate_series(1, $4) g`,
      [ids[r.name], at, r.name, lines],
    )
  }
  return ids
}

async function orphans(): Promise<number> {
  return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM run_log l WHERE NOT EXISTS (SELECT 1 FROM job_run r WHERE r.id = l.run_id)`)).rows[0]!.n
}
async function lineCount(runIds: string[]): Promise<number> {
  return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM run_log WHERE run_id = ANY($1::uuid[])`, [runIds])).rows[0]!.n
}
async function runsLeft(runIds: string[]): Promise<number> {
  return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_run WHERE id = ANY($1::uuid[])`, [runIds])).rows[0]!.n
}
async function partOf(runId: string): Promise<string> {
  return (await pool.query<{ part: string }>(`SELECT DISTINCT tableoid::regclass::text AS part FROM run_log WHERE run_id = $1`, [runId])).rows[0]!.part
}
/** Foreign keys from run_log or any of its partitions to job_run (the parent's and each partition's). */
async function runLogForeignKeys(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_constraint
      WHERE contype = 'f' AND confrelid = 'job_run'::regclass
        AND (conrelid = 'run_log'::regclass OR conrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'run_log'::regclass))`,
  )
  return rows[0]!.n
}

describe('run_log without a foreign key', () => {
  it('retention deletes the lines of the runs it deletes from the legacy partition, DEFAULT and a current week, in batches', async () => {
    expect(await runLogForeignKeys()).toBe(0)
    // The migration's legacy partition covers the past up to about two weeks ahead; DEFAULT the rest.
    const ids = await seed([
      { name: 'old1', daysAgo: 120 },
      { name: 'old2', daysAgo: 110 },
      { name: 'old3', daysAgo: 100 },
      // Lines far from their run's creation: only a delete by run id finds them.
      { name: 'lateLines', daysAgo: 100, linesDaysAgo: 0 },
      { name: 'futureLines', daysAgo: 100, linesDaysAgo: -400 },
      { name: 'pinned', daysAgo: 120, pinned: true },
      { name: 'failed', daysAgo: 120, status: 'FAILED' },
      { name: 'running', daysAgo: 120, status: 'RUNNING' },
      { name: 'fresh', daysAgo: 0 },
    ])
    expect(await partOf(ids.old1!)).toBe('run_log_legacy')
    expect(await partOf(ids.futureLines!)).toBe('run_log_default')
    const doomed = ['old1', 'old2', 'old3', 'lateLines', 'futureLines'].map((n) => ids[n]!)
    const kept = ['pinned', 'failed', 'running', 'fresh'].map((n) => ids[n]!)

    const retention = new RunRetention(pool, { days: 90, failedDays: 180, keepLast: 1 }, { batch: 2 })
    expect(await retention.deleteExpired()).toBe(5)
    expect(await runsLeft(doomed)).toBe(0)
    expect(await lineCount(doomed)).toBe(0)
    expect(await orphans()).toBe(0)
    expect(await lineCount(kept)).toBe(12)
  })

  it('partition maintenance (drop, swap) and then retention leave no line of a deleted run, in partitions maintenance created and swapped', async () => {
    await pool.query(`ALTER TABLE run_log DETACH PARTITION run_log_legacy`)
    await pool.query(`DROP TABLE run_log_legacy`)
    const gridOnly = new LogPartitions(pool, new RunRetention(pool, { days: 0, failedDays: 0, keepLast: 0 }))
    await gridOnly.maintain(new Date(Date.now() - 200 * DAY))
    await gridOnly.maintain()
    const ids = await seed([
      // ~150 days ago: expired runs beside a pinned one (the partition is swapped).
      { name: 'old1', daysAgo: 150 },
      { name: 'pinned', daysAgo: 150, pinned: true, lines: 5 },
      // ~120 days ago: expired only (dropped whole).
      { name: 'old2', daysAgo: 120 },
      // Expired runs whose lines sit in partitions no maintenance drops: the current week and DEFAULT.
      { name: 'lateLines', daysAgo: 120, linesDaysAgo: 0 },
      { name: 'futureLines', daysAgo: 120, linesDaysAgo: -400 },
      { name: 'fresh', daysAgo: 0 },
    ])
    const [p150, p120] = [await partOf(ids.old1!), await partOf(ids.old2!)]
    const retention = new RunRetention(pool, { days: 90, failedDays: 180, keepLast: 1 })
    const r = await new LogPartitions(pool, retention).maintain()
    expect(r.swapped).toEqual([p150])
    expect(r.dropped).toContain(p120)
    // The partitions maintenance made and swapped in have no foreign key either.
    expect(await partOf(ids.pinned!)).toMatch(/_kept_/)
    expect(await runLogForeignKeys()).toBe(0)
    // Maintenance frees lines, never runs: nothing is orphaned, the expired runs' old lines are gone.
    expect(await orphans()).toBe(0)
    expect(await lineCount([ids.old1!, ids.old2!])).toBe(0)
    expect(await lineCount([ids.lateLines!, ids.futureLines!])).toBe(6)

    expect(await retention.deleteExpired()).toBe(4)
    expect(await runsLeft([ids.old1!, ids.old2!, ids.lateLines!, ids.futureLines!])).toBe(0)
    expect(await orphans()).toBe(0)
    expect(await lineCount([ids.pinned!])).toBe(5)
    expect(await lineCount([ids.fresh!])).toBe(3)
  })

  it('a writer holding the run makes retention skip it; its lines go with the run on the next pass', async () => {
    const ids = await seed([{ name: 'old', daysAgo: 100 }, { name: 'fresh', daysAgo: 0 }])
    const retention = new RunRetention(pool, { days: 90, failedDays: 180, keepLast: 1 })
    const writer = await pool.connect()
    try {
      await writer.query('BEGIN')
      // The writer's own statement: reserves on the run's row (locking it), then inserts.
      await appendLinesInTransaction(writer, ids.old!, [{ targetId: null, level: 'INFO', stream: 'STDOUT', text: 'late line' }])
      expect(await retention.deleteExpired()).toBe(0)
      await writer.query('COMMIT')
    } finally {
      writer.release()
    }
    expect(await lineCount([ids.old!])).toBe(4)
    expect(await retention.deleteExpired()).toBe(1)
    expect(await runsLeft([ids.old!])).toBe(0)
    expect(await orphans()).toBe(0)
  })

  it('a writer arriving while retention deletes the run waits for it and then writes nothing', async () => {
    const ids = await seed([{ name: 'old', daysAgo: 100 }, { name: 'fresh', daysAgo: 0 }])
    const retention = new RunRetention(pool, { days: 90, failedDays: 180, keepLast: 1 })
    // Holds retention between its two statements: it has deleted the run (and holds its row) and waits
    // here to delete the lines, a lock on run_log that conflicts with DELETE but not with reading.
    const holder = await pool.connect()
    const writerPool = new pg.Pool({ connectionString: db.url, max: 1, application_name: 'orphan-writer' })
    writerPool.on('error', () => {})
    const writer = new LogWriter(writerPool, silentLogger, { flushIntervalMs: 1 })
    try {
      await holder.query('BEGIN')
      await holder.query('LOCK TABLE run_log IN SHARE MODE')
      const pass = retention.deleteExpired()
      await eventually(
        async () => (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM run_log%'`)).rows.length > 0,
        { what: 'retention to wait to delete the lines' },
      )
      writer.append({ runId: ids.old!, targetId: null, level: 'INFO', stream: 'STDOUT', text: 'too late' })
      const flushed = writer.flush()
      // The writer waits for the run's row, which retention deleted and holds.
      await eventually(
        async () => (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'orphan-writer' AND wait_event_type = 'Lock'`)).rows.length > 0,
        { what: 'the writer to wait for the run row' },
      )
      await holder.query('COMMIT')
      expect(await pass).toBe(1)
      await flushed
    } finally {
      holder.release()
      await writer.close()
      await writerPool.end()
    }
    expect(await runsLeft([ids.old!])).toBe(0)
    expect(await orphans()).toBe(0)
    expect(await lineCount([ids.fresh!])).toBe(3)
  })
})
