/**
 * Using a credential is a permission (security issue #9, item 3), and operators own what they create
 * (item 16), through the GraphQL API with real runs against a real HTTP server on loopback:
 * - the exfiltration: an operator names someone else's PASSWORD credential in an `http` template pointed
 *   at a server they control — refused at save; and a grant revoked after save makes the run fail before
 *   anything is sent;
 * - grants by user and by role (owner/admin only, audited), visible to owners and admins only;
 * - targets, inventories, credentials and runs of others: no repointing, no credential you may not use,
 *   no edits, deletes, cancels or retries; a discovery scan cannot rename its way onto another's target.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type GraphQLResponse, type TestApp } from '../harness/app.ts'
import { runHelpers } from '../harness/run-helpers.ts'

let t: TestApp
let http: Server
let base: string
let alice: string // operator A: owns credentials, targets, templates
let bob: string // operator B: the would-be thief
let bobId: string
/** Every Authorization header the test server received. */
const received: string[] = []

const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
const UPDATE_TPL = `mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`
const CREATE_CRED = `mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`
const GRANT = `mutation($c: ID!, $u: ID, $n: String, $r: Role) { grantCredentialUse(credentialId: $c, userId: $u, username: $n, role: $r) { id useGrants { user { username } role } } }`
const REVOKE = `mutation($c: ID!, $u: ID, $n: String, $r: Role) { revokeCredentialUse(credentialId: $c, userId: $u, username: $n, role: $r) { id useGrants { user { username } role } } }`
const TRIGGER = `mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`

const { waitFor, logLines } = runHelpers(() => t, { runFields: 'id status error' })

function expectForbidden(r: GraphQLResponse, field?: string, message?: RegExp): void {
  const dump = JSON.stringify(r)
  expect(r.errors?.[0]?.extensions?.code, dump).toBe('FORBIDDEN')
  if (field) expect(r.errors?.[0]?.extensions?.field, dump).toBe(field)
  if (message) expect(r.errors?.[0]?.message, dump).toMatch(message)
  expect(r.data ? Object.values(r.data).every((v) => v === null) : true, dump).toBe(true)
}

/** Basic auth headers the server got, decoded. */
const receivedText = () => received.map((h) => (h.startsWith('Basic ') ? Buffer.from(h.slice(6), 'base64').toString('utf8') : h)).join('\n')

async function credential(name: string, password: string, token: string): Promise<string> {
  return (await t.ok(CREATE_CRED, { i: { name, kind: 'PASSWORD', username: `${name}-user`, password } }, token)).createCredential.id
}

function httpTemplate(name: string, credentialId: string) {
  return { name, jobType: 'http', visibility: 'GLOBAL', config: { url: `${base}/collect`, auth: { type: 'credential', credentialId } } }
}

beforeAll(async () => {
  http = createServer((req, res) => {
    received.push(req.headers.authorization ?? '(none)')
    res.writeHead(200).end('ok')
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  t = await startTestApp()
  alice = await t.userToken('OPERATOR', 'alice')
  bob = await t.userToken('OPERATOR', 'bob')
  bobId = (await t.ok(`{ me { id } }`, {}, bob)).me.id
}, 120_000)

afterAll(async () => {
  await t?.stop()
  http?.closeAllConnections()
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)))
})

describe('using a credential someone else owns', () => {
  it("an operator cannot name another's PASSWORD credential in an http template aimed at their own server", async () => {
    const secret = 'alice-Very-Secret-pw-1'
    const adminSecret = 'admin-Very-Secret-pw-1'
    const aliceCred = await credential('alice-db', secret, alice)
    const adminCred = await credential('admin-ssh', adminSecret, t.adminToken)

    // Both exist and are listed to bob (names and kinds only), but bob may not use them.
    const listed = (await t.ok(`{ credentials { id name canUse useGrants { role } owner { username } } }`, {}, bob)).credentials
    expect(listed).toEqual(
      expect.arrayContaining([
        { id: aliceCred, name: 'alice-db', canUse: false, useGrants: null, owner: { username: 'alice' } },
        { id: adminCred, name: 'admin-ssh', canUse: false, useGrants: null, owner: { username: 'admin' } },
      ]),
    )

    for (const id of [aliceCred, adminCred]) {
      const r = await t.gql(CREATE_TPL, { i: httpTemplate(`steal-${id.slice(0, 6)}`, id) }, bob)
      expectForbidden(r, 'input.config.auth.credentialId', /you may not use credential "(alice-db|admin-ssh)"/)
    }
    // Nor by editing a harmless template of his own into the same thing.
    const own = (await t.ok(CREATE_TPL, { i: { name: 'bob-harmless', jobType: 'http', visibility: 'GLOBAL', config: { url: `${base}/collect` } } }, bob)).createJobTemplate.id
    expectForbidden(await t.gql(UPDATE_TPL, { id: own, i: { config: httpTemplate('x', aliceCred).config } }, bob), 'input.config.auth.credentialId')
    const run = await waitFor((await t.ok(TRIGGER, { id: own }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])
    expect(run.status).toBe('SUCCEEDED')
    expect(received.length).toBeGreaterThan(0) // the server is reachable: the run above got there, without auth
    expect(receivedText()).not.toContain(secret)
    expect(receivedText()).not.toContain(adminSecret)
    // The owner and admins may use them.
    await t.ok(CREATE_TPL, { i: httpTemplate('alice-own', aliceCred) }, alice)
    await t.ok(CREATE_TPL, { i: httpTemplate('admin-uses-alices', aliceCred) })
    // An admin editing bob's template cannot make it use what bob may not: its runs act for bob.
    expectForbidden(
      await t.gql(UPDATE_TPL, { id: own, i: { config: httpTemplate('x', adminCred).config } }),
      'input.config.auth.credentialId',
      /the template's owner "bob" may not use credential "admin-ssh"/,
    )
  })

  it("whoever triggers a template cannot aim its owner's credential at another host through a parameter", async () => {
    const cred = await credential('alice-param-api', 'alice-Param-pw-9', alice)
    const stolen: string[] = []
    const attacker = createServer((req, res) => {
      stolen.push(req.headers.authorization ?? '(none)')
      res.writeHead(200).end('thanks')
    })
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve))
    try {
      const evil = `127.0.0.1:${(attacker.address() as AddressInfo).port}`
      const hostParam = [{ name: 'host', type: 'STRING', default: new URL(base).host }]
      const config = { url: 'http://{{ host }}/collect', auth: { type: 'credential', credentialId: cred } }
      // Refused when saved: the host of a URL that carries a stored credential must be written out…
      const r = await t.gql(CREATE_TPL, { i: { name: 'alice-param', jobType: 'http', visibility: 'GLOBAL', parameters: hostParam, config } }, alice)
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.config.url' })
      // …placeholders after it are fine.
      const ok = (await t.ok(CREATE_TPL, { i: { name: 'alice-path', jobType: 'http', visibility: 'GLOBAL', parameters: [{ name: 'p', type: 'STRING', default: 'collect' }], config: { ...config, url: `${base}/{{ p }}` } } }, alice)).createJobTemplate.id
      const TRIGGER_WITH = `mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id } }`
      // (A path that looks like another authority stays a path on the written-out host.)
      expect((await waitFor((await t.ok(TRIGGER_WITH, { id: ok, p: { p: `@${evil}/x` } }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED')
      // A template saved before this rule (written to the row directly) does not run for bob's host either.
      const old = (await t.ok(CREATE_TPL, { i: { name: 'alice-old', jobType: 'http', visibility: 'GLOBAL', parameters: hostParam, config: { ...config, url: `${base}/collect` } } }, alice)).createJobTemplate.id
      await t.app.db.pool.query(`UPDATE job_template SET config = jsonb_set(config, '{url}', '"http://{{ host }}/collect"') WHERE name = 'alice-old'`)
      const run = await waitFor((await t.ok(TRIGGER_WITH, { id: old, p: { host: evil } }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])
      expect(run.status).toBe('FAILED')
      expect(run.error).toMatch(/url: with a stored credential/)
      expect(stolen).toEqual([])
    } finally {
      attacker.closeAllConnections()
      await new Promise((resolve) => attacker.close(resolve))
    }
  })

  it('a grant revoked after the template was saved makes its next run fail before the secret is opened or sent', async () => {
    const secret = 'alice-Revoked-pw-2'
    const cred = await credential('alice-api', secret, alice)
    await t.ok(GRANT, { c: cred, u: bobId }, alice)
    const tpl = (await t.ok(CREATE_TPL, { i: httpTemplate('bob-api-check', cred) }, bob)).createJobTemplate.id
    await t.ok(REVOKE, { c: cred, u: bobId }, alice)

    const before = received.length
    const run = await waitFor((await t.ok(TRIGGER, { id: tpl }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])
    expect(run.status).toBe('FAILED')
    expect(run.error).toMatch(/config\.auth\.credentialId: the template's owner "bob" may no longer use credential "alice-api"/)
    expect(received.length).toBe(before)
    expect(receivedText()).not.toContain(secret)
    expect((await logLines(run.id)).map((l) => l.text).join('\n')).not.toContain(secret)
  })
})

describe('a disabled owner', () => {
  it("may use none, not even their own credential: their template's next run fails before the secret is opened", async () => {
    const carol = await t.userToken('OPERATOR', 'carol')
    const secret = 'carol-Own-pw-6'
    const cred = await credential('carol-own', secret, carol)
    const tpl = (await t.ok(CREATE_TPL, { i: httpTemplate('carol-api', cred) }, carol)).createJobTemplate.id
    const carolId = (await t.ok(`{ me { id } }`, {}, carol)).me.id
    await t.ok(`mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { id } }`, { id: carolId })

    const before = received.length
    // Anyone who sees the GLOBAL template may trigger it; it acts for its (now disabled) owner.
    const run = await waitFor((await t.ok(TRIGGER, { id: tpl })).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])
    expect(run.status).toBe('FAILED')
    expect(run.error).toMatch(/the template's owner "carol" may no longer use credential "carol-own"/)
    expect(received.length).toBe(before)
    expect(receivedText()).not.toContain(secret)
  })
})

describe('use grants', () => {
  it('by user: the grantee can save and run; after revoke the next run fails', async () => {
    const secret = 'alice-Granted-pw-3'
    const cred = await credential('alice-svc', secret, alice)
    expectForbidden(await t.gql(CREATE_TPL, { i: httpTemplate('bob-svc', cred) }, bob), 'input.config.auth.credentialId')

    const granted = (await t.ok(GRANT, { c: cred, u: bobId }, alice)).grantCredentialUse
    expect(granted.useGrants).toEqual([{ user: { username: 'bob' }, role: null }])
    // Granting again changes nothing.
    expect((await t.ok(GRANT, { c: cred, n: 'bob' }, alice)).grantCredentialUse.useGrants).toHaveLength(1)
    expect((await t.ok(`query($id: ID!) { credential(id: $id) { canUse useGrants { role } } }`, { id: cred }, bob)).credential).toEqual({ canUse: true, useGrants: null })

    const tpl = (await t.ok(CREATE_TPL, { i: httpTemplate('bob-svc', cred) }, bob)).createJobTemplate.id
    const ok = await waitFor((await t.ok(TRIGGER, { id: tpl }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])
    expect(ok.status).toBe('SUCCEEDED')
    expect(receivedText()).toContain(`alice-svc-user:${secret}`) // used as granted

    const revoked = (await t.ok(REVOKE, { c: cred, u: bobId }, alice)).revokeCredentialUse
    expect(revoked.useGrants).toEqual([])
    const before = received.length
    const failed = await waitFor((await t.ok(TRIGGER, { id: tpl }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])
    expect(failed.status).toBe('FAILED')
    expect(failed.error).toContain('may no longer use credential "alice-svc"')
    expect(received.length).toBe(before)

    const events = (await t.ok(`{ auditEvents(filter: { actions: ["credential.grant-use", "credential.revoke-use"] }) { edges { node { action actorName entityName changes { field oldValue newValue } } } } }`)).auditEvents.edges
      .map((e: { node: unknown }) => e.node)
      .filter((e: { entityName: string }) => e.entityName === 'alice-svc')
    expect(events).toEqual([
      { action: 'credential.revoke-use', actorName: 'alice', entityName: 'alice-svc', changes: [{ field: 'grantee', oldValue: 'user bob', newValue: null }] },
      { action: 'credential.grant-use', actorName: 'alice', entityName: 'alice-svc', changes: [{ field: 'grantee', oldValue: null, newValue: 'user bob' }] },
    ])
  })

  it('by role: every operator can use it; revoking the role stops the next run', async () => {
    const cred = await credential('alice-role', 'alice-Role-pw-4', alice)
    expect((await t.ok(GRANT, { c: cred, r: 'OPERATOR' }, alice)).grantCredentialUse.useGrants).toEqual([{ user: null, role: 'OPERATOR' }])
    const tpl = (await t.ok(CREATE_TPL, { i: httpTemplate('bob-role', cred) }, bob)).createJobTemplate.id
    expect((await waitFor((await t.ok(TRIGGER, { id: tpl }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED')
    await t.ok(REVOKE, { c: cred, r: 'OPERATOR' }, t.adminToken) // admins manage anyone's grants
    const failed = await waitFor((await t.ok(TRIGGER, { id: tpl }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])
    expect(failed).toMatchObject({ status: 'FAILED', error: expect.stringContaining('may no longer use credential "alice-role"') })
  })

  it('only the owner or an admin grants and revokes; the grantee is exactly one user or role', async () => {
    const cred = await credential('alice-own-grants', 'alice-pw-5', alice)
    expectForbidden(await t.gql(GRANT, { c: cred, u: bobId }, bob), undefined, /only the owner or an admin/)
    expectForbidden(await t.gql(GRANT, { c: cred, r: 'OPERATOR' }, bob))
    const vic = await t.userToken('VIEWER', 'vic-grants')
    expectForbidden(await t.gql(GRANT, { c: cred, u: bobId }, vic))
    const bad = async (v: Record<string, unknown>, code: string, field: string) => {
      const r = await t.gql(GRANT, { c: cred, ...v }, alice)
      expect([r.errors?.[0]?.extensions?.code, r.errors?.[0]?.extensions?.field], JSON.stringify(r)).toEqual([code, field])
    }
    await bad({}, 'BAD_USER_INPUT', 'userId')
    await bad({ u: bobId, r: 'OPERATOR' }, 'BAD_USER_INPUT', 'role')
    await bad({ r: 'ADMIN' }, 'BAD_USER_INPUT', 'role')
    await bad({ n: 'nobody-such' }, 'NOT_FOUND', 'username')
    const r = await t.gql(REVOKE, { c: cred, r: 'VIEWER' }, alice)
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND')
    expect((await t.ok(`query($id: ID!) { credential(id: $id) { useGrants { id } } }`, { id: cred }, alice)).credential.useGrants).toEqual([])
  })
})

describe("others' targets, inventories, credentials, blackout windows and runs", () => {
  const CREATE_TARGET = `mutation($i: CreateTargetInput!) { createTarget(input: $i) { id owner { username } } }`
  const UPDATE_TARGET = `mutation($id: ID!, $i: UpdateTargetInput!) { updateTarget(id: $id, input: $i) { id host credential { name } } }`

  it('another operator cannot repoint, change or delete a target, nor give one a credential they may not use', async () => {
    const cred = await credential('alice-ssh', 'alice-Ssh-pw-6', alice)
    const target = (await t.ok(CREATE_TARGET, { i: { name: 'alice-web', host: '10.1.1.1', credentialId: cred } }, alice)).createTarget
    expect(target.owner).toEqual({ username: 'alice' })

    expectForbidden(await t.gql(UPDATE_TARGET, { id: target.id, i: { host: '127.0.0.1' } }, bob), undefined, /only the owner or an admin may change this target/)
    expectForbidden(await t.gql(UPDATE_TARGET, { id: target.id, i: { port: 2222 } }, bob))
    expectForbidden(await t.gql(`mutation($id: ID!) { deleteTarget(id: $id) }`, { id: target.id }, bob))
    expectForbidden(await t.gql(`mutation($id: ID!) { forgetTargetHostKey(id: $id) { id } }`, { id: target.id }, bob))

    // Bob's own targets cannot carry alice's credential, at create or update.
    expectForbidden(await t.gql(CREATE_TARGET, { i: { name: 'bob-trap', host: '127.0.0.1', credentialId: cred } }, bob), 'input.credentialId', /you may not use credential "alice-ssh"/)
    const bobs = (await t.ok(CREATE_TARGET, { i: { name: 'bob-box', host: '127.0.0.1' } }, bob)).createTarget.id
    expectForbidden(await t.gql(UPDATE_TARGET, { id: bobs, i: { credentialId: cred } }, bob), 'input.credentialId')
    expect((await t.ok(UPDATE_TARGET, { id: bobs, i: { description: 'mine' } }, bob)).updateTarget.host).toBe('127.0.0.1')

    // An admin may change it; the owner may move it while the credential is one they may use…
    expect((await t.ok(UPDATE_TARGET, { id: target.id, i: { host: '10.1.1.2' } })).updateTarget.host).toBe('10.1.1.2')
    expect((await t.ok(UPDATE_TARGET, { id: target.id, i: { host: '10.1.1.3' } }, alice)).updateTarget.host).toBe('10.1.1.3')
    // …but not once an admin gave it a credential the owner may not use.
    const adminCred = await credential('admin-only-ssh', 'admin-Ssh-pw-7', t.adminToken)
    await t.ok(UPDATE_TARGET, { id: target.id, i: { credentialId: adminCred } })
    expectForbidden(await t.gql(UPDATE_TARGET, { id: target.id, i: { host: '127.0.0.1' } }, alice), 'input.host', /uses credential "admin-only-ssh", which you may not use/)
    const now = (await t.ok(`query($id: ID!) { target(id: $id) { host credential { name } } }`, { id: target.id })).target
    expect(now).toEqual({ host: '10.1.1.3', credential: { name: 'admin-only-ssh' } })
  })

  it("another operator cannot change or delete an inventory or a credential they do not own", async () => {
    const inv = (await t.ok(`mutation { createInventory(input: { name: "alice-inv", tags: ["web"] }) { id owner { username } } }`, {}, alice)).createInventory
    expect(inv.owner).toEqual({ username: 'alice' })
    expectForbidden(await t.gql(`mutation($id: ID!) { updateInventory(id: $id, input: { tags: ["db"] }) { id } }`, { id: inv.id }, bob), undefined, /only the owner or an admin may change this inventory/)
    expectForbidden(await t.gql(`mutation($id: ID!) { deleteInventory(id: $id) }`, { id: inv.id }, bob))
    expect((await t.ok(`mutation($id: ID!) { updateInventory(id: $id, input: { description: "by admin" }) { description } }`, { id: inv.id })).updateInventory.description).toBe('by admin')

    const cred = await credential('alice-mine', 'alice-pw-8', alice)
    expectForbidden(await t.gql(`mutation($id: ID!) { updateCredential(id: $id, input: { password: "replaced" }) { id } }`, { id: cred }, bob), undefined, /only the owner or an admin may change this credential/)
    expectForbidden(await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: cred }, bob))
    expect((await t.ok(`mutation($id: ID!) { updateCredential(id: $id, input: { description: "ok" }) { description } }`, { id: cred }, alice)).updateCredential.description).toBe('ok')
  })

  it('another operator cannot change or delete a blackout window they do not own, but may link it to their schedules', async () => {
    const BW = `mutation($n: String!) { createBlackoutWindow(input: { name: $n, kind: RECURRING, startTime: "01:00", durationMinutes: 30 }) { id owner { username } } }`
    const UPDATE_BW = `mutation($id: ID!, $i: BlackoutWindowInput!) { updateBlackoutWindow(id: $id, input: $i) { id durationMinutes } }`
    const bw = (await t.ok(BW, { n: 'alice-freeze' }, alice)).createBlackoutWindow
    expect(bw.owner).toEqual({ username: 'alice' })
    // Widening it to the whole week would silence every schedule linked to it, others' included.
    expectForbidden(await t.gql(UPDATE_BW, { id: bw.id, i: { durationMinutes: 7 * 24 * 60 } }, bob), undefined, /only the owner or an admin may change this blackout window/)
    expectForbidden(await t.gql(`mutation($id: ID!) { deleteBlackoutWindow(id: $id) }`, { id: bw.id }, bob))
    // Linking it to one's own schedule is using it, not changing it.
    const tpl = (await t.ok(CREATE_TPL, { i: { name: 'bob-nightly', jobType: 'noop', config: {}, visibility: 'GLOBAL' } }, bob)).createJobTemplate.id
    const sched = await t.ok(
      `mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { blackouts { name } } }`,
      { i: { name: 'bob-nightly', templateId: tpl, kind: 'CRON', cronExpression: '0 1 * * *', blackoutIds: [bw.id] } },
      bob,
    )
    expect(sched.createJobSchedule.blackouts).toEqual([{ name: 'alice-freeze' }])
    expect((await t.ok(UPDATE_BW, { id: bw.id, i: { durationMinutes: 45 } })).updateBlackoutWindow.durationMinutes).toBe(45) // admins may
    expect((await t.ok(UPDATE_BW, { id: bw.id, i: { durationMinutes: 60 } }, alice)).updateBlackoutWindow.durationMinutes).toBe(60)
    // Windows from before owners existed are admin-managed.
    const old = (await t.ok(BW, { n: 'legacy-freeze' })).createBlackoutWindow.id
    await t.app.db.pool.query(`UPDATE blackout_window SET owner_id = NULL WHERE name = 'legacy-freeze'`)
    expectForbidden(await t.gql(UPDATE_BW, { id: old, i: { durationMinutes: 5 } }, alice))
    expect((await t.ok(`mutation($id: ID!) { deleteBlackoutWindow(id: $id) }`, { id: bw.id }, alice)).deleteBlackoutWindow).toBe(bw.id)
  })

  it('runs are cancelled and retried only by who triggered them, the template owner or an admin', async () => {
    const tpl = (await t.ok(CREATE_TPL, { i: { name: 'alice-noop', jobType: 'noop', config: {}, visibility: 'GLOBAL' } }, alice)).createJobTemplate.id
    const byAdmin = await waitFor((await t.ok(TRIGGER, { id: tpl })).triggerJobRun.id, ['SUCCEEDED'])
    expectForbidden(await t.gql(`mutation($id: ID!) { retryJobRun(id: $id) { id } }`, { id: byAdmin.id }, bob), undefined, /only who triggered this run, the owner of its template or an admin may retry it/)
    expectForbidden(await t.gql(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: byAdmin.id }, bob))
    // The template's owner may; so may whoever triggered a run (bob, on alice's GLOBAL template).
    await t.ok(`mutation($id: ID!) { retryJobRun(id: $id) { id } }`, { id: byAdmin.id }, alice)
    const byBob = await waitFor((await t.ok(TRIGGER, { id: tpl }, bob)).triggerJobRun.id, ['SUCCEEDED'])
    await t.ok(`mutation($id: ID!) { retryJobRun(id: $id) { id } }`, { id: byBob.id }, bob)
  })

  it("a discovery scan run by one operator does not rename its way onto another's target", async () => {
    const cred = await credential('alice-scan-ssh', 'alice-pw-9', alice)
    const target = (await t.ok(CREATE_TARGET, { i: { name: 'alice-core', host: '10.2.2.2', credentialId: cred } }, alice)).createTarget.id
    const port = Number(new URL(base).port)
    const scan = (
      await t.ok(
        CREATE_TPL,
        { i: { name: 'bob-scan', jobType: 'prefix_scan', visibility: 'GLOBAL', config: { prefixes: ['127.0.0.1/32'], ports: [port], createTargets: { namePattern: 'alice-core' } } } },
        bob,
      )
    ).createJobTemplate.id
    const run = await waitFor((await t.ok(TRIGGER, { id: scan }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])
    expect(run.status).toBe('SUCCEEDED')
    expect((await t.ok(`query($id: ID!) { target(id: $id) { host port owner { username } } }`, { id: target })).target).toEqual({ host: '10.2.2.2', port: 22, owner: { username: 'alice' } })
    expect((await logLines(run.id)).map((l) => l.text)).toContain('1 target with these names belong to someone else and were left unchanged')

    // Its own finds are bob's, and a rescan updates them.
    const mine = (await t.ok(CREATE_TPL, { i: { name: 'bob-scan-2', jobType: 'prefix_scan', visibility: 'GLOBAL', config: { prefixes: ['127.0.0.1/32'], ports: [port], createTargets: { namePattern: 'bob-found-{ip}' } } } }, bob)).createJobTemplate.id
    for (let i = 0; i < 2; i++) expect((await waitFor((await t.ok(TRIGGER, { id: mine }, bob)).triggerJobRun.id, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED')
    const found = (await t.ok(`{ targets(search: "bob-found-") { name host owner { username } } }`)).targets
    expect(found).toEqual([{ name: 'bob-found-127.0.0.1', host: '127.0.0.1', owner: { username: 'bob' } }])
  })
})
