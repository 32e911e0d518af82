/**
 * Workflows through the GraphQL API against real Postgres and a real worker: saving (field-named
 * validation, cycles, nothing half-saved, updates keep what is not given), and running (joins × parent
 * outcomes, edge kinds, values passed between nodes, an unresolvable reference, cancel, the live feed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError } from '../harness/run-helpers.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'
import { workflowHelpers, type WorkflowRunState } from '../harness/workflow-helpers.ts'

let t: TestApp
const wf = workflowHelpers(() => t)
let ok: string
let bad: string
let echo: string

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
  ok = await wf.template('ok', 'test-outcome', { result: { hosts: ['a', 'b'], count: 2 } })
  bad = await wf.template('bad', 'test-outcome', { fail: 'boom' })
  echo = await wf.template('echo', 'test-outcome', {}, {
    parameters: [
      { name: 'msg', type: 'STRING' },
      { name: 'n', type: 'INT' },
      { name: 'token', type: 'SECRET' },
      { name: 'plain', type: 'STRING' },
    ],
  })
})
afterAll(async () => {
  await t?.stop()
})

const CREATE = `mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id name } }`
const node = (key: string, templateId: string, extra: Record<string, unknown> = {}) => ({ key, templateId, ...extra })
const edge = (from: string, to: string, kind = 'ON_SUCCESS') => ({ from, to, kind })

async function workflowCount(): Promise<number> {
  const { rows } = await t.app.db.pool.query(`SELECT (SELECT count(*) FROM workflow)::int + (SELECT count(*) FROM workflow_node)::int AS n`)
  return rows[0].n
}

describe('saving a workflow', () => {
  it('rejects a cycle with its path, naming the edge that closes it', async () => {
    const before = await workflowCount()
    const r = await t.gql(CREATE, { i: { name: 'cyclic', nodes: [node('a', ok), node('b', ok), node('c', ok)], edges: [edge('a', 'b'), edge('b', 'c'), edge('c', 'a')] } })
    expectFieldError(r, 'input.edges.2')
    expect(r.errors![0]!.extensions!.fields!.find((f) => f.field === 'input.edges.2')!.message).toContain('a → b → c → a')
    const self = await t.gql(CREATE, { i: { name: 'self', nodes: [node('a', ok)], edges: [edge('a', 'a')] } })
    expect(self.errors![0]!.extensions!.fields![0]!.message).toContain('a → a')
    expect(await workflowCount()).toBe(before)
  })

  it('names every bad field at once and saves nothing', async () => {
    const before = await workflowCount()
    const operator = await t.userToken('OPERATOR', 'wf-op')
    const hidden = (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'admins-only', jobType: 'noop', config: {}, visibility: 'PRIVATE' } })).createJobTemplate.id
    const r = await t.gql(
      CREATE,
      {
        i: {
          name: 'bad',
          parameters: [{ name: 'site', type: 'STRING' }],
          nodes: [
            node('a', ok),
            node('a', ok), // 1: duplicate key
            node('b', hidden), // 2: invisible to the operator
            node('c', echo, { parameters: { msg: '{{ nodes.d.status }}', nope: 1, plain: '{{ params.missing }}' } }), // 3: d is not upstream; no such template parameter; no such workflow parameter
            node('d', ok),
            node('e', ok, { parameters: { x: '{{ weird }}' } }), // 5: malformed expression (and no such parameter)
          ],
          edges: [edge('a', 'c'), edge('a', 'zzz'), edge('qqq', 'd')],
        },
      },
      operator,
    )
    const fields = r.errors![0]!.extensions!.fields!.map((f) => f.field)
    expect(r.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT')
    expect(fields).toEqual(expect.arrayContaining([
      'input.nodes.1.key',
      'input.nodes.2.templateId',
      'input.nodes.3.parameters.msg',
      'input.nodes.3.parameters.nope',
      'input.nodes.3.parameters.plain',
      'input.nodes.5.parameters.x',
      'input.edges.1.to',
      'input.edges.2.from',
    ]))
    expect(await workflowCount()).toBe(before)
    // A node id that is not a template id at all, and an empty graph.
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', nodes: [{ key: 'a', templateId: 'not-an-id' }] } }), 'input.nodes.0.templateId')
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', nodes: [] } }), 'input.nodes')
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', nodes: [{ key: 'a' }] } }), 'input.nodes.0.templateId')
  })

  it('allows at most 200 nodes', async () => {
    const nodes = Array.from({ length: 201 }, (_, i) => node(`n${i}`, ok))
    expectFieldError(await t.gql(CREATE, { i: { name: 'huge', nodes } }), 'input.nodes')
    const fine = await t.gql(CREATE, { i: { name: 'big', nodes: nodes.slice(0, 200), edges: nodes.slice(1, 200).map((n, i) => edge(`n${i}`, n.key)) } })
    expect(fine.errors).toBeUndefined()
  })

  it('updates keep every field not given, and the trail records each change', async () => {
    const id = await wf.create({ name: 'keep', description: 'd', parameters: [{ name: 'p', type: 'STRING' }], nodes: [node('a', ok), node('b', echo, { parameters: { msg: '{{ params.p }}' }, joinPolicy: 'ALL_DONE' })], edges: [edge('a', 'b', 'ALWAYS')] })
    const READ = `query($id: ID!) { workflow(id: $id) { name description visibility parameters { name } nodes { key joinPolicy parameters template { id } } edges { from to kind } } }`
    const before = (await t.ok(READ, { id })).workflow
    await t.ok(`mutation($id: ID!, $i: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $i) { id } }`, { id, i: { name: 'kept' } })
    expect((await t.ok(READ, { id })).workflow).toEqual({ ...before, name: 'kept' })
    // New nodes without edges keep the saved edges (by key), checked against the new nodes.
    await t.ok(`mutation($id: ID!, $i: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $i) { id } }`, { id, i: { nodes: [node('a', bad), node('b', ok)] } })
    const after = (await t.ok(READ, { id })).workflow
    expect(after.edges).toEqual(before.edges)
    expect(after.nodes.map((n: { template: { id: string } }) => n.template.id)).toEqual([bad, ok])
    expectFieldError(await t.gql(`mutation($id: ID!, $i: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $i) { id } }`, { id, i: { nodes: [node('a', ok)] } }), 'input.edges.0.to')
    expect((await t.ok(READ, { id })).workflow.nodes).toHaveLength(2)
    const { auditEvents } = await t.ok(`query { auditEvents(first: 20, filter: { actions: ["workflow."] }) { edges { node { action entityName } } } }`)
    expect(auditEvents.edges.map((e: { node: { action: string; entityName: string } }) => `${e.node.action} ${e.node.entityName}`)).toEqual(expect.arrayContaining(['workflow.create keep', 'workflow.update kept']))
  })
})

describe('running a workflow', () => {
  /**
   * Parents p and q (each SUCCEEDED, FAILED or SKIPPED — skipped because its own parent failed),
   * joined by one child per join policy over ON_SUCCESS edges.
   */
  async function joinCase(p: 'S' | 'F' | 'K', q: 'S' | 'F' | 'K'): Promise<Record<string, string>> {
    const parent = (key: string, outcome: string) => (outcome === 'F' ? node(key, bad) : node(key, ok))
    const nodes = [parent('p', p), parent('q', q), node('zp', bad), node('zq', bad)]
    const edges = [edge('p', 'all'), edge('q', 'all'), edge('p', 'any'), edge('q', 'any'), edge('p', 'done'), edge('q', 'done'), edge('p', 'nf'), edge('q', 'nf')]
    if (p === 'K') edges.push(edge('zp', 'p'))
    if (q === 'K') edges.push(edge('zq', 'q'))
    nodes.push(node('all', ok, { joinPolicy: 'ALL_SUCCEEDED' }), node('any', ok, { joinPolicy: 'ANY_SUCCEEDED' }), node('done', ok, { joinPolicy: 'ALL_DONE' }), node('nf', ok, { joinPolicy: 'NONE_FAILED' }))
    const id = await wf.create({ name: `join-${p}${q}`, nodes, edges })
    const run = await wf.waitEnd(await wf.trigger(id))
    expect(run.node('p').status).toBe({ S: 'SUCCEEDED', F: 'FAILED', K: 'SKIPPED' }[p])
    expect(run.node('q').status).toBe({ S: 'SUCCEEDED', F: 'FAILED', K: 'SKIPPED' }[q])
    const out: Record<string, string> = {}
    for (const k of ['all', 'any', 'done', 'nf']) {
      const n = run.node(k)
      out[k] = n.status === 'SUCCEEDED' ? 'run' : n.status === 'SKIPPED' ? 'skip' : n.status
      if (n.status === 'SKIPPED') expect(n.reason).toMatch(/^join [A-Z_]+ cannot be satisfied: .*-> /)
      if (n.status === 'SKIPPED') expect(n.jobRun).toBeNull()
    }
    return out
  }

  it.each([
    ['S', 'S', { all: 'run', any: 'run', done: 'run', nf: 'run' }],
    ['S', 'F', { all: 'skip', any: 'run', done: 'run', nf: 'skip' }],
    ['F', 'F', { all: 'skip', any: 'skip', done: 'run', nf: 'skip' }],
    ['S', 'K', { all: 'skip', any: 'run', done: 'skip', nf: 'run' }],
    ['F', 'K', { all: 'skip', any: 'skip', done: 'skip', nf: 'skip' }],
    ['K', 'K', { all: 'skip', any: 'skip', done: 'skip', nf: 'skip' }],
  ] as const)('join table: parents %s + %s', async (p, q, expected) => {
    expect(await joinCase(p, q)).toEqual(expected)
  })

  it('edge kinds: ON_FAILURE handles a failure, ON_SUCCESS is skipped with the edge named, ALWAYS runs either way', async () => {
    const id = await wf.create({
      name: 'edges',
      nodes: [node('a', bad), node('onfail', ok), node('onok', ok), node('always', ok)],
      edges: [edge('a', 'onfail', 'ON_FAILURE'), edge('a', 'onok', 'ON_SUCCESS'), edge('a', 'always', 'ALWAYS')],
    })
    const run = await wf.waitEnd(await wf.trigger(id))
    expect(run.node('a')).toMatchObject({ status: 'FAILED', reason: 'boom', jobRun: { status: 'FAILED', trigger: 'WORKFLOW' } })
    expect(run.node('onfail').status).toBe('SUCCEEDED')
    expect(run.node('always').status).toBe('SUCCEEDED')
    expect(run.node('onok')).toMatchObject({ status: 'SKIPPED', reason: 'join ALL_SUCCEEDED cannot be satisfied: a -ON_SUCCESS-> onok (a failed)' })
    // The failure was handled by an ON_FAILURE edge: the workflow succeeds.
    expect(run).toMatchObject({ status: 'SUCCEEDED', error: null })

    const ok2 = await wf.create({ name: 'edges-ok', nodes: [node('a', ok), node('onfail', ok), node('always', ok)], edges: [edge('a', 'onfail', 'ON_FAILURE'), edge('a', 'always', 'ALWAYS')] })
    const r2 = await wf.waitEnd(await wf.trigger(ok2))
    expect(r2.node('onfail')).toMatchObject({ status: 'SKIPPED', reason: expect.stringContaining('a -ON_FAILURE-> onfail (a succeeded)') })
    expect(r2).toMatchObject({ status: 'SUCCEEDED' })

    // An unhandled failure fails the workflow run, naming the node; a skip cascades down a chain.
    const unhandled = await wf.create({ name: 'unhandled', nodes: [node('a', bad), node('b', ok), node('c', ok)], edges: [edge('a', 'b'), edge('b', 'c')] })
    const r3 = await wf.waitEnd(await wf.trigger(unhandled))
    expect(r3).toMatchObject({ status: 'FAILED', error: 'not handled by an ON_FAILURE or ALWAYS edge: a failed' })
    expect(r3.nodes.map((n) => n.status)).toEqual(['FAILED', 'SKIPPED', 'SKIPPED'])
    expect(r3.node('c').reason).toContain('b -ON_SUCCESS-> c (b skipped)')
  })

  it('passes parameters, statuses and results between nodes (typed, secrets kept secret)', async () => {
    const id = await wf.create({
      name: 'passing',
      parameters: [{ name: 'greeting', type: 'STRING', default: 'hi' }, { name: 'count', type: 'INT', required: true }, { name: 'key', type: 'SECRET' }],
      nodes: [
        node('first', ok),
        node('second', echo, {
          parameters: {
            msg: '{{ params.greeting }} {{ nodes.first.result.hosts.1 }} ({{ nodes.first.status }})',
            n: '{{ nodes.first.result.count }}',
            token: '{{ params.key }}',
          },
        }),
        node('third', echo, { parameters: { msg: '{{ nodes.second.result.parameters.msg }}', n: '{{ params.count }}' } }),
      ],
      edges: [edge('first', 'second'), edge('second', 'third')],
    })
    const bad = await t.gql(`mutation($id: ID!, $p: JSON) { triggerWorkflowRun(workflowId: $id, parameters: $p) { id } }`, { id, p: { count: 'many' } })
    expectFieldError(bad, 'parameters.count')
    const run = await wf.waitEnd(await wf.trigger(id, { count: 7, key: 's3cret' }))
    expect(run.status).toBe('SUCCEEDED')
    expect(run.parameters).toEqual({ greeting: 'hi', count: 7, key: '••••••' })
    expect(run.node('second').jobRun!.parameters).toEqual({ msg: 'hi b (SUCCEEDED)', n: 2, token: '••••••' })
    expect(run.node('third').jobRun!.parameters).toEqual({ msg: 'hi b (SUCCEEDED)', n: 7 })
    // The secret reached the executor (its result echoes parameters) but is stored nowhere in clear.
    expect(run.node('second').jobRun!.result.parameters.token).not.toBe('s3cret')
    const { rows } = await t.app.db.pool.query(`SELECT count(*)::int AS n FROM workflow_run WHERE parameters::text LIKE '%s3cret%'`)
    expect(rows[0].n).toBe(0)
  })

  it('an unresolvable reference fails the node before it starts, with the reason', async () => {
    const id = await wf.create({
      name: 'unresolvable',
      nodes: [node('a', ok), node('b', echo, { parameters: { msg: '{{ nodes.a.result.nothere }}' } }), node('c', ok), node('d', echo, { parameters: { n: '{{ nodes.a.result.hosts.0 }}' } })],
      edges: [edge('a', 'b'), edge('b', 'c', 'ON_FAILURE'), edge('a', 'd')],
    })
    const run = await wf.waitEnd(await wf.trigger(id))
    expect(run.node('b')).toMatchObject({ status: 'FAILED', jobRun: null, reason: 'could not start: {{ nodes.a.result.nothere }}: nodes.a.result has no "nothere"' })
    expect(run.node('c').status).toBe('SUCCEEDED')
    // A value of the wrong type for the template's parameter: refused like a trigger's, before the run exists.
    expect(run.node('d')).toMatchObject({ status: 'FAILED', jobRun: null, reason: 'could not start: parameters.n: must be an integer' })
    expect(run).toMatchObject({ status: 'FAILED', error: 'not handled by an ON_FAILURE or ALWAYS edge: d failed' })
  })

  it('checks the values given to each template at save: types of literals, required ones, secrets kept secret', async () => {
    const strict = await wf.template('strict', 'test-outcome', {}, { parameters: [{ name: 'count', type: 'INT', required: true }, { name: 'pw', type: 'SECRET' }, { name: 'mode', type: 'CHOICE', choices: ['a', 'b'] }] })
    const r = await t.gql(CREATE, {
      i: {
        name: 'mappings',
        parameters: [{ name: 'key', type: 'SECRET' }, { name: 'site', type: 'STRING' }],
        nodes: [
          node('missing', strict, { parameters: { mode: 'c' } }), // count required; mode not a choice
          node('literal-secret', strict, { parameters: { count: 1, pw: 'hunter2' } }),
          node('plain-into-secret', strict, { parameters: { count: 1, pw: '{{ params.site }}' } }),
          node('secret-into-plain', echo, { parameters: { plain: 'x {{ params.key }}' } }),
          node('fine', strict, { parameters: { count: '{{ params.site }}', pw: '{{ params.key }}', mode: 'b' } }),
        ],
      },
    })
    const fields = r.errors![0]!.extensions!.fields!.map((f) => f.field).sort()
    expect(fields).toEqual([
      'input.nodes.0.parameters.count',
      'input.nodes.0.parameters.mode',
      'input.nodes.1.parameters.pw',
      'input.nodes.2.parameters.pw',
      'input.nodes.3.parameters.plain',
    ])
  })

  it('cancel: the running node is cancelled, pending ones skipped, the run ends CANCELLED; the live feed shows each step', async () => {
    const waiting = await wf.template('waits', 'test-outcome', { wait: 'wf-cancel' })
    const id = await wf.create({ name: 'cancel', nodes: [node('a', waiting), node('b', ok), node('c', ok)], edges: [edge('a', 'b'), edge('a', 'c', 'ALWAYS')] })
    const runId = await wf.trigger(id)
    type Item = { workflowRunUpdated: WorkflowRunState }
    const feed = collect<Item>(t.wsClient(), `subscription($id: ID!) { workflowRunUpdated(id: $id) { id status nodes { key status } } }`, { id: runId }, (items) => items.at(-1)?.workflowRunUpdated.status === 'CANCELLED')
    await gates.reached('wf-cancel')
    const cancelled = await t.ok(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { status cancelRequestedAt } }`, { id: runId })
    expect(cancelled.cancelWorkflowRun.cancelRequestedAt).not.toBeNull()
    const run = await wf.waitEnd(runId)
    expect(run).toMatchObject({ status: 'CANCELLED', error: 'cancelled' })
    expect(run.node('a')).toMatchObject({ status: 'CANCELLED', jobRun: { status: 'CANCELLED' } })
    expect(run.node('b')).toMatchObject({ status: 'SKIPPED', reason: 'the workflow run was cancelled', jobRun: null })
    expect(run.node('c')).toMatchObject({ status: 'SKIPPED', jobRun: null })
    const items = (await feed).map((i) => i.workflowRunUpdated)
    expect(items[0]!.status).toBe('RUNNING')
    expect(items.at(-1)!.nodes.map((n) => n.status)).toEqual(['CANCELLED', 'SKIPPED', 'SKIPPED'])
    const again = await t.gql(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { status } }`, { id: runId })
    expect(again.errors![0]!.extensions!.code).toBe('INVALID_STATE')
  })

  it('a workflow is no way around visibility or concurrency limits', async () => {
    const operator = await t.userToken('OPERATOR', 'wf-trigger-op')
    const mine = (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'private-ok', jobType: 'test-outcome', config: {}, visibility: 'PRIVATE' } })).createJobTemplate.id
    // An admin's GLOBAL workflow over an admin's PRIVATE template: operators see the workflow but may not run it.
    const id = await wf.create({ name: 'uses-private', nodes: [node('a', mine)] })
    const r = await t.gql(`mutation($id: ID!) { triggerWorkflowRun(workflowId: $id) { id } }`, { id }, operator)
    expect(r.errors![0]!.extensions!.code).toBe('FORBIDDEN')
    expect(r.errors![0]!.message).toContain('a')
    // Nor does the GLOBAL workflow show them the PRIVATE template, or its run.
    expect((await t.ok(`query($id: ID!) { workflow(id: $id) { nodes { key template { id } } } }`, { id }, operator)).workflow.nodes).toEqual([{ key: 'a', template: null }])
    const adminRun = await wf.trigger(id)
    await wf.waitEnd(adminRun)
    const seen = (await t.ok(`query($id: ID!) { workflowRun(id: $id) { nodes { status jobRun { id } } } }`, { id: adminRun }, operator)).workflowRun.nodes
    expect(seen).toEqual([{ status: 'SUCCEEDED', jobRun: null }])
    expect((await wf.read(adminRun)).nodes[0]!.jobRun).not.toBeNull()

    // Limit 1: a fan-out of 3 nodes of one template never has two of its runs executing at once.
    const limited = await wf.template('limited', 'test-outcome', { wait: 'wf-limit' }, { maxConcurrentRuns: 1 })
    const fan = await wf.create({ name: 'fan', nodes: [node('x', limited), node('y', limited), node('z', limited)] })
    const runId = await wf.trigger(fan)
    await gates.reached('wf-limit')
    const running = await eventually(async () => {
      const s = await wf.read(runId)
      return s.nodes.every((n) => n.jobRun) ? s : null
    })
    expect(running.nodes.filter((n) => n.jobRun!.status === 'RUNNING')).toHaveLength(1)
    gates.release('wf-limit')
    expect((await wf.waitEnd(runId)).status).toBe('SUCCEEDED')
  })

  it('a node left RUNNING behind an ended run (its advance failed) is caught up by the workers\' sweep', async () => {
    const id = await wf.create({ name: 'straggler', nodes: [node('a', ok), node('b', ok)], edges: [edge('a', 'b')] })
    // Stands for an advance that failed inside the run's final transaction (isolated by the trigger): with
    // the trigger off for the whole run, only the sweep can move the graph, and it must finish it.
    await t.app.db.pool.query('ALTER TABLE job_run DISABLE TRIGGER job_run_workflow_advance')
    try {
      const end = await wf.waitEnd(await wf.trigger(id))
      expect(end.nodes.map((n) => `${n.key}:${n.status}:${n.jobRun?.status}`)).toEqual(['a:SUCCEEDED:SUCCEEDED', 'b:SUCCEEDED:SUCCEEDED'])
      expect(end.status).toBe('SUCCEEDED')
    } finally {
      await t.app.db.pool.query('ALTER TABLE job_run ENABLE TRIGGER job_run_workflow_advance')
    }
  })

  it('lists runs as a connection (newest first, filtered), and deleting a workflow keeps its runs', async () => {
    const id = await wf.create({ name: 'listed', nodes: [node('a', ok)] })
    const first = await wf.trigger(id)
    const second = await wf.trigger(id)
    await wf.waitEnd(first)
    await wf.waitEnd(second)
    const LIST = `query($w: ID) { workflowRuns(first: 1, workflowId: $w) { totalCount pageInfo { hasNextPage endCursor } edges { node { id workflowName status nodes { key status } } } } }`
    const page = (await t.ok(LIST, { w: id })).workflowRuns
    expect(page).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true }, edges: [{ node: { id: second, workflowName: 'listed', status: 'SUCCEEDED', nodes: [{ key: 'a', status: 'SUCCEEDED' }] } }] })
    const viewer = await t.userToken('VIEWER', 'wf-viewer')
    const denied = await t.gql(`mutation($id: ID!) { triggerWorkflowRun(workflowId: $id) { id } }`, { id }, viewer)
    expect(denied.errors![0]!.extensions!.code).toBe('FORBIDDEN')
    await t.ok(`mutation($id: ID!) { deleteWorkflow(id: $id) }`, { id })
    expect((await t.gql(`query($id: ID!) { workflow(id: $id) { id } }`, { id })).errors![0]!.extensions!.code).toBe('NOT_FOUND')
    expect((await t.ok(`query($id: ID!) { workflowRun(id: $id) { workflow { id } workflowName status } }`, { id: first })).workflowRun).toEqual({ workflow: null, workflowName: 'listed', status: 'SUCCEEDED' })
  })

  it('a skipped parent satisfies not even ALWAYS; a timed-out node satisfies ON_FAILURE; a cancelled node run satisfies ALWAYS', async () => {
    const skipped = await wf.create({ name: 'always-after-skip', nodes: [node('a', bad), node('b', ok), node('c', ok)], edges: [edge('a', 'b'), edge('b', 'c', 'ALWAYS')] })
    const r1 = await wf.waitEnd(await wf.trigger(skipped))
    expect(r1.nodes.map((n) => n.status)).toEqual(['FAILED', 'SKIPPED', 'SKIPPED'])
    expect(r1.node('c').reason).toBe('join ALL_SUCCEEDED cannot be satisfied: b -ALWAYS-> c (b skipped)')

    const slow = await wf.template('slow', 'test-outcome', { wait: 'wf-never' }, { timeoutSeconds: 1 })
    const timedOut = await wf.create({ name: 'timeout', nodes: [node('a', slow), node('handler', ok), node('next', ok)], edges: [edge('a', 'handler', 'ON_FAILURE'), edge('a', 'next')] })
    const r2 = await wf.waitEnd(await wf.trigger(timedOut))
    expect(r2.node('a')).toMatchObject({ status: 'TIMED_OUT', jobRun: { status: 'TIMED_OUT' } })
    expect(r2.nodes.map((n) => n.status)).toEqual(['TIMED_OUT', 'SUCCEEDED', 'SKIPPED'])
    expect(r2.status).toBe('SUCCEEDED')

    const waits = await wf.template('waits-for-cancel', 'test-outcome', { wait: 'wf-node-cancel' })
    const cancelled = await wf.create({ name: 'node-cancel', nodes: [node('a', waits), node('always', ok), node('onok', ok)], edges: [edge('a', 'always', 'ALWAYS'), edge('a', 'onok')] })
    const runId = await wf.trigger(cancelled)
    await gates.reached('wf-node-cancel')
    const jobRunId = (await wf.read(runId)).nodes[0]!.jobRun!.id
    await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: jobRunId })
    const r3 = await wf.waitEnd(runId)
    expect(r3.nodes.map((n) => n.status)).toEqual(['CANCELLED', 'SUCCEEDED', 'SKIPPED'])
    expect(r3.status).toBe('SUCCEEDED')
  })

  it('workflowRunEvents: every status in order, numbered without gaps, resumable from any seq', async () => {
    const waits = await wf.template('waits-for-events', 'test-outcome', { wait: 'wf-events' })
    const id = await wf.create({ name: 'events', nodes: [node('a', waits), node('b', bad), node('c', ok)], edges: [edge('a', 'b'), edge('b', 'c', 'ON_FAILURE')] })
    const runId = await wf.trigger(id)
    type Ev = { workflowRunEvents: { seq: number; nodeKey: string | null; status: string } }
    const EVENTS = `subscription($id: ID!, $after: Int) { workflowRunEvents(id: $id, after: $after) { seq nodeKey status } }`
    const done = (items: Ev[]) => items.some((i) => i.workflowRunEvents.nodeKey === null && i.workflowRunEvents.status !== 'RUNNING')
    // Subscribed while the run is in progress: stored events first, then live ones.
    const live = collect<Ev>(t.wsClient(), EVENTS, { id: runId }, done)
    await gates.reached('wf-events')
    gates.release('wf-events')
    const all = (await live).map((i) => i.workflowRunEvents)
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1))
    const story = all.map((e) => `${e.nodeKey ?? 'run'}:${e.status}`)
    expect(story).toEqual([
      'run:RUNNING', 'a:READY', 'b:PENDING', 'c:PENDING', 'a:RUNNING', 'a:SUCCEEDED', 'b:READY', 'b:RUNNING', 'b:FAILED', 'c:READY', 'c:RUNNING', 'c:SUCCEEDED', 'run:SUCCEEDED',
    ])
    const resumed = (await collect<Ev>(t.wsClient(), EVENTS, { id: runId, after: 5 }, done)).map((i) => i.workflowRunEvents)
    expect(resumed).toEqual(all.slice(5))
    expect((await wf.read(runId) as unknown as { status: string }).status).toBe('SUCCEEDED')
  })
})
