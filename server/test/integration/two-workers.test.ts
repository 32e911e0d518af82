/**
 * Two worker processes on one database share the queue and never execute a run twice.
 * (Two apps in this process, each with its own pool, pg-boss and dispatcher: separate workers in all
 * but the OS process; the SIGKILL tests cover real separate processes.)
 */
import { decodeGlobalID } from '@pothos/plugin-relay'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import type { JobExecutor } from '../../src/jobs/executors/types.ts'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

/** A job type that records which worker executed which run. */
function countingRegistry(worker: string, seen: Map<string, string[]>): ExecutorRegistry {
  const executor: JobExecutor = {
    type: 'count',
    label: 'Count',
    description: 'test: records executions',
    configSchema: z.object({}).strict(),
    usesTargets: false,
    async execute(ctx) {
      seen.set(ctx.runId, [...(seen.get(ctx.runId) ?? []), worker])
      // Hold the run a little so both workers are busy at once.
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20))
      return { ok: true }
    },
  }
  return new ExecutorRegistry([executor])
}

let db: TestDatabase
let api: TestApp
let w1: TestApp
let w2: TestApp
const seen = new Map<string, string[]>()

beforeAll(async () => {
  db = await createTestDatabase('twoworkers')
  api = await startTestApp({ db, roles: 'api', registry: countingRegistry('api', seen) })
  w1 = await startTestApp({ db, roles: 'api,worker', registry: countingRegistry('w1', seen), env: { SWITCHYARD_WORKER_CONCURRENCY: '4' } })
  w2 = await startTestApp({ db, roles: 'api,worker', registry: countingRegistry('w2', seen), env: { SWITCHYARD_WORKER_CONCURRENCY: '4' } })
})

afterAll(async () => {
  await w1?.stop()
  await w2?.stop()
  await api?.stop()
  await db?.drop()
})

describe('two workers on one database', () => {
  it('share 200 runs and execute each exactly once', async () => {
    const tpl = (await api.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'count', jobType: 'count', config: {} } })).createJobTemplate.id
    const ids: string[] = []
    for (let batch = 0; batch < 10; batch++) {
      const made = await Promise.all(
        Array.from({ length: 20 }, () => api.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl }).then((d) => d.triggerJobRun.id as string)),
      )
      ids.push(...made)
    }
    await eventually(
      async () => (await api.ok(`{ jobRuns(filter: { statuses: [SUCCEEDED] }) { totalCount } }`)).jobRuns.totalCount === ids.length,
      { timeoutMs: 60_000, what: 'all runs to succeed' },
    )
    const runs = await api.app.db.prisma.jobRun.findMany({ select: { id: true, attempt: true, status: true } })
    expect(runs).toHaveLength(200)
    expect(runs.every((r) => r.attempt === 1 && r.status === 'SUCCEEDED')).toBe(true)
    expect(seen.size).toBe(200)
    const executions = [...seen.values()]
    expect(executions.filter((by) => by.length !== 1)).toEqual([])
    const perWorker = { w1: executions.filter((by) => by[0] === 'w1').length, w2: executions.filter((by) => by[0] === 'w2').length }
    expect(perWorker.w1 + perWorker.w2).toBe(200)
    expect(perWorker.w1).toBeGreaterThan(0)
    expect(perWorker.w2).toBeGreaterThan(0)
  })

  it('a run delivered twice is still executed once (the claim is the guard)', async () => {
    const tpl = (await api.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'dup', jobType: 'count', config: {} } })).createJobTemplate.id
    const id = (await api.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })).triggerJobRun.id
    const runId = decodeGlobalID(id).id
    // Both dispatchers receive the same run at once, as a duplicated queue message would cause.
    await Promise.all([w1.app.dispatcher!.execute(runId), w2.app.dispatcher!.execute(runId)])
    await eventually(async () => (await api.ok(`query($id: ID!) { jobRun(id: $id) { status } }`, { id })).jobRun.status === 'SUCCEEDED', { what: 'run to succeed' })
    expect(seen.get(runId)).toHaveLength(1)
  })
})
