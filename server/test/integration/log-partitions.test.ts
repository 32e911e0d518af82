/**
 * run_log time partitions on real Postgres: maintenance creates weekly partitions ahead; an old
 * partition whose runs are all past retention is dropped, one holding lines of kept runs (pinned,
 * failed within its longer age, still running) is swapped for a copy of just those lines, one whose
 * runs are all kept is left alone; readers and the writer go on working through it; one process at a
 * time; leftovers of a crash are swept; a reader holding run_log makes the swap give up, not wait.
 *
 * Each test has its own database, seeded by SQL with runs and lines weeks old (the API cannot create
 * the past); the old table the migration attached as the past is dropped first, so the weekly grid
 * reaches back.
 */
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendLinesInTransaction } from '../../src/logs/log-writer.ts'
import { readLogLines } from '../../src/logs/log-reader.ts'
import { LogPartitions, listPartitions } from '../../src/modules/runs/log-partitions.ts'
import { RunRetention } from '../../src/modules/runs/run-retention.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

const DAY = 86_400_000
let db: TestDatabase
let pool: pg.Pool

beforeEach(async () => {
  db = await createTestDatabase('logparts')
  pool = new pg.Pool({ connectionString: db.url, max: 4 })
  // The database is dropped WITH (FORCE) after each test: a connection it ends is no failure.
  pool.on('error', () => {})
  await pool.query(`ALTER TABLE run_log DETACH PARTITION run_log_legacy`)
  await pool.query(`DROP TABLE run_log_legacy`)
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
  /** Lines written this many days ago (default: at creation). */
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

async function where(runId: string): Promise<string[]> {
  const { rows } = await pool.query<{ part: string }>(`SELECT DISTINCT tableoid::regclass::text AS part FROM run_log WHERE run_id = $1 ORDER BY 1`, [runId])
  return rows.map((r) => r.part)
}
async function lineCount(runIds: string[]): Promise<number> {
  return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM run_log WHERE run_id = ANY($1::uuid[])`, [runIds])).rows[0]!.n
}
async function partitions() {
  const c = await pool.connect()
  try {
    await c.query(`SET TimeZone = 'UTC'`)
    return await listPartitions(c)
  } finally {
    await c.query('RESET TimeZone')
    c.release()
  }
}

describe('log partitions', () => {
  it('creates weeks ahead, drops an old partition of expired runs, swaps one holding kept runs for a copy of their lines, leaves one of kept runs alone; readers and the writer keep working', async () => {
    const retention = new RunRetention(pool, { days: 90, failedDays: 180, keepLast: 1 })
    const parts = new LogPartitions(pool, retention)
    // The grid from 200 days ago, then (the catch-up a stopped maintenance does) up to 3 weeks ahead;
    // retention off meanwhile, so the empty old weeks stay for the seed below.
    const gridOnly = new LogPartitions(pool, new RunRetention(pool, { days: 0, failedDays: 0, keepLast: 0 }))
    const past = await gridOnly.maintain(new Date(Date.now() - 200 * DAY))
    expect(past.created.length).toBe(4)
    const ahead = await gridOnly.maintain()
    const grid = await partitions()
    expect(ahead.created.length).toBe(grid.length - 4)
    for (let i = 1; i < grid.length; i++) expect(grid[i]!.from!.getTime()).toBe(grid[i - 1]!.to.getTime())
    expect(grid.at(-1)!.to.getTime()).toBeGreaterThanOrEqual(Date.now() + 21 * DAY)
    expect(grid.every((p) => p.to.getTime() - p.from!.getTime() === 7 * DAY && p.from!.getUTCDay() === 1)).toBe(true)
    expect(ahead.dropped).toEqual([])

    const ids = await seed([
      // Week of ~150 days ago: two expired runs, a pinned one, a failure within its 180 days, a run still going.
      { name: 'old1', daysAgo: 150 },
      { name: 'old2', daysAgo: 150 },
      { name: 'pinned', daysAgo: 150, pinned: true, lines: 5 },
      { name: 'failed', daysAgo: 150, status: 'FAILED' },
      { name: 'running', daysAgo: 150, status: 'RUNNING' },
      // ~120 days ago: only expired runs.
      { name: 'old3', daysAgo: 120 },
      // ~100 days ago: only a pinned run.
      { name: 'pinned2', daysAgo: 100, pinned: true },
      // The newest run of the template (kept by keep-last 1).
      { name: 'fresh', daysAgo: 0 },
    ])
    const partOf = async (n: string) => (await where(ids[n]!))[0]!
    const p150 = await partOf('old1')
    const p120 = await partOf('old3')
    const p100 = await partOf('pinned2')
    expect(new Set([p150, p120, p100]).size).toBe(3)
    expect(await partOf('pinned')).toBe(p150)

    const r = await parts.maintain()
    expect(r.locked).toBe(true)
    expect(r.dropped).toContain(p120)
    expect(r.swapped).toEqual([p150])
    expect(r.dropped).not.toContain(p100)
    const names = (await partitions()).map((p) => p.name)
    expect(names).not.toContain(p150)
    expect(names).not.toContain(p120)
    expect(names).toContain(p100)
    // The expired runs' lines went with their partitions (their runs are retention's to delete).
    expect(await lineCount([ids.old1!, ids.old2!, ids.old3!])).toBe(0)
    // The kept runs' lines are all there, in a partition for the same week, read as before.
    const copy = await partOf('pinned')
    expect(copy).toMatch(/_kept_/)
    for (const n of ['failed', 'running']) expect(await where(ids[n]!)).toEqual([copy])
    expect((await partitions()).find((p) => p.name === copy)!.from!.getTime()).toBe(grid.find((p) => p.name === p150)!.from!.getTime())
    const pinnedLines = await readLogLines(pool, { runId: ids.pinned!, afterSeq: 0, limit: 100 })
    expect(pinnedLines.map((l) => [l.seq, l.text])).toEqual([1, 2, 3, 4, 5].map((s) => [s, `pinned line ${s}`]))
    expect((await readLogLines(pool, { runId: ids.pinned!, afterSeq: 3, limit: 100 })).map((l) => l.seq)).toEqual([4, 5])

    // The writer goes on: the running run's next lines land in this week's partition, after its old ones.
    await appendLinesInTransaction(pool, ids.running!, [{ targetId: null, level: 'INFO', stream: 'STDOUT', text: 'still here' }])
    const running = await readLogLines(pool, { runId: ids.running!, afterSeq: 0, limit: 100 })
    expect(running.map((l) => l.seq)).toEqual([1, 2, 3, 4])
    expect(running.at(-1)!.text).toBe('still here')
    expect((await where(ids.running!)).length).toBe(2)

    // Retention then deletes the expired runs (there are no lines left to cascade to) and keeps the rest.
    expect(await retention.deleteExpired()).toBe(3)
    const { rows: left } = await pool.query<{ id: string }>(`SELECT id FROM job_run`)
    expect(left.map((x) => x.id).sort()).toEqual([ids.pinned, ids.failed, ids.running, ids.pinned2, ids.fresh].sort())

    // A pass with nothing new to free touches nothing.
    const again = await parts.maintain()
    expect([again.dropped, again.swapped, again.created]).toEqual([[], [], []])

    // Unpinned, the run is past retention: the next pass swaps the copy for one without its lines.
    await pool.query(`UPDATE job_run SET pinned = false WHERE id = $1`, [ids.pinned])
    const unpinned = await parts.maintain()
    expect(unpinned.swapped).toEqual([copy])
    expect(await lineCount([ids.pinned!])).toBe(0)
    expect(await lineCount([ids.failed!])).toBe(3)
    expect(await lineCount([ids.running!])).toBe(4)
  })

  it('one process at a time; the leftovers of an interrupted pass are swept; a reader holding run_log makes the swap give up and retry next pass', async () => {
    const retention = new RunRetention(pool, { days: 90, failedDays: 180, keepLast: 0 })
    const parts = new LogPartitions(pool, retention, { lockTimeoutMs: 200 })
    const gridOnly = new LogPartitions(pool, new RunRetention(pool, { days: 0, failedDays: 0, keepLast: 0 }))
    await gridOnly.maintain(new Date(Date.now() - 200 * DAY))
    await gridOnly.maintain()
    const ids = await seed([
      { name: 'gone', daysAgo: 150 },
      { name: 'kept', daysAgo: 150, pinned: true },
    ])
    const part = (await where(ids.gone!))[0]!

    const holder = await pool.connect()
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('switchyard-log-partitions'))`)
      expect(await parts.maintain()).toEqual({ created: [], dropped: [], swapped: [], swept: [], locked: false })
      await holder.query(`SELECT pg_advisory_unlock(hashtext('switchyard-log-partitions'))`)

      // What a crash leaves: a copy never attached, a detached partition never dropped.
      await holder.query(`CREATE TABLE run_log_staging_1 (LIKE run_log)`)
      await holder.query(`CREATE TABLE run_log_detached_2 (LIKE run_log)`)
      // A reader in a long transaction holds run_log: the swap's exclusive lock times out.
      await holder.query('BEGIN')
      await holder.query(`SELECT count(*) FROM run_log WHERE run_id = $1`, [ids.kept])
      const blocked = await parts.maintain()
      expect(blocked.swept.sort()).toEqual(['run_log_detached_2', 'run_log_staging_1'])
      expect(blocked.swapped).toEqual([])
      expect(await where(ids.gone!)).toEqual([part])
      // Neither the copy it made nor anything else is left behind.
      const { rows } = await pool.query(`SELECT relname FROM pg_class WHERE relname LIKE 'run\\_log\\_staging%' OR relname LIKE 'run\\_log\\_detached%'`)
      expect(rows).toEqual([])
      await holder.query('COMMIT')
    } finally {
      holder.release()
    }
    const r = await parts.maintain()
    expect(r.swapped).toEqual([part])
    expect(await lineCount([ids.gone!])).toBe(0)
    expect(await lineCount([ids.kept!])).toBe(3)
  })

  it('a log writer between its two statements (reserve on job_run, insert into run_log) and a swap do not deadlock: the swap waits, the writer commits', async () => {
    const retention = new RunRetention(pool, { days: 90, failedDays: 180, keepLast: 0 })
    const gridOnly = new LogPartitions(pool, new RunRetention(pool, { days: 0, failedDays: 0, keepLast: 0 }))
    await gridOnly.maintain(new Date(Date.now() - 200 * DAY))
    await gridOnly.maintain()
    const ids = await seed([
      { name: 'gone', daysAgo: 150 },
      { name: 'kept', daysAgo: 150, pinned: true },
      { name: 'live', daysAgo: 0, status: 'RUNNING' },
    ])
    const part = (await where(ids.gone!))[0]!
    const writer = await pool.connect()
    try {
      // What the writer's statement does first: reserve sequence numbers on the run's row.
      await writer.query('BEGIN')
      await writer.query(`UPDATE job_run SET log_seq = log_seq + 1 WHERE id = $1`, [ids.live])
      const maintenance = new LogPartitions(pool, retention, { lockTimeoutMs: 30_000 }).maintain()
      // The maintenance reaches its lock and waits for the writer's transaction.
      const { rows: me } = await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      for (;;) {
        const { rows } = await pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1`,
          [me[0]!.pid],
        )
        if (rows.length) break
        await new Promise((r) => setTimeout(r, 20))
      }
      // Then the insert, which a run_log lock taken before job_run's would make deadlock.
      await writer.query(`INSERT INTO run_log (run_id, seq, ts, level, stream, target_id, text) VALUES ($1, 4, now(), 'INFO', 'STDOUT', NULL, 'during the swap')`, [ids.live])
      await writer.query('COMMIT')
      expect((await maintenance).swapped).toEqual([part])
    } finally {
      writer.release()
    }
    expect(await lineCount([ids.gone!])).toBe(0)
    expect(await lineCount([ids.kept!])).toBe(3)
    expect(await lineCount([ids.live!])).toBe(4)
  })

  it('a line whose time no partition covers lands in DEFAULT and moves into the partition made for it later; retention off drops nothing', async () => {
    const parts = new LogPartitions(pool, new RunRetention(pool, { days: 0, failedDays: 0, keepLast: 0 }))
    await parts.maintain(new Date(Date.now() - 200 * DAY))
    const ids = await seed([{ name: 'skewed', daysAgo: 150, linesDaysAgo: -60 }])
    expect(await where(ids.skewed!)).toEqual(['run_log_default'])
    const r = await parts.maintain()
    expect(r.dropped).toEqual([])
    expect(await where(ids.skewed!)).toEqual(['run_log_default']) // 60 days ahead: still beyond the 3 weeks made
    await parts.maintain(new Date(Date.now() + 50 * DAY))
    const [moved] = await where(ids.skewed!)
    expect(moved).not.toBe('run_log_default')
    expect((await readLogLines(pool, { runId: ids.skewed!, afterSeq: 0, limit: 10 })).map((l) => l.seq)).toEqual([1, 2, 3])
  })
})
