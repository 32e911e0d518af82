/**
 * The audit trail through the GraphQL API on real Postgres: mutations leave exactly their events (who,
 * how, what, which fields), secrets never reach the table, failed logins are recorded and failed
 * mutations are not, only admins read it, filters and pages work, and the reaper applies retention.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type GraphQLResponse, type TestApp } from '../harness/app.ts'

let t: TestApp
beforeAll(async () => {
  t = await startTestApp()
})
afterAll(async () => {
  await t?.stop()
})

interface Change {
  field: string
  redacted: boolean
  oldValue: unknown
  newValue: unknown
}
interface Event {
  id: string
  at: string
  actorId: string | null
  actorName: string | null
  actor: { username: string } | null
  via: string
  action: string
  entityType: string
  entityId: string | null
  entityName: string | null
  changes: Change[]
}

const EVENTS = `query($f: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $f, first: $first, after: $after) {
    edges { cursor node { id at actorId actorName actor { username } via action entityType entityId entityName changes { field redacted oldValue newValue } } }
    pageInfo { hasNextPage endCursor }
  }
}`

async function events(filter: Record<string, unknown> = {}, first = 500): Promise<Event[]> {
  const d = await t.ok<{ auditEvents: { edges: Array<{ node: Event }> } }>(EVENTS, { f: filter, first })
  return d.auditEvents.edges.map((e) => e.node)
}

/** Events as compact lines, oldest first, for comparing a sequence. */
const lines = (list: Event[]) => [...list].reverse().map((e) => `${e.action} ${e.via} ${e.entityType} ${e.entityName ?? '-'}`)
const changesOf = (e: Event | undefined) => Object.fromEntries((e?.changes ?? []).map((c) => [c.field, c.redacted ? 'changed' : [c.oldValue, c.newValue]]))

function expectError(r: GraphQLResponse, code: string, field?: string): void {
  const dump = JSON.stringify(r)
  expect(r.errors?.[0]?.extensions?.code, dump).toBe(code)
  if (field) expect(r.errors?.[0]?.extensions?.field, dump).toBe(field)
}

async function rawAuditTable(): Promise<string> {
  return (await t.app.db.pool.query(`SELECT coalesce(json_agg(a), '[]')::text AS s FROM audit_event a`)).rows[0].s
}

async function auditCount(): Promise<number> {
  return (await t.app.db.pool.query(`SELECT count(*)::int AS n FROM audit_event`)).rows[0].n
}

let olgaId: string
let olgaSession: string
let olgaApi: string
let templateId: string

describe('recording', () => {
  it('a sequence of mutations leaves exactly its events: actor, via, action, entity and changes', async () => {
    const { createUser } = await t.ok(`mutation { createUser(input: { username: "olga", password: "olga-password-1", role: OPERATOR }) { id } }`)
    olgaId = createUser.id
    olgaSession = await t.login('olga', 'olga-password-1')
    const tok = await t.ok(`mutation { createApiToken(input: { name: "olga ci", expiresInDays: 30 }) { token apiToken { id } } }`, {}, olgaSession)
    olgaApi = tok.createApiToken.token

    const cred = await t.ok(`mutation { createCredential(input: { name: "a-cred", kind: PASSWORD, username: "deploy", password: "first-secret-pw" }) { id } }`, {}, olgaApi)
    await t.ok(`mutation($c: ID!) { createTarget(input: { name: "a-host", host: "10.0.0.5", credentialId: $c, tags: ["web"] }) { id } }`, { c: cred.createCredential.id }, olgaSession)
    const tpl = await t.ok(`mutation { createJobTemplate(input: { name: "a-tpl", jobType: "noop", config: {}, visibility: GLOBAL }) { id } }`, {}, olgaSession)
    templateId = tpl.createJobTemplate.id
    await t.ok(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { name: "a-tpl-2", timeoutSeconds: 60, visibility: GLOBAL }) { id } }`, { id: templateId }, olgaApi)
    const run = await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id number } }`, { id: templateId }, olgaApi)
    // Refused (a target uses it): no event.
    expectError(await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: cred.createCredential.id }, olgaSession), 'INVALID_STATE')
    await t.ok(`mutation { logout }`, {}, olgaSession)

    const mine = await events({ actorId: olgaId })
    const n = run.triggerJobRun.number
    expect(lines(mine)).toEqual([
      'login.succeeded SESSION USER olga',
      'token.create SESSION API_TOKEN olga ci',
      'credential.create API_TOKEN CREDENTIAL a-cred',
      'target.create SESSION TARGET a-host',
      'template.create SESSION JOB_TEMPLATE a-tpl',
      'template.update API_TOKEN JOB_TEMPLATE a-tpl-2',
      `run.trigger API_TOKEN JOB_RUN #${n} a-tpl-2`,
      'logout SESSION USER olga',
    ])
    for (const e of mine) expect([e.actorId, e.actorName, e.actor?.username]).toEqual([olgaId, 'olga', 'olga'])
    const by = (action: string) => mine.find((e) => e.action === action)

    // The admin created olga: that event is the admin's.
    const [userCreate] = await events({ actions: ['user.create'], entityId: olgaId })
    expect(userCreate).toMatchObject({ actorName: 'admin', via: 'SESSION', entityType: 'USER', entityId: olgaId, entityName: 'olga' })
    expect(changesOf(userCreate)).toEqual({ username: [null, 'olga'], role: [null, 'OPERATOR'], password: 'changed' })

    expect(changesOf(by('credential.create'))).toEqual({ name: [null, 'a-cred'], kind: [null, 'PASSWORD'], username: [null, 'deploy'], password: 'changed' })
    expect(by('credential.create')!.entityId).toBe(cred.createCredential.id)
    expect(changesOf(by('template.update'))).toEqual({ name: ['a-tpl', 'a-tpl-2'], timeoutSeconds: [null, 60] }) // visibility was given but did not change
    expect(by('template.update')!.entityId).toBe(templateId)
    expect(changesOf(by('run.trigger'))).toMatchObject({ templateName: [null, 'a-tpl-2'], trigger: [null, 'API'] })
    expect(by('run.trigger')!.entityId).toBe(run.triggerJobRun.id)
    expect(changesOf(by('token.create'))).toEqual({ name: [null, 'olga ci'], expiresAt: [null, expect.any(String)] })
    expect(by('token.create')!.entityId).toBe(tok.createApiToken.apiToken.id)
    expect(changesOf(by('target.create'))).toMatchObject({ name: [null, 'a-host'], host: [null, '10.0.0.5'], port: [null, 22], tags: [null, ['web']] })
    // Newest first, and every event has a time.
    const times = mine.map((e) => Date.parse(e.at))
    expect([...times].sort((a, b) => b - a)).toEqual(times)
  })

  it('records pause, resume, run-now and delete as the user, and no event for the runs a schedule fires', async () => {
    const s = await t.ok(`mutation($t: ID!) { createJobSchedule(input: { name: "a-every-second", templateId: $t, kind: INTERVAL, intervalEvery: 1 }) { id } }`, { t: templateId }, olgaApi)
    const id = s.createJobSchedule.id
    // The schedule fires (the run row says so: trigger SCHEDULE, its schedule), but nobody acted: no event.
    await eventually(async () => (await t.ok(`{ jobRuns(filter: { triggers: [SCHEDULE] }) { totalCount } }`)).jobRuns.totalCount >= 2, { what: 'the schedule to fire twice' })
    expect(await events({ via: ['SCHEDULE'] })).toEqual([])
    await t.ok(`mutation($id: ID!) { setJobScheduleActive(id: $id, active: false) { id } }`, { id }, olgaApi)
    await t.ok(`mutation($id: ID!) { setJobScheduleActive(id: $id, active: true) { id } }`, { id }, olgaApi)
    await t.ok(`mutation($id: ID!) { setJobScheduleActive(id: $id, active: false) { id } }`, { id }, olgaApi)
    const now = await t.ok(`mutation($id: ID!) { runJobScheduleNow(id: $id) { number } }`, { id }, olgaApi)
    await t.ok(`mutation($id: ID!) { deleteJobSchedule(id: $id) }`, { id }, olgaApi)

    const list = await events({ entityId: id })
    expect(lines(list)).toEqual([
      'schedule.create API_TOKEN JOB_SCHEDULE a-every-second',
      'schedule.pause API_TOKEN JOB_SCHEDULE a-every-second',
      'schedule.resume API_TOKEN JOB_SCHEDULE a-every-second',
      'schedule.pause API_TOKEN JOB_SCHEDULE a-every-second',
      'schedule.run-now API_TOKEN JOB_SCHEDULE a-every-second',
      'schedule.delete API_TOKEN JOB_SCHEDULE a-every-second',
    ])
    expect(changesOf(list.find((e) => e.action === 'schedule.resume'))).toEqual({ active: [false, true] })
    expect(changesOf(list.find((e) => e.action === 'schedule.run-now'))).toMatchObject({ run: [null, `#${now.runJobScheduleNow.number}`] })
  })

  it('records failed logins without an actor, with the username that was tried', async () => {
    expectError(await t.gql(`mutation { login(username: "olga", password: "not-her-password") { token } }`, {}, null), 'UNAUTHENTICATED')
    expectError(await t.gql(`mutation { login(username: "nobody-here", password: "whatever-1") { token } }`, {}, null), 'UNAUTHENTICATED')
    const [unknown, wrong] = await events({ actions: ['login.failed'] })
    expect(wrong).toMatchObject({ actorId: null, actorName: 'olga', via: 'SESSION', entityType: 'USER', entityId: olgaId, entityName: 'olga', changes: [] })
    expect(unknown).toMatchObject({ actorId: null, actorName: 'nobody-here', entityType: 'USER', entityId: null, entityName: 'nobody-here' })
    // The passwords tried are nowhere.
    const raw = await rawAuditTable()
    expect(raw).not.toContain('not-her-password')
    expect(raw).not.toContain('whatever-1')
  })

  it('a failed mutation records nothing, also when the database refused it inside the transaction', async () => {
    const before = await auditCount()
    expectError(await t.gql(`mutation { createTarget(input: { name: "bad", host: "10.0.0.256" }) { id } }`), 'BAD_USER_INPUT', 'input.host')
    expectError(await t.gql(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { timeoutSeconds: 0 }) { id } }`, { id: templateId }), 'BAD_USER_INPUT', 'input.timeoutSeconds')
    expectError(await t.gql(`mutation($id: ID!) { triggerJobRun(templateId: $id, parameters: { nope: 1 }) { id } }`, { id: templateId }), 'BAD_USER_INPUT')
    expectError(await t.gql(`mutation { changePassword(currentPassword: "wrong-password", newPassword: "new-password-1") }`), 'BAD_USER_INPUT', 'currentPassword')
    // A duplicate name fails on the unique index, after the INSERT started: the event rolls back with it.
    expectError(await t.gql(`mutation { createTarget(input: { name: "a-host", host: "10.0.0.6" }) { id } }`), 'CONFLICT', 'input.name')
    expectError(await t.gql(`mutation { createUser(input: { username: "olga", password: "password-123", role: VIEWER }) { id } }`), 'CONFLICT')
    // Not allowed: nothing happened, nothing recorded.
    const viewer = await t.userToken('VIEWER', 'vera')
    const afterViewer = await auditCount() // createUser + login of vera
    expectError(await t.gql(`mutation { createInventory(input: { name: "v-inv" }) { id } }`, {}, viewer), 'FORBIDDEN')
    expect(await auditCount()).toBe(afterViewer)
    expect(afterViewer).toBe(before + 2)
  })
})

describe('secrets', () => {
  it('a credential update records that the password changed, never its value', async () => {
    const c = await t.ok(`mutation { createCredential(input: { name: "s-cred", kind: PASSWORD, username: "u", password: "Secret-Value-One" }) { id } }`)
    await t.ok(`mutation($id: ID!) { updateCredential(id: $id, input: { password: "Secret-Value-Two", description: "rotated" }) { id } }`, { id: c.createCredential.id })
    const [update] = await events({ actions: ['credential.update'], entityId: c.createCredential.id })
    expect(update!.changes).toEqual([
      { field: 'description', redacted: false, oldValue: '', newValue: 'rotated' },
      { field: 'password', redacted: true, oldValue: null, newValue: null },
    ])

    // Keys and passphrases too; and users' passwords, API tokens and SECRET parameter values.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-key-'))
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'Pass-Phrase-Three', '-C', 'audit', '-f', path.join(dir, 'id')])
    const key = fs.readFileSync(path.join(dir, 'id'), 'utf8')
    fs.rmSync(dir, { recursive: true, force: true })
    const k = await t.ok(`mutation($k: String!) { createCredential(input: { name: "s-key", kind: PRIVATE_KEY, username: "u", privateKey: $k, passphrase: "Pass-Phrase-Three" }) { id } }`, { k: key })
    const [keyCreate] = await events({ entityId: k.createCredential.id })
    expect(changesOf(keyCreate)).toMatchObject({ privateKey: 'changed', passphrase: 'changed' })

    const u = await t.ok(`mutation { createUser(input: { username: "sam", password: "Sam-Password-Four", role: OPERATOR }) { id } }`)
    await t.ok(`mutation($id: ID!) { updateUser(id: $id, input: { password: "Sam-Password-Five", role: VIEWER }) { id } }`, { id: u.createUser.id })
    const sam = await t.login('sam', 'Sam-Password-Five')
    await t.ok(`mutation { changePassword(currentPassword: "Sam-Password-Five", newPassword: "Sam-Password-Six") }`, {}, sam)
    const apiTok = (await t.ok(`mutation { createApiToken(input: { name: "sam tok" }) { token apiToken { id } } }`, {}, sam)).createApiToken
    await t.ok(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: apiTok.apiToken.id })
    const samEvents = await events({ entityId: u.createUser.id })
    expect(lines(samEvents)).toEqual(['user.create SESSION USER sam', 'user.update SESSION USER sam', 'login.succeeded SESSION USER sam', 'password.change SESSION USER sam'])
    expect(changesOf(samEvents.find((e) => e.action === 'user.update'))).toEqual({ role: ['OPERATOR', 'VIEWER'], password: 'changed' })
    expect(changesOf(samEvents.find((e) => e.action === 'password.change'))).toEqual({ password: 'changed' })
    const [revoke] = await events({ entityId: apiTok.apiToken.id, actions: ['token.revoke'] })
    // An admin revoked sam's token: the actor is the admin, so the entity names the owner.
    expect(revoke).toMatchObject({ actorName: 'admin', entityType: 'API_TOKEN', entityName: 'sam tok (owner: sam)' })
    expect(changesOf(revoke)).toEqual({ revokedAt: [null, expect.any(String)] })
    // Revoking your own token: you are the actor, the entity is just the token's name.
    const ownTok = (await t.ok(`mutation { createApiToken(input: { name: "sam tok 2" }) { token apiToken { id } } }`, {}, sam)).createApiToken
    await t.ok(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: ownTok.apiToken.id }, sam)
    const [ownRevoke] = await events({ entityId: ownTok.apiToken.id, actions: ['token.revoke'] })
    expect(ownRevoke).toMatchObject({ actorName: 'sam', entityName: 'sam tok 2' })

    const tpl = await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 's-tpl', jobType: 'noop', config: {}, parameters: [{ name: 'apiKey', type: 'SECRET' }, { name: 'region', type: 'STRING' }] },
    })
    const sch = await t.ok(`mutation($t: ID!) { createJobSchedule(input: { name: "s-sch", templateId: $t, kind: CRON, cronExpression: "0 0 1 1 *", parameters: { apiKey: "Param-Secret-Seven", region: "eu" } }) { id } }`, { t: tpl.createJobTemplate.id })
    await t.ok(`mutation($id: ID!) { updateJobSchedule(id: $id, input: { parameters: { apiKey: "Param-Secret-Eight", region: "eu" } }) { id } }`, { id: sch.createJobSchedule.id })
    await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id, parameters: { apiKey: "Param-Secret-Nine", region: "us" }) { id } }`, { id: tpl.createJobTemplate.id })
    const [schUpdate] = await events({ entityId: sch.createJobSchedule.id, actions: ['schedule.update'] })
    expect(changesOf(schUpdate)).toEqual({ 'parameters.apiKey': 'changed' }) // region did not change
    const [trigger] = await events({ actions: ['run.trigger'], actorId: (await t.ok('{ me { id } }')).me.id })
    expect(changesOf(trigger).parameters).toEqual([null, { apiKey: '••••••', region: 'us' }])

    const raw = await rawAuditTable()
    for (const secret of ['Secret-Value-One', 'Secret-Value-Two', key.split('\n')[1]!, 'Pass-Phrase-Three', 'Sam-Password-Four', 'Sam-Password-Five', 'Sam-Password-Six', apiTok.token, apiTok.token.slice(0, 10), 'Param-Secret-Seven', 'Param-Secret-Eight', 'Param-Secret-Nine', ownTok.token, t.adminToken]) {
      expect(raw.includes(secret), `audit_event holds a secret: ${secret.slice(0, 12)}…`).toBe(false)
    }
    expect(raw).toContain('s-cred') // the dump is real
  })
})

describe('reading', () => {
  it('is for admins only: others get FORBIDDEN, whatever the filter', async () => {
    for (const token of [olgaApi, await t.userToken('VIEWER', 'vic')]) {
      expectError(await t.gql(EVENTS, {}, token), 'FORBIDDEN')
      expectError(await t.gql(EVENTS, { f: { actions: ['NOT AN ACTION'] } }, token), 'FORBIDDEN')
    }
    expectError(await t.gql(EVENTS, {}, null), 'UNAUTHENTICATED')
  })

  it('filters by action family, entity type, entity, actor, how and time', async () => {
    const all = await events()
    expect(all.length).toBeGreaterThan(30)
    const check = async (filter: Record<string, unknown>, pick: (e: Event) => boolean) => {
      const got = await events(filter)
      expect(got.map((e) => e.id), JSON.stringify(filter)).toEqual(all.filter(pick).map((e) => e.id))
      expect(got.length, JSON.stringify(filter)).toBeGreaterThan(0)
    }
    await check({ actions: ['template.'] }, (e) => e.action.startsWith('template.'))
    await check({ actions: ['template.update', 'login.'] }, (e) => e.action === 'template.update' || e.action.startsWith('login.'))
    expect(await events({ actions: ['template'] })).toEqual([]) // exact, not a prefix: no such action
    await check({ entityTypes: ['CREDENTIAL', 'TARGET'] }, (e) => e.entityType === 'CREDENTIAL' || e.entityType === 'TARGET')
    await check({ entityId: templateId }, (e) => e.entityId === templateId)
    await check({ actorId: olgaId, via: ['API_TOKEN'] }, (e) => e.actorId === olgaId && e.via === 'API_TOKEN')
    await check({ via: ['SYSTEM'] }, (e) => e.via === 'SYSTEM') // the first admin
    const middle = all[Math.floor(all.length / 2)]!
    await check({ until: middle.at }, (e) => Date.parse(e.at) < Date.parse(middle.at))
    await check({ since: middle.at, actions: ['user.'] }, (e) => Date.parse(e.at) >= Date.parse(middle.at) && e.action.startsWith('user.'))
    // An entity that was deleted still has its history.
    await t.ok(`mutation($id: ID!) { deleteJobTemplate(id: $id) }`, { id: templateId })
    expect(lines(await events({ entityId: templateId }))).toEqual([
      'template.create SESSION JOB_TEMPLATE a-tpl',
      'template.update API_TOKEN JOB_TEMPLATE a-tpl-2',
      'template.delete SESSION JOB_TEMPLATE a-tpl-2',
    ])

    expectError(await t.gql(EVENTS, { f: { actions: ['Template.*'] } }), 'BAD_USER_INPUT', 'filter.actions.0')
    expectError(await t.gql(EVENTS, { f: { entityId: 'bm9wZQ==' } }), 'BAD_USER_INPUT', 'filter.entityId')
    expectError(await t.gql(EVENTS, { f: { actorId: templateId } }), 'BAD_USER_INPUT', 'filter.actorId')
    expectError(await t.gql(EVENTS, { f: { since: middle.at, until: middle.at } }), 'BAD_USER_INPUT', 'filter.until')
  })

  it('pages newest first without gaps or repeats', async () => {
    const all = await events()
    const seen: string[] = []
    let after: string | null = null
    for (let page = 0; page < 100; page++) {
      const d: any = await t.ok(EVENTS, { first: 7, after })
      seen.push(...d.auditEvents.edges.map((e: { node: Event }) => e.node.id))
      if (!d.auditEvents.pageInfo.hasNextPage) break
      after = d.auditEvents.pageInfo.endCursor
    }
    expect(seen).toEqual(all.map((e) => e.id))
    // A filtered view pages the same way.
    const logins = await events({ actions: ['login.'] })
    const first = await t.ok(EVENTS, { f: { actions: ['login.'] }, first: 2 })
    const rest = await t.ok(EVENTS, { f: { actions: ['login.'] }, first: 500, after: first.auditEvents.pageInfo.endCursor })
    expect([...first.auditEvents.edges, ...rest.auditEvents.edges].map((e: { node: Event }) => e.node.id)).toEqual(logins.map((e) => e.id))
  })
})

describe('retention', () => {
  async function insertOld(daysAgo: number, count: number, action: string): Promise<void> {
    await t.app.db.pool.query(
      `INSERT INTO audit_event (at, via, action, entity_type, entity_name)
       SELECT now() - make_interval(days => $1), 'SYSTEM', $2, 'User', 'old-' || i FROM generate_series(1, $3) i`,
      [daysAgo, action, count],
    )
  }
  const countOf = async (action: string) => (await t.app.db.pool.query(`SELECT count(*)::int AS n FROM audit_event WHERE action = $1`, [action])).rows[0].n

  it('the reaper deletes events older than SWITCHYARD_AUDIT_RETENTION_DAYS (365 by default), and keeps the rest', async () => {
    expect(t.app.config.auditRetentionDays).toBe(365)
    await insertOld(400, 3, 'test.expired')
    await insertOld(300, 2, 'test.kept')
    await t.app.reaper!.reapOnce()
    expect(await countOf('test.expired')).toBe(0)
    expect(await countOf('test.kept')).toBe(2)
    expect((await events({ actions: ['login.'] })).length).toBeGreaterThan(0)
    await t.app.db.pool.query(`DELETE FROM audit_event WHERE action = 'test.kept'`)
  })

  it('deletes in batches, a bounded number per pass; 0 days keeps everything', async () => {
    // 100 days: older than this test's retention, younger than the app's, so the running reaper leaves them alone.
    await insertOld(100, 250, 'test.batch')
    expect(await t.app.services.audit.deleteExpired(0)).toBe(0)
    expect(await countOf('test.batch')).toBe(250)
    expect(await t.app.services.audit.deleteExpired(50, { batch: 100, maxBatches: 2 })).toBe(200)
    expect(await countOf('test.batch')).toBe(50)
    expect(await t.app.services.audit.deleteExpired(50, { batch: 100, maxBatches: 2 })).toBe(50)
    expect(await countOf('test.batch')).toBe(0)
  })
})
