/** The claim: exactly one worker takes a queued run, and a claim whose answer was lost is recognised — per run and per fetched batch. */
import crypto from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimRun, claimRuns } from '../../src/jobs/run-store.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

let db: TestDatabase
let pool: pg.Pool
beforeAll(async () => {
  db = await createTestDatabase('claim')
  pool = new pg.Pool({ connectionString: db.url, max: 4 })
  pool.on('error', () => {})
})
afterAll(async () => {
  await pool?.end()
  await db?.drop()
})

async function queuedRun(limit?: { key: string; max: number }): Promise<string> {
  const { rows } = await pool.query(
    `INSERT INTO job_run (template_name, job_type, spec, trigger, concurrency_key, max_concurrent) VALUES ('t', 'noop', '{}', 'API', $1, $2) RETURNING id`,
    [limit?.key ?? null, limit?.max ?? null],
  )
  return rows[0].id
}

async function statusOf(ids: string[]): Promise<Array<{ id: string; status: string; attempt: number; worker_id: string | null }>> {
  const { rows } = await pool.query(`SELECT id, status, attempt, worker_id FROM job_run WHERE id = ANY($1::uuid[])`, [ids])
  return ids.map((id) => rows.find((r) => r.id === id))
}

describe('claimRun', () => {
  it('lets exactly one of several concurrent workers take a queued run', async () => {
    const id = await queuedRun()
    const workers = Array.from({ length: 5 }, () => crypto.randomUUID())
    const results = await Promise.all(workers.map((w) => claimRun(pool, id, w)))
    expect(results.filter((r) => r.claimed)).toHaveLength(1)
    const { rows } = await pool.query(`SELECT status, attempt FROM job_run WHERE id = $1`, [id])
    expect(rows[0]).toEqual({ status: 'RUNNING', attempt: 1 })
  })

  it('gives the run back to the same worker when its first claim committed but the answer was lost', async () => {
    const id = await queuedRun()
    const me = crypto.randomUUID()
    const first = await claimRun(pool, id, me)
    const again = await claimRun(pool, id, me)
    expect(again.claimed).toMatchObject({ id, attempt: first.claimed!.attempt })
    expect((await claimRun(pool, id, crypto.randomUUID())).claimed).toBeNull()
    const { rows } = await pool.query(`SELECT attempt FROM job_run WHERE id = $1`, [id])
    expect(rows[0].attempt).toBe(1) // not claimed twice
  })
})

describe('claimRuns (a fetched batch in one statement)', () => {
  it('claims the queued runs without a limit and leaves limited, cancelled and running runs alone', async () => {
    const me = crypto.randomUUID()
    const free = [await queuedRun(), await queuedRun()]
    const limited = await queuedRun({ key: 'claim-batch-key', max: 1 })
    const cancelled = await queuedRun()
    await pool.query(`UPDATE job_run SET status = 'CANCELLED', finished_at = now() WHERE id = $1`, [cancelled])
    const elsewhere = await queuedRun()
    const other = crypto.randomUUID()
    expect((await claimRun(pool, elsewhere, other)).claimed).not.toBeNull()

    const claimed = await claimRuns(pool, [...free, limited, cancelled, elsewhere, free[0]!], me)
    expect(claimed.map((c) => c.id).sort()).toEqual([...free].sort())
    expect(claimed.every((c) => c.attempt === 1)).toBe(true)
    expect(await statusOf([...free, limited, cancelled, elsewhere])).toEqual([
      { id: free[0], status: 'RUNNING', attempt: 1, worker_id: me },
      { id: free[1], status: 'RUNNING', attempt: 1, worker_id: me },
      { id: limited, status: 'QUEUED', attempt: 0, worker_id: null },
      { id: cancelled, status: 'CANCELLED', attempt: 0, worker_id: null },
      { id: elsewhere, status: 'RUNNING', attempt: 1, worker_id: other },
    ])
    // The limited run goes the per-run way, under its key's lock.
    expect((await claimRun(pool, limited, me, { fastPathTried: true })).claimed).toMatchObject({ id: limited, attempt: 1 })
  })

  it('gives every run of overlapping batches claimed concurrently to exactly one worker, once', async () => {
    const ids = await Promise.all(Array.from({ length: 40 }, () => queuedRun()))
    const workers = Array.from({ length: 5 }, () => crypto.randomUUID())
    // Each worker's batch overlaps the others' in a different order (duplicate messages, redeliveries).
    const results = await Promise.all(workers.map((w, i) => claimRuns(pool, [...ids.slice(i * 5), ...ids.slice(0, i * 5)].reverse(), w)))
    const claimedIds = results.flat().map((c) => c.id)
    expect(claimedIds.sort()).toEqual([...ids].sort())
    const rows = await statusOf(ids)
    expect(rows.every((r) => r.status === 'RUNNING' && r.attempt === 1)).toBe(true)
    for (const [i, w] of workers.entries()) expect(rows.filter((r) => r.worker_id === w).map((r) => r.id).sort()).toEqual(results[i]!.map((c) => c.id).sort())
  })

  it('lets the per-run path recognise a batch claim whose answer was lost', async () => {
    const id = await queuedRun()
    const me = crypto.randomUUID()
    expect(await claimRuns(pool, [id], me)).toHaveLength(1)
    // A retried batch finds the run no longer queued…
    expect(await claimRuns(pool, [id], me)).toEqual([])
    // …and the per-run claim gives it back to its owner without a second attempt; to nobody else.
    expect((await claimRun(pool, id, me, { fastPathTried: true })).claimed).toMatchObject({ id, attempt: 1 })
    expect((await claimRun(pool, id, crypto.randomUUID())).claimed).toBeNull()
    expect((await statusOf([id]))[0]).toMatchObject({ status: 'RUNNING', attempt: 1, worker_id: me })
  })
})
