/**
 * Maintenance of the time partitions of `run_log` (RANGE on the line time `ts`, weekly; see migration
 * 20261206060000): creates partitions ahead and frees old logs by dropping a partition instead of
 * deleting its rows one by one (which bloats the table, fills the WAL and competes with log writers).
 *
 * Retained runs keep their lines. A partition whose whole range is older than the younger retention
 * age may hold lines of runs retention keeps (pinned, the last N of their template, failed runs kept
 * longer, runs still going). Those are few, so the partition is *swapped*: their lines are copied into
 * a fresh table (while writers and readers go on), then, in one short transaction, the old partition
 * is detached and the copy attached for the same range; the old table is dropped after. We chose the
 * swap over keeping such partitions whole because one pinned run would otherwise keep a week of every
 * other run's logs forever, and over moving the rows into the DEFAULT partition because that would
 * copy them under the exclusive lock and make every later partition creation scan them.
 * A partition none of whose runs is kept is simply detached and dropped.
 *
 * Lines of runs retention deletes before their partition goes are deleted with the run, in the same
 * transaction (run-retention.ts; run_log has no foreign key to job_run since migration 20261206110000);
 * with the younger age as the drop horizon, partitions usually go first and that delete finds nothing
 * there.
 *
 * Lock order. A log writer updates job_run (reserving sequence numbers) and then inserts into run_log
 * in one transaction. Every transaction here that changes partitions locks job_run first (SHARE ROW
 * EXCLUSIVE: no run changes, so no run gets pinned while we decide whose lines to keep), then run_log —
 * the writers' order; locking run_log first would deadlock with a writer between its two statements
 * (it did while the foreign key's triggers on job_run made ATTACH/DETACH lock job_run). While it holds
 * them (milliseconds) job_run writes wait.
 *
 * One process at a time (a session advisory lock, released if the process dies). Crash-safe: each
 * step is one transaction; a copy or detached table left by a crash has a name this module sweeps
 * (`run_log_staging_*`, `run_log_detached_*`) at the start of the next pass. The short transactions
 * that take the exclusive lock on run_log set a lock_timeout, so they give up (and retry next pass)
 * rather than queue log writers behind a long reader.
 */
import type pg from 'pg'
import type { RunRetention } from './run-retention.ts'

const LOCK_KEY = 'switchyard-log-partitions'
const LOCK_NOT_AVAILABLE = '55P03'
const WEEK_MS = 7 * 86_400_000
/** Partition bounds are multiples of a week from this Monday 00:00 UTC (the migration uses the same grid). */
const ORIGIN_MS = Date.UTC(2000, 0, 3)

export interface LogPartition {
  name: string
  /** SQL literals as in the catalog: a quoted timestamp or MINVALUE. */
  fromSql: string
  toSql: string
  /** null for MINVALUE. */
  from: Date | null
  to: Date
}

export interface MaintenanceResult {
  created: string[]
  /** Partitions dropped whole. */
  dropped: string[]
  /** Partitions replaced by a copy holding only kept runs' lines. */
  swapped: string[]
  /** Leftovers of an interrupted pass that were dropped. */
  swept: string[]
  /** False when another process holds the lock (nothing done). */
  locked: boolean
}

export interface LogPartitionOptions {
  /** Keep partitions created this far ahead of now (default 21 days). */
  aheadDays?: number
  /** The exclusive lock on run_log is waited for at most this long (default 2 s). */
  lockTimeoutMs?: number
  minIntervalMs?: number
}

export class LogPartitions {
  #lastPassAt = 0

  constructor(
    private readonly pool: pg.Pool,
    private readonly retention: RunRetention,
    private readonly options: LogPartitionOptions = {},
  ) {}

  /** A pass unless this process made one less than `minIntervalMs` (5 minutes) ago. */
  async runIfDue(): Promise<number> {
    const now = Date.now()
    if (now - this.#lastPassAt < (this.options.minIntervalMs ?? 300_000)) return 0
    this.#lastPassAt = now
    const r = await this.maintain()
    return r.created.length + r.dropped.length + r.swapped.length
  }

  async maintain(now = new Date()): Promise<MaintenanceResult> {
    const result: MaintenanceResult = { created: [], dropped: [], swapped: [], swept: [], locked: false }
    const client = await this.pool.connect()
    try {
      // Bounds print in UTC, so the catalog's literals parse the same everywhere.
      await client.query(`SET TimeZone = 'UTC'`)
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [LOCK_KEY])
      if (!rows[0]!.locked) return result
      result.locked = true
      try {
        result.swept = await this.#sweep(client)
        result.created = await this.#createAhead(client, now)
        const youngest = this.retention.youngestDays()
        if (youngest !== null) {
          const horizon = now.getTime() - youngest * 86_400_000
          for (const p of await listPartitions(client)) {
            if (p.to.getTime() > horizon) continue
            const outcome = await this.#release(client, p)
            if (outcome === 'dropped') result.dropped.push(p.name)
            if (outcome === 'swapped') result.swapped.push(p.name)
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY]).catch(() => {})
      }
    } finally {
      await client.query('RESET TimeZone').catch(() => {})
      client.release()
    }
    return result
  }

  /** Drops what an interrupted pass left: copies never attached, partitions detached but not dropped. */
  async #sweep(client: pg.PoolClient): Promise<string[]> {
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT c.relispartition
          AND (c.relname LIKE 'run\\_log\\_staging\\_%' OR c.relname LIKE 'run\\_log\\_detached\\_%')`,
    )
    for (const r of rows) await this.#dropTable(client, r.name)
    return rows.map((r) => r.name)
  }

  /** Weekly partitions up to `aheadDays` past now, each in its own transaction. */
  async #createAhead(client: pg.PoolClient, now: Date): Promise<string[]> {
    const created: string[] = []
    const until = now.getTime() + (this.options.aheadDays ?? 21) * 86_400_000
    const parts = await listPartitions(client)
    // After the newest range; with none (not expected: the migration attaches one) from this week.
    let from = parts.length ? Math.max(...parts.map((p) => p.to.getTime())) : weekStart(now.getTime())
    while (from < until) {
      const to = from + WEEK_MS
      const name = `run_log_${new Date(from).toISOString().slice(0, 10).replaceAll('-', '')}`
      const [a, b] = [literal(new Date(from)), literal(new Date(to))]
      const attached = await this.#inTransaction(client, async () => {
        await client.query(`LOCK TABLE job_run IN SHARE ROW EXCLUSIVE MODE`)
        await client.query(`CREATE TABLE ${name} (LIKE run_log INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION, CONSTRAINT ${name}_pkey PRIMARY KEY (run_id, seq))`)
        // The CHECK lets ATTACH skip proving the range over the table's rows.
        await client.query(`ALTER TABLE ${name} ADD CONSTRAINT ${name}_range CHECK (ts >= ${a} AND ts < ${b})`)
        // Lines that landed in DEFAULT for want of this range (maintenance that did not run for weeks).
        await client.query(`WITH moved AS (DELETE FROM run_log_default WHERE ts >= ${a} AND ts < ${b} RETURNING *) INSERT INTO ${name} SELECT * FROM moved`)
        await client.query(`ALTER TABLE run_log ATTACH PARTITION ${name} FOR VALUES FROM (${a}) TO (${b})`)
        return true
      }).catch((e: unknown) => {
        // ATTACH waits for readers of the DEFAULT partition (every log read scans it): next pass.
        if (isLockTimeout(e)) return false
        throw e
      })
      if (!attached) break
      created.push(name)
      from = to
    }
    return created
  }

  /**
   * Frees a partition older than every retention age but the kept runs' lines: drops it when none of
   * its runs is kept, swaps it for a copy of the kept runs' lines when some are, and leaves it when all
   * are (nothing to free).
   */
  async #release(client: pg.PoolClient, p: LogPartition): Promise<'dropped' | 'swapped' | null> {
    const leftovers: string[] = []
    try {
      return await this.#releaseOnce(client, p, leftovers)
    } catch (e) {
      // A long reader or writer held run_log or job_run past lock_timeout: try again next pass.
      if (!isLockTimeout(e)) throw e
      for (const t of leftovers) await this.#dropTable(client, t)
      return null
    }
  }

  async #releaseOnce(client: pg.PoolClient, p: LogPartition, leftovers: string[]): Promise<'dropped' | 'swapped' | null> {
    // The runs with lines in it: a skip scan over its (run_id, seq) key, one index probe per run.
    const { rows } = await client.query<{ run_id: string }>(
      `WITH RECURSIVE ids(run_id) AS (
         (SELECT run_id FROM ${ident(p.name)} ORDER BY run_id LIMIT 1)
         UNION ALL
         SELECT (SELECT l.run_id FROM ${ident(p.name)} l WHERE l.run_id > ids.run_id ORDER BY l.run_id LIMIT 1) FROM ids WHERE ids.run_id IS NOT NULL)
       SELECT run_id FROM ids WHERE run_id IS NOT NULL`,
    )
    const runIds = rows.map((r) => r.run_id)
    const kept = await this.retention.keptAmong(client, runIds)
    if (runIds.length && kept.length === runIds.length) return null
    const suffix = `${Date.now()}`
    let staging: string | null = null
    if (kept.length) {
      // Copied outside the exclusive lock: writers and readers go on meanwhile. The copy gets its key
      // and range check here so attaching it later needs no scan at all.
      staging = `run_log_staging_${suffix}`
      leftovers.push(staging)
      await this.#inTransaction(client, async () => {
        await client.query(`CREATE TABLE ${staging} (LIKE run_log INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION)`)
        await client.query(`INSERT INTO ${staging} SELECT * FROM ${ident(p.name)} WHERE run_id = ANY($1::uuid[])`, [kept])
        await client.query(`ALTER TABLE ${staging} ADD CONSTRAINT ${staging}_pkey PRIMARY KEY (run_id, seq)`)
        await client.query(`ALTER TABLE ${staging} ADD CONSTRAINT ${staging}_range CHECK (${rangeCheck(p)})`)
      })
    }
    const detached = `run_log_detached_${suffix}`
    const swapped = await this.#inTransaction(client, async () => {
      await client.query(`LOCK TABLE job_run IN SHARE ROW EXCLUSIVE MODE`)
      await client.query(`LOCK TABLE ONLY run_log IN ACCESS EXCLUSIVE MODE`)
      // Under the lock nothing changes any more: give up if a kept run's lines changed since the copy
      // (only a writer with a badly skewed clock could add some) or a run of it became kept (pinned).
      if (staging) {
        const { rows: same } = await client.query<{ ok: boolean }>(
          `SELECT (SELECT count(*) FROM ${ident(p.name)} WHERE run_id = ANY($1::uuid[])) = (SELECT count(*) FROM ${staging}) AS ok`,
          [kept],
        )
        if (!same[0]!.ok) return false
      }
      // Only pinning makes a run past retention kept again (final stays final; newer runs only push
      // older ones out of the last N).
      const keptSet = new Set(kept)
      const { rows: pinned } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_run WHERE id = ANY($1::uuid[]) AND pinned`, [runIds.filter((id) => !keptSet.has(id))])
      if (pinned[0]!.n > 0) return false
      await client.query(`ALTER TABLE run_log DETACH PARTITION ${ident(p.name)}`)
      await client.query(`ALTER TABLE ${ident(p.name)} RENAME TO ${detached}`)
      if (staging) {
        await client.query(`ALTER TABLE run_log ATTACH PARTITION ${staging} FOR VALUES FROM (${p.fromSql}) TO (${p.toSql})`)
        // Named for its range like any partition; the check is redundant once attached.
        const name = `${partitionName(p)}_kept_${suffix}`
        await client.query(`ALTER TABLE ${staging} DROP CONSTRAINT ${staging}_range`)
        await client.query(`ALTER TABLE ${staging} RENAME TO ${name}`)
        await client.query(`ALTER TABLE ${name} RENAME CONSTRAINT ${staging}_pkey TO ${name}_pkey`)
      }
      return true
    })
    if (!swapped) {
      if (staging) await this.#dropTable(client, staging)
      return null
    }
    // Outside the lock on run_log: the detached table is no part of it any more.
    await this.#dropTable(client, detached)
    return staging ? 'swapped' : 'dropped'
  }

  /**
   * Drops a table of ours that is no partition. A reader that still holds it (a log query that started
   * before the detach) makes the drop wait: bounded by lock_timeout, and on a timeout the table stays
   * for the next pass's sweep (its name says what it is).
   */
  async #dropTable(client: pg.PoolClient, name: string): Promise<void> {
    await this.#inTransaction(client, () => client.query(`DROP TABLE IF EXISTS ${ident(name)}`)).catch((e: unknown) => {
      if (!isLockTimeout(e)) throw e
    })
  }

  async #inTransaction<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
    await client.query('BEGIN')
    try {
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.options.lockTimeoutMs ?? 2000))}`)
      const r = await fn()
      await client.query('COMMIT')
      return r
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      throw e
    }
  }
}

/** The range partitions of run_log (not DEFAULT), oldest first. The session's TimeZone must be UTC. */
export async function listPartitions(db: Pick<pg.Pool, 'query'>): Promise<LogPartition[]> {
  const { rows } = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'run_log'::regclass`,
  )
  const parts: LogPartition[] = []
  for (const r of rows) {
    const m = /^FOR VALUES FROM \((.+)\) TO \((.+)\)$/.exec(r.bound)
    if (!m) continue // DEFAULT
    const parse = (s: string) => (s === 'MINVALUE' ? null : new Date(s.slice(1, -1).replace(' ', 'T').replace(/\+00$/, 'Z')))
    const to = parse(m[2]!)
    if (!to) continue
    parts.push({ name: r.name, fromSql: m[1]!, toSql: m[2]!, from: parse(m[1]!), to })
  }
  return parts.sort((a, b) => a.to.getTime() - b.to.getTime())
}

function isLockTimeout(e: unknown): boolean {
  return (e as { code?: string } | null)?.code === LOCK_NOT_AVAILABLE
}

function weekStart(ms: number): number {
  return ORIGIN_MS + Math.floor((ms - ORIGIN_MS) / WEEK_MS) * WEEK_MS
}

function literal(d: Date): string {
  return `'${d.toISOString()}'`
}

function rangeCheck(p: LogPartition): string {
  return p.fromSql === 'MINVALUE' ? `ts < ${p.toSql}` : `ts >= ${p.fromSql} AND ts < ${p.toSql}`
}

function partitionName(p: LogPartition): string {
  const day = (d: Date) => d.toISOString().slice(0, 10).replaceAll('-', '')
  return `run_log_${p.from ? day(p.from) : 'past'}_${day(p.to)}`
}

/** Partition names come from the catalog; quoted anyway. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
