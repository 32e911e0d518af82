/**
 * Chat webhook URLs are write-only (they carry the service's token): stored sealed, never returned or
 * audited, kept by an update that does not give one, and still used for delivery. A plain webhook URL's
 * query values are masked in the API and the audit trail, and sending the masked URL back keeps the real
 * one. Rows from before the migration (a chat URL in clear) are sealed when the app starts. Real Postgres,
 * a real HTTP receiver, the app restarted on the same database.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

const received: string[] = []
const receiver = http.createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    received.push(req.url ?? '')
    res.end('ok')
  })
})
let base = ''
let host = ''
let db: TestDatabase
let t: TestApp

const TOKEN = 'T0KEN-b1a2c3-never-shown'
const FIELDS = 'id name kind url urlHost hasUrl'
const CREATE = `mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { ${FIELDS} } }`
const UPDATE = `mutation($id: ID!, $i: UpdateNotificationChannelInput!) { updateNotificationChannel(id: $id, input: $i) { ${FIELDS} } }`
const SEND_TEST = `mutation($c: ID!) { sendTestNotification(channelId: $c) { ok statusCode error } }`
const AUDIT = `query($f: AuditEventFilter) { auditEvents(filter: $f, first: 100) { edges { node { action changes { field redacted oldValue newValue } } } } }`

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url })
  await c.connect()
  try {
    return (await c.query<T>(text, values)).rows
  } finally {
    await c.end()
  }
}
const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  host = `127.0.0.1:${(receiver.address() as AddressInfo).port}`
  base = `http://${host}`
  db = await createTestDatabase()
  t = await startTestApp({ db })
}, 120_000)
afterAll(async () => {
  await t?.stop()
  await db?.drop()
  await new Promise((r) => receiver.close(r))
})

describe('chat webhook URLs are write-only', () => {
  it('are stored sealed, shown only as host, kept by updates without url, replaced by one with url; the audit never has them', async () => {
    const ch = (await t.ok(CREATE, { i: { name: 'slack', kind: 'SLACK', url: `${base}/services/T1/B1/${TOKEN}` } })).createNotificationChannel
    expect(ch).toMatchObject({ kind: 'SLACK', url: null, urlHost: host, hasUrl: true })
    const [row] = await sql<{ url: string | null; url_sealed: Buffer | null }>('SELECT url, url_sealed FROM notification_channel WHERE id = $1', [rawId(ch.id)])
    expect(row!.url).toBeNull()
    expect(row!.url_sealed!.length).toBeGreaterThan(0)
    expect(row!.url_sealed!.toString('latin1')).not.toContain(TOKEN)

    // An update without url keeps it: delivery still goes to the sealed URL.
    expect((await t.ok(UPDATE, { id: ch.id, i: { name: 'slack-ops' } })).updateNotificationChannel).toMatchObject({ name: 'slack-ops', url: null, hasUrl: true })
    expect((await t.ok(SEND_TEST, { c: ch.id })).sendTestNotification).toMatchObject({ ok: true, statusCode: 200 })
    expect(received.at(-1)).toBe(`/services/T1/B1/${TOKEN}`)

    // Switching between chat kinds keeps it too; a new url replaces it.
    await t.ok(UPDATE, { id: ch.id, i: { kind: 'MATTERMOST' } })
    await t.ok(SEND_TEST, { c: ch.id })
    expect(received.at(-1)).toBe(`/services/T1/B1/${TOKEN}`)
    await t.ok(UPDATE, { id: ch.id, i: { url: `${base}/hooks/${TOKEN}-2` } })
    await t.ok(SEND_TEST, { c: ch.id })
    expect(received.at(-1)).toBe(`/hooks/${TOKEN}-2`)

    const read = await t.ok(`query { notificationChannels { ${FIELDS} } }`)
    expect(JSON.stringify(read)).not.toContain(TOKEN)
    const audit = await t.ok(AUDIT, { f: { actions: ['notification-channel.'] } })
    const text = JSON.stringify(audit)
    expect(text).not.toContain(TOKEN)
    const urlChanges = audit.auditEvents.edges.flatMap((e: { node: { changes: Array<{ field: string; redacted: boolean }> } }) => e.node.changes.filter((c) => c.field === 'url'))
    // Create and the url update say "changed" (redacted); the name and kind updates say nothing about it.
    expect(urlChanges).toHaveLength(2)
    expect(urlChanges.every((c: { redacted: boolean }) => c.redacted)).toBe(true)
  })

  it('a webhook URL shows its query values masked; sending the masked URL back keeps the real one', async () => {
    const secret = (await t.ok(`mutation { createCredential(input: { name: "sig", kind: PASSWORD, username: "w", password: "signing-secret-123456" }) { id } }`)).createCredential.id
    const ch = (await t.ok(CREATE, { i: { name: 'hook', url: `${base}/in?token=${TOKEN}&v=2`, secretCredentialId: secret } })).createNotificationChannel
    expect(ch).toMatchObject({ url: `${base}/in?token=•••&v=•••`, urlHost: host, hasUrl: true })
    await t.ok(UPDATE, { id: ch.id, i: { name: 'hook-2', url: ch.url } })
    expect((await t.ok(SEND_TEST, { c: ch.id })).sendTestNotification).toMatchObject({ ok: true })
    expect(received.at(-1)).toBe(`/in?token=${TOKEN}&v=2`)
    // A new token behind the same mask is a change, recorded without its value.
    await t.ok(UPDATE, { id: ch.id, i: { url: `${base}/in?token=${TOKEN}-new&v=2` } })
    await t.ok(SEND_TEST, { c: ch.id })
    expect(received.at(-1)).toBe(`/in?token=${TOKEN}-new&v=2`)
    const audit = await t.ok(AUDIT, { f: { actions: ['notification-channel.'], entityId: ch.id } })
    expect(JSON.stringify(audit)).not.toContain(TOKEN)
    expect(JSON.stringify(audit)).toContain('token=•••')
  })

  it('chat URLs stored in clear before the migration are sealed when the app starts, and still deliver', async () => {
    const [legacy] = await sql<{ id: string }>(
      `INSERT INTO notification_channel (name, kind, url, url_host, headers, updated_at) VALUES ('legacy-teams', 'TEAMS', $1, $2, '{}', now()) RETURNING id`,
      [`${base}/webhookb2/${TOKEN}-legacy`, host],
    )
    await t.stop()
    t = await startTestApp({ db })
    const [row] = await sql<{ url: string | null; url_sealed: Buffer | null }>('SELECT url, url_sealed FROM notification_channel WHERE id = $1', [legacy!.id])
    expect(row).toMatchObject({ url: null })
    expect(row!.url_sealed).not.toBeNull()
    const id = Buffer.from(`NotificationChannel:${legacy!.id}`).toString('base64')
    expect((await t.ok(SEND_TEST, { c: id })).sendTestNotification).toMatchObject({ ok: true })
    expect(received.at(-1)).toBe(`/webhookb2/${TOKEN}-legacy`)
  })
})
