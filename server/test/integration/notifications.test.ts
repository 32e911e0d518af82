/**
 * Webhook notifications end to end: a real local HTTP receiver, real Postgres (the job_run trigger writes
 * the outbox), real workers delivering through pg-boss.
 */
import crypto from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'
import { deleteExpiredDeliveries } from '../../src/modules/notifications/delivery-retention.ts'
import { CHANNELS } from '../../src/pubsub/channels.ts'

interface Received {
  path: string
  headers: http.IncomingHttpHeaders
  body: string
}

/** Records every POST; answers each path from its script of status codes (then 200). */
class Receiver {
  readonly received: Received[] = []
  readonly scripts = new Map<string, number[]>()
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() })
      res.statusCode = this.scripts.get(req.url ?? '')?.shift() ?? 200
      res.end('ok')
    })
  })
  url = ''
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path)
  }
}

const SECRET = 'webhook-signing-secret-0123456789'
const receiver = new Receiver()
let t: TestApp
let secretCredentialId = ''
const h = runHelpers(() => t, { runFields: 'id status attempt' })
const raw = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!

const CREATE_CHANNEL = `mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id name url headers } }`
const CREATE_RULE = `mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { id events templateIds channels { id } enabled } }`
const DELIVERIES = `query($run: ID) { notificationDeliveries(jobRunId: $run) { id event status attempts lastStatusCode lastError deliveredAt payload channel { name } } }`

beforeAll(async () => {
  await receiver.start()
  t = await startTestApp({ registry: createTestRegistry(), env: { SWITCHYARD_NOTIFY_RETRY_BASE_SECONDS: '1', SWITCHYARD_NOTIFY_RETRY_MAX_SECONDS: '2' } })
  secretCredentialId = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'webhook-secret', kind: 'PASSWORD', username: 'webhook', password: SECRET } })).createCredential.id
}, 120_000)
afterAll(async () => {
  await t?.stop()
  await new Promise((resolve) => receiver.server.close(resolve))
})

/** A template of test-outcome, a channel at `path` and a rule for `events` of that template only. */
async function setup(name: string, events: string[], config: Record<string, unknown>, template: Record<string, unknown> = {}) {
  const templateId = await h.createTemplate({ name, jobType: 'test-outcome', config, ...template })
  const channel = (await t.ok(CREATE_CHANNEL, { i: { name, url: `${receiver.url}/${name}`, headers: { 'X-Team': 'ops' }, secretCredentialId } })).createNotificationChannel
  await t.ok(CREATE_RULE, { i: { name, events, templateIds: [templateId], channelIds: [channel.id] } })
  return { templateId, path: `/${name}` }
}

async function deliveriesOf(runId: string) {
  return (await t.ok(DELIVERIES, { run: runId })).notificationDeliveries as Array<Record<string, any>>
}

function verifySignature(r: Received): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['x-switchyard-signature']))
  if (!m) return false
  const expected = crypto.createHmac('sha256', SECRET).update(`${m[1]}.${r.body}`).digest('hex')
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(m[2]!))
}

describe('webhook notifications', () => {
  it('a failed run delivers exactly one signed webhook with the run, and the delivery log shows it', async () => {
    const { templateId, path } = await setup('fails', ['RUN_FAILED'], { fail: 'disk full' })
    const run = await h.trigger(templateId)
    await h.waitFor(run, ['FAILED'])
    const [d] = await eventually(async () => {
      const list = await deliveriesOf(run)
      return list.length && list.every((x) => x.status === 'DELIVERED') ? list : null
    }, { what: 'the delivery' })
    expect(d).toMatchObject({ event: 'RUN_FAILED', status: 'DELIVERED', attempts: 1, lastStatusCode: 200, lastError: null, channel: { name: 'fails' } })
    const got = receiver.at(path)
    expect(got).toHaveLength(1)
    expect(verifySignature(got[0]!)).toBe(true)
    // A tampered body does not verify: the check above can fail.
    expect(verifySignature({ ...got[0]!, body: got[0]!.body.replace('disk full', 'disk fine') })).toBe(false)
    expect(got[0]!.headers['x-team']).toBe('ops')
    expect(got[0]!.headers['content-type']).toBe('application/json')
    const body = JSON.parse(got[0]!.body)
    expect(body).toMatchObject({
      deliveryId: raw(d!.id),
      event: 'RUN_FAILED',
      run: { id: raw(run), templateName: 'fails', status: 'FAILED', error: 'disk full', failedTargets: [], link: `/runs/${raw(run)}` },
    })
    expect(got[0]!.headers['x-switchyard-delivery']).toBe(raw(d!.id))
    expect(typeof body.run.number).toBe('number')
    expect(body.run.finishedAt).toBeTruthy()
  })

  it('a retried run notifies once, for its final outcome, not per attempt', async () => {
    const { templateId, path } = await setup('retries', ['RUN_FAILED'], { fail: 'flaky', retryable: true }, { retryMaxAttempts: 3, retryDelaySeconds: 0 })
    const run = await h.trigger(templateId)
    const final = await h.waitFor(run, ['FAILED'])
    expect(final.attempt).toBe(3)
    await eventually(async () => (await deliveriesOf(run)).every((x) => x.status === 'DELIVERED') && receiver.at(path).length > 0, { what: 'the delivery' })
    expect(await deliveriesOf(run)).toHaveLength(1)
    expect(receiver.at(path)).toHaveLength(1)
    expect(JSON.parse(receiver.at(path)[0]!.body).run.attempt).toBe(3)
  })

  it('retries 503 with backoff and delivers on the third attempt; a 404 fails at once with the reason', async () => {
    const { templateId, path } = await setup('flaky-receiver', ['RUN_FAILED'], { fail: 'x' })
    receiver.scripts.set(path, [503, 503])
    const run = await h.trigger(templateId)
    const [d] = await eventually(async () => {
      const list = await deliveriesOf(run)
      return list[0]?.status === 'DELIVERED' ? list : null
    }, { what: 'delivery after retries' })
    expect(d).toMatchObject({ status: 'DELIVERED', attempts: 3, lastStatusCode: 200, lastError: null })
    const got = receiver.at(path)
    expect(got).toHaveLength(3)
    expect(new Set(got.map((r) => r.headers['x-switchyard-delivery'])).size).toBe(1)

    const gone = await setup('gone-receiver', ['RUN_FAILED'], { fail: 'x' })
    receiver.scripts.set(gone.path, [404])
    const run2 = await h.trigger(gone.templateId)
    const [d2] = await eventually(async () => {
      const list = await deliveriesOf(run2)
      return list[0]?.status === 'FAILED' ? list : null
    }, { what: 'a failed delivery' })
    expect(d2).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: 404, deliveredAt: null })
    expect(d2!.lastError).toContain('404')
    expect(receiver.at(gone.path)).toHaveLength(1)
  })

  it('redelivers a failed notification as a new delivery with the same payload; a pending one is refused', async () => {
    const { templateId, path } = await setup('redeliver', ['RUN_FAILED'], { fail: 'x' })
    receiver.scripts.set(path, [404])
    const run = await h.trigger(templateId)
    const [failed] = await eventually(async () => {
      const list = await deliveriesOf(run)
      return list[0]?.status === 'FAILED' ? list : null
    }, { what: 'a failed delivery' })
    const REDELIVER = `mutation($id: ID!) { redeliverNotification(id: $id) { id status attempts event } }`
    // Viewers and operators may not (admins only), naming nothing sent.
    for (const role of ['VIEWER', 'OPERATOR'] as const) expect((await t.gql(REDELIVER, { id: failed!.id }, await t.userToken(role))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    // The receiver is down for one more request: the redelivery stays PENDING (retrying) for a while.
    receiver.scripts.set(path, [503])
    const again = (await t.ok(REDELIVER, { id: failed!.id })).redeliverNotification
    expect(again).toMatchObject({ status: 'PENDING', attempts: 0, event: 'RUN_FAILED' })
    expect(again.id).not.toBe(failed!.id)
    // A pending one is still being delivered: refused.
    expect((await t.gql(REDELIVER, { id: again.id })).errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
    const list = await eventually(async () => {
      const all = await deliveriesOf(run)
      return all.find((d) => d.id === again.id)?.status === 'DELIVERED' ? all : null
    }, { what: 'the redelivery' })
    expect(list).toHaveLength(2)
    expect(list.find((d) => d.id === failed!.id)).toMatchObject({ status: 'FAILED', attempts: 1 }) // the original stays as it was
    const got = receiver.at(path)
    expect(got).toHaveLength(3) // the original's 404, the redelivery's 503, then its 200
    expect(got.slice(1).map((r) => r.headers['x-switchyard-delivery'])).toEqual([raw(again.id), raw(again.id)])
    expect(verifySignature(got[2]!)).toBe(true)
    const [first, second] = [got[0]!, got[2]!].map((r) => JSON.parse(r.body))
    expect({ ...second, deliveryId: undefined }).toEqual({ ...first, deliveryId: undefined })
    const audit = await t.ok(`{ auditEvents(first: 5, filter: { actions: ["notification-channel.redeliver"] }) { edges { node { entityName changes { field newValue } } } } }`)
    expect(audit.auditEvents.edges[0].node.entityName).toBe('redeliver')
    expect(audit.auditEvents.edges[0].node.changes).toContainEqual({ field: 'redeliveryOf', newValue: raw(failed!.id) })
  })

  it('a rolled-back change that made a run final writes no outbox row', async () => {
    const { templateId } = await setup('rollback', ['RUN_FAILED'], {})
    const run = await h.trigger(templateId)
    await h.waitFor(run, ['SUCCEEDED'])
    const client = await t.app.db.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query(`UPDATE job_run SET status = 'FAILED' WHERE id = $1`, [raw(run)])
      // Inside the transaction the trigger wrote the row (so the check below can fail) …
      expect((await client.query('SELECT count(*)::int AS n FROM notification_delivery WHERE job_run_id = $1', [raw(run)])).rows[0].n).toBe(1)
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    // … and the rollback took it away.
    expect((await t.app.db.pool.query('SELECT count(*)::int AS n FROM notification_delivery WHERE job_run_id = $1', [raw(run)])).rows[0].n).toBe(0)
  })

  it('RUN_RECOVERED: the first success after a failure of the same template, and only that one', async () => {
    const { templateId, path } = await setup('recovers', ['RUN_RECOVERED'], { fail: 'broken' })
    const failed = await h.trigger(templateId)
    await h.waitFor(failed, ['FAILED'])
    await t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: templateId, i: { config: {} } })
    const recovered = await h.trigger(templateId)
    await h.waitFor(recovered, ['SUCCEEDED'])
    const again = await h.trigger(templateId)
    await h.waitFor(again, ['SUCCEEDED'])
    await eventually(async () => (await deliveriesOf(recovered))[0]?.status === 'DELIVERED', { what: 'the recovered delivery' })
    expect(await deliveriesOf(failed)).toHaveLength(0)
    expect(await deliveriesOf(again)).toHaveLength(0)
    expect(receiver.at(path)).toHaveLength(1)
    expect(JSON.parse(receiver.at(path)[0]!.body)).toMatchObject({ event: 'RUN_RECOVERED', run: { id: raw(recovered), status: 'SUCCEEDED' } })
  })

  it('a cancelled run notifies RUN_CANCELLED; a rule for other events or templates stays silent', async () => {
    const { templateId, path } = await setup('cancels', ['RUN_CANCELLED'], { wait: 'notify-cancel-gate' })
    // Another template's rule for the same event must not fire for this run.
    const other = await setup('cancels-other', ['RUN_CANCELLED', 'RUN_FAILED', 'RUN_SUCCEEDED'], {})
    const run = await h.trigger(templateId)
    await gates.reached('notify-cancel-gate')
    await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: run })
    await h.waitFor(run, ['CANCELLED'])
    const [d] = await eventually(async () => {
      const list = await deliveriesOf(run)
      return list[0]?.status === 'DELIVERED' ? list : null
    }, { what: 'the cancelled delivery' })
    expect(d).toMatchObject({ event: 'RUN_CANCELLED', channel: { name: 'cancels' } })
    expect(await deliveriesOf(run)).toHaveLength(1)
    expect(JSON.parse(receiver.at(path)[0]!.body).run).toMatchObject({ id: raw(run), status: 'CANCELLED' })
    expect(receiver.at(other.path)).toHaveLength(0)
  })

  it('a run the reaper ends (its worker died) notifies like any other: the trigger is on every path', async () => {
    const { templateId, path } = await setup('reaped', ['RUN_FAILED'], { wait: 'notify-reaped-gate' }, { maxConcurrentRuns: 1 })
    // The first run holds the template's only slot, so the second waits QUEUED with no queue message:
    // nothing here can claim it while the test hands it to a worker that is dead.
    const holder = await h.trigger(templateId)
    await gates.reached('notify-reaped-gate')
    const victim = await h.trigger(templateId)
    const dead = crypto.randomUUID()
    await t.app.db.pool.query(`INSERT INTO worker (id, hostname, pid, roles, started_at, heartbeat_at) VALUES ($1, 'elsewhere', 1234, '{worker}', now(), now() - interval '1 hour')`, [dead])
    await t.app.db.pool.query(`UPDATE job_run SET status = 'RUNNING', waiting_since = NULL, worker_id = $2, attempt = 1, started_at = now(), heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [raw(victim), dead])
    await t.app.reaper!.reapOnce()
    await h.waitFor(victim, ['FAILED'])
    const [d] = await eventually(async () => {
      const list = await deliveriesOf(victim)
      return list[0]?.status === 'DELIVERED' ? list : null
    }, { what: 'the reaped run\'s delivery' })
    expect(d).toMatchObject({ event: 'RUN_FAILED' })
    expect(receiver.at(path).map((r) => JSON.parse(r.body).run.id)).toEqual([raw(victim)])
    gates.release('notify-reaped-gate')
    await h.waitFor(holder, ['SUCCEEDED'])
  })

  it('a delivery whose message was lost (its worker killed mid-attempt) is sent again once overdue', async () => {
    const { templateId, path } = await setup('lost-message', ['RUN_FAILED'], { fail: 'x' })
    const run = await h.trigger(templateId)
    const [d] = await eventually(async () => {
      const list = await deliveriesOf(run)
      return list[0]?.status === 'DELIVERED' ? list : null
    }, { what: 'the first delivery' })
    // As a worker killed after taking the message leaves it: PENDING, enqueued, its lease long expired.
    await t.app.db.pool.query(
      `UPDATE notification_delivery SET status = 'PENDING', delivered_at = NULL, enqueued_at = now() - interval '1 hour', next_attempt_at = now() - interval '1 hour' WHERE id = $1`,
      [raw(d!.id)],
    )
    await t.app.db.pool.query(`SELECT pg_notify('switchyard_notification', '')`)
    const [again] = await eventually(async () => {
      const list = await deliveriesOf(run)
      return list[0]?.status === 'DELIVERED' && list[0].attempts === 2 ? list : null
    }, { what: 'the re-sent delivery' })
    expect(again!.id).toBe(d!.id)
    const got = receiver.at(path)
    expect(got).toHaveLength(2)
    expect(got[1]!.headers['x-switchyard-delivery']).toBe(got[0]!.headers['x-switchyard-delivery'])
  })

  it('the delivery log keeps PENDING rows and recent ones; delivered and failed ones past retention go', async () => {
    const { templateId } = await setup('retention', ['RUN_FAILED'], { fail: 'x' })
    const runs = [await h.trigger(templateId), await h.trigger(templateId), await h.trigger(templateId)]
    await eventually(async () => {
      const all = (await Promise.all(runs.map(deliveriesOf))).flat()
      return all.length === 3 && all.every((d) => d.status === 'DELIVERED')
    }, { what: 'three deliveries' })
    const ids = (await Promise.all(runs.map(deliveriesOf))).map((l) => raw(l[0]!.id))
    // Two aged past 30 days (one of them still PENDING: it must stay), one recent.
    // One statement, so the reaper's housekeeping never sees the second one aged but not yet PENDING.
    await t.app.db.pool.query(
      `UPDATE notification_delivery SET created_at = now() - interval '31 days',
              status = CASE WHEN id = $2 THEN 'PENDING'::"NotificationDeliveryStatus" ELSE status END,
              next_attempt_at = CASE WHEN id = $2 THEN now() + interval '1 day' ELSE next_attempt_at END
        WHERE id = ANY($1::uuid[])`,
      [ids.slice(0, 2), ids[1]],
    )
    // The reaper's own housekeeping runs the same deletion every few seconds and may get there first:
    // whichever does, exactly the aged DELIVERED row goes (checked below).
    expect(await deleteExpiredDeliveries(t.app.db.pool, 30)).toBeLessThanOrEqual(1)
    const left = (await t.app.db.pool.query(`SELECT id FROM notification_delivery WHERE id = ANY($1::uuid[]) ORDER BY created_at`, [ids])).rows.map((r) => r.id)
    expect(left.sort()).toEqual(ids.slice(1).sort())
    expect(await deleteExpiredDeliveries(t.app.db.pool, 0)).toBe(0)
  })

  it('validates channels and rules naming the field; admins only; the signing secret is never returned', async () => {
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { name: 'bad', url: 'ftp://x', secretCredentialId } }), 'input.url')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { name: 'bad', url: receiver.url, headers: { 'X-Switchyard-Signature': 'x' }, secretCredentialId } }), 'input.headers')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { name: '', url: receiver.url, secretCredentialId } }), 'input.name')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { name: 'bad', url: receiver.url, secretCredentialId: 'nope' } }), 'input.secretCredentialId')
    const ch = (await t.ok(CREATE_CHANNEL, { i: { name: 'v', url: receiver.url, secretCredentialId } })).createNotificationChannel
    expect((await t.gql(CREATE_CHANNEL, { i: { name: 'v', url: receiver.url, secretCredentialId } })).errors?.[0]?.extensions?.code).toBe('CONFLICT')
    expectFieldError(await t.gql(CREATE_RULE, { i: { name: 'r', events: [], channelIds: [ch.id] } }), 'input.events')
    expectFieldError(await t.gql(CREATE_RULE, { i: { name: 'r', events: ['RUN_FAILED'], channelIds: [] } }), 'input.channelIds')
    expectFieldError(await t.gql(CREATE_RULE, { i: { name: 'r', events: ['RUN_FAILED'], channelIds: [ch.id], templateIds: ['bad'] } }), 'input.templateIds.0')

    // Updates keep what they were not given.
    const updated = (await t.ok(`mutation($id: ID!, $i: UpdateNotificationChannelInput!) { updateNotificationChannel(id: $id, input: $i) { name url } }`, { id: ch.id, i: { url: `${receiver.url}/v2` } })).updateNotificationChannel
    expect(updated).toEqual({ name: 'v', url: `${receiver.url}/v2` })

    const everything = JSON.stringify(
      await t.ok(`{ notificationChannels { id name url headers secretCredential { id name username } } notificationRules { id name } notificationDeliveries(first: 500) { id payload } }`),
    )
    expect(everything).not.toContain(SECRET)

    for (const role of ['OPERATOR', 'VIEWER'] as const) {
      const token = await t.userToken(role)
      for (const q of ['{ notificationChannels { id } }', '{ notificationRules { id } }', '{ notificationDeliveries { id } }']) {
        expect((await t.gql(q, {}, token)).errors?.[0]?.extensions?.code, q).toBe('FORBIDDEN')
      }
      expect((await t.gql(CREATE_CHANNEL, { i: { name: `x-${role}`, url: receiver.url, secretCredentialId } }, token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
      expect((await t.gql(`mutation($id: ID!) { deleteNotificationChannel(id: $id) }`, { id: ch.id }, token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    }
    // The secret's credential cannot be deleted while a channel signs with it.
    const refused = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: secretCredentialId })
    expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(refused)).toBe('INVALID_STATE')
    expect(refused.errors?.[0]?.message).toContain('signing secret')
    expect(await t.ok(`mutation($id: ID!) { deleteNotificationChannel(id: $id) }`, { id: ch.id })).toEqual({ deleteNotificationChannel: ch.id })
    // Admins' changes are audited, the secret's credential by id only.
    const audit = await t.ok(`query($id: ID!) { auditEvents(filter: { entityId: $id }, first: 10) { edges { node { action changes { field } } } } }`, { id: ch.id })
    expect(audit.auditEvents.edges.map((e: { node: { action: string } }) => e.node.action).sort()).toEqual(['notification-channel.create', 'notification-channel.delete', 'notification-channel.update'])
    expect(JSON.stringify(audit)).not.toContain(SECRET)
  })
})

describe('schedule slot notifications', () => {
  // Template schedules' slots (workflow schedules' slots: notification-events.test.ts).
  const CREATE_SCH = `mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }`
  const CREATE_BLACKOUT = `mutation($i: BlackoutWindowInput!) { createBlackoutWindow(input: $i) { id } }`

  /** `setup`'s rule for `event`, plus a second channel whose rule names every other run event: it must stay quiet. */
  async function slotSetup(name: string, event: string) {
    const s = await setup(name, [event], { fail: 'never runs' })
    const quiet = (await t.ok(CREATE_CHANNEL, { i: { name: `${name}-quiet`, url: `${receiver.url}/${name}-quiet`, secretCredentialId } })).createNotificationChannel
    const others = ['RUN_STARTED', 'RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_CANCELLED', 'RUN_TIMED_OUT', 'SCHEDULE_SLOT_MISSED', 'SCHEDULE_SLOT_SKIPPED'].filter((e) => e !== event)
    await t.ok(CREATE_RULE, { i: { name: `${name}-quiet`, events: others, templateIds: [s.templateId], channelIds: [quiet.id] } })
    return { ...s, quietPath: `/${name}-quiet` }
  }

  async function slotRuns(scheduleId: string) {
    const { rows } = await t.app.db.pool.query<{ id: string; status: string }>(`SELECT id, status FROM job_run WHERE schedule_id = $1`, [raw(scheduleId)])
    return rows
  }

  async function expectOneSlotDelivery(path: string, quietPath: string, scheduleId: string, event: string, status: string, scheduleName: string) {
    await eventually(async () => receiver.at(path).length > 0, { what: `the ${event} delivery` })
    const runs = await slotRuns(scheduleId)
    expect(runs.map((r) => r.status)).toEqual([status])
    // The receiver answers before the worker records the delivery: wait for the row to say DELIVERED.
    const deliveries = async () => (await t.app.db.pool.query(`SELECT event::text, status::text FROM notification_delivery WHERE job_run_id = $1`, [runs[0]!.id])).rows
    await eventually(async () => (await deliveries()).every((r) => r.status === 'DELIVERED'), { what: `the ${event} delivery recorded` })
    // A moment for a stray second delivery (or one to the quiet channel) to show up before counting.
    await new Promise((r) => setTimeout(r, 1500))
    expect(receiver.at(path)).toHaveLength(1)
    expect(receiver.at(quietPath)).toHaveLength(0)
    expect(await deliveries()).toEqual([{ event, status: 'DELIVERED' }])
    const body = JSON.parse(receiver.at(path)[0]!.body)
    expect(verifySignature(receiver.at(path)[0]!)).toBe(true)
    expect(body).toMatchObject({ event, run: { id: runs[0]!.id, status, trigger: 'SCHEDULE', scheduleId: raw(scheduleId), scheduleName } })
    return body
  }

  it('a slot the misfire policy gives up (MISSED) delivers exactly one SCHEDULE_SLOT_MISSED with the schedule', async () => {
    const { templateId, path, quietPath } = await slotSetup('slot-missed', 'SCHEDULE_SLOT_MISSED')
    // Once a year, misfire policy SKIP, 1 s of grace; then the scheduler is told its next slot was long
    // ago (as after an outage): that one slot is recorded MISSED, and the next is next year.
    const sch = (await t.ok(CREATE_SCH, { i: { name: 'yearly report', templateId, kind: 'CRON', cronExpression: '0 0 1 1 *', timezone: 'UTC', misfirePolicy: 'SKIP', misfireGraceSeconds: 1 } })).createJobSchedule
    const slot = new Date(Date.UTC(new Date().getUTCFullYear(), 0, 1))
    await t.app.db.pool.query(`UPDATE job_schedule SET next_run_at = $1, last_slot_at = $2 WHERE id = $3`, [slot, new Date(slot.getTime() - 1), raw(sch.id)])
    // Wake the scheduler as an edit through the API would (else it notices only after its longest sleep, 30 s).
    await t.app.db.pool.query(`SELECT pg_notify($1, $2)`, [CHANNELS.schedule, raw(sch.id)])
    const body = await expectOneSlotDelivery(path, quietPath, sch.id, 'SCHEDULE_SLOT_MISSED', 'MISSED', 'yearly report')
    expect(body.run.error).toMatch(/^missed: the scheduler did not run at .* \(misfire policy SKIP\)/)
  })

  it('a slot in a blackout window (SKIPPED) delivers exactly one SCHEDULE_SLOT_SKIPPED with the schedule', async () => {
    const { templateId, path, quietPath } = await slotSetup('slot-skipped', 'SCHEDULE_SLOT_SKIPPED')
    const now = Date.now()
    const bw = (await t.ok(CREATE_BLACKOUT, { i: { name: 'freeze', kind: 'RECURRING', timezone: 'UTC', startTime: new Date(now - 60_000).toISOString().slice(11, 16), durationMinutes: 30 } })).createBlackoutWindow.id
    // Daily at a second a few seconds from now: one slot, inside the window, then tomorrow's.
    const at = new Date(now + 4000)
    const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`
    const sch = (await t.ok(CREATE_SCH, { i: { name: 'nightly sync', templateId, kind: 'CRON', cronExpression: cron, timezone: 'UTC', blackoutIds: [bw] } })).createJobSchedule
    const body = await expectOneSlotDelivery(path, quietPath, sch.id, 'SCHEDULE_SLOT_SKIPPED', 'SKIPPED', 'nightly sync')
    expect(body.run.error).toBe('skipped: blackout window "freeze"')
  })
})
