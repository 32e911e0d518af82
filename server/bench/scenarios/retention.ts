/**
 * Freeing old run logs: deleting rows vs dropping a partition, with a log writer going on meanwhile.
 *
 * Per round, on a fresh database with weekly run_log partitions reaching 200 days back: two sets of
 * `runs` finished runs with `linesPerRun` lines each, set A 150 days old, set B 100 days old (in
 * different weekly partitions), each with one pinned run whose lines must stay. A writer appends
 * 100-line batches to a running run every 10 ms throughout (the product's insert statement).
 * - delete: retention with a 120-day age deletes set A in batches of `batch` runs, its lines going by
 *   retention's delete by run id (row by row: what retention did before partitions), then the VACUUM that
 *   reclaims the dead rows (timed apart);
 * - drop: partition maintenance with a 90-day age frees set B's week (swapping it for a copy holding
 *   the pinned run's lines), then retention deletes set B's runs (no lines left to delete).
 * Reported: wall time of each, the writer's batch latency before (idle), during delete and during
 * drop, and the bytes each leaves on disk (DELETE leaves dead rows until VACUUM; a drop frees them).
 */
import pg from 'pg'
import { appendLinesInTransaction } from '../../src/logs/log-writer.ts'
import { LogPartitions, listPartitions } from '../../src/modules/runs/log-partitions.ts'
import { RunRetention } from '../../src/modules/runs/run-retention.ts'
import { withDatabase } from '../lib/resources.ts'
import { distribution, median, now, type Distribution } from '../lib/stats.ts'

export interface RetentionOptions {
  rounds: number
  runs: number
  linesPerRun: number
  /** Runs per retention batch in the delete method. */
  batch: number
  idleMs: number
}

export interface RetentionRound {
  lines: number
  deleteMs: number
  /** VACUUM of the partition the delete left its dead rows in. */
  vacuumMs: number
  /** Partition maintenance (the swap) + deleting the runs afterwards. */
  dropMs: number
  dropMaintainMs: number
  dropRunsMs: number
  /** The writer's batches while each ran ("delete" includes the VACUUM). */
  writer: { idle: Distribution; delete: Distribution; drop: Distribution }
  /** Bytes of set A's partition after the delete (before any VACUUM) and of set B's week after the drop. */
  bytesAfterDelete: number
  bytesBefore: number
  bytesAfterDrop: number
  keptLinesOk: boolean
}

export interface RetentionResult {
  options: RetentionOptions
  rounds: RetentionRound[]
}

const DAY = 86_400_000

async function partitionsUtc(pool: pg.Pool) {
  const c = await pool.connect()
  try {
    await c.query(`SET TimeZone = 'UTC'`)
    return await listPartitions(c)
  } finally {
    await c.query('RESET TimeZone')
    c.release()
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function runRetention(o: RetentionOptions): Promise<RetentionResult> {
  const rounds: RetentionRound[] = []
  for (let i = 0; i < o.rounds; i++) rounds.push(await oneRound(o))
  return { options: o, rounds }
}

function oneRound(o: RetentionOptions): Promise<RetentionRound> {
  return withDatabase(async (db) => {
    const pool = new pg.Pool({ connectionString: db.url, max: 4 })
    const writerPool = new pg.Pool({ connectionString: db.url, max: 1 })
    pool.on('error', () => {})
    writerPool.on('error', () => {})
    try {
      await pool.query(`ALTER TABLE run_log DETACH PARTITION run_log_legacy`)
      await pool.query(`DROP TABLE run_log_legacy`)
      const grid = new LogPartitions(pool, new RunRetention(pool, { days: 0, failedDays: 0, keepLast: 0 }))
      await grid.maintain(new Date(Date.now() - 200 * DAY))
      await grid.maintain()

      const seedSet = async (daysAgo: number) => {
        const { rows } = await pool.query<{ id: string; pinned: boolean }>(
          `INSERT INTO job_run (template_name, job_type, spec, trigger, status, created_at, started_at, finished_at, pinned, log_seq)
           SELECT 'bench retention', 'noop', '{}', 'MANUAL', 'SUCCEEDED', $1::timestamptz + g * interval '1 second', $1::timestamptz + g * interval '1 second',
                  $1::timestamptz + g * interval '1 second' + interval '5 seconds', g = 1, $3
             FROM generate_series(1, $2) g RETURNING id, pinned`,
          [new Date(Date.now() - daysAgo * DAY), o.runs, o.linesPerRun],
        )
        await pool.query(
          `INSERT INTO run_log (run_id, seq, ts, level, stream, target_id, text)
           SELECT r.id, g, r.created_at + g * interval '1 millisecond', 'INFO', 'STDOUT', NULL, 'line ' || g || ' of a routine job output, about eighty bytes long ......'
             FROM job_run r, generate_series(1, $2) g WHERE r.id = ANY($1::uuid[])`,
          [rows.map((r) => r.id), o.linesPerRun],
        )
        return { ids: rows.map((r) => r.id), pinned: rows.find((r) => r.pinned)!.id }
      }
      const a = await seedSet(150)
      const b = await seedSet(100)
      await pool.query('VACUUM ANALYZE run_log')
      await pool.query('VACUUM ANALYZE job_run')
      const partOf = async (runId: string) =>
        (await pool.query<{ part: string }>(`SELECT tableoid::regclass::text AS part FROM run_log WHERE run_id = $1 LIMIT 1`, [runId])).rows[0]!.part
      const partA = await partOf(a.ids[1]!)
      const partB = await partOf(b.ids[1]!)
      // Empty old weeks would be dropped by the same maintenance pass: gone beforehand, so the drop
      // figure is about set B's week (and set A's, left with its pinned run's lines only).
      for (const p of await partitionsUtc(pool)) {
        if (p.name === partA || p.name === partB || p.to.getTime() > Date.now() - 90 * DAY) continue
        await pool.query(`ALTER TABLE run_log DETACH PARTITION ${p.name}`)
        await pool.query(`DROP TABLE ${p.name}`)
      }
      const size = async (rel: string) => Number((await pool.query<{ n: string }>(`SELECT pg_total_relation_size($1::regclass) AS n`, [rel])).rows[0]!.n)
      const bytesBefore = await size(partB)

      const { rows: live } = await pool.query<{ id: string }>(`INSERT INTO job_run (template_name, job_type, spec, trigger, status, started_at) VALUES ('bench writer', 'noop', '{}', 'MANUAL', 'RUNNING', now()) RETURNING id`)
      let phase = 'idle' as 'idle' | 'delete' | 'drop' | 'stop'
      const lat: Record<'idle' | 'delete' | 'drop', number[]> = { idle: [], delete: [], drop: [] }
      const batch = Array.from({ length: 100 }, (_, i) => ({ targetId: null, level: 'INFO' as const, stream: 'STDOUT' as const, text: `writer line ${i} of a run that goes on while old logs are freed` }))
      const writer = (async () => {
        while (phase !== 'stop') {
          const p = phase as 'idle' | 'delete' | 'drop'
          const t = now()
          await appendLinesInTransaction(writerPool, live[0]!.id, batch)
          lat[p].push(now() - t)
          await sleep(10)
        }
      })()

      await sleep(o.idleMs)
      phase = 'delete'
      let t = now()
      const byDelete = new RunRetention(pool, { days: 120, failedDays: 120, keepLast: 0 }, { batch: o.batch, maxBatches: 1_000_000 })
      const deleted = await byDelete.deleteExpired()
      const deleteMs = now() - t
      if (deleted !== o.runs - 1) throw new Error(`delete method deleted ${deleted} runs, expected ${o.runs - 1}`)
      const bytesAfterDelete = await size(partA)
      // The delete method's bill is not paid yet: its dead rows stay until VACUUM (autovacuum's job,
      // here run at once, still with the writer going on), which then also lets later passes skip them.
      t = now()
      await pool.query(`VACUUM ${partA}`)
      const vacuumMs = now() - t

      phase = 'idle'
      await sleep(o.idleMs)
      phase = 'drop'
      const retention = new RunRetention(pool, { days: 90, failedDays: 90, keepLast: 0 }, { batch: o.batch, maxBatches: 1_000_000 })
      t = now()
      const m = await new LogPartitions(pool, retention).maintain()
      const dropMaintainMs = now() - t
      if (!m.swapped.includes(partB)) throw new Error(`drop method: expected ${partB} to be swapped, got ${JSON.stringify(m)}`)
      const t2 = now()
      const deletedB = await retention.deleteExpired()
      const dropRunsMs = now() - t2
      if (deletedB !== o.runs - 1) throw new Error(`drop method deleted ${deletedB} runs, expected ${o.runs - 1}`)
      const newB = await partOf(b.pinned)
      const bytesAfterDrop = await size(newB)
      await sleep(Math.min(o.idleMs, 1000))
      phase = 'stop'
      await writer

      const { rows: kept } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM run_log WHERE run_id = ANY($1::uuid[])`, [[a.pinned, b.pinned]])
      return {
        lines: o.runs * o.linesPerRun,
        deleteMs,
        vacuumMs,
        dropMs: dropMaintainMs + dropRunsMs,
        dropMaintainMs,
        dropRunsMs,
        writer: { idle: distribution(lat.idle), delete: distribution(lat.delete), drop: distribution(lat.drop) },
        bytesBefore,
        bytesAfterDelete,
        bytesAfterDrop,
        keptLinesOk: kept[0]!.n === 2 * o.linesPerRun,
      }
    } finally {
      await writerPool.end()
      await pool.end()
    }
  })
}

const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`
const mib = (v: number) => `${(v / 2 ** 20).toFixed(1)} MiB`

export function formatRetention(r: RetentionResult): string {
  const rs = r.rounds
  const med = (f: (x: RetentionRound) => number) => median(rs.map(f))
  const lines = ['', `6. Freeing old logs: ${rs[0]?.lines.toLocaleString('en')} lines per method (${r.options.runs} runs × ${r.options.linesPerRun.toLocaleString('en')}), medians of ${rs.length} round(s)`]
  lines.push(`  DELETE (retention batches of ${r.options.batch} runs, with their lines) ${ms(med((x) => x.deleteMs)).padStart(10)}   leaves ${mib(med((x) => x.bytesAfterDelete))} on disk; then VACUUM ${ms(med((x) => x.vacuumMs))}`)
  lines.push(`  drop partition + delete the runs       ${ms(med((x) => x.dropMs)).padStart(10)}   (maintenance ${ms(med((x) => x.dropMaintainMs))}, runs ${ms(med((x) => x.dropRunsMs))}); week ${mib(med((x) => x.bytesBefore))} → ${mib(med((x) => x.bytesAfterDrop))} (the pinned run's lines)`)
  lines.push(`  ratio delete / drop (per round)        ${rs.map((x) => (x.deleteMs / x.dropMs).toFixed(1) + '×').join(', ')}; with the VACUUM ${rs.map((x) => ((x.deleteMs + x.vacuumMs) / x.dropMs).toFixed(1) + '×').join(', ')}`)
  const w = (label: string, f: (x: RetentionRound) => Distribution) =>
    `  writer (100-line batch) ${label.padEnd(15)} p50 ${ms(med((x) => f(x).p50)).padStart(8)}  p99 ${ms(med((x) => f(x).p99)).padStart(8)}  max ${ms(med((x) => f(x).max)).padStart(8)}  (${rs.map((x) => f(x).n).join('/')} batches)`
  lines.push(w('idle', (x) => x.writer.idle), w('during DELETE', (x) => x.writer.delete), w('during drop', (x) => x.writer.drop))
  lines.push(`  kept runs' lines intact: ${rs.every((x) => x.keptLinesOk) ? 'yes' : 'NO'}`)
  return lines.join('\n') + '\n'
}
