/**
 * The workflow engine's second slice through the GraphQL API, real Postgres and a real worker: retry from
 * failed nodes, nested WORKFLOW nodes (outcome, cancel down the tree, recursion and depth at save and at
 * run time, visibility), the budget of runs per root run, never-runnable joins refused at save, and
 * TEMPLATE node overrides (targets, timeout, retry).
 */
import { decodeGlobalID } from '@pothos/plugin-relay'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError } from '../harness/run-helpers.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'
import { CHANNELS } from '../../src/pubsub/channels.ts'

let t: TestApp
const wf = workflowHelpers(() => t)
let ok: string
let echo: string

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
  ok = await wf.template('ok', 'test-outcome', { result: { hosts: ['a', 'b'] } })
  echo = await wf.template('echo', 'test-outcome', {}, { parameters: [{ name: 'msg', type: 'STRING' }] })
})
afterAll(async () => {
  await t?.stop()
})

const node = (key: string, templateId: string, extra: Record<string, unknown> = {}) => ({ key, templateId, ...extra })
const nested = (key: string, workflowId: string, extra: Record<string, unknown> = {}) => ({ key, kind: 'WORKFLOW', workflowId, ...extra })
const edge = (from: string, to: string, kind = 'ON_SUCCESS') => ({ from, to, kind })
const fields = (r: { errors?: ReadonlyArray<{ extensions?: { fields?: Array<{ field: string; message: string }> } }> }) => r.errors?.[0]?.extensions?.fields ?? []
const RETRY = `mutation($id: ID!) { retryWorkflowRun(id: $id) { id number status retryOf { id } } }`

describe('retry from failed nodes', () => {
  it('re-runs only what failed and what it skipped, reusing succeeded nodes, their runs and their outputs', async () => {
    const flaky = await wf.template('flaky', 'test-outcome', { fail: 'not yet' })
    const id = await wf.create({
      name: 'retryable',
      nodes: [node('a', ok), node('b', flaky), node('c', echo, { parameters: { msg: '{{ nodes.a.result.hosts.1 }}' } }), node('d', ok)],
      edges: [edge('a', 'b'), edge('b', 'c'), edge('a', 'd')],
    })
    const first = await wf.waitEnd(await wf.trigger(id))
    expect(first.status).toBe('FAILED')
    expect(first.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['a:SUCCEEDED', 'b:FAILED', 'c:SKIPPED', 'd:SUCCEEDED'])

    // Not while it runs or after it succeeded; not by a viewer.
    const viewer = await t.userToken('VIEWER', 'retry-viewer')
    expect((await t.gql(RETRY, { id: first.id }, viewer)).errors![0]!.extensions!.code).toBe('FORBIDDEN')
    await t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: flaky, i: { config: { result: { fixed: true } } } })
    const retried = (await t.ok(RETRY, { id: first.id })).retryWorkflowRun
    expect(retried.retryOf.id).toBe(first.id)
    const second = await wf.waitEnd(retried.id)
    expect(second.status).toBe('SUCCEEDED')
    expect(second.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['a:SUCCEEDED', 'b:SUCCEEDED', 'c:SUCCEEDED', 'd:SUCCEEDED'])
    // a and d were not run again: the same JobRuns; b and c ran anew, c with a's output.
    expect(second.node('a').jobRun!.id).toBe(first.node('a').jobRun!.id)
    expect(second.node('d').jobRun!.id).toBe(first.node('d').jobRun!.id)
    expect(second.node('a').reason).toBe(`reused from workflow run #${first.number}`)
    expect(second.node('b').jobRun!.id).not.toBe(first.node('b').jobRun!.id)
    expect(second.node('c').jobRun!.parameters).toEqual({ msg: 'b' })
    // The failed attempt is kept as it was.
    expect((await wf.read(first.id)).nodes.map((n) => n.status)).toEqual(['SUCCEEDED', 'FAILED', 'SKIPPED', 'SUCCEEDED'])
    const again = await t.gql(RETRY, { id: second.id })
    expect(again.errors![0]!.extensions!.code).toBe('INVALID_STATE')
    expect(again.errors![0]!.message).toContain('nothing to retry')
  })

  it('only FAILED or CANCELLED runs are retried; a cancelled run re-runs its cancelled node and reuses the rest', async () => {
    const flaky = await wf.template('flaky-2', 'test-outcome', { fail: 'down' })
    const id = await wf.create({ name: 'handled', nodes: [node('a', flaky), node('onfail', ok), node('next', ok)], edges: [edge('a', 'onfail', 'ON_FAILURE'), edge('a', 'next')] })
    const first = await wf.waitEnd(await wf.trigger(id))
    expect(first.status).toBe('SUCCEEDED') // the failure was handled
    expect((await t.gql(RETRY, { id: first.id })).errors![0]!.extensions!.code).toBe('INVALID_STATE')
    // A cancelled run is retryable: a held node, cancelled.
    const held = await wf.template('held', 'test-outcome', { wait: 'retry-held' })
    const hid = await wf.create({ name: 'held-wf', nodes: [node('a', ok), node('h', held)], edges: [edge('a', 'h')] })
    const run = await wf.trigger(hid)
    await gates.reached('retry-held')
    await t.ok(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }`, { id: run })
    const cancelled = await wf.waitEnd(run)
    expect(cancelled.status).toBe('CANCELLED')
    const retry = (await t.ok(RETRY, { id: run })).retryWorkflowRun
    await gates.reached('retry-held')
    gates.release('retry-held')
    const end = await wf.waitEnd(retry.id)
    expect(end.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['a:SUCCEEDED', 'h:SUCCEEDED'])
    expect(end.node('a').jobRun!.id).toBe(cancelled.node('a').jobRun!.id)
    expect(end.node('h').jobRun!.trigger).toBe('WORKFLOW')
  })
})

describe('nested WORKFLOW nodes', () => {
  it('runs the nested workflow with mapped parameters; its outcome is the node\'s', async () => {
    const child = await wf.create({ name: 'child', parameters: [{ name: 'who', type: 'STRING', required: true }], nodes: [node('say', echo, { parameters: { msg: 'hello {{ params.who }}' } })] })
    const parent = await wf.create({ name: 'parent', nodes: [node('a', ok), nested('sub', child, { parameters: { who: '{{ nodes.a.result.hosts.0 }}' } }), node('z', ok)], edges: [edge('a', 'sub'), edge('sub', 'z')] })
    const end = await wf.waitEnd(await wf.trigger(parent))
    expect(end.status).toBe('SUCCEEDED')
    expect(end.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['a:SUCCEEDED', 'sub:SUCCEEDED', 'z:SUCCEEDED'])
    const sub = (await t.ok(`query($id: ID!) { workflowRun(id: $id) { spawnedRuns nodes { key nestedRun { id status depth trigger workflowName parentNodeRun { key } nodes { key status jobRun { parameters } } } } } }`, { id: end.id })).workflowRun
    const n = sub.nodes.find((x: { key: string }) => x.key === 'sub').nestedRun
    expect(n).toMatchObject({ status: 'SUCCEEDED', depth: 1, trigger: 'WORKFLOW', workflowName: 'child', parentNodeRun: { key: 'sub' }, nodes: [{ key: 'say', status: 'SUCCEEDED', jobRun: { parameters: { msg: 'hello a' } } }] })
    expect(sub.spawnedRuns).toBe(4) // a, the nested run, its say, z
    await t.ok(`mutation($id: ID!, $i: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $i) { id } }`, { id: parent, i: { name: 'parent renamed' } })
    expect((await t.ok(`query($id: ID!) { workflow(id: $id) { nodes { key kind parameters workflow { name } } } }`, { id: parent })).workflow.nodes[1]).toEqual({ key: 'sub', kind: 'WORKFLOW', parameters: { who: '{{ nodes.a.result.hosts.0 }}' }, workflow: { name: 'child' } })

    const failing = await wf.create({ name: 'child-fails', nodes: [node('x', await wf.template('boom', 'test-outcome', { fail: 'boom' }))] })
    const p2 = await wf.create({ name: 'parent-2', nodes: [nested('sub', failing), node('after', ok), node('cleanup', ok)], edges: [edge('sub', 'after'), edge('sub', 'cleanup', 'ON_FAILURE')] })
    const end2 = await wf.waitEnd(await wf.trigger(p2))
    expect(end2.nodes.map((x) => `${x.key}:${x.status}`)).toEqual(['sub:FAILED', 'after:SKIPPED', 'cleanup:SUCCEEDED'])
    expect(end2.node('sub').reason).toMatch(/^nested workflow run #\d+ failed: not handled by an ON_FAILURE or ALWAYS edge: x failed$/)
    expect(end2.status).toBe('SUCCEEDED')
  })

  it('cancel goes down to the nested run and its running node', async () => {
    const held = await wf.template('nested-held', 'test-outcome', { wait: 'nested-held' })
    const child = await wf.create({ name: 'child-held', nodes: [node('h', held), node('later', ok)], edges: [edge('h', 'later')] })
    const parent = await wf.create({ name: 'parent-held', nodes: [nested('sub', child)] })
    const id = await wf.trigger(parent)
    await gates.reached('nested-held')
    await t.ok(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }`, { id })
    const end = await wf.waitEnd(id)
    expect(end.status).toBe('CANCELLED')
    expect(end.node('sub').status).toBe('CANCELLED')
    const inner = (await t.ok(`query($id: ID!) { workflowRun(id: $id) { nodes { nestedRun { status nodes { key status jobRun { status } } } } } }`, { id })).workflowRun.nodes[0].nestedRun
    expect(inner).toEqual({ status: 'CANCELLED', nodes: [{ key: 'h', status: 'CANCELLED', jobRun: { status: 'CANCELLED' } }, { key: 'later', status: 'SKIPPED', jobRun: null }] })
  })

  it('cancelling a nested run alone cancels its node; a nested run is retried only through its parent', async () => {
    const held = await wf.template('nested-held-2', 'test-outcome', { wait: 'nested-held-2' })
    const child = await wf.create({ name: 'child-held-2', nodes: [node('h', held)] })
    const parent = await wf.create({ name: 'parent-held-2', nodes: [nested('sub', child), node('cleanup', ok)], edges: [edge('sub', 'cleanup', 'ALWAYS')] })
    const id = await wf.trigger(parent)
    await gates.reached('nested-held-2')
    const inner = (await t.ok(`query($id: ID!) { workflowRun(id: $id) { nodes { nestedRun { id } } } }`, { id })).workflowRun.nodes[0].nestedRun.id
    await t.ok(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }`, { id: inner })
    const end = await wf.waitEnd(id)
    expect(end.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['sub:CANCELLED', 'cleanup:SUCCEEDED'])
    expect(end.status).toBe('SUCCEEDED') // the ALWAYS edge handled the cancelled node
    const r = await t.gql(RETRY, { id: inner })
    expect(r.errors![0]!.extensions!.code).toBe('INVALID_STATE')
    expect(r.errors![0]!.message).toContain('retry that one')
  })

  it('refuses recursion at save with the path (itself included), nesting deeper than 5, and workflows you cannot see', async () => {
    const a = await wf.create({ name: 'rec-a', nodes: [node('x', ok)] })
    const b = await wf.create({ name: 'rec-b', nodes: [nested('to-a', a)] })
    const UPDATE = `mutation($id: ID!, $i: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $i) { id } }`
    const loop = await t.gql(UPDATE, { id: a, i: { nodes: [node('x', ok), nested('to-b', b)] } })
    expectFieldError(loop, 'input.nodes.1.workflowId')
    expect(fields(loop)[0]!.message).toContain('recursion: "rec-a" → "rec-b" → "rec-a"')
    const self = await t.gql(UPDATE, { id: a, i: { nodes: [nested('me', a)] } })
    expect(fields(self)[0]).toEqual({ field: 'input.nodes.0.workflowId', message: expect.stringContaining('recursion: "rec-a" → "rec-a"') })

    // depth: d0 (leaf) ← d1 ← … ← d5 is 5 levels of nesting; d6 would be 6.
    let below = await wf.create({ name: 'd0', nodes: [node('x', ok)] })
    for (let i = 1; i <= 5; i++) below = await wf.create({ name: `d${i}`, nodes: [nested('n', below)] })
    const deep = await t.gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name: 'd6', visibility: 'GLOBAL', nodes: [nested('n', below)] } })
    expect(fields(deep)[0]).toEqual({ field: 'input.nodes.0.workflowId', message: expect.stringContaining('nesting would be 6 levels deep ("d6" → "d5" → "d4" → "d3" → "d2" → "d1" → "d0"; at most 5)') })
    // …and from above: making d0 nest another workflow would push d5's nesting to 6.
    const up = await t.gql(UPDATE, { id: (await t.ok(`{ workflows { id name } }`)).workflows.find((w: { name: string }) => w.name === 'd0').id, i: { nodes: [nested('n', a)] } })
    expect(fields(up)[0]!.message).toContain('nesting would be 6 levels deep')

    const operator = await t.userToken('OPERATOR', 'nest-op')
    const hidden = (await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name: 'admins-wf', visibility: 'PRIVATE', nodes: [node('x', ok)] } })).createWorkflow.id
    const r = await t.gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name: 'uses-hidden', nodes: [nested('n', hidden)] } }, operator)
    expect(fields(r)).toEqual([{ field: 'input.nodes.0.workflowId', message: 'no such workflow (or it is not visible to you)' }])
    const wrong = await t.gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name: 'bad-nested', nodes: [nested('n', a, { templateId: ok, parameters: { nope: 1 } }), { key: 'm', kind: 'WORKFLOW' }] } })
    expect(fields(wrong).map((f) => f.field)).toEqual(expect.arrayContaining(['input.nodes.0.templateId', 'input.nodes.1.workflowId']))
  })

  it('checks the depth again at run time: a definition changed behind the save checks fails the node that would nest too deep', async () => {
    const a = await wf.create({ name: 'rt-a', nodes: [node('x', ok)] })
    const b = await wf.create({ name: 'rt-b', nodes: [nested('to-a', a)] })
    // Stands for definitions changed after save in a way the save checks never saw: a now runs b.
    await t.app.db.pool.query(`UPDATE workflow_node SET kind = 'WORKFLOW', template_id = NULL, sub_workflow_id = (SELECT id FROM workflow WHERE name = 'rt-b') WHERE workflow_id = (SELECT id FROM workflow WHERE name = 'rt-a')`)
    const end = await wf.waitEnd(await wf.trigger(b))
    expect(end.status).toBe('FAILED')
    const { rows } = await t.app.db.pool.query(`SELECT depth, status::text, (SELECT reason FROM workflow_node_run n WHERE n.workflow_run_id = r.id AND n.status = 'FAILED' AND n.reason LIKE 'could not start%' LIMIT 1) AS reason FROM workflow_run r WHERE root_run_id = (SELECT id FROM workflow_run WHERE number = $1) ORDER BY depth`, [end.number])
    expect(rows.map((r) => r.depth)).toEqual([1, 2, 3, 4, 5])
    expect(rows.every((r) => r.status === 'FAILED')).toBe(true)
    expect(rows.at(-1)!.reason).toContain('nesting too deep: its workflow would run at level 6, at most 5')
  })
})

describe('retry of nested runs', () => {
  const NESTED = `query($id: ID!) { workflowRun(id: $id) { id number status trigger depth spawnedRuns retryOf { id }
    nodes { key status reason jobRun { id } nestedRun { id number status retryOf { id } } } } }`
  type Level = { id: string; number: number; status: string; trigger: string; depth: number; spawnedRuns: number; retryOf: { id: string } | null; nodes: Array<{ key: string; status: string; reason: string | null; jobRun: { id: string } | null; nestedRun: { id: string; number: number; status: string; retryOf: { id: string } | null } | null }> }
  const level = async (id: string): Promise<Level & { node: (key: string) => Level['nodes'][number] }> => {
    const r = (await t.ok(NESTED, { id })).workflowRun as Level
    return { ...r, node: (key: string) => r.nodes.find((n) => n.key === key)! }
  }
  const states = (l: Level) => l.nodes.map((n) => `${n.key}:${n.status}`)
  const setFail = (templateId: string, fail: string | null) =>
    t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: templateId, i: { config: fail ? { fail } : {} } })

  it('re-runs only what failed inside the nested runs, level by level, reusing their succeeded nodes; the budget counts every run once', async () => {
    const flaky = await wf.template('deep-flaky', 'test-outcome', { fail: 'deep down' })
    // Three levels: root → mid → leaf; the leaf's l2 fails, which fails every level above it.
    const leaf = await wf.create({ name: 'nr-leaf', nodes: [node('l1', ok), node('l2', flaky), node('l3', ok), node('l4', ok)], edges: [edge('l1', 'l2'), edge('l2', 'l3')] })
    const mid = await wf.create({
      name: 'nr-mid',
      parameters: [{ name: 'who', type: 'STRING', required: true }],
      nodes: [node('m1', echo, { parameters: { msg: '{{ params.who }}' } }), nested('leaf', leaf), node('m2', echo, { parameters: { msg: 'after {{ nodes.m1.result.parameters.msg }}' } }), node('m3', ok)],
      edges: [edge('m1', 'leaf'), edge('leaf', 'm2')],
    })
    const side = await wf.create({ name: 'nr-side', nodes: [node('s', ok)] })
    const root = await wf.create({
      name: 'nr-root',
      nodes: [node('a', ok), nested('mid', mid, { parameters: { who: '{{ nodes.a.result.hosts.0 }}' } }), nested('side', side), node('z', ok)],
      edges: [edge('a', 'mid'), edge('mid', 'z')],
    })
    const first = await wf.waitEnd(await wf.trigger(root))
    expect(first.status).toBe('FAILED')
    const r1 = await level(first.id)
    expect(states(r1)).toEqual(['a:SUCCEEDED', 'mid:FAILED', 'side:SUCCEEDED', 'z:SKIPPED'])
    const m1 = await level(r1.node('mid').nestedRun!.id)
    expect(states(m1)).toEqual(['m1:SUCCEEDED', 'leaf:FAILED', 'm2:SKIPPED', 'm3:SUCCEEDED'])
    const l1 = await level(m1.node('leaf').nestedRun!.id)
    expect(states(l1)).toEqual(['l1:SUCCEEDED', 'l2:FAILED', 'l3:SKIPPED', 'l4:SUCCEEDED'])
    // a, mid's run, m1, leaf's run, l1, l2, l4, m3, side's run, s: 10 runs.
    expect(r1.spawnedRuns).toBe(10)

    await setFail(flaky, null)
    const retried = (await t.ok(RETRY, { id: first.id })).retryWorkflowRun
    const second = await wf.waitEnd(retried.id)
    expect(second.status).toBe('SUCCEEDED')
    const r2 = await level(second.id)
    expect(states(r2)).toEqual(['a:SUCCEEDED', 'mid:SUCCEEDED', 'side:SUCCEEDED', 'z:SUCCEEDED'])
    expect(r2.node('a').jobRun!.id).toBe(r1.node('a').jobRun!.id)
    // The reused WORKFLOW node links to the nested run it stands for (the original), like a started one.
    expect(r2.node('side')).toMatchObject({ reason: `reused from workflow run #${r1.number}`, nestedRun: { id: r1.node('side').nestedRun!.id, status: 'SUCCEEDED' } })
    // mid re-ran as a retry of its failed nested run, not a fresh one.
    const m2 = await level(r2.node('mid').nestedRun!.id)
    expect(m2).toMatchObject({ status: 'SUCCEEDED', trigger: 'WORKFLOW', depth: 1, retryOf: { id: m1.id } })
    expect(states(m2)).toEqual(['m1:SUCCEEDED', 'leaf:SUCCEEDED', 'm2:SUCCEEDED', 'm3:SUCCEEDED'])
    expect(m2.node('m1')).toMatchObject({ reason: `reused from workflow run #${m1.number}`, jobRun: { id: m1.node('m1').jobRun!.id } })
    expect(m2.node('m3').jobRun!.id).toBe(m1.node('m3').jobRun!.id)
    // m2 ran with the reused m1's output.
    const m2Run = (await t.ok(`query($id: ID!) { jobRun(id: $id) { parameters } }`, { id: m2.node('m2').jobRun!.id })).jobRun
    expect(m2Run.parameters).toEqual({ msg: 'after a' })
    // And one level further down.
    const l2 = await level(m2.node('leaf').nestedRun!.id)
    expect(l2).toMatchObject({ status: 'SUCCEEDED', depth: 2, retryOf: { id: l1.id } })
    expect(states(l2)).toEqual(['l1:SUCCEEDED', 'l2:SUCCEEDED', 'l3:SUCCEEDED', 'l4:SUCCEEDED'])
    expect(l2.node('l1').jobRun!.id).toBe(l1.node('l1').jobRun!.id)
    expect(l2.node('l4').jobRun!.id).toBe(l1.node('l4').jobRun!.id)
    expect(l2.node('l2').jobRun!.id).not.toBe(l1.node('l2').jobRun!.id)
    // The failed attempts are kept as they were.
    expect(states(await level(l1.id))).toEqual(['l1:SUCCEEDED', 'l2:FAILED', 'l3:SKIPPED', 'l4:SUCCEEDED'])
    // The budget: the retry, mid's nested retry, leaf's nested retry, l2, l3, m2 and z — 7 more, on the one root.
    expect((await level(first.id)).spawnedRuns).toBe(17)
    const { rows } = await t.app.db.pool.query(
      `SELECT count(DISTINCT n.job_run_id)::int AS job_runs, count(DISTINCT r.id)::int AS runs
         FROM workflow_run r LEFT JOIN workflow_node_run n ON n.workflow_run_id = r.id WHERE r.id = $1 OR r.root_run_id = $1`,
      [decodeGlobalID(first.id).id],
    )
    // Every run under the root paid once: 11 job runs (reused ones not again) + 6 workflow runs besides the root.
    expect(rows[0]).toEqual({ job_runs: 11, runs: 7 })
  })

  it('a cancelled nested run is retried from its cancelled node, with the same SECRET parameter', async () => {
    const held = await wf.template('nr-held', 'test-outcome', { wait: 'nr-held' })
    const child = await wf.create({ name: 'nr-held-child', parameters: [{ name: 'key', type: 'SECRET', required: true }], nodes: [node('first', ok), node('h', held)], edges: [edge('first', 'h')] })
    const parent = await wf.create({ name: 'nr-held-parent', parameters: [{ name: 'key', type: 'SECRET', required: true }], nodes: [nested('sub', child, { parameters: { key: '{{ params.key }}' } })] })
    const id = await wf.trigger(parent, { key: 's3cret' })
    await gates.reached('nr-held')
    await t.ok(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }`, { id })
    expect((await wf.waitEnd(id)).status).toBe('CANCELLED')
    const old = await level((await level(id)).node('sub').nestedRun!.id)
    expect(states(old)).toEqual(['first:SUCCEEDED', 'h:CANCELLED'])
    const retry = (await t.ok(RETRY, { id })).retryWorkflowRun.id
    await gates.reached('nr-held')
    gates.release('nr-held')
    expect((await wf.waitEnd(retry)).status).toBe('SUCCEEDED')
    const again = await level((await level(retry)).node('sub').nestedRun!.id)
    // The secret resolved to the value the cancelled run had: its succeeded node stands.
    expect(again.retryOf).toEqual({ id: old.id })
    expect(again.node('first').jobRun!.id).toBe(old.node('first').jobRun!.id)
    expect(states(again)).toEqual(['first:SUCCEEDED', 'h:SUCCEEDED'])
  })

  it('is refused up front, naming the path, when a template that would re-run inside a nested run is not visible to the one retrying', async () => {
    const deep = await wf.template('nr-deep-private', 'test-outcome', { fail: 'deep' })
    const leaf = await wf.create({ name: 'nr-vis-leaf', nodes: [node('l1', ok), node('hidden', deep)], edges: [edge('l1', 'hidden')] })
    const mid = await wf.create({ name: 'nr-vis-mid', nodes: [nested('leaf', leaf)] })
    const root = await wf.create({ name: 'nr-vis-root', nodes: [node('a', ok), nested('mid', mid)], edges: [edge('a', 'mid')] })
    const first = await wf.waitEnd(await wf.trigger(root))
    expect(first.status).toBe('FAILED')
    // The admin who owns it fixes the template and makes it private: an operator sees the runs, not it.
    await t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: deep, i: { config: {}, visibility: 'PRIVATE' } })
    const operator = await t.userToken('OPERATOR')
    const refused = await t.gql(RETRY, { id: first.id }, operator)
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    expect(refused.errors?.[0]?.message).toContain('not visible to you: mid → leaf → hidden')
    // Nothing was started or spent by the refusal.
    expect((await level(first.id)).spawnedRuns).toBe(5)
    const { rows } = await t.app.db.pool.query(`SELECT count(*)::int AS n FROM workflow_run WHERE retry_of_id = $1`, [decodeGlobalID(first.id).id])
    expect(rows[0].n).toBe(0)
    // The owner may retry it; only the failed node runs again, deep down.
    const retried = await wf.waitEnd((await t.ok(RETRY, { id: first.id })).retryWorkflowRun.id)
    expect(retried.status).toBe('SUCCEEDED')
  })

  it('a re-run WORKFLOW node whose parameters now resolve differently starts a fresh nested run', async () => {
    const flaky = await wf.template('nr-flaky-up', 'test-outcome', { fail: 'up' })
    const inner = await wf.template('nr-flaky-in', 'test-outcome', { fail: 'in' })
    const child = await wf.create({ name: 'nr-child', parameters: [{ name: 'st', type: 'STRING', required: true }], nodes: [node('c1', ok), node('c2', inner)] })
    const parent = await wf.create({ name: 'nr-parent', nodes: [node('x', flaky), nested('sub', child, { parameters: { st: '{{ nodes.x.status }}' } })], edges: [edge('x', 'sub', 'ALWAYS')] })
    const first = await level((await wf.waitEnd(await wf.trigger(parent))).id)
    expect(states(first)).toEqual(['x:FAILED', 'sub:FAILED'])
    const old = await level(first.node('sub').nestedRun!.id)
    await setFail(flaky, null)
    await setFail(inner, null)
    const second = await level((await wf.waitEnd((await t.ok(RETRY, { id: first.id })).retryWorkflowRun.id)).id)
    expect(states(second)).toEqual(['x:SUCCEEDED', 'sub:SUCCEEDED'])
    // x now SUCCEEDED: sub's parameter st changed, so its old run's c1 does not stand for this one.
    const fresh = await level(second.node('sub').nestedRun!.id)
    expect(fresh.retryOf).toBeNull()
    expect(fresh.node('c1').reason).toBeNull()
    expect(fresh.node('c1').jobRun!.id).not.toBe(old.node('c1').jobRun!.id)
  })
})

describe('limits', () => {
  it('a node that would exceed the 1,000 runs of its root run fails before starting, naming the limit', async () => {
    const held = await wf.template('budget-held', 'test-outcome', { wait: 'budget-held' })
    const id = await wf.create({ name: 'budget', nodes: [node('a', held), node('b', ok)], edges: [edge('a', 'b')] })
    const run = await wf.trigger(id)
    await gates.reached('budget-held')
    // Stands for 999 runs spawned elsewhere under this root (nested runs, retries): a took the 1,000th.
    await t.app.db.pool.query(`UPDATE workflow_run SET spawned_runs = 1000 WHERE workflow_name = 'budget'`)
    gates.release('budget-held')
    const end = await wf.waitEnd(run)
    expect(end.node('b')).toMatchObject({ status: 'FAILED', jobRun: null })
    expect(end.node('b').reason).toBe(`could not start: the limit of 1,000 runs spawned by one workflow run (root run #${end.number}, its nested runs and retries) was reached`)
    // A retry is a run spawned under the same root: refused too.
    const retry = await t.gql(RETRY, { id: run })
    expect(retry.errors![0]!.message).toContain('the limit of 1,000 runs')
  })

  it('refuses a join that can never hold, naming the node, its joinPolicy and the edges', async () => {
    const r = await t.gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, {
      i: { name: 'never', nodes: [node('p', ok), node('up', ok), node('down', ok), node('join', ok)], edges: [edge('p', 'up'), edge('p', 'down', 'ON_FAILURE'), edge('up', 'join'), edge('down', 'join')] },
    })
    expect(fields(r)).toEqual([
      { field: 'input.nodes.3.joinPolicy', message: 'node "join" can never run: join ALL_SUCCEEDED: "p" would have to succeed (p -ON_SUCCESS-> up) and fail or time out (p -ON_FAILURE-> down)' },
    ])
    // The same convergence with ANY_SUCCEEDED is fine.
    await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, {
      i: { name: 'converges', nodes: [node('p', ok), node('up', ok), node('down', ok), node('join', ok, { joinPolicy: 'ANY_SUCCEEDED' })], edges: [edge('p', 'up'), edge('p', 'down', 'ON_FAILURE'), edge('up', 'join'), edge('down', 'join')] },
    })
  })
})

describe('TEMPLATE node overrides', () => {
  it('are validated like the template\'s fields, by field', async () => {
    const CREATE = `mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`
    const shape = await t.gql(CREATE, { i: { name: 'bad-overrides', nodes: [node('a', ok, { overrides: { timeoutSeconds: 0, retryMaxAttempts: 21 } })] } })
    expect(fields(shape).map((f) => f.field)).toEqual(['input.nodes.0.overrides.timeoutSeconds', 'input.nodes.0.overrides.retryMaxAttempts'])
    const r = await t.gql(CREATE, {
      i: {
        name: 'bad-overrides',
        nodes: [
          node('b', ok, { overrides: { targetSelector: { tags: ['x'] } } }),
          { key: 'c', kind: 'APPROVAL', approval: { approverRoles: ['ADMIN'], timeoutSeconds: 60 }, overrides: { timeoutSeconds: 5 } },
        ],
      },
    })
    expect(fields(r)).toEqual([
      { field: 'input.nodes.1.overrides', message: 'only TEMPLATE nodes have overrides (of their template)' },
      { field: 'input.nodes.0.overrides.targetSelector', message: 'job type test-outcome does not run on targets' },
    ])
  })

  it('apply targets, timeout and retry to the node\'s run; the template keeps its concurrency limit', async () => {
    const cred = (await t.ok(`mutation { createCredential(input: { name: "ov-cred", kind: PASSWORD, username: "u", password: "pw" }) { id } }`)).createCredential.id
    const target = async (name: string, tags: string[]) => (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host: '127.0.0.1', credentialId: cred, tags } })).createTarget.id
    await target('ov-one', ['ov-a'])
    const two = await target('ov-two', ['ov-b'])
    const script = await wf.template('ov-script', 'test-script', { steps: [] }, { targetSelector: { tags: ['ov-a'] } })
    const retrying = await wf.template('ov-retry', 'test-outcome', { fail: 'flaky', retryable: true })
    const slow = await wf.template('ov-slow', 'test-outcome', { wait: 'ov-never' }, { maxConcurrentRuns: 5 })
    const id = await wf.create({
      name: 'overridden',
      nodes: [
        node('t', script, { overrides: { targetSelector: { targetIds: [two] } } }),
        node('r', retrying, { overrides: { retryMaxAttempts: 2, retryDelaySeconds: 0 } }),
        node('s', slow, { overrides: { timeoutSeconds: 1 } }),
      ],
    })
    const saved = (await t.ok(`query($id: ID!) { workflow(id: $id) { nodes { key overrides { timeoutSeconds retryMaxAttempts targetSelector { targets { name } } } } } }`, { id })).workflow.nodes
    expect(saved[0].overrides.targetSelector.targets).toEqual([{ name: 'ov-two' }])
    // An update that does not give the nodes keeps them, overrides included.
    await t.ok(`mutation($id: ID!, $i: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $i) { id } }`, { id, i: { description: 'kept?', edges: [] } })
    expect((await t.ok(`query($id: ID!) { workflow(id: $id) { nodes { key overrides { timeoutSeconds retryMaxAttempts targetSelector { targets { name } } } } } }`, { id })).workflow.nodes).toEqual(saved)
    const end = await wf.waitEnd(await wf.trigger(id))
    const runs = (await t.ok(`query($id: ID!) { workflowRun(id: $id) { nodes { key status jobRun { status attempt targets { name } } } } }`, { id: end.id })).workflowRun.nodes
    expect(runs.find((n: { key: string }) => n.key === 't')).toEqual({ key: 't', status: 'SUCCEEDED', jobRun: { status: 'SUCCEEDED', attempt: 1, targets: [{ name: 'ov-two' }] } })
    expect(runs.find((n: { key: string }) => n.key === 'r')).toMatchObject({ status: 'FAILED', jobRun: { status: 'FAILED', attempt: 2 } })
    expect(runs.find((n: { key: string }) => n.key === 's')).toMatchObject({ status: 'TIMED_OUT', jobRun: { status: 'TIMED_OUT' } })
    // The template's limit travels with the run regardless of overrides.
    const { rows } = await t.app.db.pool.query(`SELECT j.max_concurrent, j.concurrency_key::text FROM job_run j JOIN workflow_node_run n ON n.job_run_id = j.id WHERE n.key = 's' ORDER BY j.created_at DESC LIMIT 1`)
    expect(rows[0]).toMatchObject({ max_concurrent: 5 })
  })
})


describe('the workflow starter', () => {
  it('queues on a workflow run another transaction holds, rather than skipping it, and starts its READY nodes once it is free', async () => {
    const held = await wf.template('lock-held', 'test-outcome', { wait: 'lock-held' })
    const id = await wf.create({ name: 'lock-wait', nodes: [node('a', held), node('b', ok)], edges: [edge('a', 'b')] })
    const run = await wf.trigger(id)
    const runId = decodeGlobalID(run).id
    await gates.reached('lock-held')
    const holder = await t.app.db.pool.connect()
    try {
      // The run's lock held, as a sibling's settle holds it at commit (workflow_advance) while a fan-out's
      // next slice is due; b made READY by the holder and the starters told.
      await holder.query('BEGIN')
      await holder.query(`SELECT 1 FROM workflow_run WHERE id = $1 FOR UPDATE`, [runId])
      await holder.query(`UPDATE workflow_node_run SET status = 'READY' WHERE workflow_run_id = $1 AND key = 'b'`, [runId])
      await t.app.db.pool.query(`SELECT pg_notify($1, $2)`, [CHANNELS.workflowReady, runId])
      // A starter waits in the queue for the lock (a skipping starter found the run locked at every wake-up
      // while settles kept taking the lock one after another).
      await eventually(
        async () => (await t.app.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM workflow_run r LEFT JOIN app_user%'`)).rowCount! > 0,
        { what: 'a starter waiting for the workflow run lock' },
      )
      await holder.query('COMMIT')
    } catch (e) {
      await holder.query('ROLLBACK')
      gates.release('lock-held')
      throw e
    } finally {
      holder.release()
    }
    await eventually(async () => (await wf.read(run)).nodes.find((n) => n.key === 'b')!.status !== 'READY', { what: 'b started' })
    gates.release('lock-held')
    const end = await wf.waitEnd(run)
    expect(end.status).toBe('SUCCEEDED')
    expect(end.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['a:SUCCEEDED', 'b:SUCCEEDED'])
  })
})
