/**
 * Deleting a schedule sets its runs' schedule_id to NULL; a worker writing those runs at the same
 * moment can lock them in the other order, and Postgres then aborts one transaction to break the
 * deadlock. When the delete is the one aborted, it is run again — the user sees the schedule deleted,
 * not "Unexpected error". Here the worker is played by a plain transaction that locks the runs in the
 * order that deadlocks with the delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

let db: TestDatabase
let t: TestApp

beforeAll(async () => {
  db = await createTestDatabase('conflict')
  t = await startTestApp({ db, roles: 'api' }) // no worker, no scheduler: the runs stay as they are
})

afterAll(async () => {
  await t?.stop()
  await db?.drop()
})

async function deadlocks(): Promise<number> {
  const { rows } = await t.app.db.pool.query<{ n: string }>(`SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()`)
  return Number(rows[0]!.n)
}

describe('deleting a schedule while its runs are being written', () => {
  it('is retried when Postgres picks it as the deadlock victim, and succeeds', async () => {
    const tpl = (await t.ok(`mutation { createJobTemplate(input: { name: "tpl", jobType: "noop", config: {} }) { id } }`)).createJobTemplate.id
    const s = (await t.ok(`mutation($t: ID!) { createJobSchedule(input: { name: "s", templateId: $t, kind: ONCE, onceAt: "2099-01-01T00:00" }) { id } }`, { t: tpl })).createJobSchedule.id
    const numbers: number[] = []
    for (let i = 0; i < 2; i++) numbers.push((await t.ok(`mutation($id: ID!) { runJobScheduleNow(id: $id) { number } }`, { id: s })).runJobScheduleNow.number)
    const pool = t.app.db.pool
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM job_run WHERE number = ANY($1::int[]) ORDER BY number`, [numbers])
    const [first, second] = rows.map((r) => r.id)
    const before = await deadlocks()

    // The "worker" holds the second run; the delete then nulls the first and waits for the second;
    // the worker's write to the first closes the cycle. The delete waited longer, so its deadlock check
    // (after deadlock_timeout, 1 s) runs first and aborts it.
    const worker = await pool.connect()
    try {
      await worker.query('BEGIN')
      await worker.query(`UPDATE job_run SET updated_at = now() WHERE id = $1`, [second])
      const deletion = t.gql(`mutation($id: ID!) { deleteJobSchedule(id: $id) }`, { id: s })
      await new Promise((r) => setTimeout(r, 300))
      await worker.query(`UPDATE job_run SET updated_at = now() WHERE id = $1`, [first])
      await worker.query('COMMIT')
      const r = await deletion
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined()
    } finally {
      worker.release()
    }
    // The deadlock really happened (so the retry was exercised), and the schedule is gone, its runs kept.
    await eventually(async () => (await deadlocks()) > before, { what: 'the deadlock to be counted' })
    expect((await pool.query(`SELECT count(*)::int AS n FROM job_schedule`)).rows[0].n).toBe(0)
    expect((await pool.query(`SELECT count(*)::int AS n FROM job_run WHERE id = ANY($1::uuid[]) AND schedule_id IS NULL`, [[first, second]])).rows[0].n).toBe(2)
  })
})
