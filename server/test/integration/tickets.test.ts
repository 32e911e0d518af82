/**
 * Tickets end to end: a real Redmine (Debian's package, scripts/test-peers/redmine.sh) receiving issues,
 * comments and status changes through its REST API; a local HTTP receiver as the generic webhook tracker
 * (signatures verified, 500s retried); real Postgres (the job_run trigger writes the ticket outbox) and real
 * workers delivering through pg-boss.
 */
import crypto from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { REDMINE_PROJECT, startRedmine, type TestRedmine } from '../harness/redmine.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { createTestRegistry } from '../harness/test-executors.ts'
import { deleteExpiredTicketActions } from '../../src/modules/tickets/action-retention.ts'
import { redmineAdapter, ticketMarker } from '../../src/modules/tickets/redmine-adapter.ts'

interface Received {
  headers: http.IncomingHttpHeaders
  body: string
}

/** The generic tracker: records every POST and answers from a script of status codes, then 200 with an id. */
class TrackerReceiver {
  readonly received: Received[] = []
  script: number[] = []
  next = 100
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      this.received.push({ headers: req.headers, body })
      const status = this.script.shift() ?? 200
      res.statusCode = status
      res.setHeader('content-type', 'application/json')
      if (status !== 200) return res.end('{"error":"down"}')
      const action = JSON.parse(body).action
      res.end(action === 'create' ? JSON.stringify({ id: `T-${++this.next}`, url: `https://tracker.example/T-${this.next}` }) : '{}')
    })
  })
  url = ''
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/tickets`
  }
}

const SECRET = 'tracker-signing-secret-0123456789'
const receiver = new TrackerReceiver()
let t: TestApp
let redmine: TestRedmine
let redmineTrackerId = ''
let keyCredentialId = ''
const h = runHelpers(() => t, { runFields: 'id status attempt' })

const CREATE_CREDENTIAL = `mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`
const CREATE_TRACKER = `mutation($i: CreateTicketTrackerInput!) { createTicketTracker(input: $i) { id name kind url project credential { id } } }`
const CREATE_RULE = `mutation($i: CreateTicketRuleInput!) { createTicketRule(input: $i) { id trigger priority closeOnRecovery } }`
const RUN_TICKETS = `query($id: ID!) { jobRun(id: $id) { id status tickets { id externalId url title description priority status dedupKey actions { kind reason status attempts lastStatusCode lastError } } } }`

beforeAll(async () => {
  await receiver.start()
  // Settled, not Promise.all: when one fails to start, afterAll still stops the other.
  const [rm, app] = await Promise.allSettled([
    startRedmine(),
    startTestApp({ registry: createTestRegistry(), env: { SWITCHYARD_NOTIFY_RETRY_BASE_SECONDS: '1', SWITCHYARD_NOTIFY_RETRY_MAX_SECONDS: '2', SWITCHYARD_PUBLIC_URL: 'https://switchyard.example' } }),
  ])
  if (rm.status === 'fulfilled') redmine = rm.value
  if (app.status === 'fulfilled') t = app.value
  if (rm.status === 'rejected') throw rm.reason
  if (app.status === 'rejected') throw app.reason
  keyCredentialId = (await t.ok(CREATE_CREDENTIAL, { i: { name: 'redmine-key', kind: 'PASSWORD', username: 'admin', password: redmine.apiKey } })).createCredential.id
  redmineTrackerId = (await t.ok(CREATE_TRACKER, { i: { name: 'redmine', kind: 'REDMINE', url: redmine.url, credentialId: keyCredentialId, project: REDMINE_PROJECT } })).createTicketTracker.id
}, 180_000)
afterAll(async () => {
  await t?.stop()
  await redmine?.stop()
  await new Promise((resolve) => receiver.server.close(resolve))
})

async function ticketsOf(runId: string) {
  return (await t.ok(RUN_TICKETS, { id: runId })).jobRun.tickets as Array<Record<string, any>>
}

/** The run's tickets once every action of each is no longer PENDING. */
async function settledTickets(runId: string, count = 1) {
  return eventually(async () => {
    const list = await ticketsOf(runId)
    // A ticket and its actions are two reads of one request: the ticket may have been read just before a
    // CREATE recorded its issue id and the actions just after it was marked DONE. Settled means both seen.
    const settled = (x: Record<string, any>) =>
      x.actions.every((a: { status: string }) => a.status !== 'PENDING') && (x.externalId !== null || !x.actions.some((a: { kind: string; status: string }) => a.kind === 'CREATE' && a.status === 'DONE'))
    return list.length === count && list.every(settled) ? list : null
  }, { what: `the tickets of ${runId} to settle`, timeoutMs: 60_000 })
}

async function setConfig(templateId: string, config: Record<string, unknown>) {
  await t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: templateId, i: { config } })
}

async function issue(id: string) {
  return (await redmine.rest('GET', `/issues/${id}.json?include=journals`)).issue as { id: number; subject: string; description: string; status: { id: number; name: string; is_closed?: boolean }; priority: { name: string }; journals: Array<{ notes: string }> }
}
async function closedStatusIds(): Promise<Set<number>> {
  const r = await redmine.rest('GET', '/issue_statuses.json')
  return new Set(r.issue_statuses.filter((s: { is_closed: boolean }) => s.is_closed).map((s: { id: number }) => s.id))
}

describe('Redmine tracker (real Redmine)', () => {
  it('admins manage trackers and rules; operators only list trackers; the API key credential cannot be deleted while used', async () => {
    const operator = await t.userToken('OPERATOR')
    expect((await t.ok(`{ ticketTrackers { name kind project } }`, {}, operator)).ticketTrackers).toEqual([{ name: 'redmine', kind: 'REDMINE', project: REDMINE_PROJECT }])
    const refused = await t.gql(CREATE_TRACKER, { i: { name: 'op', kind: 'WEBHOOK', url: receiver.url, credentialId: keyCredentialId } }, operator)
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    expect((await t.gql(`{ ticketRules { id } }`, {}, operator)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    const del = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: keyCredentialId })
    expect(del.errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
    expect(del.errors?.[0]?.message).toContain('ticket tracker "redmine"')
    // The key is write-only: nothing of it in the tracker's audit entry.
    const audit = await t.app.db.pool.query(`SELECT changes::text AS c FROM audit_event WHERE action = 'ticket-tracker.create'`)
    expect(audit.rows.map((r) => r.c).join('')).not.toContain(redmine.apiKey)
  })

  it('checks the API key and the project when the tracker is saved, each error on its field', async () => {
    const bad = (await t.ok(CREATE_CREDENTIAL, { i: { name: 'wrong-key', kind: 'PASSWORD', username: 'x', password: 'f'.repeat(40) } })).createCredential.id
    expectFieldError(await t.gql(CREATE_TRACKER, { i: { name: 'r2', kind: 'REDMINE', url: redmine.url, credentialId: bad, project: REDMINE_PROJECT } }), 'input.credentialId')
    expectFieldError(await t.gql(CREATE_TRACKER, { i: { name: 'r2', kind: 'REDMINE', url: redmine.url, credentialId: keyCredentialId, project: 'no-such-project' } }), 'input.project')
    expectFieldError(await t.gql(CREATE_TRACKER, { i: { name: 'r2', kind: 'REDMINE', url: redmine.url, credentialId: keyCredentialId } }), 'input.project')
    expectFieldError(await t.gql(CREATE_TRACKER, { i: { name: 'r2', kind: 'REDMINE', url: 'ftp://x', credentialId: keyCredentialId, project: 'p' } }), 'input.url')
    // The outbound policy (SSRF guard) refuses a cloud-metadata address at save, on either kind.
    expectFieldError(await t.gql(CREATE_TRACKER, { i: { name: 'r3', kind: 'WEBHOOK', url: 'http://169.254.169.254/latest/', credentialId: keyCredentialId } }), 'input.url')
    expectFieldError(await t.gql(CREATE_TRACKER, { i: { name: 'r3', kind: 'REDMINE', url: 'http://169.254.169.254/', credentialId: keyCredentialId, project: REDMINE_PROJECT } }), 'input.url')
    // Nothing was written by the refused saves.
    expect((await t.ok(`{ ticketTrackers { name } }`)).ticketTrackers.map((x: { name: string }) => x.name)).toEqual(['redmine'])
  })

  it('auto-ticket: a failure opens one issue, a repeat comments on it, the recovery comments and closes it', async () => {
    const templateId = await h.createTemplate({ name: 'backup-nightly', jobType: 'test-outcome', config: { fail: 'disk full on /backup' } })
    await t.ok(CREATE_RULE, { i: { name: 'backups', trackerId: redmineTrackerId, templateIds: [templateId], priority: 'HIGH' } })

    const run1 = await h.trigger(templateId)
    await h.waitFor(run1, ['FAILED'])
    const [ticket] = await settledTickets(run1)
    expect(ticket).toMatchObject({ status: 'OPEN', priority: 'HIGH', actions: [{ kind: 'CREATE', status: 'DONE', attempts: 1 }] })
    expect(ticket!.externalId).toMatch(/^\d+$/)
    expect(ticket!.url).toBe(`${redmine.url}/issues/${ticket!.externalId}`)
    const created = await issue(ticket!.externalId)
    expect(created.subject).toMatch(/^backup-nightly: run #\d+ failed$/)
    expect(created.description).toContain('Error: disk full on /backup')
    expect(created.description).toContain(`https://switchyard.example/runs/`)
    expect(created.priority.name).toBe('High')

    // A second failure: the same ticket, a comment, no second issue.
    const run2 = await h.trigger(templateId)
    await h.waitFor(run2, ['FAILED'])
    const [again] = await eventually(async () => {
      const list = await ticketsOf(run2)
      return list[0]?.actions.length === 2 && list[0].actions.every((a: { status: string }) => a.status === 'DONE') ? list : null
    }, { what: 'the repeat comment' })
    expect(again!.id).toBe(ticket!.id)
    expect(again!.actions[1]).toMatchObject({ kind: 'COMMENT', reason: 'FAILED_AGAIN', status: 'DONE' })
    const commented = await issue(ticket!.externalId)
    expect(commented.journals.map((j) => j.notes).filter(Boolean)).toEqual([expect.stringMatching(/^Failed again: run #\d+ of "backup-nightly" ended FAILED/)])
    const issuesInProject = await redmine.rest('GET', `/issues.json?project_id=${REDMINE_PROJECT}&status_id=*&subject=~backup-nightly`)
    expect(issuesInProject.total_count).toBe(1)

    // Recovery: a comment, and the issue is closed.
    await setConfig(templateId, {})
    const run3 = await h.trigger(templateId)
    await h.waitFor(run3, ['SUCCEEDED'])
    const [recovered] = await eventually(async () => {
      const list = await ticketsOf(run3)
      return list[0]?.actions.length === 4 && list[0].actions.every((a: { status: string }) => a.status === 'DONE') ? list : null
    }, { what: 'the recovery comment and close' })
    expect(recovered).toMatchObject({ id: ticket!.id, status: 'CLOSED' })
    expect(recovered!.actions.slice(2).map((a: { kind: string; reason: string | null }) => [a.kind, a.reason])).toEqual([['COMMENT', 'RECOVERED'], ['CLOSE', null]])
    const closed = await issue(ticket!.externalId)
    expect((await closedStatusIds()).has(closed.status.id)).toBe(true)
    expect(closed.journals.map((j) => j.notes).filter(Boolean)[1]).toMatch(/^Recovered: run #\d+ of "backup-nightly" succeeded/)

    // The next failure opens a new ticket (the old one is closed).
    await setConfig(templateId, { fail: 'disk full again' })
    const run4 = await h.trigger(templateId)
    await h.waitFor(run4, ['FAILED'])
    const [fresh] = await settledTickets(run4)
    expect(fresh!.id).not.toBe(ticket!.id)
    expect(fresh!.externalId).not.toBe(ticket!.externalId)
    expect((await issue(fresh!.externalId)).status.name).toBe('New')
  })

  it('create ticket from a failed run: the draft, field errors, the issue, then close and reopen', async () => {
    const templateId = await h.createTemplate({ name: 'config-push', jobType: 'test-outcome', config: { fail: 'router refused commit' } })
    const run = await h.trigger(templateId)
    await h.waitFor(run, ['FAILED'])
    const draft = (await t.ok(`query($r: ID!) { ticketDraft(jobRunId: $r) { title description priority } }`, { r: run })).ticketDraft
    expect(draft.title).toMatch(/^config-push: run #\d+ failed$/)
    expect(draft.description).toContain('Error: router refused commit')
    expect(draft.priority).toBe('NORMAL')

    const CREATE = `mutation($i: CreateTicketInput!) { createTicket(input: $i) { id title priority externalId } }`
    expectFieldError(await t.gql(CREATE, { i: { jobRunId: run, trackerId: redmineTrackerId, title: '  ', description: 'x' } }), 'input.title')
    expectFieldError(await t.gql(CREATE, { i: { jobRunId: run, trackerId: redmineTrackerId, title: 'x'.repeat(256) } }), 'input.title')
    const okTemplate = await h.createTemplate({ name: 'fine', jobType: 'test-outcome', config: {} })
    const okRun = await h.trigger(okTemplate)
    await h.waitFor(okRun, ['SUCCEEDED'])
    expectFieldError(await t.gql(CREATE, { i: { jobRunId: okRun, trackerId: redmineTrackerId, title: 'x' } }), 'input.jobRunId')
    expectFieldError(await t.gql(`query($r: ID!) { ticketDraft(jobRunId: $r) { title } }`, { r: okRun }), 'jobRunId')

    const operator = await t.userToken('OPERATOR')
    const made = (await t.ok(CREATE, { i: { jobRunId: run, trackerId: redmineTrackerId, title: draft.title, description: draft.description, priority: 'URGENT' } }, operator)).createTicket
    expect(made).toMatchObject({ title: draft.title, priority: 'URGENT', externalId: null })
    const [ticket] = await settledTickets(run)
    const created = await issue(ticket!.externalId)
    expect(created.subject).toBe(draft.title)
    expect(created.priority.name).toBe('Urgent')

    await t.ok(`mutation($id: ID!) { closeTicket(id: $id) { status } }`, { id: ticket!.id }, operator)
    await eventually(async () => (await closedStatusIds()).has((await issue(ticket!.externalId)).status.id), { what: 'the issue closed in Redmine' })
    const again = await t.gql(`mutation($id: ID!) { closeTicket(id: $id) { status } }`, { id: ticket!.id }, operator)
    expect(again.errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
    await t.ok(`mutation($id: ID!) { reopenTicket(id: $id) { status } }`, { id: ticket!.id }, operator)
    await eventually(async () => !(await closedStatusIds()).has((await issue(ticket!.externalId)).status.id), { what: 'the issue reopened in Redmine' })

    const audit = (await t.ok(`{ auditEvents(first: 50, filter: { entityTypes: [TICKET] }) { edges { node { action } } } }`)).auditEvents.edges.map((e: { node: { action: string } }) => e.node.action)
    expect(audit).toEqual(expect.arrayContaining(['ticket.create', 'ticket.close', 'ticket.reopen']))
  })

  it('a create tried again after its answer was lost (or its worker died before recording the id) finds the issue it made: one issue', async () => {
    const settings = { id: 'x', name: 'redmine', kind: 'REDMINE' as const, url: redmine.url, secret: redmine.apiKey, project: REDMINE_PROJECT, redmineTrackerId: null, closedStatusId: null }
    const ticketId = crypto.randomUUID()
    const draft = { ticketId, title: `lost answer ${ticketId.slice(0, 8)}`, description: 'what happened', priority: 'NORMAL' as const, dedupKey: null }
    const ctx = { deliveryId: crypto.randomUUID(), ticketId }
    const first = await redmineAdapter.createIssue(settings, draft, ctx)
    const again = await redmineAdapter.createIssue(settings, draft, ctx)
    expect(again).toEqual(first)
    const found = await redmine.rest('GET', `/issues.json?project_id=${REDMINE_PROJECT}&status_id=*&subject=${encodeURIComponent(`~${draft.title}`)}`)
    expect(found.total_count).toBe(1)
    expect((await issue(first.externalId)).description.replace(/\r\n/g, '\n')).toBe(`what happened\n\n${ticketMarker(ticketId)}`) // Redmine stores CRLF
    // Another ticket with the same text is another issue.
    const other = await redmineAdapter.createIssue(settings, { ...draft, ticketId: crypto.randomUUID() }, ctx)
    expect(other.externalId).not.toBe(first.externalId)
  })

  it('lists tickets newest first, by status and tracker, only those of runs the caller can see; a manual comment reaches the issue', async () => {
    const LIST = `query($s: TicketStatus, $tr: ID, $f: Int) { tickets(status: $s, trackerId: $tr, first: $f) { id title status createdAt tracker { id } } }`
    const COMMENT = `mutation($id: ID!, $b: String!) { commentTicket(id: $id, body: $b) { id actions { kind reason status } } }`
    // A ticket of a PRIVATE template's run: only its owner (here the admin) and admins see it.
    const hidden = await h.createTemplate({ name: 'private-job', jobType: 'test-outcome', config: { fail: 'secret failure' }, visibility: 'PRIVATE' })
    const hiddenRun = await h.trigger(hidden)
    await h.waitFor(hiddenRun, ['FAILED'])
    const privateTicket = (await t.ok(`mutation($i: CreateTicketInput!) { createTicket(input: $i) { id } }`, { i: { jobRunId: hiddenRun, trackerId: redmineTrackerId, title: 'private-job failed' } })).createTicket.id

    const all = (await t.ok(LIST, {})).tickets as Array<{ id: string; status: string; createdAt: string; tracker: { id: string } }>
    expect(all.length).toBeGreaterThan(2)
    expect(all[0]!.id).toBe(privateTicket)
    expect(all.map((x) => x.createdAt)).toEqual([...all.map((x) => x.createdAt)].sort().reverse())
    const operator = await t.userToken('OPERATOR')
    const theirs = (await t.ok(LIST, {}, operator)).tickets as Array<{ id: string }>
    expect(theirs.map((x) => x.id)).toEqual(all.filter((x) => x.id !== privateTicket).map((x) => x.id))
    const open = (await t.ok(LIST, { s: 'OPEN' })).tickets as Array<{ status: string }>
    const closed = (await t.ok(LIST, { s: 'CLOSED' })).tickets as Array<{ status: string }>
    expect(open.every((x) => x.status === 'OPEN') && closed.every((x) => x.status === 'CLOSED')).toBe(true)
    expect(open.length + closed.length).toBe(all.length)
    expect(closed.length).toBeGreaterThan(0)
    expect((await t.ok(LIST, { tr: redmineTrackerId })).tickets).toHaveLength(all.filter((x) => x.tracker.id === redmineTrackerId).length)
    expect((await t.ok(LIST, { f: 1 })).tickets).toHaveLength(1)
    expectFieldError(await t.gql(LIST, { f: 0 }), 'first')
    expectFieldError(await t.gql(LIST, { tr: 'not-an-id' }), 'trackerId')

    // A comment of one's own, delivered to the issue by the outbox.
    const [ticket] = await settledTickets(hiddenRun)
    expectFieldError(await t.gql(COMMENT, { id: privateTicket, b: '   ' }), 'body')
    expect((await t.gql(COMMENT, { id: privateTicket, b: 'from an operator' }, operator)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND')
    expect((await t.gql(COMMENT, { id: privateTicket, b: 'from a viewer' }, await t.userToken('VIEWER'))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    const commented = (await t.ok(COMMENT, { id: privateTicket, b: 'Replaced the disk; watching the next run.' })).commentTicket
    expect(commented.actions.at(-1)).toMatchObject({ kind: 'COMMENT', reason: 'MANUAL' }) // PENDING, or DONE already
    await eventually(async () => (await issue(ticket!.externalId)).journals.some((j) => j.notes === 'Replaced the disk; watching the next run.'), { what: 'the comment in Redmine' })
    const [after] = await settledTickets(hiddenRun)
    expect(after!.actions.map((a: { kind: string; status: string }) => [a.kind, a.status])).toEqual([['CREATE', 'DONE'], ['COMMENT', 'DONE']])
    const audit = (await t.ok(`{ auditEvents(first: 10, filter: { entityTypes: [TICKET] }) { edges { node { action } } } }`)).auditEvents.edges.map((e: { node: { action: string } }) => e.node.action)
    expect(audit).toContain('ticket.comment')
  })
})

function verify(r: Received): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['x-switchyard-signature']))
  if (!m) return false
  const expected = crypto.createHmac('sha256', SECRET).update(`${m[1]}.${r.body}`).digest('hex')
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(m[2]!))
}

describe('the draft', () => {
  it("lists the run's failed targets with their errors and the last 40 log lines", async () => {
    const pool = t.app.db.pool
    const run = (
      await pool.query(
        `INSERT INTO job_run (template_name, job_type, spec, trigger, status, error, targets_total, targets_failed, started_at, finished_at, log_seq)
         VALUES ('core-switches', 'command', '{}', 'API', 'FAILED', '2 of 3 targets failed', 3, 2, now() - interval '95 seconds', now(), 50) RETURNING id`,
      )
    ).rows[0].id
    await pool.query(
      `INSERT INTO run_target (run_id, position, name, host, port, status, exit_code, error) VALUES
         ($1, 0, 'sw-ams-1', '10.0.0.1', 22, 'SUCCEEDED', 0, NULL),
         ($1, 1, 'sw-ams-2', '10.0.0.2', 22, 'FAILED', 1, 'permission denied'),
         ($1, 2, 'sw-fra-1', '10.0.0.3', 22, 'TIMED_OUT', NULL, 'timed out after 30 s')`,
      [run],
    )
    await pool.query(`INSERT INTO run_log (run_id, seq, ts, level, stream, text) SELECT $1, g, now(), 'INFO', 'STDOUT', 'line ' || g FROM generate_series(1, 50) g`, [run])
    const draft = (await t.ok(`query($r: ID!) { ticketDraft(jobRunId: $r) { title description } }`, { r: Buffer.from(`JobRun:${run}`).toString('base64') })).ticketDraft
    expect(draft.title).toMatch(/^core-switches: run #\d+ failed$/)
    const d: string = draft.description
    expect(d).toMatch(/ended FAILED after 95 s/)
    expect(d).toContain('Error: 2 of 3 targets failed')
    expect(d).toContain('Failed targets (2 of 3):\n- sw-ams-2 (10.0.0.2): FAILED, exit code 1: permission denied\n- sw-fra-1 (10.0.0.3): TIMED_OUT: timed out after 30 s')
    expect(d).not.toContain('sw-ams-1')
    expect(d).toContain('Log (last 40 lines):')
    expect(d).toContain('line 11\nline 12')
    expect(d).toMatch(/line 50\n<\/pre>$/)
    expect(d).not.toMatch(/line 10\n/)
  })
})

describe('generic webhook tracker (local receiver)', () => {
  it('signs every action, retries 500s, and opens a ticket only at N consecutive failures', async () => {
    const secretId = (await t.ok(CREATE_CREDENTIAL, { i: { name: 'tracker-secret', kind: 'PASSWORD', username: 'x', password: SECRET } })).createCredential.id
    const trackerId = (await t.ok(CREATE_TRACKER, { i: { name: 'generic', kind: 'WEBHOOK', url: receiver.url, credentialId: secretId } })).createTicketTracker.id
    const templateId = await h.createTemplate({ name: 'sync-dns', jobType: 'test-outcome', config: { fail: 'zone transfer refused' } })
    await t.ok(CREATE_RULE, { i: { name: 'dns', trackerId, templateIds: [templateId], trigger: 'CONSECUTIVE_FAILURES', consecutiveFailures: 2, closeOnRecovery: false } })

    const run1 = await h.trigger(templateId)
    await h.waitFor(run1, ['FAILED'])
    expect(await ticketsOf(run1)).toEqual([])

    receiver.script = [500, 500]
    const run2 = await h.trigger(templateId)
    await h.waitFor(run2, ['FAILED'])
    const [ticket] = await settledTickets(run2)
    expect(ticket).toMatchObject({ externalId: 'T-101', url: 'https://tracker.example/T-101', actions: [{ kind: 'CREATE', status: 'DONE', attempts: 3 }] })
    expect(receiver.received).toHaveLength(3)
    for (const r of receiver.received) expect(verify(r)).toBe(true)
    expect(verify({ ...receiver.received[2]!, body: receiver.received[2]!.body.replace('sync-dns', 'sync-dhcp') })).toBe(false)
    // One delivery id across the retries: the receiver can drop a repeat.
    expect(new Set(receiver.received.map((r) => r.headers['x-switchyard-delivery'])).size).toBe(1)
    const body = JSON.parse(receiver.received[2]!.body)
    expect(body).toMatchObject({ action: 'create', ticket: { title: expect.stringMatching(/^sync-dns: run #\d+ failed$/), priority: 'NORMAL', dedupKey: expect.stringContaining('template:') } })
    expect(body.ticket.description).toContain('Error: zone transfer refused')

    // Recovery without closing: one comment, the ticket stays open.
    await setConfig(templateId, {})
    const run3 = await h.trigger(templateId)
    await h.waitFor(run3, ['SUCCEEDED'])
    const [after] = await eventually(async () => {
      const list = await ticketsOf(run3)
      return list[0]?.actions.length === 2 && list[0].actions[1].status === 'DONE' ? list : null
    }, { what: 'the recovery comment' })
    expect(after).toMatchObject({ id: ticket!.id, status: 'OPEN' })
    const last = JSON.parse(receiver.received.at(-1)!.body)
    expect(last).toMatchObject({ action: 'comment', ticket: { externalId: 'T-101' }, comment: expect.stringMatching(/^Recovered: /) })
    expect(verify(receiver.received.at(-1)!)).toBe(true)
  })

  it('two runs of a template failing at the same moment open one ticket: the second waits on the open-ticket index and comments', async () => {
    const secretId = (await t.ok(CREATE_CREDENTIAL, { i: { name: 'tracker-secret-3', kind: 'PASSWORD', username: 'x', password: SECRET } })).createCredential.id
    const trackerId = (await t.ok(CREATE_TRACKER, { i: { name: 'generic-3', kind: 'WEBHOOK', url: receiver.url, credentialId: secretId } })).createTicketTracker.id
    const templateId = await h.createTemplate({ name: 'racing', jobType: 'test-outcome', config: { fail: 'x' } })
    await t.ok(CREATE_RULE, { i: { name: 'racing', trackerId, templateIds: [templateId] } })
    const raw = Buffer.from(templateId, 'base64').toString().split(':')[1]!
    // Two runs ended by two transactions that overlap (as two workers would), written directly so the
    // overlap is certain: the first holds its new ticket uncommitted while the second ends its run.
    const insert = `INSERT INTO job_run (template_id, template_name, job_type, spec, trigger, status) VALUES ($1, 'racing', 'test-outcome', '{}', 'API', 'QUEUED') RETURNING id`
    const [a, b] = [(await t.app.db.pool.query(insert, [raw])).rows[0].id, (await t.app.db.pool.query(insert, [raw])).rows[0].id]
    const c1 = await t.app.db.pool.connect()
    const c2 = await t.app.db.pool.connect()
    try {
      await c1.query('BEGIN')
      await c1.query(`UPDATE job_run SET status = 'FAILED', finished_at = now() WHERE id = $1`, [a])
      await c2.query('BEGIN')
      const second = c2.query(`UPDATE job_run SET status = 'FAILED', finished_at = now() WHERE id = $1`, [b])
      // The second is blocked until the first commits (the unique index on the open ticket's dedup key).
      const waiting = await eventually(async () => (await t.app.db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE job_run SET status%'`)).rows[0].n === 1, { what: 'the second update to wait' })
      expect(waiting).toBe(true)
      await c1.query('COMMIT')
      await second
      await c2.query('COMMIT')
    } finally {
      c1.release()
      c2.release()
    }
    const tickets = await t.app.db.pool.query(`SELECT t.id, array_agg(r.job_run_id ORDER BY r.created_at) AS runs FROM ticket t JOIN ticket_run r ON r.ticket_id = t.id WHERE t.template_id = $1 GROUP BY t.id`, [raw])
    expect(tickets.rows).toHaveLength(1)
    expect([...tickets.rows[0].runs].sort()).toEqual([a, b].sort())
    const actions = await t.app.db.pool.query(`SELECT kind::text, reason, job_run_id FROM ticket_action WHERE ticket_id = $1 ORDER BY seq`, [tickets.rows[0].id])
    expect(actions.rows).toEqual([{ kind: 'CREATE', reason: null, job_run_id: a }, { kind: 'COMMENT', reason: 'FAILED_AGAIN', job_run_id: b }])
    // Both reach the tracker, in order (the comment names the issue the create made).
    await settledTickets(Buffer.from(`JobRun:${b}`).toString('base64'))
    const last = JSON.parse(receiver.received.at(-1)!.body)
    expect(last).toMatchObject({ action: 'comment', ticket: { externalId: expect.stringMatching(/^T-/) } })
  })

  it('a create the tracker refuses (4xx) fails at once with the reason, and never fails the run', async () => {
    const secretId = (await t.ok(CREATE_CREDENTIAL, { i: { name: 'tracker-secret-2', kind: 'PASSWORD', username: 'x', password: SECRET } })).createCredential.id
    const trackerId = (await t.ok(CREATE_TRACKER, { i: { name: 'generic-2', kind: 'WEBHOOK', url: receiver.url, credentialId: secretId } })).createTicketTracker.id
    const templateId = await h.createTemplate({ name: 'refused', jobType: 'test-outcome', config: { fail: 'x' } })
    await t.ok(CREATE_RULE, { i: { name: 'refused', trackerId, templateIds: [templateId] } })
    receiver.script = [422]
    const run = await h.trigger(templateId)
    expect((await h.waitFor(run, ['FAILED', 'SUCCEEDED'])).status).toBe('FAILED')
    const [ticket] = await settledTickets(run)
    expect(ticket!.externalId).toBeNull()
    expect(ticket!.actions[0]).toMatchObject({ kind: 'CREATE', status: 'FAILED', attempts: 1, lastStatusCode: 422 })
    expect(ticket!.actions[0].lastError).toContain('422')
  })
})

describe('ticket action log retention', () => {
  it('deletes finished comments and closes past the retention, never a CREATE or a PENDING action', async () => {
    const pool = t.app.db.pool
    const { rows } = await pool.query(`SELECT id FROM ticket LIMIT 1`)
    const ticketId = rows[0].id
    // Marked enqueued with its next attempt far ahead, so the relay leaves the PENDING one alone meanwhile.
    // 20 days old, and expired here at 10: the app's own housekeeping (every reaper pass, at the default
    // 30 days) must not delete them between the INSERT and this test's call, as it did at 40 days.
    const add = async (kind: string, status: string) =>
      (
        await pool.query(
          `INSERT INTO ticket_action (ticket_id, kind, status, created_at, enqueued_at, next_attempt_at)
           VALUES ($1, $2::"TicketActionKind", $3::"TicketActionStatus", now() - interval '20 days', now(), now() + interval '1 day') RETURNING id`,
          [ticketId, kind, status],
        )
      ).rows[0].id
    const old = [await add('COMMENT', 'DONE'), await add('CLOSE', 'FAILED')]
    const kept = [await add('CREATE', 'DONE'), await add('COMMENT', 'PENDING')]
    expect(await deleteExpiredTicketActions(pool, 0)).toBe(0)
    expect(await deleteExpiredTicketActions(pool, 10)).toBe(2)
    const left = (await pool.query(`SELECT id FROM ticket_action WHERE id = ANY($1::uuid[])`, [[...old, ...kept]])).rows.map((r) => r.id)
    expect(left.sort()).toEqual([...kept].sort())
    // Not left for a later relay sweep to send.
    await pool.query(`DELETE FROM ticket_action WHERE id = ANY($1::uuid[])`, [kept])
  })
})
