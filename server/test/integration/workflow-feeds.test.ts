/**
 * The feeds over many workflow runs, through graphql-ws against real Postgres and a real worker:
 * `workflowRunsChanged` (filtered by workflow and status, and by what the subscriber may see) and
 * `pendingApprovalsChanged` (each subscriber's own inbox: roles, self-approval, decisions, cancels).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestRegistry } from '../harness/test-executors.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'

let t: TestApp
const wf = workflowHelpers(() => t)
let ok: string
let op1: string
let op2: string
let viewer: string

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
  ok = await wf.template('ok', 'test-outcome', {})
  op1 = await t.userToken('OPERATOR', 'op1')
  op2 = await t.userToken('OPERATOR', 'op2')
  viewer = await t.userToken('VIEWER', 'viewer1')
})
afterAll(async () => {
  await t?.stop()
})

/** A subscription that keeps every payload until disposed (for asserting what a subscriber never saw). */
function follow<T>(token: string | undefined, query: string, variables: Record<string, unknown> = {}) {
  const items: T[] = []
  const errors: unknown[] = []
  const dispose = t.wsClient(token).subscribe<T>({ query, variables }, { next: (m) => (m.errors ? errors.push(m.errors) : items.push(m.data as T)), error: (e) => errors.push(e), complete: () => {} })
  return { items, errors, dispose }
}

const INBOX = `subscription { pendingApprovalsChanged { id key status workflowRun { id } } }`
type Inbox = { pendingApprovalsChanged: Array<{ id: string; key: string; status: string; workflowRun: { id: string } }> }
const RUNS = `subscription($w: ID, $s: [WorkflowRunStatus!]) { workflowRunsChanged(workflowId: $w, statuses: $s) { id status workflowName } }`
type RunItem = { workflowRunsChanged: { id: string; status: string; workflowName: string } }

describe('pendingApprovalsChanged', () => {
  it('sends each subscriber its own inbox now and after every change', async () => {
    const id = await wf.create({
      name: 'gated',
      nodes: [{ key: 'gate', kind: 'APPROVAL', approval: { approverRoles: ['ADMIN', 'OPERATOR'], timeoutSeconds: 3600 } }, { key: 'after', templateId: ok }],
      edges: [{ from: 'gate', to: 'after' }],
    })
    const mine = follow<Inbox>(op1, INBOX)
    const admin = follow<Inbox>(undefined, INBOX) // the admin triggers, so may not approve it
    const view = follow<Inbox>(viewer, INBOX) // viewers decide nothing
    await eventually(async () => mine.items.length && admin.items.length && view.items.length, { what: 'the first inboxes' })
    expect(mine.items[0]!.pendingApprovalsChanged).toEqual([])

    const first = await wf.trigger(id)
    const second = await wf.trigger(id)
    const both = await eventually(async () => {
      const last = mine.items.at(-1)!.pendingApprovalsChanged
      return last.length === 2 ? last : null
    }, { what: 'both approvals in the inbox' })
    expect(both.map((n) => n.workflowRun.id).sort()).toEqual([first, second].sort())
    expect(both.every((n) => n.key === 'gate' && n.status === 'AWAITING_APPROVAL')).toBe(true)

    const gate = both.find((n) => n.workflowRun.id === first)!
    await t.ok(`mutation($id: ID!) { approveWorkflowNode(nodeRunId: $id, comment: "ok") { status } }`, { id: gate.id }, op2)
    await t.ok(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }`, { id: second })
    await eventually(async () => mine.items.at(-1)!.pendingApprovalsChanged.length === 0, { what: 'the inbox to empty' })
    expect((await wf.waitEnd(first)).status).toBe('SUCCEEDED')
    // Every message is a change: the lists go [] → (one or both) → … → [], never the same twice in a row.
    const sizes = mine.items.map((i) => i.pendingApprovalsChanged.map((n) => n.id).join(','))
    expect(sizes.every((s, i) => i === 0 || s !== sizes[i - 1])).toBe(true)

    for (const f of [mine, admin, view]) f.dispose()
    expect(admin.items.every((i) => i.pendingApprovalsChanged.length === 0)).toBe(true)
    expect(view.items.every((i) => i.pendingApprovalsChanged.length === 0)).toBe(true)
    expect([...mine.errors, ...admin.errors, ...view.errors]).toEqual([])
  })

  it('sends the list again when a decision does not settle the node (1 of 2 approvals)', async () => {
    const DECIDED = `subscription { pendingApprovalsChanged { id decisions { username decision } } }`
    type Decided = { pendingApprovalsChanged: Array<{ id: string; decisions: Array<{ username: string; decision: string }> }> }
    const id = await wf.create({ name: 'two-keys', nodes: [{ key: 'gate', kind: 'APPROVAL', approval: { approverRoles: ['OPERATOR'], minApprovals: 2, timeoutSeconds: 3600 } }] })
    const theirs = follow<Decided>(op2, DECIDED)
    const mine = follow<Decided>(op1, DECIDED)
    const runId = await wf.trigger(id)
    const gate = await eventually(async () => theirs.items.at(-1)?.pendingApprovalsChanged[0], { what: 'the approval in op2\'s inbox' })
    await eventually(async () => mine.items.at(-1)?.pendingApprovalsChanged[0]?.id === gate.id, { what: 'the approval in op1\'s inbox' })
    await t.ok(`mutation($id: ID!) { approveWorkflowNode(nodeRunId: $id) { status } }`, { id: gate.id }, op1)
    await eventually(async () => theirs.items.at(-1)!.pendingApprovalsChanged[0]?.decisions.length === 1, { what: 'op1\'s approval in op2\'s inbox' })
    expect(theirs.items.at(-1)!.pendingApprovalsChanged[0]!.decisions).toEqual([{ username: 'op1', decision: 'APPROVE' }])
    // op1 has decided: the approval leaves op1's inbox (and the pendingApprovals query) while it waits for op2.
    await eventually(async () => mine.items.at(-1)!.pendingApprovalsChanged.length === 0, { what: 'op1\'s inbox without the approval op1 gave' })
    expect((await t.ok(`{ pendingApprovals { id } }`, {}, op1)).pendingApprovals).toEqual([])
    expect((await t.ok(`{ pendingApprovals { id } }`, {}, op2)).pendingApprovals).toEqual([{ id: gate.id }])
    mine.dispose()
    await t.ok(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }`, { id: runId })
    await eventually(async () => theirs.items.at(-1)!.pendingApprovalsChanged.length === 0, { what: 'the inbox to empty' })
    theirs.dispose()
    expect(theirs.errors).toEqual([])
  })

  it('is refused without a session', async () => {
    const anon = follow<Inbox>('', INBOX)
    await eventually(async () => anon.errors.length > 0, { what: 'the refusal' })
    anon.dispose()
    expect(anon.items).toEqual([])
  })
})

describe('workflowRunsChanged', () => {
  it('sends runs the subscriber may see as they start and end, filtered by workflow and status', async () => {
    const a = await wf.create({ name: 'feed-a', nodes: [{ key: 'n', templateId: ok }] })
    const b = await wf.create({ name: 'feed-b', nodes: [{ key: 'n', templateId: ok }] })
    // op2's PRIVATE workflow: its runs are not op1's to see.
    const hidden = (await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name: 'feed-private', visibility: 'PRIVATE', nodes: [{ key: 'n', templateId: ok }] } }, op2)).createWorkflow.id

    const all = follow<RunItem>(op1, RUNS)
    const onlyA = follow<RunItem>(op1, RUNS, { w: a })
    const ended = follow<RunItem>(op1, RUNS, { s: ['SUCCEEDED', 'FAILED'] })
    const seen = (f: { items: RunItem[] }, id: string) => f.items.filter((i) => i.workflowRunsChanged.id === id).map((i) => i.workflowRunsChanged.status)
    // The feeds have no first message: a warm-up run of A that every feed shows proves all three listen
    // (another one if a feed registered only after the first had ended).
    const warmUps: string[] = []
    await eventually(async () => {
      if (warmUps.length && [all, onlyA, ended].every((f) => warmUps.some((w) => seen(f, w).includes('SUCCEEDED')))) return true
      if (!warmUps.length || (await wf.read(warmUps.at(-1)!)).status !== 'RUNNING') warmUps.push(await wf.trigger(a))
      return false
    }, { intervalMs: 500, what: 'a warm-up run in every feed' })

    const privateRun = (await t.ok(`mutation($id: ID!) { triggerWorkflowRun(workflowId: $id) { id } }`, { id: hidden }, op2)).triggerWorkflowRun.id
    const runA = await wf.trigger(a)
    const runB = await wf.trigger(b)
    for (const r of [privateRun, runA, runB]) expect((await wf.waitEnd(r)).status).toBe('SUCCEEDED')

    await eventually(async () => seen(all, runA).includes('SUCCEEDED') && seen(all, runB).includes('SUCCEEDED') && seen(onlyA, runA).includes('SUCCEEDED') && seen(ended, runB).includes('SUCCEEDED'), { what: 'the final states in the feeds' })
    expect(seen(all, runA).at(-1)).toBe('SUCCEEDED')
    expect(seen(onlyA, runB)).toEqual([])
    expect(seen(ended, runA)).toEqual(['SUCCEEDED'])
    for (const f of [all, onlyA, ended]) expect(seen(f, privateRun)).toEqual([])
    for (const f of [all, onlyA, ended]) f.dispose()
    expect([...all.errors, ...onlyA.errors, ...ended.errors]).toEqual([])
  })
})
