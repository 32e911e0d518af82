/**
 * Two worker OS processes (`--role worker`) on one database, fed by an API-only process: every run
 * executes exactly once (one claim, one "started" log line, attempt 1) and both workers take part.
 */
import { decodeGlobalID } from '@pothos/plugin-relay'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'

let db: TestDatabase
let api: TestApp
const workers: WorkerProcess[] = []

beforeAll(async () => {
  db = await createTestDatabase('twoproc')
  api = await startTestApp({ db, roles: 'api' })
  workers.push(await spawnWorker(db.url), await spawnWorker(db.url))
})

afterAll(async () => {
  for (const w of workers) await w.stop()
  await api?.stop()
  await db?.drop()
})

describe('two worker processes', () => {
  it('share 150 runs, each executed exactly once', async () => {
    const tpl = (await api.ok(`mutation { createJobTemplate(input: { name: "shared", jobType: "noop", config: { message: "hello" } }) { id } }`)).createJobTemplate.id
    const ids: string[] = []
    for (let batch = 0; batch < 10; batch++) {
      ids.push(...(await Promise.all(Array.from({ length: 15 }, () => api.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl }).then((d) => decodeGlobalID(d.triggerJobRun.id).id)))))
    }
    await eventually(async () => {
      const { rows } = await api.app.db.pool.query(`SELECT count(*)::int AS n FROM job_run WHERE status = 'SUCCEEDED'`)
      return rows[0].n === ids.length
    }, { timeoutMs: 60_000, what: 'all runs to succeed' })
    const { rows } = await api.app.db.pool.query<{ id: string; attempt: number; worker_id: string; started: number; hello: number }>(
      `SELECT r.id, r.attempt, r.worker_id,
              (SELECT count(*)::int FROM run_log l WHERE l.run_id = r.id AND l.text LIKE 'attempt % started on %') AS started,
              (SELECT count(*)::int FROM run_log l WHERE l.run_id = r.id AND l.text = 'hello') AS hello
         FROM job_run r`,
    )
    expect(rows).toHaveLength(150)
    expect(rows.filter((r) => r.attempt !== 1 || r.started !== 1 || r.hello !== 1)).toEqual([])
    const byWorker = new Map<string, number>()
    for (const r of rows) byWorker.set(r.worker_id, (byWorker.get(r.worker_id) ?? 0) + 1)
    expect([...byWorker.keys()].sort()).toEqual(workers.map((w) => w.workerId).sort())
  })
})
