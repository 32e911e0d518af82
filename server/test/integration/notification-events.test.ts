/**
 * Notification rule scopes and the events that are not a run's final status: DURATION_EXCEEDED while the
 * run still runs, QUEUE_BACKLOG, WORKER_DOWN / WORKER_RECOVERED, and a workflow schedule's MISSED slot.
 * Real Postgres (the triggers and notification_watch write the outbox), real workers delivering to a
 * real local HTTP receiver, a real worker process SIGKILLed.
 */
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { spawnWorker } from '../harness/spawn-worker.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'
import { WebhookReceiver } from '../harness/webhook-receiver.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'
import { CHANNELS } from '../../src/pubsub/channels.ts'

const receiver = new WebhookReceiver()
let t: TestApp
let secretCredentialId = ''
const h = runHelpers(() => t, { runFields: 'id status attempt' })
const wf = workflowHelpers(() => t)
const raw = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!

const CREATE_CHANNEL = `mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`
const RULE_FIELDS = 'id name events templateIds workflowIds scheduleIds tags queueBacklogSeconds durationLimitSeconds'
const CREATE_RULE = `mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { ${RULE_FIELDS} } }`
const UPDATE_RULE = `mutation($id: ID!, $i: UpdateNotificationRuleInput!) { updateNotificationRule(id: $id, input: $i) { ${RULE_FIELDS} } }`

beforeAll(async () => {
  await receiver.start()
  t = await startTestApp({ registry: createTestRegistry() })
  secretCredentialId = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'webhook-secret', kind: 'PASSWORD', username: 'webhook', password: 'webhook-signing-secret-0123456789' } })).createCredential.id
}, 120_000)
afterAll(async () => {
  await t?.stop()
  await receiver.stop()
})

async function channel(name: string): Promise<string> {
  return (await t.ok(CREATE_CHANNEL, { i: { name, url: `${receiver.url}/${name}`, secretCredentialId } })).createNotificationChannel.id
}

/** A rule with its own channel (at /<name>). */
async function rule(name: string, input: Record<string, unknown>) {
  return (await t.ok(CREATE_RULE, { i: { name, channelIds: [await channel(name)], ...input } })).createNotificationRule
}

/** The rules (by name) that wrote a delivery about a run, sorted. */
async function rulesNotified(runId: string, event?: string): Promise<string[]> {
  const { rows } = await t.app.db.pool.query<{ name: string }>(
    `SELECT r.name FROM notification_delivery d JOIN notification_rule r ON r.id = d.rule_id WHERE d.job_run_id = $1 AND ($2::text IS NULL OR d.event::text = $2) ORDER BY r.name`,
    [raw(runId), event ?? null],
  )
  return rows.map((r) => r.name)
}

type WorkerEvent = { event: string; jobRunId: string | null; payload: { event: string; details: { workerId: string; replacesWorkerIds?: string[] } } & Record<string, unknown> }

/**
 * The worker events one rule's outbox holds about a worker, oldest first: its own WORKER_DOWN and
 * WORKER_RECOVERED, and the WORKER_RECOVERED of a worker that replaced it. Read from the outbox, not the
 * receiver: deliveries run in parallel, so they may arrive in another order than they were written.
 */
async function workerEvents(ruleName: string, workerId: string): Promise<WorkerEvent[]> {
  const { rows } = await t.app.db.pool.query<WorkerEvent>(
    `SELECT d.event::text AS event, d.job_run_id AS "jobRunId", d.payload FROM notification_delivery d JOIN notification_rule r ON r.id = d.rule_id
      WHERE r.name = $1 AND (d.payload->'details'->>'workerId' = $2 OR d.payload->'details'->'replacesWorkerIds' ? $2)
      ORDER BY d.created_at`,
    [ruleName, workerId],
  )
  return rows
}

/**
 * Without false alarms: on a loaded machine a live worker that is starting can miss its beats for longer
 * than the dead-after period (4 s here). The reaper then truly marks it down, and its next beat recovers
 * it; such a WORKER_DOWN answered by the same worker's own WORKER_RECOVERED says nothing about a kill.
 */
function withoutFalseAlarms(events: WorkerEvent[], workerId: string): WorkerEvent[] {
  const kept: WorkerEvent[] = []
  for (const e of events) {
    const ownRecovery = e.event === 'WORKER_RECOVERED' && e.payload.details.workerId === workerId && !e.payload.details.replacesWorkerIds
    if (ownRecovery && kept.at(-1)?.event === 'WORKER_DOWN') kept.pop()
    else kept.push(e)
  }
  return kept
}

/**
 * Leaves out the WORKER_RECOVERED a worker sent as the replacement of earlier workers of its host and
 * roles that the reaper marked down (`replacesWorkerIds`, e.g. a worker an earlier test killed): it is
 * about those workers, not about this one's own life.
 */
function ownEvents(events: WorkerEvent[], workerId: string): WorkerEvent[] {
  return events.filter((e) => !(e.event === 'WORKER_RECOVERED' && e.payload.details.workerId === workerId && e.payload.details.replacesWorkerIds?.length))
}

/** Whether the receiver got this outbox payload at `path` (its body carries the payload's event and details). */
function receivedAt(path: string, payload: { event: string; details: Record<string, unknown> }): boolean {
  return receiver.bodies(path).some((b: { event?: string; details?: Record<string, unknown> }) => b.event === payload.event && isDeepStrictEqual(b.details, payload.details))
}

async function deliveredTo(path: string, n = 1) {
  await eventually(async () => receiver.at(path).length >= n, { what: `${n} deliveries at ${path}` })
  return receiver.bodies(path)
}

describe('rule scopes', () => {
  it('a rule fires only for the templates, tags, workflows and schedules it names; none named: every run', async () => {
    const tagged = await h.createTemplate({ name: 'scoped-tagged', jobType: 'test-outcome', config: { fail: 'x' }, tags: ['backup', 'backup', 'nightly'] })
    const plain = await h.createTemplate({ name: 'scoped-plain', jobType: 'test-outcome', config: { fail: 'x' } })
    const other = await h.createTemplate({ name: 'scoped-other', jobType: 'test-outcome', config: { fail: 'x' } })
    const scheduled = await h.createTemplate({ name: 'scoped-scheduled', jobType: 'test-outcome', config: { fail: 'x' } })
    const { jobTemplate } = await t.ok(`query($id: ID!) { jobTemplate(id: $id) { tags } }`, { id: tagged })
    expect(jobTemplate.tags).toEqual(['backup', 'nightly'])
    const workflow = await wf.create({ name: 'scoped-flow', nodes: [{ key: 'a', templateId: plain }], edges: [] })
    const schedule = (await t.ok(`mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }`, { i: { name: 'scoped-sch', templateId: scheduled, kind: 'CRON', cronExpression: '0 0 1 1 *', timezone: 'UTC' } })).createJobSchedule.id

    const events = ['RUN_FAILED']
    const byTemplate = await rule('s-template', { events, templateIds: [tagged] })
    expect(byTemplate.templateIds).toEqual([tagged])
    const byTag = await rule('s-tag', { events, tags: ['nightly'] })
    expect(byTag.tags).toEqual(['nightly'])
    const byWorkflow = await rule('s-workflow', { events, workflowIds: [workflow] })
    expect(byWorkflow.workflowIds).toEqual([workflow])
    const bySchedule = await rule('s-schedule', { events, scheduleIds: [schedule] })
    expect(bySchedule.scheduleIds).toEqual([schedule])
    await rule('s-all', { events })

    const taggedRun = await h.trigger(tagged)
    await h.waitFor(taggedRun, ['FAILED'])
    expect(await rulesNotified(taggedRun)).toEqual(['s-all', 's-tag', 's-template'])

    const otherRun = await h.trigger(other)
    await h.waitFor(otherRun, ['FAILED'])
    expect(await rulesNotified(otherRun)).toEqual(['s-all'])

    // The workflow's node runs `plain`: in the workflow's scope; `plain` run on its own is not.
    const flowRun = await wf.waitEnd(await wf.trigger(workflow))
    const nodeRun = (await t.app.db.pool.query<{ job_run_id: string }>(`SELECT job_run_id FROM workflow_node_run WHERE workflow_run_id = $1`, [raw(flowRun.id)])).rows[0]!.job_run_id
    expect(await rulesNotified(Buffer.from(`JobRun:${nodeRun}`).toString('base64'))).toEqual(['s-all', 's-workflow'])
    const plainRun = await h.trigger(plain)
    await h.waitFor(plainRun, ['FAILED'])
    expect(await rulesNotified(plainRun)).toEqual(['s-all'])

    // The schedule's run (run now sets its schedule); the same template triggered by hand is not in scope.
    const schRun = (await t.ok(`mutation($id: ID!) { runJobScheduleNow(id: $id) { id } }`, { id: schedule })).runJobScheduleNow.id
    await h.waitFor(schRun, ['FAILED'])
    expect(await rulesNotified(schRun)).toEqual(['s-all', 's-schedule'])
    const handRun = await h.trigger(scheduled)
    await h.waitFor(handRun, ['FAILED'])
    expect(await rulesNotified(handRun)).toEqual(['s-all'])

    // And what the receivers got agrees with the rows.
    const tagBodies = await deliveredTo('/s-tag')
    expect(tagBodies.map((b) => b.run.id)).toEqual([raw(taggedRun)])

    // A partial update keeps every scope it was not given.
    const updated = (await t.ok(UPDATE_RULE, { id: byTag.id, i: { templateIds: [other] } })).updateNotificationRule
    expect(updated).toMatchObject({ tags: ['nightly'], templateIds: [other], events: ['RUN_FAILED'] })
  })

  it('refuses unknown scopes, bad tags and missing thresholds, naming the field', async () => {
    const ch = await channel('s-invalid')
    const base = { name: 's-bad', events: ['RUN_FAILED'], channelIds: [ch] }
    const missing = (type: string) => Buffer.from(`${type}:00000000-0000-4000-8000-000000000099`).toString('base64')
    expectFieldError(await t.gql(CREATE_RULE, { i: { ...base, workflowIds: [missing('Workflow')] } }), 'input.workflowIds')
    expectFieldError(await t.gql(CREATE_RULE, { i: { ...base, scheduleIds: [missing('JobSchedule')] } }), 'input.scheduleIds')
    expectFieldError(await t.gql(CREATE_RULE, { i: { ...base, scheduleIds: [missing('JobTemplate')] } }), 'input.scheduleIds.0')
    expectFieldError(await t.gql(CREATE_RULE, { i: { ...base, tags: ['has space'] } }), 'input.tags.0')
    expectFieldError(await t.gql(CREATE_RULE, { i: { ...base, events: ['QUEUE_BACKLOG'] } }), 'input.queueBacklogSeconds')
    expectFieldError(await t.gql(CREATE_RULE, { i: { ...base, events: ['QUEUE_BACKLOG'], queueBacklogSeconds: 0 } }), 'input.queueBacklogSeconds')
    // Nothing half-written.
    expect((await t.app.db.pool.query(`SELECT count(*)::int AS n FROM notification_rule WHERE name = 's-bad'`)).rows[0].n).toBe(0)
    // Clearing the threshold of a QUEUE_BACKLOG rule is refused too.
    const ok = (await t.ok(CREATE_RULE, { i: { ...base, events: ['QUEUE_BACKLOG'], queueBacklogSeconds: 60 } })).createNotificationRule
    expectFieldError(await t.gql(UPDATE_RULE, { id: ok.id, i: { queueBacklogSeconds: null } }), 'input.queueBacklogSeconds')
    await t.ok(`mutation($id: ID!) { deleteNotificationRule(id: $id) }`, { id: ok.id })
  })
})

describe('events found by watching', () => {
  it('DURATION_EXCEEDED fires while the run is still running, once, and not again when it ends', async () => {
    const tpl = await h.createTemplate({ name: 'slow', jobType: 'test-outcome', config: { wait: 'slow-run' } })
    await rule('d-running', { events: ['DURATION_EXCEEDED'], templateIds: [tpl], durationLimitSeconds: 1 })
    const run = await h.trigger(tpl)
    await gates.reached('slow-run')
    const [body] = await deliveredTo('/d-running')
    // Still running when it was noticed (the gate is closed, so it cannot have ended).
    expect((await t.ok(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: run })).jobRun.status).toBe('RUNNING')
    expect(body).toMatchObject({ event: 'DURATION_EXCEEDED', run: { id: raw(run), status: 'RUNNING' }, details: { limitSeconds: 1, stillRunning: true } })
    expect(body.details.durationSeconds).toBeGreaterThan(1)
    gates.release('slow-run')
    await h.waitFor(run, ['SUCCEEDED'])
    // Ended past the limit, but already notified for this rule: no second delivery.
    expect(await rulesNotified(run, 'DURATION_EXCEEDED')).toEqual(['d-running'])
    // The watch claimed (run, rule) before notifying; the end's trigger found the claim taken.
    expect((await t.app.db.pool.query(`SELECT count(*)::int AS n FROM notification_duration_claim WHERE job_run_id = $1`, [raw(run)])).rows[0].n).toBe(1)
  })

  it('QUEUE_BACKLOG fires once while the oldest queued run waits past the threshold, and re-arms when the queue drains', async () => {
    const tpl = await h.createTemplate({ name: 'one-at-a-time', jobType: 'test-outcome', config: { wait: 'backlog-hold' }, maxConcurrentRuns: 1 })
    const r = await rule('q-backlog', { events: ['QUEUE_BACKLOG'], templateIds: [tpl], queueBacklogSeconds: 1 })
    const first = await h.trigger(tpl)
    await gates.reached('backlog-hold')
    const second = await h.trigger(tpl)
    const [body] = await deliveredTo('/q-backlog')
    expect(body).toMatchObject({ event: 'QUEUE_BACKLOG', run: { id: raw(second), status: 'QUEUED' }, details: { thresholdSeconds: 1, queuedRuns: 1 } })
    expect(body.details.queuedSeconds).toBeGreaterThan(1)
    // Edge-triggered: a few more watch passes (one per second here) write nothing more.
    const passes = async () => (await t.app.db.pool.query(`SELECT count(*)::int AS n FROM notification_delivery WHERE rule_id = $1`, [raw(r.id)])).rows[0].n
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(await passes()).toBe(1)
    gates.release('backlog-hold')
    await h.waitFor(first, ['SUCCEEDED'])
    await h.waitFor(second, ['SUCCEEDED'])
    // Drained: the alert is cleared, so the next backlog notifies again.
    await eventually(async () => (await t.app.db.pool.query(`SELECT backlog_raised_at FROM notification_rule WHERE id = $1`, [raw(r.id)])).rows[0].backlog_raised_at === null, { what: 'the backlog alert cleared' })
    expect(receiver.at('/q-backlog')).toHaveLength(1)
    // A new backlog notifies again.
    await t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: tpl, i: { config: { wait: 'backlog-hold-2' } } })
    const third = await h.trigger(tpl)
    await gates.reached('backlog-hold-2')
    const fourth = await h.trigger(tpl)
    const bodies = await deliveredTo('/q-backlog', 2)
    expect(bodies[1]).toMatchObject({ event: 'QUEUE_BACKLOG', run: { id: raw(fourth) } })
    gates.release('backlog-hold-2')
    await h.waitFor(third, ['SUCCEEDED'])
    await h.waitFor(fourth, ['SUCCEEDED'])
  })

  it('WORKER_DOWN when a worker process is killed (not when one stops gracefully), WORKER_RECOVERED when it beats again', async () => {
    await rule('w-down', { events: ['WORKER_DOWN', 'WORKER_RECOVERED'], templateIds: [] })
    const graceful = await spawnWorker(t.db.url, 'worker')
    await graceful.stop()
    const doomed = await spawnWorker(t.db.url, 'worker')
    await doomed.kill()
    // Only this test's workers count: on a loaded machine another process's worker (the test app's own)
    // can miss its beats too, and its WORKER_DOWN is a true event, not this test's.
    await eventually(async () => (await workerEvents('w-down', doomed.workerId)).at(-1)?.event === 'WORKER_DOWN', { what: 'WORKER_DOWN for the killed worker' })
    const written = await workerEvents('w-down', doomed.workerId)
    const down = written.at(-1)!
    expect(down.payload).toMatchObject({ event: 'WORKER_DOWN', run: null, details: { workerId: doomed.workerId, pid: doomed.child.pid, runningRuns: 0 } })
    expect(down.jobRunId).toBeNull()
    // The kill is one WORKER_DOWN; anything before it is a false alarm the worker answered by beating.
    expect(withoutFalseAlarms(ownEvents(written, doomed.workerId), doomed.workerId).map((e) => e.event)).toEqual(['WORKER_DOWN'])
    await eventually(async () => receivedAt('/w-down', down.payload), { what: 'the WORKER_DOWN delivered' })
    // A worker cut off from the database that reaches it again clears the mark with its beat (the same
    // statement as WorkerPresence.beat): recovered.
    await t.app.db.pool.query('UPDATE worker SET heartbeat_at = now(), stopped_at = NULL WHERE id = $1', [doomed.workerId])
    await eventually(async () => (await workerEvents('w-down', doomed.workerId)).length > written.length, { what: 'WORKER_RECOVERED for the killed worker' })
    const recovered = (await workerEvents('w-down', doomed.workerId)).at(-1)!
    expect(recovered.payload).toMatchObject({ event: 'WORKER_RECOVERED', details: { workerId: doomed.workerId } })
    await eventually(async () => receivedAt('/w-down', recovered.payload), { what: 'the WORKER_RECOVERED delivered' })
    // The worker that stopped gracefully never notified (a false alarm while it started is answered).
    expect(withoutFalseAlarms(ownEvents(await workerEvents('w-down', graceful.workerId), graceful.workerId), graceful.workerId)).toEqual([])
    const { rows: [stopped] } = await t.app.db.pool.query('SELECT stopped_at IS NOT NULL AND heartbeat_at >= stopped_at AS graceful FROM worker WHERE id = $1', [graceful.workerId])
    expect(stopped).toEqual({ graceful: true })
    // And the delivery log shows them without a run.
    const log = (await t.ok(`{ notificationDeliveries(first: 50) { event jobRun { id } workflowRun { id } } }`)).notificationDeliveries
    expect(log.filter((d: { event: string }) => d.event.startsWith('WORKER_'))).toEqual(
      expect.arrayContaining([
        { event: 'WORKER_RECOVERED', jobRun: null, workflowRun: null },
        { event: 'WORKER_DOWN', jobRun: null, workflowRun: null },
      ]),
    )
  })

  it('WORKER_RECOVERED when a new worker process of the same host and roles replaces a killed one, once per restart, whether it starts after the reaper marked the old one down or before', async () => {
    await rule('w-restart', { events: ['WORKER_DOWN', 'WORKER_RECOVERED'], templateIds: [] })
    // Roles no other worker of this file has (the set counts, not the order), so only these processes match.
    const first = await spawnWorker(t.db.url, 'scheduler,worker')
    // The events about one worker: its WORKER_DOWN, and the WORKER_RECOVERED of the worker that replaced it.
    const about = async (id: string) =>
      withoutFalseAlarms(await workerEvents('w-restart', id), id)
        .filter((e) => (e.event === 'WORKER_DOWN' ? e.payload.details.workerId === id : e.payload.details.replacesWorkerIds?.includes(id)))
        .map((e) => e.payload)
    await first.kill()
    await eventually(async () => (await about(first.workerId)).length >= 1, { what: 'WORKER_DOWN for the killed worker' })
    expect(await about(first.workerId)).toMatchObject([{ event: 'WORKER_DOWN', details: { workerId: first.workerId } }])

    // Restarted after the reaper marked it down: the new process's start is the recovery.
    const second = await spawnWorker(t.db.url, 'worker,scheduler')
    await eventually(async () => (await about(first.workerId)).length >= 2, { what: 'WORKER_RECOVERED for the restart' })
    const restart = (await about(first.workerId))[1]!
    expect(restart).toMatchObject({ event: 'WORKER_RECOVERED', run: null, details: { workerId: second.workerId, pid: second.child.pid, replacesWorkerIds: [first.workerId] } })
    await eventually(async () => receivedAt('/w-restart', restart), { what: 'the restart delivered' })

    // Restarted at once (maybe inside the dead-after period, before the reaper noticed): one WORKER_DOWN
    // and one WORKER_RECOVERED all the same, in either order of the start and the reaper's mark.
    await second.kill()
    const third = await spawnWorker(t.db.url, 'scheduler,worker')
    await eventually(async () => (await about(second.workerId)).length >= 2, { what: 'WORKER_DOWN and WORKER_RECOVERED for the quick restart' })
    const events = await about(second.workerId)
    const byEvent = Object.fromEntries(events.map((b) => [b.event, b]))
    expect(byEvent.WORKER_DOWN).toMatchObject({ details: { workerId: second.workerId } })
    expect(byEvent.WORKER_RECOVERED).toMatchObject({ details: { workerId: third.workerId, replacesWorkerIds: [second.workerId] } })
    // The restarts were told once each: the first worker's recovery is not repeated by the third.
    await third.stop()
    expect(await about(first.workerId), JSON.stringify(await about(first.workerId))).toHaveLength(2)
    expect(await about(second.workerId), JSON.stringify(events)).toHaveLength(2)
    const { rows } = await t.app.db.pool.query(`SELECT id, replaced_by FROM worker WHERE id = ANY($1::uuid[]) ORDER BY started_at`, [[first.workerId, second.workerId, third.workerId]])
    expect(rows).toEqual([
      { id: first.workerId, replaced_by: second.workerId },
      { id: second.workerId, replaced_by: third.workerId },
      { id: third.workerId, replaced_by: null },
    ])
  }, 180_000)

  it("a workflow schedule's MISSED slot notifies SCHEDULE_SLOT_MISSED with the workflow run, in the workflow's scope", async () => {
    const tpl = await h.createTemplate({ name: 'wf-slot-node', jobType: 'test-outcome', config: {} })
    const workflow = await wf.create({ name: 'wf-slot-flow', nodes: [{ key: 'a', templateId: tpl }], edges: [] })
    await rule('wf-slot', { events: ['SCHEDULE_SLOT_MISSED'], workflowIds: [workflow] })
    await rule('wf-slot-other-template', { events: ['SCHEDULE_SLOT_MISSED'], templateIds: [tpl] })
    const sch = (await t.ok(`mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }`, { i: { name: 'yearly flow', workflowId: workflow, kind: 'CRON', cronExpression: '0 0 1 1 *', timezone: 'UTC', misfirePolicy: 'SKIP', misfireGraceSeconds: 1 } })).createJobSchedule
    const slot = new Date(Date.UTC(new Date().getUTCFullYear(), 0, 1))
    await t.app.db.pool.query(`UPDATE job_schedule SET next_run_at = $1, last_slot_at = $2 WHERE id = $3`, [slot, new Date(slot.getTime() - 1), raw(sch.id)])
    await t.app.db.pool.query(`SELECT pg_notify($1, $2)`, [CHANNELS.schedule, raw(sch.id)])
    const [body] = await deliveredTo('/wf-slot')
    const wr = (await t.app.db.pool.query(`SELECT id, status::text FROM workflow_run WHERE schedule_id = $1`, [raw(sch.id)])).rows
    expect(wr).toEqual([{ id: body.run.id, status: 'MISSED' }])
    expect(body).toMatchObject({ event: 'SCHEDULE_SLOT_MISSED', run: { workflowName: 'wf-slot-flow', status: 'MISSED', scheduleName: 'yearly flow', link: `/workflow-runs/${wr[0].id}` } })
    // A template rule does not name workflows: silent.
    expect(receiver.at('/wf-slot-other-template')).toHaveLength(0)
    const log = (await t.ok(`{ notificationDeliveries(first: 50) { event workflowRun { id status } } }`)).notificationDeliveries
    expect(log.find((d: { event: string }) => d.event === 'SCHEDULE_SLOT_MISSED').workflowRun.status).toBe('MISSED')
  })
})
