/**
 * Schedules that fire workflows, through the GraphQL API with the real scheduler loop and a real worker
 * on real Postgres: what a schedule may target (exactly one of a template or a workflow, visibility as
 * for templates), a slot becoming a workflow run that runs to completion (trigger SCHEDULE, the schedule
 * and slot recorded, its nodes ordinary WORKFLOW runs), and the overlap policies against a workflow run
 * that is still running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError } from '../harness/run-helpers.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'

let t: TestApp
const wf = workflowHelpers(() => t)
let ok: string
let echo: string

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
  ok = await wf.template('ok', 'test-outcome', { result: { done: true } })
  echo = await wf.template('echo', 'test-outcome', {}, { parameters: [{ name: 'site', type: 'STRING', required: true }] })
})
afterAll(async () => {
  await t?.stop()
})

const CREATE = `mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id template { id } workflow { id name } } }`
const UPDATE = `mutation($id: ID!, $i: UpdateJobScheduleInput!) { updateJobSchedule(id: $id, input: $i) { id template { id } workflow { id } overlapPolicy } }`
const PAUSE = `mutation($id: ID!) { setJobScheduleActive(id: $id, active: false) { id } }`

/** A local date-time `seconds` from now in UTC, for ONCE schedules. */
const utcIn = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString().slice(0, 19)

async function scheduledRuns(scheduleId: string): Promise<Array<{ id: string; status: string; error: string | null }>> {
  const { rows } = await t.app.db.pool.query(
    `SELECT id::text, status::text, error FROM workflow_run WHERE schedule_id = $1::uuid ORDER BY slot_at`,
    [Buffer.from(scheduleId, 'base64').toString().split(':')[1]],
  )
  return rows
}

describe('what a schedule fires', () => {
  it('exactly one of a template or a workflow, each error naming the field', async () => {
    const w = await wf.create({ name: 'target-check', nodes: [{ key: 'a', templateId: ok }] })
    const base = { name: 's', kind: 'INTERVAL', intervalEvery: 1, intervalUnit: 'HOURS' }
    expectFieldError(await t.gql(CREATE, { i: { ...base, templateId: ok, workflowId: w } }), 'input.workflowId')
    expectFieldError(await t.gql(CREATE, { i: base }), 'input.templateId')
    expectFieldError(await t.gql(CREATE, { i: { ...base, workflowId: w, overlapPolicy: 'QUEUE' } }), 'input.overlapPolicy')
    const wrongKind = await t.gql(CREATE, { i: { ...base, workflowId: ok } })
    expect(wrongKind.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    // Parameters are checked against the workflow's definitions.
    const withParams = await wf.create({ name: 'needs-site', parameters: [{ name: 'site', type: 'STRING', required: true }], nodes: [{ key: 'a', templateId: echo, parameters: { site: '{{ params.site }}' } }] })
    expectFieldError(await t.gql(CREATE, { i: { ...base, workflowId: withParams, parameters: { site: 1 } } }), 'input.parameters.site')

    const created = (await t.ok(CREATE, { i: { ...base, workflowId: w } })).createJobSchedule
    expect(created).toMatchObject({ template: null, workflow: { id: w, name: 'target-check' } })
    // Giving a template replaces the workflow (and the other way round); giving neither keeps it.
    expect((await t.ok(UPDATE, { id: created.id, i: { name: 'renamed' } })).updateJobSchedule).toMatchObject({ template: null, workflow: { id: w } })
    expect((await t.ok(UPDATE, { id: created.id, i: { templateId: ok } })).updateJobSchedule).toMatchObject({ template: { id: ok }, workflow: null })
    expect((await t.ok(UPDATE, { id: created.id, i: { workflowId: w } })).updateJobSchedule).toMatchObject({ template: null, workflow: { id: w } })
    const filtered = await t.ok(`query($w: [ID!]) { jobSchedules(workflowIds: $w) { id } }`, { w: [w] })
    expect(filtered.jobSchedules).toEqual([{ id: created.id }])
    const now = await t.gql(`mutation($id: ID!) { runJobScheduleNow(id: $id) { id } }`, { id: created.id })
    expect(now.errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
  })

  it('visibility as for templates: no GLOBAL schedule of a PRIVATE workflow, and no making it PRIVATE under one', async () => {
    const operator = await t.userToken('OPERATOR', 'ws-op')
    const mine = (await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name: 'private-wf', visibility: 'PRIVATE', nodes: [{ key: 'a', templateId: ok }] } }, operator)).createWorkflow.id
    const base = { name: 'vis', kind: 'INTERVAL', intervalEvery: 1, intervalUnit: 'HOURS', workflowId: mine }
    expectFieldError(await t.gql(CREATE, { i: { ...base, visibility: 'GLOBAL' } }, operator), 'input.visibility')
    const priv = (await t.ok(CREATE, { i: { ...base, visibility: 'PRIVATE' } }, operator)).createJobSchedule.id
    expectFieldError(await t.gql(UPDATE, { id: priv, i: { visibility: 'GLOBAL' } }, operator), 'input.visibility')
    // A workflow whose templates the schedule's owner cannot see is refused when chosen.
    const adminsOnly = await wf.template('ws-admins-only', 'test-outcome', {}, { visibility: 'PRIVATE' })
    const hiddenNodes = await wf.create({ name: 'hidden-nodes', nodes: [{ key: 'secret-step', templateId: adminsOnly }] })
    const refused = await t.gql(CREATE, { i: { ...base, workflowId: hiddenNodes } }, operator)
    expectFieldError(refused, 'input.workflowId')
    expect(refused.errors![0]!.extensions!.fields![0]!.message).toContain('secret-step')
    // Someone else cannot target it at all.
    const other = await t.userToken('OPERATOR', 'ws-other')
    const hidden = await t.gql(CREATE, { i: { ...base, visibility: 'PRIVATE' } }, other)
    expect(hidden.errors?.[0]?.extensions?.code).toBe('NOT_FOUND')
    // A GLOBAL workflow with a GLOBAL schedule cannot become PRIVATE (the schedule would expose it).
    const shared = await wf.create({ name: 'shared-wf', nodes: [{ key: 'a', templateId: ok }] })
    await t.ok(CREATE, { i: { ...base, workflowId: shared, name: 'global-sched', visibility: 'GLOBAL' } })
    const r = await t.gql(`mutation($id: ID!, $i: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $i) { id } }`, { id: shared, i: { visibility: 'PRIVATE' } })
    expectFieldError(r, 'input.visibility')
    expect(r.errors![0]!.extensions!.fields![0]!.message).toContain('"global-sched" (GLOBAL)')
  })
})

describe('firing', () => {
  it('a slot becomes a workflow run that runs to completion, recording the schedule, slot and trigger SCHEDULE', async () => {
    const id = await wf.create({
      name: 'nightly',
      parameters: [{ name: 'site', type: 'STRING', required: true }],
      nodes: [{ key: 'first', templateId: ok }, { key: 'second', templateId: echo, parameters: { site: '{{ params.site }}' } }],
      edges: [{ from: 'first', to: 'second', kind: 'ON_SUCCESS' }],
    })
    const at = utcIn(2)
    const s = (await t.ok(CREATE, { i: { name: 'fires-wf', workflowId: id, kind: 'ONCE', onceAt: at, timezone: 'UTC', parameters: { site: 'fra1' } } })).createJobSchedule
    const [row] = await eventually(async () => {
      const runs = await scheduledRuns(s.id)
      return runs.length ? runs : null
    }, { timeoutMs: 15_000, what: 'the slot to fire' })
    const runId = Buffer.from(`WorkflowRun:${row!.id}`).toString('base64')
    const done = await wf.waitEnd(runId)
    expect(done.status).toBe('SUCCEEDED')
    expect(done.node('second').jobRun).toMatchObject({ status: 'SUCCEEDED', trigger: 'WORKFLOW', parameters: { site: 'fra1' } })
    const read = (await t.ok(`query($id: ID!) { workflowRun(id: $id) { trigger slotAt schedule { id name } triggeredBy { username } } }`, { id: runId })).workflowRun
    expect(read).toMatchObject({ trigger: 'SCHEDULE', schedule: { id: s.id, name: 'fires-wf' }, triggeredBy: { username: 'admin' } })
    expect(new Date(read.slotAt).toISOString().slice(0, 19)).toBe(at)
    // A ONCE schedule fires once: nothing next.
    expect((await t.ok(`query($id: ID!) { jobSchedule(id: $id) { nextRunAt lastRunAt } }`, { id: s.id })).jobSchedule).toMatchObject({ nextRunAt: null, lastRunAt: expect.any(String) })
  })

  it('overlap SKIP: slots while a workflow run is still running are recorded SKIPPED with the run they waited on', async () => {
    const slow = await wf.template('slow-skip', 'test-outcome', { wait: 'ws-skip' })
    const id = await wf.create({ name: 'overlap-skip', nodes: [{ key: 'a', templateId: slow }] })
    const s = (await t.ok(CREATE, { i: { name: 'skip-sched', workflowId: id, kind: 'INTERVAL', intervalEvery: 1, overlapPolicy: 'SKIP' } })).createJobSchedule
    await gates.reached('ws-skip')
    const runs = await eventually(async () => {
      const r = await scheduledRuns(s.id)
      return r.filter((x) => x.status === 'SKIPPED').length >= 2 ? r : null
    }, { timeoutMs: 15_000, what: 'two skipped slots' })
    await t.ok(PAUSE, { id: s.id })
    const running = runs.filter((r) => r.status === 'RUNNING')
    expect(running).toHaveLength(1)
    const first = (await t.ok(`query($id: ID!) { workflowRun(id: $id) { number } }`, { id: Buffer.from(`WorkflowRun:${running[0]!.id}`).toString('base64') })).workflowRun
    for (const r of runs.filter((x) => x.status === 'SKIPPED')) {
      expect(r.error).toBe(`skipped: workflow run #${first.number} of this workflow is still running (overlap policy SKIP)`)
    }
    gates.release('ws-skip')
    const done = await wf.waitEnd(Buffer.from(`WorkflowRun:${running[0]!.id}`).toString('base64'))
    expect(done.status).toBe('SUCCEEDED')
  })

  it('overlap CANCEL_PREVIOUS: the still-running workflow run is cancelled, node run included, and the new one starts', async () => {
    const slow = await wf.template('slow-cancel', 'test-outcome', { wait: 'ws-cancel' })
    const id = await wf.create({ name: 'overlap-cancel', nodes: [{ key: 'a', templateId: slow }, { key: 'b', templateId: ok }], edges: [{ from: 'a', to: 'b', kind: 'ON_SUCCESS' }] })
    const s = (await t.ok(CREATE, { i: { name: 'cancel-sched', workflowId: id, kind: 'INTERVAL', intervalEvery: 2, overlapPolicy: 'CANCEL_PREVIOUS' } })).createJobSchedule
    const runs = await eventually(async () => {
      const r = await scheduledRuns(s.id)
      return r.length >= 2 ? r : null
    }, { timeoutMs: 15_000, what: 'a second slot' })
    await t.ok(PAUSE, { id: s.id })
    const firstRun = await wf.waitEnd(Buffer.from(`WorkflowRun:${runs[0]!.id}`).toString('base64'))
    expect(firstRun.status).toBe('CANCELLED')
    expect(firstRun.node('a').jobRun).toMatchObject({ status: 'CANCELLED' })
    expect(firstRun.node('b')).toMatchObject({ status: 'SKIPPED', jobRun: null })
    gates.release('ws-cancel')
    const last = (await scheduledRuns(s.id)).at(-1)!
    const lastRun = await wf.waitEnd(Buffer.from(`WorkflowRun:${last.id}`).toString('base64'))
    expect(lastRun.status).toBe('SUCCEEDED')
  })

  it('misfire and blackout rules apply: a slot missed past the grace period is recorded MISSED, one in a blackout SKIPPED', async () => {
    const id = await wf.create({ name: 'rules', nodes: [{ key: 'a', templateId: ok }] })
    const missed = (await t.ok(CREATE, { i: { name: 'missed-sched', workflowId: id, kind: 'INTERVAL', intervalEvery: 1, intervalUnit: 'HOURS', misfirePolicy: 'SKIP', misfireGraceSeconds: 60 } })).createJobSchedule
    // As if every scheduler had been down for 5 minutes: the slot is long past its grace period.
    await t.app.db.pool.query(`UPDATE job_schedule SET next_run_at = now() - interval '5 minutes' WHERE id = $1`, [Buffer.from(missed.id, 'base64').toString().split(':')[1]])
    await t.app.db.pool.query(`SELECT pg_notify('switchyard_schedule', '')`)
    const [m] = await eventually(async () => {
      const r = await scheduledRuns(missed.id)
      return r.length ? r : null
    }, { timeoutMs: 15_000, what: 'the missed slot to be recorded' })
    expect(m).toMatchObject({ status: 'MISSED', error: expect.stringMatching(/^missed: the scheduler did not run at .* \(misfire policy SKIP\)$/) })

    const bw = (await t.ok(`mutation($i: BlackoutWindowInput!) { createBlackoutWindow(input: $i) { id } }`, { i: { name: 'freeze', kind: 'ABSOLUTE', startAt: new Date(Date.now() - 60_000).toISOString(), endAt: new Date(Date.now() + 3_600_000).toISOString() } })).createBlackoutWindow.id
    const frozen = (await t.ok(CREATE, { i: { name: 'frozen-sched', workflowId: id, kind: 'INTERVAL', intervalEvery: 1, blackoutIds: [bw] } })).createJobSchedule
    const [b] = await eventually(async () => {
      const r = await scheduledRuns(frozen.id)
      return r.length ? r : null
    }, { timeoutMs: 15_000, what: 'a slot in the blackout' })
    await t.ok(PAUSE, { id: frozen.id })
    expect(b).toMatchObject({ status: 'SKIPPED', error: 'skipped: blackout window "freeze"' })
    const read = (await t.ok(`query($id: ID!) { workflowRun(id: $id) { status nodes { key } schedule { name } } }`, { id: Buffer.from(`WorkflowRun:${b!.id}`).toString('base64') })).workflowRun
    expect(read).toEqual({ status: 'SKIPPED', nodes: [], schedule: { name: 'frozen-sched' } })
  })

  it("a slot whose owner may no longer see a node's template is recorded FAILED with the reason, never run", async () => {
    const operator = await t.userToken('OPERATOR', 'ws-owner')
    const adminsOnly = await wf.template('admins-only-later', 'test-outcome', {})
    const id = (await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name: 'loses-access', visibility: 'PRIVATE', nodes: [{ key: 'a', templateId: adminsOnly }] } }, operator)).createWorkflow.id
    const s = (await t.ok(CREATE, { i: { name: 'owner-check', workflowId: id, kind: 'ONCE', onceAt: utcIn(2), timezone: 'UTC' } }, operator)).createJobSchedule
    await t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: adminsOnly, i: { visibility: 'PRIVATE' } })
    const [row] = await eventually(async () => {
      const r = await scheduledRuns(s.id)
      return r.length ? r : null
    }, { timeoutMs: 15_000, what: 'the slot to be handled' })
    expect(row).toMatchObject({ status: 'FAILED', error: 'could not start: the job templates of these nodes were deleted or are not visible to ws-owner: a' })
  })
})
