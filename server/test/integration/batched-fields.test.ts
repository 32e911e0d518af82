/**
 * Fields read for every row of a list are batched: a page of runs selecting `outputs` costs one
 * run_target query however many runs it holds (not one per run), with the same values as one run
 * asked for alone — SECRET outputs as stored, masked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { countQueries } from '../harness/query-counter.ts'

let t: TestApp
const MASK = '••••••'

function runUuid(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!
}

/** Gives the run `targets` run_target rows with these stored outputs (as the dispatcher stores them: SECRET ones masked). */
async function setTargets(runId: string, targets: Array<{ name: string; outputs: Record<string, unknown> | null }>): Promise<void> {
  for (const [position, target] of targets.entries()) {
    await t.app.db.pool.query(
      `INSERT INTO run_target (run_id, position, name, host, port, status, outputs, secret_outputs) VALUES ($1, $2, $3, $3, 22, 'SUCCEEDED', $4, $5)`,
      [runUuid(runId), position, target.name, target.outputs === null ? null : JSON.stringify(target.outputs), Buffer.from('sealed-not-shown')],
    )
  }
}

beforeAll(async () => {
  // The API alone: runs stay QUEUED and no worker or scheduler queries run_target meanwhile.
  t = await startTestApp({ roles: 'api' })
})
afterAll(async () => {
  await t?.stop()
})

describe('JobRun.outputs in a list', () => {
  it('costs one run_target query for a page of runs, with the values each run shows alone', async () => {
    const tpl = (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'outputs', jobType: 'noop', config: {}, visibility: 'GLOBAL' } })).createJobTemplate.id
    const trigger = async () => (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })).triggerJobRun.id as string
    const expected = new Map<string, unknown>()
    for (let i = 0; i < 8; i++) {
      const id = await trigger()
      if (i % 4 === 0) {
        await setTargets(id, [{ name: `one-${i}`, outputs: { n: i, token: MASK } }])
        expected.set(id, { n: i, token: MASK })
      } else if (i % 4 === 1) {
        await setTargets(id, [
          { name: 'a', outputs: { x: i } },
          { name: 'b', outputs: null },
          { name: 'c', outputs: { y: 'z', pw: MASK } },
        ])
        expected.set(id, { a: { x: i }, c: { y: 'z', pw: MASK } })
      } else if (i % 4 === 2) {
        await setTargets(id, [{ name: 'none', outputs: null }])
        expected.set(id, null)
      } else {
        expected.set(id, null) // no targets at all
      }
    }
    const list = (first: number) => t.ok(`query($n: Int) { jobRuns(first: $n) { edges { node { id outputs } } } }`, { n: first })
    const counter = countQueries(t.app.db.pool, /"run_target"/)
    try {
      const two = await list(2)
      expect(two.jobRuns.edges).toHaveLength(2)
      expect(counter.count, counter.texts.join('\n')).toBe(1)
      counter.reset()
      const all = await list(8)
      expect(counter.count, counter.texts.join('\n')).toBe(1)
      const got = new Map(all.jobRuns.edges.map((e: { node: { id: string; outputs: unknown } }) => [e.node.id, e.node.outputs]))
      expect(got).toEqual(expected)
      // One run alone shows the same as in the list.
      for (const [id, outputs] of expected) expect((await t.ok(`query($id: ID!) { jobRun(id: $id) { outputs } }`, { id })).jobRun.outputs).toEqual(outputs)
      // The sealed SECRET values never show.
      expect(JSON.stringify(all)).not.toContain('sealed-not-shown')
    } finally {
      counter.stop()
    }
  })
})
