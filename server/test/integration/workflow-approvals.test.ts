/**
 * APPROVAL nodes through the API: who may decide (roles, users, no self-approval), minimum approvers,
 * rejection, deadlines each way, concurrent decisions (first wins), cancel while awaiting.
 */
import { encodeGlobalID } from '@pothos/plugin-relay'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError } from '../harness/run-helpers.ts'
import { createTestRegistry } from '../harness/test-executors.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'

let t: TestApp
const wf = workflowHelpers(() => t)
let ok: string
let op1: string
let op2: string
let viewer: string
let op1Id: string
let op2Id: string

const NODE_RUN = `id key status reason message deadlineAt decisions { username decision comment }`
const APPROVE = `mutation($id: ID!, $c: String) { approveWorkflowNode(nodeRunId: $id, comment: $c) { ${NODE_RUN} } }`
const REJECT = `mutation($id: ID!, $c: String) { rejectWorkflowNode(nodeRunId: $id, comment: $c) { ${NODE_RUN} } }`

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
  ok = await wf.template('ok', 'test-outcome', {})
  op1 = await t.userToken('OPERATOR', 'op1')
  op2 = await t.userToken('OPERATOR', 'op2')
  viewer = await t.userToken('VIEWER', 'viewer1')
  const { rows } = await t.app.db.pool.query<{ id: string; username: string }>(`SELECT id, username FROM app_user WHERE username IN ('op1', 'op2')`)
  op1Id = encodeGlobalID('User', rows.find((r) => r.username === 'op1')!.id)
  op2Id = encodeGlobalID('User', rows.find((r) => r.username === 'op2')!.id)
})
afterAll(async () => {
  await t?.stop()
})

/** gate (APPROVAL) → on success "after", on failure "handler". */
async function gated(name: string, approval: Record<string, unknown>, parameters: unknown[] = []): Promise<string> {
  return wf.create({
    name,
    parameters,
    nodes: [{ key: 'gate', kind: 'APPROVAL', approval }, { key: 'after', templateId: ok }, { key: 'handler', templateId: ok }],
    edges: [{ from: 'gate', to: 'after' }, { from: 'gate', to: 'handler', kind: 'ON_FAILURE' }],
  })
}

async function awaiting(runId: string): Promise<{ id: string; message: string; deadlineAt: string }> {
  return eventually(async () => {
    const r = await t.ok(`query($id: ID!) { workflowRun(id: $id) { nodes { ${NODE_RUN} } } }`, { id: runId })
    const gate = r.workflowRun.nodes.find((n: { key: string }) => n.key === 'gate')
    return gate.status === 'AWAITING_APPROVAL' ? gate : null
  }, { what: 'the gate to await approval' })
}

describe('approval nodes', () => {
  it('need the minimum of distinct approvers with the right role, never the one who triggered', async () => {
    const id = await gated('two-approvers', { approverRoles: ['ADMIN', 'OPERATOR'], minApprovals: 2, timeoutSeconds: 3600, message: 'deploy to {{ params.site }}?' }, [{ name: 'site', type: 'STRING' }])
    const runId = await wf.trigger(id, { site: 'ams' }) // triggered by the admin
    const gate = await awaiting(runId)
    expect(gate.message).toBe('deploy to ams?')
    expect((await t.ok(`{ pendingApprovals { id } }`, {}, op1)).pendingApprovals).toEqual([{ id: gate.id }])
    expect((await t.ok(`{ pendingApprovals { id } }`)).pendingApprovals).toEqual([]) // the admin triggered it
    const self = await t.gql(APPROVE, { id: gate.id })
    expect(self.errors![0]!.extensions!.code).toBe('FORBIDDEN')
    expect(self.errors![0]!.message).toContain('self-approval')
    expect((await t.gql(APPROVE, { id: gate.id }, viewer)).errors![0]!.extensions!.code).toBe('FORBIDDEN')
    const first = (await t.ok(APPROVE, { id: gate.id, c: 'looks fine' }, op1)).approveWorkflowNode
    expect(first).toMatchObject({ status: 'AWAITING_APPROVAL', decisions: [{ username: 'op1', decision: 'APPROVE', comment: 'looks fine' }] })
    expect((await t.gql(APPROVE, { id: gate.id }, op1)).errors![0]!.extensions!.code).toBe('CONFLICT')
    expect((await t.ok(APPROVE, { id: gate.id }, op2)).approveWorkflowNode.status).toBe('SUCCEEDED')
    const end = await wf.waitEnd(runId)
    expect(end.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['gate:SUCCEEDED', 'after:SUCCEEDED', 'handler:SKIPPED'])
    expect(end.status).toBe('SUCCEEDED')
    const { auditEvents } = await t.ok(`{ auditEvents(first: 10, filter: { actions: ["workflow-run.approve"] }) { edges { node { actorName } } } }`)
    expect(auditEvents.edges.map((e: { node: { actorName: string } }) => e.node.actorName).sort()).toEqual(['op1', 'op2'])
  })

  it('a rejection fails the node, and its ON_FAILURE edge handles it; only named users may decide', async () => {
    const id = await gated('named', { approverUserIds: [op1Id], timeoutSeconds: 3600 })
    const runId = await wf.trigger(id)
    const gate = await awaiting(runId)
    expect((await t.gql(REJECT, { id: gate.id }, op2)).errors![0]!.extensions!.code).toBe('FORBIDDEN')
    expect((await t.ok(REJECT, { id: gate.id, c: 'not today' }, op1)).rejectWorkflowNode).toMatchObject({ status: 'FAILED', reason: 'rejected by op1: not today' })
    const end = await wf.waitEnd(runId)
    expect(end.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['gate:FAILED', 'after:SKIPPED', 'handler:SUCCEEDED'])
    expect(end.status).toBe('SUCCEEDED')
    expect((await t.gql(APPROVE, { id: gate.id }, op1)).errors![0]!.extensions!.code).toBe('INVALID_STATE')
  })

  it.each([
    [undefined, 'TIMED_OUT', 'handler', 'no decision within 1s: failed'],
    ['APPROVE', 'SUCCEEDED', 'after', "no decision within 1s: approved, as the node's onTimeout says"],
    ['CANCEL', 'CANCELLED', null, "no decision within 1s: cancelled, as the node's onTimeout says"],
  ] as const)('the deadline with onTimeout %s ends the node %s', async (onTimeout, status, runs, reason) => {
    const id = await gated(`timeout-${onTimeout ?? 'default'}`, { approverRoles: ['OPERATOR'], timeoutSeconds: 1, ...(onTimeout ? { onTimeout } : {}) })
    const end = await wf.waitEnd(await wf.trigger(id))
    expect(end.node('gate')).toMatchObject({ status, reason })
    for (const key of ['after', 'handler']) expect(end.node(key).status).toBe(key === runs ? 'SUCCEEDED' : 'SKIPPED')
  })

  it('concurrent decisions: the first wins, the other is refused', async () => {
    const id = await gated('race', { approverUserIds: [op1Id, op2Id], timeoutSeconds: 3600 })
    const runId = await wf.trigger(id)
    const gate = await awaiting(runId)
    const [a, b] = await Promise.all([t.gql(APPROVE, { id: gate.id }, op1), t.gql(REJECT, { id: gate.id }, op2)])
    const winners = [a, b].filter((r) => !r.errors)
    const losers = [a, b].filter((r) => r.errors)
    expect(winners).toHaveLength(1)
    expect(losers.map((r) => r.errors![0]!.extensions!.code)).toEqual(['INVALID_STATE'])
    const end = await wf.waitEnd(runId)
    expect(end.node('gate').status).toBe(a.errors ? 'FAILED' : 'SUCCEEDED')
    const { rows } = await t.app.db.pool.query(`SELECT count(*)::int AS n FROM workflow_approval a JOIN workflow_node_run n ON n.id = a.node_run_id WHERE n.key = 'gate' AND n.workflow_run_id IN (SELECT id FROM workflow_run WHERE workflow_name = 'race')`)
    expect(rows[0].n).toBe(1)
  })

  it('cancelling the workflow run cancels a pending approval', async () => {
    const id = await gated('cancel-approval', { approverRoles: ['OPERATOR'], timeoutSeconds: 3600 })
    const runId = await wf.trigger(id)
    await awaiting(runId)
    await t.ok(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }`, { id: runId })
    const end = await wf.waitEnd(runId)
    expect(end).toMatchObject({ status: 'CANCELLED' })
    expect(end.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['gate:CANCELLED', 'after:SKIPPED', 'handler:SKIPPED'])
  })

  it('are validated at save: approvers, known users, no template', async () => {
    const CREATE = `mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`
    expectFieldError(await t.gql(CREATE, { i: { name: 'v1', nodes: [{ key: 'g', kind: 'APPROVAL' }] } }), 'input.nodes.0.approval')
    expectFieldError(await t.gql(CREATE, { i: { name: 'v2', nodes: [{ key: 'g', kind: 'APPROVAL', approval: { timeoutSeconds: 60 } }] } }), 'input.nodes.0.approval.approverRoles')
    expectFieldError(await t.gql(CREATE, { i: { name: 'v3', nodes: [{ key: 'g', kind: 'APPROVAL', approval: { timeoutSeconds: 60, approverUserIds: [encodeGlobalID('User', '00000000-0000-4000-8000-000000000009')] } }] } }), 'input.nodes.0.approval.approverUserIds.0')
    expectFieldError(await t.gql(CREATE, { i: { name: 'v4', nodes: [{ key: 'g', kind: 'APPROVAL', templateId: ok, approval: { timeoutSeconds: 60, approverRoles: ['ADMIN'] } }] } }), 'input.nodes.0.templateId')
    expectFieldError(await t.gql(CREATE, { i: { name: 'v5', nodes: [{ key: 'g', kind: 'APPROVAL', approval: { timeoutSeconds: 0, approverRoles: ['ADMIN'], message: '{{ nodes.x.status }}' } }] } }), 'input.nodes.0.approval.timeoutSeconds')
  })
})
