/**
 * Notification channels beyond the plain webhook, through real parts: a real SMTP server on loopback
 * (aiosmtpd: plain, STARTTLS with AUTH, implicit TLS, a rejecting one), a local HTTP receiver checking
 * the Slack / Teams / Mattermost bodies against each service's documented shape, Liquid message
 * templates (validated at save, previewed against a real run, "send test"), two active webhook secrets
 * during a rotation, and the RUN_STARTED / RUN_TIMED_OUT events — with real Postgres and workers.
 */
import crypto from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { decodeHeader, startSmtpServer, type TestSmtpServer } from '../harness/smtp-server.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'

interface Received {
  path: string
  headers: http.IncomingHttpHeaders
  body: string
}

const received: Received[] = []
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() })
    // Slack answers a plain "ok"; a path ending in /teapot answers 418 with a body, for "send test".
    if (req.url?.endsWith('/teapot')) {
      res.statusCode = 418
      res.end('no coffee here')
      return
    }
    res.end('ok')
  })
})
let base = ''
const at = (path: string) => received.filter((r) => r.path === path)

const PUBLIC_URL = 'https://switchyard.example.com'
const SMTP_USER = 'mailer'
const SMTP_PASSWORD = 'smtp-Pa55word-never-shown'
const SECRET_A = 'rotation-secret-A-0123456789'
const SECRET_B = 'rotation-secret-B-9876543210'

let t: TestApp
let plainSmtp: TestSmtpServer
let starttlsSmtp: TestSmtpServer
let tlsSmtp: TestSmtpServer
let rejectingSmtp: TestSmtpServer
const creds: Record<string, string> = {}
const h = runHelpers(() => t, { runFields: 'id status attempt' })
const raw = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!

const CREATE_CHANNEL = `mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id name kind url emailTo smtpSecurity secretCredential { id } secondarySecretCredential { id } } }`
const UPDATE_CHANNEL = `mutation($id: ID!, $i: UpdateNotificationChannelInput!) { updateNotificationChannel(id: $id, input: $i) { id subjectTemplate bodyTemplate smtpHost emailTo } }`
const CREATE_RULE = `mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { id } }`
const DELIVERIES = `query($run: ID) { notificationDeliveries(jobRunId: $run) { id event status attempts lastStatusCode lastError channel { name } } }`
const SEND_TEST = `mutation($c: ID!, $r: ID) { sendTestNotification(channelId: $c, jobRunId: $r) { ok statusCode error response retryable } }`
const PREVIEW = `query($c: ID!, $r: ID, $e: NotificationEvent, $tpl: NotificationTemplatesInput) { notificationPreview(channelId: $c, jobRunId: $r, event: $e, templates: $tpl) { event subject text html body } }`

async function credential(name: string, username: string, password: string): Promise<string> {
  return (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name, kind: 'PASSWORD', username, password } })).createCredential.id
}

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  ;[plainSmtp, starttlsSmtp, tlsSmtp, rejectingSmtp] = await Promise.all([
    startSmtpServer({ mode: 'plain' }),
    startSmtpServer({ mode: 'starttls', auth: { user: SMTP_USER, password: SMTP_PASSWORD } }),
    startSmtpServer({ mode: 'tls' }),
    startSmtpServer({ mode: 'plain', reject: '550 5.1.1 mailbox unavailable' }),
  ])
  t = await startTestApp({ registry: createTestRegistry(), env: { SWITCHYARD_PUBLIC_URL: `${PUBLIC_URL}/`, SWITCHYARD_NOTIFY_RETRY_BASE_SECONDS: '1', SWITCHYARD_NOTIFY_RETRY_MAX_SECONDS: '2' } })
  creds.smtp = await credential('smtp-login', SMTP_USER, SMTP_PASSWORD)
  creds.smtpWrong = await credential('smtp-wrong', SMTP_USER, 'wrong-password')
  creds.a = await credential('hook-secret-a', 'webhook', SECRET_A)
  creds.b = await credential('hook-secret-b', 'webhook', SECRET_B)
}, 120_000)
afterAll(async () => {
  await t?.stop()
  await Promise.all([plainSmtp, starttlsSmtp, tlsSmtp, rejectingSmtp].map((s) => s?.stop()))
  await new Promise((resolve) => receiver.close(resolve))
})

async function channel(input: Record<string, unknown>) {
  return (await t.ok(CREATE_CHANNEL, { i: input })).createNotificationChannel as { id: string; name: string }
}

/** A template (test-outcome), a rule for `events` of it to `channelIds`. */
async function ruleFor(name: string, events: string[], channelIds: string[], config: Record<string, unknown>, template: Record<string, unknown> = {}) {
  const templateId = await h.createTemplate({ name, jobType: 'test-outcome', config, ...template })
  await t.ok(CREATE_RULE, { i: { name, events, templateIds: [templateId], channelIds } })
  return templateId
}

async function delivered(runId: string, n = 1) {
  return eventually(async () => {
    const list = (await t.ok(DELIVERIES, { run: runId })).notificationDeliveries as Array<Record<string, any>>
    return list.length === n && list.every((d) => d.status !== 'PENDING') ? list : null
  }, { what: `${n} finished deliveries of ${runId}` })
}

function signatures(r: Received): { t: string; v1: string[] } {
  const parts = String(r.headers['x-switchyard-signature']).split(',')
  return { t: parts.find((p) => p.startsWith('t='))!.slice(2), v1: parts.filter((p) => p.startsWith('v1=')).map((p) => p.slice(3)) }
}
const hmac = (secret: string, ts: string, body: string) => crypto.createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')

describe('email channels over real SMTP', () => {
  it('a failed run sends one mail with subject, text and HTML bodies; the delivery log shows the SMTP reply', async () => {
    const ch = await channel({ name: 'mail-plain', kind: 'EMAIL', smtpHost: '127.0.0.1', smtpPort: plainSmtp.port, smtpSecurity: 'NONE', emailFrom: 'Switchyard <switchyard@example.com>', emailTo: ['ops@example.com', 'oncall@example.com'] })
    const templateId = await ruleFor('mail-fails', ['RUN_FAILED'], [ch.id], { fail: 'disk <full> & more' })
    const run = await h.trigger(templateId)
    const [d] = await delivered(run)
    expect(d).toMatchObject({ event: 'RUN_FAILED', status: 'DELIVERED', attempts: 1, lastStatusCode: 250, channel: { name: 'mail-plain' } })
    const mails = await eventually(async () => ((await plainSmtp.mails()).length === 1 ? plainSmtp.mails() : null), { what: 'the mail' })
    const m = mails[0]!
    expect(m.mailFrom).toBe('switchyard@example.com')
    expect(m.rcptTos).toEqual(['ops@example.com', 'oncall@example.com'])
    expect(decodeHeader(m.headers.subject!)).toMatch(/^mail-fails #\d+ failed$/)
    expect(m.headers['x-switchyard-delivery']).toBe(raw(d!.id))
    expect(m.text).toContain('Status: FAILED')
    expect(m.text).toContain('Error: disk <full> & more')
    expect(m.text).toContain(`Run: ${PUBLIC_URL}/runs/${raw(run)}`)
    // The HTML part escapes what the run says (no markup injection) and links the run page.
    expect(m.html).toContain('disk &lt;full&gt; &amp; more')
    expect(m.html).toContain(`<a href="${PUBLIC_URL}/runs/${raw(run)}">`)
    expect(m.tls).toBe(false)
  })

  it('STARTTLS with AUTH against a self-signed certificate trusted as the channel CA; wrong password and untrusted certificate fail with the reason', async () => {
    const common = { kind: 'EMAIL', smtpHost: '127.0.0.1', smtpPort: starttlsSmtp.port, smtpSecurity: 'STARTTLS', emailFrom: 'switchyard@example.com', emailTo: ['ops@example.com'] }
    const good = await channel({ ...common, name: 'mail-starttls', smtpCredentialId: creds.smtp, smtpCaCertificate: starttlsSmtp.certificate })
    const ok = (await t.ok(SEND_TEST, { c: good.id })).sendTestNotification
    expect(ok, JSON.stringify(ok)).toMatchObject({ ok: true, statusCode: 250, error: null })
    expect(ok.response).toContain('queued as')
    const [m] = await starttlsSmtp.mails()
    expect(m).toMatchObject({ tls: true, login: SMTP_USER })
    expect(decodeHeader(m!.headers.subject!)).toMatch(/^\[test\] nightly-backup #42 failed$/)

    const wrong = await channel({ ...common, name: 'mail-wrong-pass', smtpCredentialId: creds.smtpWrong, smtpCaCertificate: starttlsSmtp.certificate })
    const refused = (await t.ok(SEND_TEST, { c: wrong.id })).sendTestNotification
    expect(refused).toMatchObject({ ok: false, statusCode: 535, retryable: false })
    expect(refused.error).toMatch(/SMTP: .*auth/i)

    const untrusted = await channel({ ...common, name: 'mail-untrusted', smtpCredentialId: creds.smtp })
    const tlsFail = (await t.ok(SEND_TEST, { c: untrusted.id })).sendTestNotification
    expect(tlsFail.ok).toBe(false)
    expect(tlsFail.error).toMatch(/self[- ]signed|certificate/i)
    expect(await starttlsSmtp.mails()).toHaveLength(1)
    // The SMTP password never comes back through the API.
    const everything = JSON.stringify(await t.ok(`{ notificationChannels { id smtpCredential { id name username } smtpCaCertificate } notificationDeliveries(first: 500) { payload lastError } }`))
    expect(everything).not.toContain(SMTP_PASSWORD)
    expect(JSON.stringify(refused)).not.toContain('wrong-password')
  })

  it('implicit TLS delivers; an SMTP 5xx fails the delivery at once with the reply', async () => {
    const tlsCh = await channel({ name: 'mail-tls', kind: 'EMAIL', smtpHost: '127.0.0.1', smtpPort: tlsSmtp.port, smtpSecurity: 'TLS', smtpCaCertificate: tlsSmtp.certificate, emailFrom: 'switchyard@example.com', emailTo: ['ops@example.com'] })
    expect((await t.ok(SEND_TEST, { c: tlsCh.id })).sendTestNotification).toMatchObject({ ok: true, statusCode: 250 })
    expect((await tlsSmtp.mails())[0]).toMatchObject({ tls: true })

    const rejecting = await channel({ name: 'mail-rejected', kind: 'EMAIL', smtpHost: '127.0.0.1', smtpPort: rejectingSmtp.port, smtpSecurity: 'NONE', emailFrom: 'switchyard@example.com', emailTo: ['nobody@example.com'] })
    const templateId = await ruleFor('mail-rejected', ['RUN_FAILED'], [rejecting.id], { fail: 'x' })
    const run = await h.trigger(templateId)
    const [d] = await delivered(run)
    expect(d).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: 550 })
    expect(d!.lastError).toContain('mailbox unavailable')
  })

  it('validates email settings naming the field', async () => {
    const ok = { name: 'mail-bad', kind: 'EMAIL', smtpHost: '127.0.0.1', emailFrom: 'switchyard@example.com', emailTo: ['ops@example.com'] }
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...ok, smtpHost: undefined } }), 'input.smtpHost')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...ok, emailTo: [] } }), 'input.emailTo')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...ok, emailTo: ['not an address'] } }), 'input.emailTo.0')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...ok, emailFrom: 'nope' } }), 'input.emailFrom')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...ok, smtpPort: 70000 } }), 'input.smtpPort')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...ok, smtpCaCertificate: 'hello' } }), 'input.smtpCaCertificate')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...ok, smtpCredentialId: creds.a!.replace(/.$/, 'x') } }), 'input.smtpCredentialId')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...ok, url: 'https://x.example.com' } }), 'input.url')
  })
})

describe('Slack, Teams and Mattermost incoming webhooks', () => {
  it('each gets its documented layout with name, status, duration, failed targets and a link to the run page', async () => {
    const slack = await channel({ name: 'slack', kind: 'SLACK', url: `${base}/slack` })
    const teams = await channel({ name: 'teams', kind: 'TEAMS', url: `${base}/teams` })
    const mm = await channel({ name: 'mattermost', kind: 'MATTERMOST', url: `${base}/mattermost`, bodyTemplate: '@channel {{ run.templateName }} needs a look' })
    const templateId = await ruleFor('chat-fails', ['RUN_FAILED'], [slack.id, teams.id, mm.id], { fail: 'exit <1>' })
    const run = await h.trigger(templateId)
    const list = await delivered(run, 3)
    expect(list.every((d) => d.status === 'DELIVERED')).toBe(true)
    const link = `${PUBLIC_URL}/runs/${raw(run)}`

    // Slack Block Kit: top-level text fallback; header (plain_text ≤150), section fields (mrkdwn), actions with a url button.
    const s = JSON.parse(at('/slack')[0]!.body)
    expect(typeof s.text).toBe('string')
    expect(s.text).toMatch(/^chat-fails #\d+ failed$/)
    expect(s.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: s.text, emoji: true } })
    const fields = s.blocks.find((b: any) => b.type === 'section' && b.fields).fields
    expect(fields.every((f: any) => f.type === 'mrkdwn' && typeof f.text === 'string')).toBe(true)
    expect(fields.map((f: any) => f.text)).toEqual(expect.arrayContaining(['*Status*\nFAILED', '*Attempt*\n1 of 1']))
    expect(fields.some((f: any) => /^\*Duration\*\n/.test(f.text))).toBe(true)
    expect(JSON.stringify(s.blocks)).toContain('exit &lt;1&gt;') // Slack's control characters escaped
    const actions = s.blocks.find((b: any) => b.type === 'actions')
    expect(actions.elements[0]).toEqual({ type: 'button', text: { type: 'plain_text', text: 'Open run' }, url: link })
    for (const b of s.blocks) expect(['header', 'section', 'actions', 'context']).toContain(b.type)

    // Teams: a message activity with one Adaptive Card attachment (TextBlock, FactSet, Action.OpenUrl).
    const tm = JSON.parse(at('/teams')[0]!.body)
    expect(tm.type).toBe('message')
    expect(tm.attachments).toHaveLength(1)
    expect(tm.attachments[0]).toMatchObject({ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null })
    const card = tm.attachments[0].content
    expect(card).toMatchObject({ $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4' })
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', weight: 'Bolder', color: 'Attention', wrap: true })
    const facts = card.body.find((b: any) => b.type === 'FactSet').facts
    expect(facts).toEqual(expect.arrayContaining([{ title: 'Status', value: 'FAILED' }, { title: 'Attempt', value: '1 of 1' }]))
    expect(facts.every((f: any) => typeof f.title === 'string' && typeof f.value === 'string')).toBe(true)
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open run', url: link }])

    // Mattermost: Slack-style attachments (fallback required, color, title + title_link, short fields), text from the template.
    const m = JSON.parse(at('/mattermost')[0]!.body)
    expect(m.text).toBe('@channel chat-fails needs a look')
    expect(m.attachments).toHaveLength(1)
    const a = m.attachments[0]
    expect(a).toMatchObject({ title_link: link, color: '#E01E5A' })
    expect(a.fallback).toBe(a.title)
    expect(a.fields).toEqual(expect.arrayContaining([{ short: true, title: 'Status', value: 'FAILED' }]))
    expect(a.text).toContain('exit <1>')
    // Chat webhooks carry no Switchyard signature (their URL is the secret), but the delivery id.
    expect(at('/slack')[0]!.headers['x-switchyard-signature']).toBeUndefined()
    expect(at('/slack')[0]!.headers['x-switchyard-delivery']).toBeTruthy()
    // Their URL carries the service's token: the audit trail says it was set, never what it is.
    const audit = await t.ok(`query($id: ID!) { auditEvents(filter: { entityId: $id }, first: 5) { edges { node { action changes { field oldValue newValue redacted } } } } }`, { id: slack.id })
    expect(JSON.stringify(audit)).not.toContain('/slack')
    expect(audit.auditEvents.edges[0].node.changes.find((c: any) => c.field === 'url')).toMatchObject({ redacted: true, newValue: null })
  })

  it('failed targets are listed when a run has them', async () => {
    const slack = await channel({ name: 'slack-targets', kind: 'SLACK', url: `${base}/slack-targets` })
    const preview = (await t.ok(PREVIEW, { c: slack.id })).notificationPreview
    const s = JSON.parse(preview.body)
    expect(JSON.stringify(s.blocks)).toContain('*Failed targets*\\nsw-core-1')
  })
})

describe('message templates', () => {
  it('are checked at save: syntax, unknown variables, sandbox limits and JSON bodies, naming the field', async () => {
    const hook = { name: 'tpl-bad', url: `${base}/tpl`, secretCredentialId: creds.a }
    const chat = { name: 'tpl-bad', kind: 'SLACK', url: `${base}/tpl` }
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...hook, bodyTemplate: '{"x": {{ run.status | json }' } }), 'input.bodyTemplate')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...chat, subjectTemplate: '{{ process.env.HOME }}' } }), 'input.subjectTemplate')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...chat, subjectTemplate: '{{ run.nosuchfield }}' } }), 'input.subjectTemplate')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...chat, subjectTemplate: '{{ run.error | no_such_filter }}' } }), 'input.subjectTemplate')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...hook, subjectTemplate: 'x' } }), 'input.subjectTemplate')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...hook, bodyTemplate: 'not json {{ run.status }}' } }), 'input.bodyTemplate')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...hook, bodyTemplate: "{% include 'secret.key' %}" } }), 'input.bodyTemplate')
    // Loops and output are bounded: a runaway template is refused, not run forever.
    const loop = await t.gql(CREATE_CHANNEL, { i: { ...chat, subjectTemplate: '{% for i in (1..100000000) %}{{ run.templateName }}{% endfor %}' } })
    expectFieldError(loop, 'input.subjectTemplate')
    expectFieldError(await t.gql(CREATE_CHANNEL, { i: { ...hook, htmlTemplate: '<p>{{ run.status }}</p>' } }), 'input.htmlTemplate')
  })

  it('a webhook body template is what goes out (signed), and preview renders a real past run exactly so', async () => {
    const ch = await channel({
      name: 'tpl-hook',
      url: `${base}/tpl-hook`,
      secretCredentialId: creds.a,
      bodyTemplate: '{"text": {{ run.templateName | append: " " | append: eventLabel | json }}, "url": {{ run.url | json }}, "params": {{ run.parameters.site | default: "none" | json }}, "failed": {{ run.failedTargets | size }}}',
    })
    const templateId = await ruleFor('tpl-hook', ['RUN_FAILED'], [ch.id], { fail: 'x' }, { parameters: [{ name: 'site', type: 'STRING', default: 'fra1' }] })
    const run = await h.trigger(templateId)
    await delivered(run)
    const got = at('/tpl-hook')[0]!
    expect(JSON.parse(got.body)).toEqual({ text: 'tpl-hook failed', url: `${PUBLIC_URL}/runs/${raw(run)}`, params: 'fra1', failed: 0 })
    const sig = signatures(got)
    expect(sig.v1).toEqual([hmac(SECRET_A, sig.t, got.body)])

    const preview = (await t.ok(PREVIEW, { c: ch.id, r: run })).notificationPreview
    expect(preview).toMatchObject({ event: 'RUN_FAILED', subject: null, html: null })
    expect(preview.body).toBe(got.body)
    // Unsaved edits preview too; their errors name the template field.
    const edited = (await t.ok(PREVIEW, { c: ch.id, r: run, tpl: { bodyTemplate: '{"n": {{ run.number }}}' } })).notificationPreview
    expect(JSON.parse(edited.body).n).toBeGreaterThan(0)
    expectFieldError(await t.gql(PREVIEW, { c: ch.id, r: run, tpl: { bodyTemplate: '{{ nope }}' } }), 'templates.bodyTemplate')
  })

  it('an email preview renders subject, text and HTML for a past run; updates keep the templates not given and null restores a default', async () => {
    const ch = await channel({ name: 'tpl-mail', kind: 'EMAIL', smtpHost: '127.0.0.1', smtpPort: plainSmtp.port, smtpSecurity: 'NONE', emailFrom: 'switchyard@example.com', emailTo: ['ops@example.com'], subjectTemplate: 'ALERT {{ run.templateName }} {{ run.status }}', bodyTemplate: 'by {{ run.triggeredBy }} took {{ run.duration }}' })
    const templateId = await h.createTemplate({ name: 'tpl-mail-run', jobType: 'test-outcome', config: { fail: 'boom' } })
    const run = await h.trigger(templateId)
    await h.waitFor(run, ['FAILED'])
    const p = (await t.ok(PREVIEW, { c: ch.id, r: run })).notificationPreview
    expect(p.subject).toBe('ALERT tpl-mail-run FAILED')
    expect(p.text).toMatch(/^by admin took [\d.]+s$/)
    expect(p.html).toContain('boom')
    expect(p.body).toBeNull()
    const updated = (await t.ok(UPDATE_CHANNEL, { id: ch.id, i: { subjectTemplate: null } })).updateNotificationChannel
    expect(updated).toMatchObject({ subjectTemplate: null, bodyTemplate: 'by {{ run.triggeredBy }} took {{ run.duration }}', emailTo: ['ops@example.com'] })
    expect((await t.ok(PREVIEW, { c: ch.id, r: run })).notificationPreview.subject).toMatch(/^tpl-mail-run #\d+ failed$/)
  })

  it("send test returns the receiver's exact answer", async () => {
    const ch = await channel({ name: 'teapot', url: `${base}/teapot`, secretCredentialId: creds.a })
    const r = (await t.ok(SEND_TEST, { c: ch.id })).sendTestNotification
    expect(r).toMatchObject({ ok: false, statusCode: 418, response: 'no coffee here', retryable: false })
    const body = JSON.parse(at('/teapot')[0]!.body)
    expect(body).toMatchObject({ test: true, event: 'RUN_FAILED', run: { templateName: 'nightly-backup' } })
    // Not written to the outbox.
    expect((await t.app.db.pool.query(`SELECT count(*)::int AS n FROM notification_delivery WHERE channel_id = $1`, [raw(ch.id)])).rows[0].n).toBe(0)
  })
})

describe('webhook secret rotation', () => {
  it('signs with both secrets while two are active, then only the new one after the old is retired', async () => {
    const ch = await channel({ name: 'rotating', url: `${base}/rotating`, secretCredentialId: creds.a })
    const ADD = `mutation($id: ID!, $c: ID!) { addNotificationChannelSecret(id: $id, secretCredentialId: $c) { secretCredential { id } secondarySecretCredential { id } } }`
    const RETIRE = `mutation($id: ID!, $c: ID!) { retireNotificationChannelSecret(id: $id, secretCredentialId: $c) { secretCredential { id } secondarySecretCredential { id } } }`
    expect((await t.gql(RETIRE, { id: ch.id, c: creds.a })).errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
    expect((await t.ok(ADD, { id: ch.id, c: creds.b })).addNotificationChannelSecret).toEqual({ secretCredential: { id: creds.a }, secondarySecretCredential: { id: creds.b } })
    expect((await t.gql(ADD, { id: ch.id, c: creds.smtp })).errors?.[0]?.extensions?.code).toBe('INVALID_STATE')

    await t.ok(SEND_TEST, { c: ch.id })
    const both = at('/rotating')[0]!
    const s1 = signatures(both)
    // A receiver that knows either secret verifies the request.
    expect(s1.v1).toEqual([hmac(SECRET_A, s1.t, both.body), hmac(SECRET_B, s1.t, both.body)])

    expect((await t.ok(RETIRE, { id: ch.id, c: creds.a })).retireNotificationChannelSecret).toEqual({ secretCredential: { id: creds.b }, secondarySecretCredential: null })
    await t.ok(SEND_TEST, { c: ch.id })
    const after = at('/rotating')[1]!
    const s2 = signatures(after)
    expect(s2.v1).toEqual([hmac(SECRET_B, s2.t, after.body)])
    // The retired secret's credential is free again; the active one is still protected.
    expect((await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: creds.b })).errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
    const audit = await t.ok(`query($id: ID!) { auditEvents(filter: { entityId: $id }, first: 10) { edges { node { action } } } }`, { id: ch.id })
    expect(audit.auditEvents.edges.map((e: any) => e.node.action)).toEqual(expect.arrayContaining(['notification-channel.add-secret', 'notification-channel.retire-secret']))
    expect(JSON.stringify(audit)).not.toContain(SECRET_A)
  })
})

describe('changing kind', () => {
  it('lets go of the old kind\'s credentials, so they can be deleted', async () => {
    const secret = await credential('throwaway-secret', 'webhook', 'throwaway-0123456789')
    const ch = await channel({ name: 'kind-change', url: `${base}/kind-change`, secretCredentialId: secret })
    expect((await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: secret })).errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
    const updated = (await t.ok(`mutation($id: ID!, $i: UpdateNotificationChannelInput!) { updateNotificationChannel(id: $id, input: $i) { kind url urlHost hasUrl secretCredential { id } } }`, { id: ch.id, i: { kind: 'TEAMS' } })).updateNotificationChannel
    // The URL is kept, now write-only (a chat URL carries the service's token): only its host is shown.
    expect(updated).toEqual({ kind: 'TEAMS', url: null, urlHost: new URL(base).host, hasUrl: true, secretCredential: null })
    expect(await t.ok(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: secret })).toEqual({ deleteCredential: secret })
    // Back to WEBHOOK needs a secret again.
    expectFieldError(await t.gql(UPDATE_CHANNEL, { id: ch.id, i: { kind: 'WEBHOOK' } }), 'input.secretCredentialId')
  })
})

describe('admins only', () => {
  it('preview, send test and secret rotation are refused to operators and viewers', async () => {
    const ch = await channel({ name: 'admins-only', url: `${base}/admins-only`, secretCredentialId: creds.a })
    for (const role of ['OPERATOR', 'VIEWER'] as const) {
      const token = await t.userToken(role)
      const calls: Array<[string, Record<string, unknown>]> = [
        [PREVIEW, { c: ch.id }],
        [SEND_TEST, { c: ch.id }],
        [`mutation($id: ID!, $c: ID!) { addNotificationChannelSecret(id: $id, secretCredentialId: $c) { id } }`, { id: ch.id, c: creds.b }],
        [`mutation($id: ID!, $c: ID!) { retireNotificationChannelSecret(id: $id, secretCredentialId: $c) { id } }`, { id: ch.id, c: creds.a }],
      ]
      for (const [q, v] of calls) expect((await t.gql(q, v, token)).errors?.[0]?.extensions?.code, `${role}: ${q}`).toBe('FORBIDDEN')
    }
    expect(at('/admins-only')).toHaveLength(0)
  })
})

describe('more events', () => {
  it('RUN_STARTED notifies once for a retried run (its first start), RUN_TIMED_OUT when it times out', async () => {
    const hook = await channel({ name: 'events-hook', url: `${base}/events`, secretCredentialId: creds.a })
    const retried = await ruleFor('starts', ['RUN_STARTED'], [hook.id], { fail: 'flaky', retryable: true }, { retryMaxAttempts: 3, retryDelaySeconds: 0 })
    const run = await h.trigger(retried)
    await h.waitFor(run, ['FAILED'])
    const [d] = await delivered(run)
    expect(d).toMatchObject({ event: 'RUN_STARTED', status: 'DELIVERED' })
    const startedBody = JSON.parse(at('/events').find((r) => JSON.parse(r.body).run.id === raw(run))!.body)
    expect(startedBody.run).toMatchObject({ status: 'RUNNING', attempt: 1 })

    const slow = await ruleFor('times-out', ['RUN_TIMED_OUT', 'RUN_FAILED'], [hook.id], { wait: 'never-released-gate' }, { timeoutSeconds: 1 })
    const run2 = await h.trigger(slow)
    await h.waitFor(run2, ['TIMED_OUT'])
    const list = await delivered(run2, 2)
    expect(list.map((x) => x.event).sort()).toEqual(['RUN_FAILED', 'RUN_TIMED_OUT'])
  })

  it('DURATION_EXCEEDED: over the absolute limit, or over k × the template p95 once there are 5 successes; details say why', async () => {
    const hook = await channel({ name: 'duration-hook', url: `${base}/duration`, secretCredentialId: creds.a })
    expectFieldError(await t.gql(CREATE_RULE, { i: { name: 'no-limit', events: ['DURATION_EXCEEDED'], channelIds: [hook.id] } }), 'input.durationLimitSeconds')
    const templateId = await h.createTemplate({ name: 'slowish', jobType: 'test-outcome', config: {} })
    await t.ok(CREATE_RULE, { i: { name: 'duration-abs', events: ['DURATION_EXCEEDED'], templateIds: [templateId], channelIds: [hook.id], durationLimitSeconds: 30 } })
    await t.ok(CREATE_RULE, { i: { name: 'duration-p95', events: ['DURATION_EXCEEDED'], templateIds: [templateId], channelIds: [hook.id], durationP95Factor: 3 } })
    // Five quick successes: the baseline (no notification: under the limit, and no p95 before five).
    for (let i = 0; i < 5; i++) await h.waitFor(await h.trigger(templateId), ['SUCCEEDED'])
    expect(at('/duration')).toHaveLength(0)
    // A run that ran 60 s (its start moved back while it waits on a gate): over both thresholds.
    await t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: templateId, i: { config: { wait: 'duration-gate' } } })
    const slow = await h.trigger(templateId)
    await gates.reached('duration-gate')
    await t.app.db.pool.query(`UPDATE job_run SET started_at = now() - interval '60 seconds' WHERE id = $1`, [raw(slow)])
    gates.release('duration-gate')
    await h.waitFor(slow, ['SUCCEEDED'])
    const list = await delivered(slow, 2)
    expect(list.every((d) => d.event === 'DURATION_EXCEEDED' && d.status === 'DELIVERED')).toBe(true)
    const bodies = at('/duration').map((r) => JSON.parse(r.body))
    const abs = bodies.find((b) => b.details.limitSeconds === 30)
    const rel = bodies.find((b) => b.details.p95Factor === 3)
    expect(abs.details.durationSeconds).toBeGreaterThanOrEqual(60)
    expect(rel.details.p95Seconds).toBeLessThan(20)
    expect(rel.details.limitSeconds).toBeNull()
  })

  it('CONSECUTIVE_FAILURES fires once when the streak reaches N, and again after a success breaks it', async () => {
    const hook = await channel({ name: 'streak-hook', url: `${base}/streak`, secretCredentialId: creds.a })
    const templateId = await h.createTemplate({ name: 'streaky', jobType: 'test-outcome', config: { fail: 'down' } })
    await t.ok(CREATE_RULE, { i: { name: 'streak', events: ['CONSECUTIVE_FAILURES'], templateIds: [templateId], channelIds: [hook.id], consecutiveFailures: 2 } })
    const setFail = (fail: string | null) => t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: templateId, i: { config: fail ? { fail } : {} } })
    const runs: string[] = []
    const go = async (status: string) => {
      const id = await h.trigger(templateId)
      await h.waitFor(id, [status])
      runs.push(id)
    }
    await go('FAILED')
    await go('FAILED') // streak 2: fires
    await go('FAILED') // streak 3: silent
    await setFail(null)
    await go('SUCCEEDED')
    await setFail('down again')
    await go('FAILED')
    await go('FAILED') // a new streak of 2: fires
    await eventually(async () => at('/streak').length === 2, { what: 'two streak notifications' })
    const bodies = at('/streak').map((r) => JSON.parse(r.body))
    expect(bodies.map((b) => b.run.id)).toEqual([raw(runs[1]!), raw(runs[5]!)])
    expect(bodies.every((b) => b.event === 'CONSECUTIVE_FAILURES' && b.details.consecutiveFailures === 2)).toBe(true)
    for (const r of [runs[0], runs[2], runs[3], runs[4]]) expect(await t.ok(DELIVERIES, { run: r })).toEqual({ notificationDeliveries: [] })
  })
})
