/** The claim: exactly one worker takes a queued run, and a claim whose answer was lost is recognised. */
import crypto from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimRun } from '../../src/jobs/run-store.ts'
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

async function queuedRun(): Promise<string> {
  const { rows } = await pool.query(`INSERT INTO job_run (template_name, job_type, spec, trigger) VALUES ('t', 'noop', '{}', 'API') RETURNING id`)
  return rows[0].id
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
