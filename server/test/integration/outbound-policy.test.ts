/**
 * The SSRF guard through the running product: saving a channel, an SMTP host or an inventory source that
 * points at a denied address is refused naming the field; and a connection made later — a channel saved
 * before the operator tightened the policy, an http run redirected to a denied address — is refused when
 * it connects (here SWITCHYARD_OUTBOUND_DENY_CIDRS adds 127.0.0.2, where a real listener waits and must
 * never be reached). Loopback 127.0.0.1 stays allowed.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_DENY_CIDRS } from '../../src/net/outbound-policy.ts'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'

let t: TestApp
const h = runHelpers(() => t, { runFields: 'id status attempt error' })
const hits: string[] = []
let denied: http.Server
let allowed: http.Server
let deniedBase = ''
let allowedBase = ''

beforeAll(async () => {
  denied = http.createServer((req, res) => {
    hits.push(`denied ${req.url}`)
    res.end('should never be reached')
  })
  await new Promise<void>((r) => denied.listen(0, '127.0.0.2', r))
  deniedBase = `http://127.0.0.2:${(denied.address() as AddressInfo).port}`
  allowed = http.createServer((req, res) => {
    hits.push(`allowed ${req.url}`)
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `${deniedBase}/after-redirect` })
      return res.end()
    }
    res.end('ok')
  })
  await new Promise<void>((r) => allowed.listen(0, '127.0.0.1', r))
  allowedBase = `http://127.0.0.1:${(allowed.address() as AddressInfo).port}`
  t = await startTestApp({ env: { SWITCHYARD_OUTBOUND_DENY_CIDRS: [...DEFAULT_DENY_CIDRS, '127.0.0.2/32'].join(',') } })
}, 120_000)
afterAll(async () => {
  await t?.stop()
  await new Promise((r) => denied.close(r))
  await new Promise((r) => allowed.close(r))
})

const CREATE_CHANNEL = `mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`

async function password(name: string): Promise<string> {
  return (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name, kind: 'PASSWORD', username: 'x', password: 'secret-value-123456' } })).createCredential.id
}

describe('outbound policy', () => {
  it('save: channel URLs, SMTP hosts and inventory source URLs at denied addresses are refused naming the field', async () => {
    const secret = await password('sign')
    const webhook = { name: 'w', kind: 'WEBHOOK', secretCredentialId: secret }
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...webhook, url: 'http://169.254.169.254/latest/meta-data/' } }), 'input.url')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...webhook, url: `${deniedBase}/hook` } }), 'input.url')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { name: 's', kind: 'SLACK', url: 'http://[fd00:ec2::254]/services/x' } }), 'input.url')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { name: 'm', kind: 'EMAIL', smtpHost: '169.254.169.254', emailFrom: 'a@example.com', emailTo: ['b@example.com'] } }), 'input.smtpHost')
    const r = await t.gql(CREATE_CHANNEL, { i: { ...webhook, url: 'http://169.254.169.254/' } })
    expect(r.errors?.[0]?.extensions?.fields?.[0]?.message).toMatch(/169\.254\.169\.254.*SWITCHYARD_OUTBOUND_DENY_CIDRS/)
    const token = await password('nb-token')
    expectFieldError(await t.gql(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, { i: { name: 'nb', kind: 'NAUTOBOT', url: 'http://169.254.169.254', tokenCredentialId: token } }), 'input.url')
    // Loopback stays allowed: internal systems and the tests' receivers.
    expect((await t.ok(CREATE_CHANNEL, { i: { ...webhook, name: 'loopback', url: `${allowedBase}/hook` } })).createNotificationChannel.id).toBeTruthy()
    expect(hits).toEqual([])
  })

  it('save: a host name that does not exist in DNS is refused naming the field (a typo, caught before the first delivery)', async () => {
    const secret = await password('sign-nx')
    // `.invalid` never resolves (RFC 2606).
    const r = await t.gql(CREATE_CHANNEL, { i: { name: 'nx', kind: 'WEBHOOK', secretCredentialId: secret, url: 'https://hooks.no-such-host.invalid/x' } })
    expectFieldError(r, 'input.url')
    expect(r.errors?.[0]?.extensions?.fields?.[0]?.message).toMatch(/hooks\.no-such-host\.invalid.*does not resolve/)
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { name: 'nx-chat', kind: 'SLACK', url: 'https://chat.no-such-host.invalid/services/x' } }), 'input.url')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { name: 'nx-mail', kind: 'EMAIL', smtpHost: 'smtp.no-such-host.invalid', emailFrom: 'a@example.com', emailTo: ['b@example.com'] } }), 'input.smtpHost')
    const token = await password('nb-token-nx')
    expectFieldError(await t.gql(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, { i: { name: 'nb-nx', kind: 'NAUTOBOT', url: 'https://nautobot.no-such-host.invalid', tokenCredentialId: token } }), 'input.url')
    expectFieldError(await t.gql(`mutation($i: CreateTicketTrackerInput!) { createTicketTracker(input: $i) { id } }`, { i: { name: 'trk-nx', kind: 'WEBHOOK', url: 'https://tracker.no-such-host.invalid/x', credentialId: secret } }), 'input.url')
    // An update is checked the same way; nothing was written by the refused calls.
    const id = (await t.ok(CREATE_CHANNEL, { i: { name: 'nx-ok', kind: 'WEBHOOK', secretCredentialId: secret, url: `${allowedBase}/hook` } })).createNotificationChannel.id
    expectFieldError(await t.gql(`mutation($id: ID!, $i: UpdateNotificationChannelInput!) { updateNotificationChannel(id: $id, input: $i) { id } }`, { id, i: { url: 'https://x.no-such-host.invalid/' } }), 'input.url')
    const { rows } = await t.app.db.pool.query(`SELECT name FROM notification_channel WHERE name LIKE 'nx%' ORDER BY name`)
    expect(rows).toEqual([{ name: 'nx-ok' }])
  })

  it('save: an http job template whose URL writes out a denied or non-existent host is refused naming input.config.url; a host from a parameter waits for the connection', async () => {
    const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
    const UPDATE_TPL = `mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`
    const denied = await t.gql(CREATE_TPL, { i: { name: 'meta', jobType: 'http', config: { url: 'http://169.254.169.254/latest/meta-data/' } } })
    expectFieldError(denied, 'input.config.url')
    expect(denied.errors?.[0]?.extensions?.fields?.[0]?.message).toMatch(/169\.254\.169\.254.*SWITCHYARD_OUTBOUND_DENY_CIDRS/)
    expectFieldError(await t.gql(CREATE_TPL, { i: { name: 'denied-loopback', jobType: 'http', config: { url: `${deniedBase}/x/{{ p }}` }, parameters: [{ name: 'p', type: 'STRING', default: 'a' }] } }), 'input.config.url')
    const nx = await t.gql(CREATE_TPL, { i: { name: 'nx', jobType: 'http', config: { url: 'https://api.no-such-host.invalid/v1' } } })
    expectFieldError(nx, 'input.config.url')
    expect(nx.errors?.[0]?.extensions?.fields?.[0]?.message).toMatch(/api\.no-such-host\.invalid.*does not resolve/)
    // The host comes from a parameter: nothing to check until the run connects (and is checked then).
    const templated = (await t.ok(CREATE_TPL, { i: { name: 'templated', jobType: 'http', config: { url: 'http://{{ host }}/x' }, parameters: [{ name: 'host', type: 'STRING', default: '127.0.0.1' }] } })).createJobTemplate.id
    const ok = (await t.ok(CREATE_TPL, { i: { name: 'allowed', jobType: 'http', config: { url: `${allowedBase}/ok` } } })).createJobTemplate.id
    // An update is checked the same way, and a refused one changes nothing.
    expectFieldError(await t.gql(UPDATE_TPL, { id: ok, i: { config: { url: 'http://[fd00:ec2::254]/x' } } }), 'input.config.url')
    const { rows } = await t.app.db.pool.query(`SELECT name, config->>'url' AS url FROM job_template WHERE job_type = 'http' AND name IN ('meta', 'denied-loopback', 'nx', 'templated', 'allowed') ORDER BY name`)
    expect(rows).toEqual([
      { name: 'allowed', url: `${allowedBase}/ok` },
      { name: 'templated', url: 'http://{{ host }}/x' },
    ])
    expect(templated).toBeTruthy()
    expect(hits.filter((x) => x.startsWith('denied'))).toEqual([])
  })

  it('connect: a channel saved before the policy changed is refused when it sends, permanently', async () => {
    const client = new pg.Client({ connectionString: t.db.url })
    await client.connect()
    // As if saved under an older, looser policy: the row is written directly.
    const { rows } = await client.query<{ id: string }>(`INSERT INTO notification_channel (name, kind, url, headers, updated_at) VALUES ('old-slack', 'SLACK', $1, '{}', now()) RETURNING id`, [`${deniedBase}/services/T/B/x`])
    await client.end()
    const id = Buffer.from(`NotificationChannel:${rows[0]!.id}`).toString('base64')
    const out = (await t.ok(`mutation($c: ID!) { sendTestNotification(channelId: $c) { ok statusCode error retryable } }`, { c: id })).sendTestNotification
    expect(out).toMatchObject({ ok: false, statusCode: null, retryable: false })
    expect(out.error).toMatch(/127\.0\.0\.2 is an address outbound connections may not reach/)
    expect(hits.filter((x) => x.startsWith('denied'))).toEqual([])
  })

  it('connect: an http run redirected to a denied address fails without retry and never reaches it', async () => {
    const tpl = await h.createTemplate({ name: 'http-redirect', jobType: 'http', config: { url: `${allowedBase}/redirect` }, retryMaxAttempts: 3, retryDelaySeconds: 0 })
    const r = await h.waitFor(await h.trigger(tpl), ['SUCCEEDED', 'FAILED'])
    expect(r).toMatchObject({ status: 'FAILED', attempt: 1 })
    expect(r.error).toMatch(/127\.0\.0\.2/)
    expect(hits).toContain('allowed /redirect')
    expect(hits.filter((x) => x.startsWith('denied'))).toEqual([])
  })
})
