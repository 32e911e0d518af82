import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, startTestApp, type TestApp } from '../harness/app.ts'

let t: TestApp
beforeAll(async () => {
  t = await startTestApp()
})
afterAll(async () => {
  await t?.stop()
})

const CREATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id name jobType } }`
const TRIGGER = `mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id number status trigger parameters } }`
const UPDATED = `subscription($id: ID!) { jobRunUpdated(runId: $id) { id status attempt startedAt finishedAt error } }`

describe('a noop run end to end', () => {
  it('goes QUEUED → RUNNING → SUCCEEDED, visible live and in history', async () => {
    const { createJobTemplate: tpl } = await t.ok(CREATE, {
      i: { name: 'noop', jobType: 'noop', config: { message: 'hello {{ who }}' }, visibility: 'GLOBAL', parameters: [{ name: 'who', type: 'STRING', default: 'world' }] },
    })
    const { triggerJobRun: run } = await t.ok(TRIGGER, { id: tpl.id })
    expect(run.status).toBe('QUEUED')
    expect(run.trigger).toBe('MANUAL')
    expect(run.parameters).toEqual({ who: 'world' })

    const updates = await collect<{ jobRunUpdated: { status: string } }>(t.wsClient(), UPDATED, { id: run.id }, (items) => items.at(-1)?.jobRunUpdated.status === 'SUCCEEDED')
    expect(updates.at(-1)!.jobRunUpdated).toMatchObject({ status: 'SUCCEEDED', attempt: 1 })

    const { jobRunLog } = await t.ok(`query($id: ID!) { jobRunLog(runId: $id) { lines { seq level stream text } lastSeq hasMore } }`, { id: run.id })
    const texts = jobRunLog.lines.map((l: { text: string }) => l.text)
    expect(texts[0]).toMatch(/attempt 1 of 1 started/)
    expect(texts).toContain('hello {{ who }}')
    expect(texts.at(-1)).toBe('run succeeded')
    expect(jobRunLog.lines.map((l: { seq: number }) => l.seq)).toEqual(texts.map((_: string, i: number) => i + 1))

    const { jobRuns } = await t.ok(`{ jobRuns(first: 10) { totalCount edges { node { id status } } } }`)
    expect(jobRuns.totalCount).toBe(1)
    expect(jobRuns.edges[0].node).toEqual({ id: run.id, status: 'SUCCEEDED' })
  })
})
