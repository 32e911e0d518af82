/**
 * A worker claims a fetched batch's runs without a concurrency limit in one statement (run-store
 * claimRuns): runs queued while no worker ran reach a starting worker as one batch holding free runs,
 * runs of a limited template, runs cancelled while queued and duplicate messages — each keeps its rule.
 */
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import { createBoss, inTransaction, RunQueue } from '../../src/jobs/run-queue.ts'
import type { JobExecutor } from '../../src/jobs/executors/types.ts'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

const executed = new Map<string, number>()
let running = 0
let limitedRunning = 0
let limitedPeak = 0

function recordingRegistry(): ExecutorRegistry {
  const executor: JobExecutor = {
    type: 'record',
    label: 'Record',
    description: 'test: records executions and how many limited runs overlap',
    configSchema: z.object({ limited: z.boolean() }).strict(),
    usesTargets: false,
    async execute(ctx) {
      const limited = (ctx.config as { limited: boolean }).limited
      executed.set(ctx.runId, (executed.get(ctx.runId) ?? 0) + 1)
      running++
      if (limited) limitedPeak = Math.max(limitedPeak, ++limitedRunning)
      await new Promise((r) => setTimeout(r, 20))
      running--
      if (limited) limitedRunning--
      return { ok: true }
    },
  }
  return new ExecutorRegistry([executor])
}

let db: TestDatabase
let api: TestApp
let worker: TestApp | null = null

beforeAll(async () => {
  db = await createTestDatabase('batchclaim')
  api = await startTestApp({ db, roles: 'api', registry: recordingRegistry() })
})

afterAll(async () => {
  await worker?.stop()
  await api?.stop()
  await db?.drop()
})

describe('claiming a fetched batch', () => {
  it('starts the free runs once each, never a run cancelled while queued, and limited runs within their limit', async () => {
    const create = async (name: string, limited: boolean) =>
      (
        await api.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
          i: { name, jobType: 'record', config: { limited }, ...(limited ? { maxConcurrentRuns: 1 } : {}) },
        })
      ).createJobTemplate.id as string
    const free = await create('free', false)
    const limited = await create('limited', true)
    // Raw run ids (the API's are global ids).
    const trigger = async (tpl: string) => decodeGlobalID((await api.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })).triggerJobRun.id as string).id
    const freeRuns = [] as string[]
    for (let i = 0; i < 12; i++) freeRuns.push(await trigger(free))
    const limitedRuns = [await trigger(limited), await trigger(limited), await trigger(limited)]
    // Cancelled while queued: one free, one limited. Their messages stay in the queue.
    const cancelled = [freeRuns.pop()!, limitedRuns.pop()!]
    for (const id of cancelled) await api.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: encodeGlobalID('JobRun', id) })
    // A second message for some runs (a redelivery): the batch holds a run twice.
    const ids = await api.app.db.prisma.jobRun.findMany({ select: { id: true }, orderBy: { number: 'asc' } })
    expect(ids).toHaveLength(15)
    const boss = createBoss(db.url, api.app.config.bossSchema, 2)
    await boss.start()
    try {
      const queue = new RunQueue(boss, api.app.config.bossSchema)
      // The first free run, the first limited run, and a cancelled run get a second message.
      for (const id of [freeRuns[0]!, limitedRuns[0]!, cancelled[0]!]) await queue.enqueue(id, { db: inTransaction(api.app.db.pool) })
    } finally {
      await boss.stop({ graceful: false, close: true })
    }

    // One worker with slots for everything: its first fetch takes every message as one batch.
    worker = await startTestApp({ db, roles: 'api,worker', registry: recordingRegistry(), env: { SWITCHYARD_WORKER_CONCURRENCY: '30' } })
    const expectDone = ids.length - cancelled.length
    await eventually(async () => (await api.app.db.prisma.jobRun.count({ where: { status: 'SUCCEEDED' } })) === expectDone, { timeoutMs: 60_000, what: 'every run not cancelled to succeed' })

    const rows = await api.app.db.prisma.jobRun.findMany({ select: { id: true, status: true, attempt: true } })
    for (const r of rows) {
      if (cancelled.includes(r.id)) expect(r).toMatchObject({ status: 'CANCELLED', attempt: 0 })
      else expect(r).toMatchObject({ status: 'SUCCEEDED', attempt: 1 })
    }
    expect(cancelled.filter((id) => executed.has(id))).toEqual([])
    expect([...executed.values()].filter((n) => n !== 1)).toEqual([])
    expect(executed.size).toBe(expectDone)
    expect(limitedPeak).toBe(1)
    expect(running).toBe(0)
    // Nothing left RUNNING, and no message left unfinished for a run that ended.
    expect(await api.app.db.prisma.jobRun.count({ where: { status: { in: ['RUNNING', 'QUEUED'] } } })).toBe(0)
  })
})
