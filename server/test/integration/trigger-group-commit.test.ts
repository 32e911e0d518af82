/**
 * Triggers arriving together are committed together (RunsService's group commit): each caller still
 * gets its own run or its own error, every run its own audit event, queue message and notifications.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { startTestApp, type TestApp } from '../harness/app.ts'
import type { Actor } from '../../src/modules/actor.ts'
import { decodeId } from '../../src/graphql/ids.ts'

let t: TestApp
let admin: Actor
let templateId: string
beforeAll(async () => {
  t = await startTestApp()
  const user = await t.app.db.prisma.user.findFirstOrThrow({ where: { username: 'admin' } })
  admin = { userId: user.id, username: user.username, role: 'ADMIN', via: 'SESSION' }
  const { createJobTemplate } = await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
    i: { name: 'gc-noop', jobType: 'noop', config: {}, visibility: 'GLOBAL', parameters: [{ name: 'n', type: 'INT', required: true }] },
  })
  templateId = (await t.app.db.prisma.jobTemplate.findFirstOrThrow({ where: { name: 'gc-noop' } })).id
  expect(createJobTemplate.id).toBeTruthy()
})
afterAll(async () => {
  await t?.stop()
})

async function waitFinal(ids: string[]): Promise<Map<string, string>> {
  for (;;) {
    const rows = await t.app.db.prisma.jobRun.findMany({ where: { id: { in: ids } }, select: { id: true, status: true } })
    if (rows.length === ids.length && rows.every((r) => ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(r.status))) return new Map(rows.map((r) => [r.id, r.status]))
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('concurrent triggers (group commit)', () => {
  it('one bad trigger among many gets its own error; the others commit, each with one audit event, and run', async () => {
    const runs = t.app.services.runs
    // Submitted in the same turn: they reach the group commit together. Index 3 names a schedule that does
    // not exist (a foreign key violation only the database finds), so the batch it is in fails as a whole.
    const calls = Array.from({ length: 8 }, (_, i) =>
      runs.trigger(admin, { templateId, parameters: { n: i } }, undefined, i === 3 ? { scheduleId: randomUUID() } : {}),
    )
    const results = await Promise.allSettled(calls)
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'])
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/foreign key|schedule/i)

    const created = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    // Each caller got its own run, with its own parameters.
    expect(created.map((r) => (r.parameters as { n: number }).n)).toEqual([0, 1, 2, 4, 5, 6, 7])
    expect(new Set(created.map((r) => r.number)).size).toBe(7)
    expect(created.every((r) => r.status === 'QUEUED' && r.trigger === 'MANUAL' && r.triggeredById === admin.userId)).toBe(true)
    expect(await t.app.db.prisma.jobRun.count({ where: { templateId } })).toBe(7)

    const events = await t.app.db.prisma.auditEvent.findMany({ where: { action: 'run.trigger' } })
    expect(events.map((e) => e.entityId).sort()).toEqual(created.map((r) => r.id).sort())
    for (const r of created) {
      const e = events.find((x) => x.entityId === r.id)!
      expect(e).toMatchObject({ actorId: admin.userId, actorName: 'admin', via: 'SESSION', entityType: 'JobRun', entityName: `#${r.number} gc-noop` })
      expect(e.changes).toMatchObject({ templateName: { new: 'gc-noop' }, trigger: { new: 'MANUAL' }, parameters: { new: { n: (r.parameters as { n: number }).n } } })
    }

    // Every run's queue message committed with it: all execute.
    const final = await waitFinal(created.map((r) => r.id))
    expect([...final.values()].every((s) => s === 'SUCCEEDED')).toBe(true)
  })

  it('a bad parameter among concurrent GraphQL triggers is a typed error naming the field, for that caller only', async () => {
    const TRIGGER = `mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id status parameters } }`
    const { createJobTemplate } = await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'gc-noop-2', jobType: 'noop', config: {}, visibility: 'GLOBAL', parameters: [{ name: 'n', type: 'INT', required: true }] },
    })
    const answers = await Promise.all([0, 1, 2, 3, 4].map((i) => t.gql(TRIGGER, { id: createJobTemplate.id, p: i === 2 ? { n: 'not a number' } : { n: i } })))
    expect(answers[2]!.data?.triggerJobRun ?? null).toBeNull()
    expect(answers[2]!.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(JSON.stringify(answers[2]!.errors?.[0]?.extensions)).toMatch(/parameters\.n/)
    const ok = answers.filter((_, i) => i !== 2)
    expect(ok.every((a) => !a.errors && a.data!.triggerJobRun.status === 'QUEUED')).toBe(true)
    expect(ok.map((a) => a.data!.triggerJobRun.parameters.n)).toEqual([0, 1, 3, 4])
    const final = await waitFinal(ok.map((a) => decodeId(a.data!.triggerJobRun.id as string, 'JobRun', 'id')))
    expect([...final.values()]).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'])
  })

  it('triggers submitted together share one transaction', async () => {
    const runs = t.app.services.runs
    const created = await Promise.all(Array.from({ length: 6 }, (_, i) => runs.trigger(admin, { templateId, parameters: { n: 100 + i } })))
    // xmin: the transaction that wrote the row. Six callers of one turn: one transaction, not six.
    const rows = await t.app.db.prisma.$queryRaw<Array<{ tx: string }>>`SELECT DISTINCT xmin::text AS tx FROM job_run WHERE id = ANY(${created.map((r) => r.id)}::uuid[])`
    expect(rows.length).toBe(1)
    await waitFinal(created.map((r) => r.id))
  })
})
