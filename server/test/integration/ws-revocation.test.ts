/**
 * Open subscriptions stop when their token stops being valid: a real graphql-ws client with a live
 * subscription is closed (4401, which graphql-ws clients do not retry) when its API token is revoked,
 * when its user is disabled, and when its session ends; a role change closes it with 4403 (retried,
 * with the new role). No further events are delivered.
 */
import type { Client as WsClient } from 'graphql-ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeId } from '../../src/graphql/ids.ts'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'

let t: TestApp
let tpl: string

beforeAll(async () => {
  t = await startTestApp()
  tpl = (await t.ok(`mutation { createJobTemplate(input: { name: "tick", jobType: "noop", config: {}, visibility: GLOBAL }) { id } }`)).createJobTemplate.id
})
afterAll(async () => {
  await t?.stop()
})

interface Watch {
  events: string[]
  closed: Promise<{ code: number; reason: string }>
}

/** A live jobRunsChanged subscription on its own connection: resolves once it has delivered one event. */
async function watch(client: WsClient): Promise<Watch> {
  const events: string[] = []
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    client.on('closed', (e) => resolve(e as { code: number; reason: string }))
  })
  client.subscribe<{ jobRunsChanged: { id: string } }>(
    { query: 'subscription { jobRunsChanged { id } }' },
    { next: (m) => m.data && events.push(m.data.jobRunsChanged.id), error: () => {}, complete: () => {} },
  )
  // Live once a run triggered now arrives.
  await eventually(
    async () => {
      if (events.length) return true
      await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })
      return false
    },
    { intervalMs: 300, what: 'the subscription to deliver an event' },
  )
  return { events, closed }
}

/** After the close, a new run is not delivered (the connection is gone, and no retry brings it back). */
async function expectNoMoreEvents(w: Watch): Promise<void> {
  const before = w.events.length
  const id = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })).triggerJobRun.id
  await eventually(async () => (await t.ok(`query($id: ID!) { jobRun(id: $id) { status } }`, { id })).jobRun.status === 'SUCCEEDED', { what: 'the run to end' })
  expect(w.events.length).toBe(before)
}

describe('subscriptions end when the token does', () => {
  it('revoking the API token closes its open subscription (4401)', async () => {
    const token = (await t.ok(`mutation { createApiToken(input: { name: "dash" }) { token apiToken { id } } }`)).createApiToken
    const w = await watch(t.wsClient(token.token))
    await t.ok(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: token.apiToken.id })
    expect(await w.closed).toMatchObject({ code: 4401 })
    await expectNoMoreEvents(w)
  })

  it('disabling the user closes their subscriptions (4401)', async () => {
    await t.ok(`mutation { createUser(input: { username: "watcher", password: "password-123", role: VIEWER }) { id } }`)
    const session = await t.login('watcher', 'password-123')
    const w = await watch(t.wsClient(session))
    const id = (await t.ok(`{ users { id username } }`)).users.find((u: { username: string }) => u.username === 'watcher').id
    await t.ok(`mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { id } }`, { id })
    expect(await w.closed).toMatchObject({ code: 4401 })
    await expectNoMoreEvents(w)
  })

  it('signing out closes the session\'s subscriptions; a role change closes with 4403 so clients reconnect', async () => {
    await t.ok(`mutation { createUser(input: { username: "leaver", password: "password-123", role: OPERATOR }) { id } }`)
    const session = await t.login('leaver', 'password-123')
    const w = await watch(t.wsClient(session))
    await t.ok(`mutation { logout }`, {}, session)
    expect(await w.closed).toMatchObject({ code: 4401 })

    await t.ok(`mutation { createUser(input: { username: "promoted", password: "password-123", role: VIEWER }) { id } }`)
    const s2 = await t.login('promoted', 'password-123')
    const w2 = await watch(t.wsClient(s2))
    const id = (await t.ok(`{ users { id username } }`)).users.find((u: { username: string }) => u.username === 'promoted').id
    await t.ok(`mutation($id: ID!) { updateUser(id: $id, input: { role: OPERATOR }) { id } }`, { id })
    expect(await w2.closed).toMatchObject({ code: 4403 })
  })
})

describe('the sweep', () => {
  it('closes a connection whose token expired, which no notification announces (4401); others stay open', async () => {
    // A second API process on the same database whose sweep runs every 200 ms instead of 30 s.
    const api = await startTestApp({ db: t.db, roles: 'api', wsSweepMs: 200 })
    try {
      const expiring = (await t.ok(`mutation { createApiToken(input: { name: "short", expiresInDays: 1 }) { token apiToken { id } } }`)).createApiToken
      const lasting = (await t.ok(`mutation { createApiToken(input: { name: "long" }) { token } }`)).createApiToken
      const w = await watch(api.wsClient(expiring.token))
      const other = await watch(api.wsClient(lasting.token))
      // The token's time runs out: written straight to the row, so no NOTIFY tells any process.
      const gid = decodeId(expiring.apiToken.id, 'ApiToken', 'id')
      const { rowCount } = await t.app.db.pool.query(`UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1`, [gid])
      expect(rowCount).toBe(1)
      expect(await w.closed).toMatchObject({ code: 4401 })
      await expectNoMoreEvents(w)
      // The connection with a valid token was swept over many times and still streams.
      const before = other.events.length
      await eventually(
        async () => {
          if (other.events.length > before) return true
          await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })
          return false
        },
        { intervalMs: 300, what: 'the other connection to keep delivering' },
      )
    } finally {
      await api.stop()
    }
  })
})
