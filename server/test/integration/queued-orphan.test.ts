/**
 * A QUEUED run is never left waiting forever either: when no pg-boss message can start it any more (the
 * message failed after a claim error, or the process that fetched it died before claiming, which pg-boss
 * keeps "active" until its expiry), the reaper sends it again. Runs whose message is fine are left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

let db: TestDatabase
let api: TestApp
let worker: TestApp | null = null

beforeAll(async () => {
  db = await createTestDatabase('orphan')
  // No worker yet: the runs stay QUEUED until the test says so. The scheduler role runs the reaper.
  api = await startTestApp({ db, roles: 'api,scheduler' })
})

afterAll(async () => {
  await worker?.stop()
  await api?.stop()
  await db?.drop()
})

const RUN = `query($id: ID!) { jobRun(id: $id) { status } }`
const LOG = `query($id: ID!) { jobRunLog(runId: $id) { lines { level text } } }`

async function queuedRun(templateId: string): Promise<{ id: string; dbId: string }> {
  const run = (await api.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id number } }`, { id: templateId })).triggerJobRun
  const { rows } = await api.app.db.pool.query<{ id: string }>(`SELECT id FROM job_run WHERE number = $1`, [run.number])
  return { id: run.id, dbId: rows[0]!.id }
}

async function messages(dbId: string): Promise<string[]> {
  const { rows } = await api.app.db.pool.query<{ state: string }>(`SELECT state::text FROM pgboss.job WHERE data->>'runId' = $1 ORDER BY created_on`, [dbId])
  return rows.map((r) => r.state)
}

describe('a queued run without a deliverable message', () => {
  it('is sent again by the reaper and then runs; a run with a pending message is left alone', async () => {
    const tpl = (await api.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'orphans', jobType: 'noop', config: {} } })).createJobTemplate.id
    const lostFetcher = await queuedRun(tpl)
    const failedMessage = await queuedRun(tpl)
    const healthy = await queuedRun(tpl)
    const pool = api.app.db.pool
    // The fetcher died an hour ago without claiming; the other message failed (a claim error).
    await pool.query(`UPDATE pgboss.job SET state = 'active', started_on = now() - interval '1 hour' WHERE data->>'runId' = $1`, [lostFetcher.dbId])
    await pool.query(`UPDATE pgboss.job SET state = 'failed', completed_on = now() WHERE data->>'runId' = $1`, [failedMessage.dbId])
    // All three have been queued for an hour; only the first two have nothing left to start them.
    await pool.query(`UPDATE job_run SET updated_at = now() - interval '1 hour' WHERE id = ANY($1::uuid[])`, [[lostFetcher.dbId, failedMessage.dbId, healthy.dbId]])

    await eventually(async () => (await messages(lostFetcher.dbId)).includes('created') && (await messages(failedMessage.dbId)).includes('created'), {
      timeoutMs: 30_000,
      what: 'the reaper to send the orphaned runs again',
    })
    expect(await messages(lostFetcher.dbId)).toEqual(['active', 'created'])
    expect(await messages(failedMessage.dbId)).toEqual(['failed', 'created'])
    expect(await messages(healthy.dbId)).toEqual(['created'])
    for (const run of [lostFetcher, failedMessage]) {
      const lines = (await api.ok(LOG, { id: run.id })).jobRunLog.lines
      expect(lines).toContainEqual({ level: 'WARNING', text: expect.stringMatching(/^queued run had no delivery left .*: sent again$/) })
    }
    expect((await api.ok(LOG, { id: healthy.id })).jobRunLog.lines).toEqual([])

    // A worker now starts all three, each exactly once.
    worker = await startTestApp({ db, roles: 'api,worker' })
    for (const run of [lostFetcher, failedMessage, healthy]) {
      await eventually(async () => (await api.ok(RUN, { id: run.id })).jobRun.status === 'SUCCEEDED', { timeoutMs: 30_000, what: 'the run to succeed' })
      const started = (await api.ok(LOG, { id: run.id })).jobRunLog.lines.filter((l: { text: string }) => /^attempt \d+ of \d+ started/.test(l.text))
      expect(started).toHaveLength(1)
    }
  })
})
