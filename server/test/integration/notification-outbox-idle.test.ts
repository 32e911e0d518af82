/**
 * The outbox trigger returns at once while no notification rule is enabled (it fires on every run's start
 * and end, so that path must be cheap). Its own app and database: no other test's rules may be enabled.
 * Real Postgres (the trigger), a real worker, a real local HTTP receiver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { runHelpers } from '../harness/run-helpers.ts'
import { createTestRegistry } from '../harness/test-executors.ts'
import { WebhookReceiver } from '../harness/webhook-receiver.ts'

const receiver = new WebhookReceiver()
let t: TestApp
const h = runHelpers(() => t, { runFields: 'id status attempt' })
const raw = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!

beforeAll(async () => {
  await receiver.start()
  t = await startTestApp({ registry: createTestRegistry() })
}, 120_000)
afterAll(async () => {
  await t?.stop()
  await receiver.stop()
})

async function deliveries(runId: string): Promise<Array<{ event: string; payload: any }>> {
  const { rows } = await t.app.db.pool.query(`SELECT event::text, payload FROM notification_delivery WHERE job_run_id = $1 ORDER BY event::text`, [raw(runId)])
  return rows
}

describe('the notification outbox with no enabled rule', () => {
  it('writes nothing while the only rule is disabled; once enabled, the next run notifies and its failure streak counts the runs before', async () => {
    const tpl = await h.createTemplate({ name: 'idle-outbox', jobType: 'test-outcome', config: { fail: 'boom' } })
    const credential = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'idle-secret', kind: 'PASSWORD', username: 'w', password: 'webhook-signing-secret-0123456789' } })).createCredential.id
    const channel = (await t.ok(`mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, { i: { name: 'idle', url: `${receiver.url}/idle`, secretCredentialId: credential } })).createNotificationChannel.id
    const rule = (
      await t.ok(`mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { id enabled } }`, {
        i: { name: 'idle', events: ['RUN_STARTED', 'RUN_FAILED', 'CONSECUTIVE_FAILURES'], templateIds: [tpl], channelIds: [channel], consecutiveFailures: 2, enabled: false },
      })
    ).createNotificationRule
    expect(rule.enabled).toBe(false)

    const first = await h.trigger(tpl)
    await h.waitFor(first, ['FAILED'])
    expect(await deliveries(first)).toEqual([])

    await t.ok(`mutation($id: ID!) { updateNotificationRule(id: $id, input: { enabled: true }) { id } }`, { id: rule.id })
    const second = await h.trigger(tpl)
    await h.waitFor(second, ['FAILED'])
    // The early exit did not swallow anything once a rule is enabled: start, failure, and the streak —
    // which is read from the template's run history, so the first run (ended while no rule was enabled) counts.
    const got = await deliveries(second)
    expect(got.map((d) => d.event)).toEqual(['CONSECUTIVE_FAILURES', 'RUN_FAILED', 'RUN_STARTED'])
    expect(got[0]!.payload.details).toEqual({ consecutiveFailures: 2 })
    await eventually(async () => receiver.at('/idle').length >= 3, { what: 'three deliveries at /idle' })
  })
})
