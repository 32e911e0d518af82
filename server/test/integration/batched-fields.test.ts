/**
 * Fields read for every row of a list are batched: a page of runs selecting `outputs` costs one
 * run_target query however many runs it holds (not one per run), with the same values as one run
 * asked for alone — SECRET outputs as stored, masked. The monitoring sync page's templates with their
 * latest run and its device counts: one request, and a number of queries that does not grow with the
 * templates, with what the per-template queries it replaces return.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { countQueries } from '../harness/query-counter.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'

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

describe('JobTemplate.latestRun and JobRun.deviceResultCounts in a list (the monitoring sync page)', () => {
  const PAGE = `{ jobTemplates { id name latestRun { id number deviceResultCounts { total equal different missingInCheckmk created failed actionSkipped } } } }`

  async function addDevices(runId: string, rows: Array<[status: string, action: string | null]>): Promise<void> {
    for (const [position, [status, action]] of rows.entries()) {
      await t.app.db.pool.query(`INSERT INTO device_result (run_id, position, device, status, action) VALUES ($1, $2, $3, $4, $5)`, [runUuid(runId), position, `dev-${position}`, status, action])
    }
  }

  it('costs the same number of queries for 2 templates as for 6, with what each template\'s own queries show, visibility included', async () => {
    const viewer = await t.userToken('VIEWER')
    const templates: string[] = []
    const newTemplates = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: `cmp-${templates.length}`, jobType: 'noop', config: {}, visibility: 'GLOBAL' } })).createJobTemplate.id as string
        templates.push(id)
        const k = templates.length
        // Template k has k % 3 runs (some none); the newest gets device results.
        let last: string | null = null
        for (let r = 0; r < k % 3; r++) last = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id })).triggerJobRun.id
        if (last) await addDevices(last, Array.from({ length: k }, (_, d) => [['EQUAL', 'DIFFERENT', 'MISSING_IN_CHECKMK'][d % 3]!, d % 2 ? 'CREATED' : null]))
        if (k % 3 === 2 && k > 3) {
          // Its newest run is PRIVATE to the admin: the viewer sees the one before as the latest.
          await t.app.db.pool.query(`UPDATE job_run SET visibility = 'PRIVATE', owner_id = (SELECT id FROM app_user WHERE username = 'admin') WHERE id = $1`, [runUuid(last!)])
        }
      }
    }
    // What the page asked before, one template at a time.
    const perTemplate = async (token: string) => {
      const out: Record<string, unknown> = {}
      for (const id of templates) {
        const node = (await t.ok(`query($id: ID!) { jobRuns(filter: { templateIds: [$id] }, first: 1) { edges { node { id number } } } }`, { id }, token)).jobRuns.edges[0]?.node
        const counts = node ? (await t.ok(`query($id: ID!) { jobRun(id: $id) { deviceResults(first: 1) { counts { total equal different missingInCheckmk created failed actionSkipped } } } }`, { id: node.id }, token)).jobRun.deviceResults.counts : null
        out[id] = node ? { ...node, deviceResultCounts: counts } : null
      }
      return out
    }
    const counter = countQueries(t.app.db.pool, /"?(job_run|device_result)"?/)
    const queriesFor = async (token: string) => {
      counter.reset()
      const page = (await t.ok(PAGE, undefined, token)).jobTemplates as Array<{ id: string; latestRun: unknown }>
      const count = counter.count
      // Only this test's templates (the earlier test made one too).
      return { count, latest: Object.fromEntries(page.filter((p) => templates.includes(p.id)).map((p) => [p.id, p.latestRun])), texts: [...counter.texts] }
    }
    try {
      await newTemplates(2)
      const small = await queriesFor(t.adminToken)
      await newTemplates(4)
      const large = await queriesFor(t.adminToken)
      expect(large.count, large.texts.join('\n')).toBe(small.count)
      expect(large.count).toBeLessThanOrEqual(4)
      expect(large.latest).toEqual(await perTemplate(t.adminToken))
      const seen = await queriesFor(viewer)
      expect(seen.count).toBe(small.count)
      const viewerLatest = await perTemplate(viewer)
      expect(seen.latest).toEqual(viewerLatest)
      // The PRIVATE newest run is not the viewer's latest.
      expect(JSON.stringify(seen.latest)).not.toEqual(JSON.stringify(large.latest))
      expect(Object.values(large.latest).filter((r) => r === null).length).toBeGreaterThan(0)
    } finally {
      counter.stop()
    }
  })
})

describe('a workflow run\'s nodes with their runs and outputs', () => {
  // Prisma batches the per-node findUnique calls of one tick itself; this keeps it that way.
  let full: TestApp
  const wf = workflowHelpers(() => full)
  beforeAll(async () => {
    full = await startTestApp()
  })
  afterAll(async () => {
    await full?.stop()
  })

  it('cost the same number of queries for 2 nodes as for 6', async () => {
    const tpl = await wf.template('noop', 'noop', {})
    const counts: number[] = []
    for (const n of [2, 6]) {
      const id = await wf.create({ name: `parallel-${n}`, nodes: Array.from({ length: n }, (_, i) => ({ key: `n${i}`, templateId: tpl })) })
      const run = await wf.trigger(id)
      expect((await wf.waitEnd(run)).status).toBe('SUCCEEDED')
      const counter = countQueries(full.app.db.pool, /"(run_target|job_run)"/)
      try {
        const nodes = (await full.ok(`query($id: ID!) { workflowRun(id: $id) { nodes { key outputs jobRun { id outputs } } } }`, { id: run })).workflowRun.nodes
        expect(nodes).toHaveLength(n)
        expect(nodes.every((x: { jobRun: unknown; outputs: unknown }) => x.jobRun && x.outputs === null)).toBe(true)
        counts.push(counter.count)
      } finally {
        counter.stop()
      }
    }
    expect(counts[1]).toBe(counts[0])
  })
})
