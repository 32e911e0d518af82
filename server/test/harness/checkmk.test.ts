/**
 * The Checkmk contract server (checkmk.ts) against the facts of the 2.4.0 spec (checkmk-spec-facts.ts):
 * every answer has a status the operation documents, and success bodies have the documented schema's
 * required members and no others. Then Switchyard's CheckmkClient against it: ETags, 412 and 428,
 * partial bulk failures, activation (422 when nothing is pending, 302 while running, 204 when done).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CheckmkClient, CheckmkError } from '../../src/checkmk/checkmk-client.ts'
import { startCheckmk, type TestCheckmk } from './checkmk.ts'
import { OPERATIONS, SCHEMAS } from './checkmk-spec-facts.ts'

let cmk: TestCheckmk
const AUTH = { Authorization: 'Bearer automation automation-secret-1' }

beforeAll(async () => {
  cmk = await startCheckmk({ activationMs: 400, tagGroups: { tag_location: ['berlin', 'paris'] } })
})
afterAll(async () => cmk?.stop())

async function call(operation: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const method = operation.split(' ')[0]!
  const res = await fetch(`${cmk.url}/check_mk/api/1.0${path}`, {
    method,
    redirect: 'manual',
    headers: { ...AUTH, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const json = text ? JSON.parse(text) : null
  const fact = OPERATIONS[operation]!
  expect(fact, operation).toBeDefined()
  expect(fact.statuses, `${operation} answered ${res.status}: ${text}`).toContain(res.status)
  const schema = fact.success[String(res.status)]
  if (schema) {
    expect(res.headers.get('content-type')).toBe('application/json')
    conforms(json, schema)
  } else if (res.status >= 400) {
    // Problem documents (Api4xx…Error): status, title, detail.
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(json).toMatchObject({ status: res.status, title: expect.any(String), detail: expect.any(String) })
  }
  return { status: res.status, json, etag: res.headers.get('etag'), location: res.headers.get('location') }
}

function conforms(value: unknown, schema: string) {
  const facts = SCHEMAS[schema]!
  const o = value as Record<string, unknown>
  for (const k of facts.required) expect(o, `${schema}.${k} is required`).toHaveProperty(k)
  for (const k of Object.keys(o)) expect(facts.properties, `${schema} has no member ${k}`).toContain(k)
  if (schema === 'HostConfig') conforms(o.extensions, 'HostExtensions')
  if (schema === 'HostConfigCollection') for (const h of o.value as unknown[]) conforms(h, 'HostConfig')
  if (schema === 'ActivationRunResponse') conforms(o.extensions, 'ActivationExtensionFields')
  if (schema === 'PendingChangesCollection') for (const c of o.value as unknown[]) conforms(c, 'ChangesFields')
}

describe('Checkmk contract server (spec 2.4.0 shapes)', () => {
  it('refuses a wrong automation secret with 401', async () => {
    const res = await fetch(`${cmk.url}/check_mk/api/1.0/domain-types/host_config/collections/all`, { headers: { Authorization: 'Bearer automation wrong' } })
    expect(res.status).toBe(401)
  })

  it('folders, bulk create (validated like the real one), host GET with an ETag, PUT with If-Match', async () => {
    expect((await call('GET /objects/folder_config/{folder}', '/objects/folder_config/~net')).status).toBe(404)
    expect((await call('POST /domain-types/folder_config/collections/all', '/domain-types/folder_config/collections/all', { name: 'net', title: 'net', parent: '~' })).status).toBe(200)
    expect((await call('GET /objects/folder_config/{folder}', '/objects/folder_config/~net')).status).toBe(200)

    const bulk = '/domain-types/host_config/actions/bulk-create/invoke'
    const op = 'POST /domain-types/host_config/actions/bulk-create/invoke'
    // Unknown attributes, unknown body members, tag groups that do not exist, a missing folder: 400.
    expect((await call(op, bulk, { entries: [{ host_name: 'a1', folder: '/net', attributes: { color: 'red' } }] })).status).toBe(400)
    expect((await call(op, bulk, { entries: [{ host_name: 'a1', folder: '/net' }], extra: true })).status).toBe(400)
    expect((await call(op, bulk, { entries: [{ host_name: 'a1', folder: '/net', attributes: { tag_nope: 'x' } }] })).status).toBe(400)
    expect((await call(op, bulk, { entries: [{ host_name: 'a 1', folder: '/net' }] })).status).toBe(400)
    expect((await call(op, bulk, { entries: [{ folder: '/net' }] })).status).toBe(400)
    const partial = await call(op, bulk, { entries: [{ host_name: 'a1', folder: '/net', attributes: { ipaddress: '10.0.0.1', tag_location: 'berlin', labels: { x: 'y' } } }, { host_name: 'a2', folder: '/nowhere' }] })
    expect(partial.status).toBe(400)
    expect(partial.json.ext.failed_hosts).toEqual({ a2: 'The folder /nowhere could not be found.' })
    expect(cmk.state.hosts.has('a1')).toBe(true)

    const got = await call('GET /objects/host_config/{host_name}', '/objects/host_config/a1')
    expect(got.etag).toMatch(/^".+"$/)
    expect(got.json.extensions).toMatchObject({ folder: '/net', attributes: { ipaddress: '10.0.0.1', tag_location: 'berlin', labels: { x: 'y' } } })
    const put = 'PUT /objects/host_config/{host_name}'
    expect((await call(put, '/objects/host_config/a1', { update_attributes: { ipaddress: '10.0.0.2' } })).status).toBe(428)
    expect((await call(put, '/objects/host_config/a1', { update_attributes: { ipaddress: '10.0.0.2' } }, { 'If-Match': '"stale"' })).status).toBe(412)
    const ok = await call(put, '/objects/host_config/a1', { update_attributes: { ipaddress: '10.0.0.2' } }, { 'If-Match': got.etag! })
    expect(ok.status).toBe(200)
    expect(ok.etag).not.toBe(got.etag)
    expect((await call(put, '/objects/host_config/a1', { update_attributes: { ipaddress: '10.0.0.3' } }, { 'If-Match': got.etag! })).status).toBe(412)
    expect((await call('GET /domain-types/host_config/collections/all', '/domain-types/host_config/collections/all')).json.value).toHaveLength(1)
  })

  it('pending changes have an ETag that changes with them; activation 428/412, 200, 302 while running, 204, then 422', async () => {
    const pendingOp = 'GET /domain-types/activation_run/collections/pending_changes'
    const p1 = await call(pendingOp, '/domain-types/activation_run/collections/pending_changes')
    expect(p1.json.value.length).toBeGreaterThan(0)
    await call('PUT /domain-types/host_config/actions/bulk-update/invoke', '/domain-types/host_config/actions/bulk-update/invoke', { entries: [{ host_name: 'a1', update_attributes: { alias: 'A one' } }] })
    const p2 = await call(pendingOp, '/domain-types/activation_run/collections/pending_changes')
    expect(p2.etag).not.toBe(p1.etag)
    const act = 'POST /domain-types/activation_run/actions/activate-changes/invoke'
    const path = '/domain-types/activation_run/actions/activate-changes/invoke'
    expect((await call(act, path, { redirect: false })).status).toBe(428)
    expect((await call(act, path, { redirect: false }, { 'If-Match': p1.etag! })).status).toBe(412)
    const started = await call(act, path, { redirect: false, sites: [], force_foreign_changes: false }, { 'If-Match': p2.etag! })
    expect(started.status).toBe(200)
    const wait = `/objects/activation_run/${started.json.id}/actions/wait-for-completion/invoke`
    const waitOp = 'GET /objects/activation_run/{activation_id}/actions/wait-for-completion/invoke'
    const running = await call(waitOp, wait)
    expect(running.status).toBe(302)
    expect(running.location).toContain(wait)
    await expect.poll(async () => (await call(waitOp, wait)).status, { timeout: 5000, interval: 100 }).toBe(204)
    const p3 = await call(pendingOp, '/domain-types/activation_run/collections/pending_changes')
    expect(p3.json.value).toEqual([])
    expect((await call(act, path, { redirect: false }, { 'If-Match': p3.etag! })).status).toBe(422)
  })
})

describe('CheckmkClient against the contract server', () => {
  const client = () => new CheckmkClient({ url: cmk.url, username: 'automation', secret: 'automation-secret-1', tlsVerify: true })

  it('bulk create reports the hosts Checkmk refused; edit with a stale ETag is a 412 CheckmkError', async () => {
    const c = client()
    await c.ensureFolder('/lab/rack-1')
    expect(cmk.state.folders.has('/lab/rack-1')).toBe(true)
    const out = await c.bulkCreate([
      { host_name: 'c1', folder: '/lab/rack-1', attributes: { ipaddress: '10.1.0.1' } },
      { host_name: 'a1', folder: '/lab', attributes: {} },
    ])
    expect(out).toEqual({ succeeded: ['c1'], failed: { a1: 'Host a1 already exists.' } })
    const h = (await c.getHost('c1'))!
    expect(h.host).toEqual({ name: 'c1', folder: '/lab/rack-1', attributes: { ipaddress: '10.1.0.1' } })
    cmk.touchHost('c1', (x) => (x.attributes.alias = 'by a person'))
    const err = await c.editHost('c1', h.etag, { update_attributes: { ipaddress: '10.1.0.9' } }).catch((e) => e)
    expect(err).toBeInstanceOf(CheckmkError)
    expect(err.status).toBe(412)
    expect(await c.getHost('nope')).toBeNull()
  })

  it('activates, waits, and treats "nothing to activate" as null; the secret is never in an error', async () => {
    const c = client()
    const pending = await c.pendingChanges()
    const started = await c.activate(pending.etag)
    expect(started?.activationId).toMatch(/^[0-9a-f-]{36}$/)
    await c.waitForActivation(started!.activationId, 5000, 50)
    expect(await c.activate((await c.pendingChanges()).etag)).toBeNull()
    const bad = await new CheckmkClient({ url: cmk.url, username: 'automation', secret: 'not-the-secret', tlsVerify: true }).listHosts().catch((e) => e)
    expect(bad.message).toMatch(/rejected the automation user's credentials/)
    expect(bad.message).not.toContain('not-the-secret')
  })
})
