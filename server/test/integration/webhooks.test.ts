/**
 * Inbound webhook triggers through real HTTP requests against the app on real Postgres with a real
 * worker: endpoints saved through GraphQL (field-named validation, the token shown once, rotation),
 * calls that start template and workflow runs with parameters mapped from the body (trigger WEBHOOK and
 * the endpoint recorded), every bad call a 4xx JSON with the reason and no run, HMAC signatures with
 * replay protection (timestamp window, delivery id dedupe), the body cap, the rate limit, and the audit
 * log of each call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeGlobalID } from '@pothos/plugin-relay'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError } from '../harness/run-helpers.ts'
import { createTestRegistry } from '../harness/test-executors.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'
import { signWebhook } from '../../src/modules/notifications/webhook-delivery.ts'

let t: TestApp
const wf = workflowHelpers(() => t)
let echo: string
let secretCred: string

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
  echo = await wf.template('hook-echo', 'test-outcome', {}, {
    parameters: [
      { name: 'repo', type: 'STRING', required: true },
      { name: 'n', type: 'INT' },
      { name: 'env', type: 'CHOICE', choices: ['prod', 'lab'], default: 'lab' },
    ],
  })
  secretCred = (await t.ok(`mutation { createCredential(input: { name: "hook-hmac", kind: PASSWORD, username: "webhook", password: "hmac-s3cret" }) { id } }`)).createCredential.id
})
afterAll(async () => {
  await t?.stop()
})

const CREATE = `mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { token path endpoint { id name template { id } workflow { id } rateLimitPerMinute } } }`
const MAPPING = { repo: { path: '/repository/name' }, n: { path: 'count' }, env: { value: 'prod' } }

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body)
  const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error(`not JSON (${res.status}): ${text}`)
  }
  return { status: res.status, json, headers: res.headers }
}

async function runCount(): Promise<number> {
  const { rows } = await t.app.db.pool.query(`SELECT (SELECT count(*) FROM job_run)::int + (SELECT count(*) FROM workflow_run)::int AS n`)
  return rows[0].n
}

describe('saving endpoints', () => {
  it('validates each field by name; the token is returned once and rotation replaces it', async () => {
    const w = await wf.create({ name: 'hook-wf', nodes: [{ key: 'a', templateId: echo, parameters: { repo: 'x' } }] })
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', templateId: echo, workflowId: w, parameterMapping: MAPPING } }), 'input.workflowId')
    expectFieldError(await t.gql(CREATE, { i: { name: 'x' } }), 'input.templateId')
    const bad = await t.gql(CREATE, { i: { name: 'x', templateId: echo, parameterMapping: { nope: { path: 'a' }, n: { value: 'many' } } } })
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(bad.errors![0]!.extensions!.fields!.map((f: { field: string }) => f.field).sort()).toEqual(['input.parameterMapping.n', 'input.parameterMapping.nope', 'input.parameterMapping.repo'])
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', templateId: echo, parameterMapping: { ...MAPPING, env: { path: '' } } } }), 'input.parameterMapping.env.path')
    const ssh = (await t.ok(`mutation { createCredential(input: { name: "hmac-2", kind: PASSWORD, username: "u", password: "p" }) { id } }`)).createCredential.id
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', templateId: echo, parameterMapping: MAPPING, secretCredentialId: 'bogus' } }), 'input.secretCredentialId')
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', templateId: echo, parameterMapping: MAPPING, maxBodyBytes: 10_000_000 } }), 'input.maxBodyBytes')
    const viewer = await t.userToken('VIEWER', 'hook-viewer')
    expect((await t.gql(CREATE, { i: { name: 'x', templateId: echo, parameterMapping: MAPPING } }, viewer)).errors![0]!.extensions!.code).toBe('FORBIDDEN')

    const made = (await t.ok(CREATE, { i: { name: 'rotating', templateId: echo, parameterMapping: MAPPING, secretCredentialId: ssh } })).createWebhookEndpoint
    expect(made.path).toBe(`/hooks/${made.token}`)
    expect(made.token).toMatch(/^whk_[A-Za-z0-9_-]{43}$/)
    // Only the hash is stored.
    const { rows } = await t.app.db.pool.query(`SELECT token_hash FROM webhook_endpoint WHERE id = $1`, [decodeGlobalID(made.endpoint.id).id])
    expect(rows[0].token_hash).not.toContain(made.token)
    const rotated = (await t.ok(`mutation($id: ID!) { rotateWebhookEndpointToken(id: $id) { token path } }`, { id: made.endpoint.id })).rotateWebhookEndpointToken
    expect(rotated.token).not.toBe(made.token)
    expect((await post(made.path, {})).status).toBe(404)
    expect((await post(rotated.path, {})).status).toBe(401) // known now: it wants a signature
    // Other operators neither see nor change it.
    const other = await t.userToken('OPERATOR', 'hook-other')
    expect((await t.ok(`{ webhookEndpoints { id } }`, {}, other)).webhookEndpoints).toEqual([])
    expect((await t.gql(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id: made.endpoint.id }, other)).errors![0]!.extensions!.code).toBe('NOT_FOUND')
    // Updates keep what is not given.
    const up = (await t.ok(`mutation($id: ID!, $i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $i) { name enabled parameterMapping rateLimitPerMinute secretCredential { id } } }`, { id: made.endpoint.id, i: { rateLimitPerMinute: 5 } })).updateWebhookEndpoint
    expect(up).toEqual({ name: 'rotating', enabled: true, parameterMapping: MAPPING, rateLimitPerMinute: 5, secretCredential: { id: ssh } })
  })
})

describe('calling a template endpoint', () => {
  let path: string
  let endpointId: string
  beforeAll(async () => {
    const made = (await t.ok(CREATE, { i: { name: 'push', templateId: echo, parameterMapping: MAPPING, maxBodyBytes: 1024 } })).createWebhookEndpoint
    path = made.path
    endpointId = made.endpoint.id
  })

  it('starts a run with the mapped parameters, recording trigger WEBHOOK and the endpoint', async () => {
    const r = await post(path, { repository: { name: 'net-configs' }, count: 3, ignored: true }, { 'x-switchyard-delivery': 'd-1' })
    expect(r.status).toBe(202)
    expect(r.json).toMatchObject({ status: 'STARTED', run: { id: expect.any(String), number: expect.any(Number) } })
    const run = await eventually(async () => {
      const x = (await t.ok(`query($id: ID!) { jobRun(id: $id) { status trigger parameters triggeredBy { username } webhookEndpoint { id name } } }`, { id: r.json.run.id })).jobRun
      return x.status === 'SUCCEEDED' ? x : null
    }, { what: 'the webhook run to succeed' })
    expect(run).toEqual({ status: 'SUCCEEDED', trigger: 'WEBHOOK', parameters: { repo: 'net-configs', n: 3, env: 'prod' }, triggeredBy: { username: 'admin' }, webhookEndpoint: { id: endpointId, name: 'push' } })
    // Unsigned endpoint, same delivery id again: a replay.
    const again = await post(path, { repository: { name: 'net-configs' }, count: 3 }, { 'x-switchyard-delivery': 'd-1' })
    expect(again).toMatchObject({ status: 409, json: { error: 'delivery "d-1" was already received (replay refused)' } })
  })

  it('answers every bad call with a 4xx JSON reason and starts nothing', async () => {
    const before = await runCount()
    const wrongType = await post(path, { repository: { name: 'r' }, count: 'many' })
    expect(wrongType.status).toBe(422)
    expect(wrongType.json.fields).toEqual([expect.objectContaining({ field: 'parameters.n' })])
    const missing = await post(path, { repository: {} })
    expect(missing.status).toBe(422)
    expect(missing.json.fields).toEqual([expect.objectContaining({ field: 'parameters.repo' })])
    expect(await post(path, '{"repository": ')).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^the body is not valid JSON/) } })
    expect(await post(path, 'repo=x', { 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({ status: 415 })
    expect(await post(path, { repository: { name: 'x'.repeat(2000) } })).toMatchObject({ status: 413, json: { error: "the body is larger than this endpoint's limit of 1024 bytes" } })
    expect(await post('/hooks/whk_not-a-real-token-at-all-0000000', {})).toMatchObject({ status: 404 })
    const get = await fetch(`${t.url}${path}`)
    expect(get.status).toBe(405)
    expect(await get.json()).toEqual({ error: 'use POST' })
    expect(await runCount()).toBe(before)
    const calls = (await t.ok(`query($id: ID!) { webhookEndpoint(id: $id) { recentCalls { outcome httpStatus reason deliveryId jobRun { trigger } } } }`, { id: endpointId })).webhookEndpoint.recentCalls
    expect(calls.map((c: { httpStatus: number }) => c.httpStatus)).toEqual([413, 415, 400, 422, 422, 409, 202])
    expect(calls.at(-1)).toMatchObject({ outcome: 'STARTED', deliveryId: 'd-1', jobRun: { trigger: 'WEBHOOK' } })
    const { auditEvents } = await t.ok(`query { auditEvents(first: 20, filter: { actions: ["webhook."] }) { edges { node { action actorName via entityName } } } }`)
    const actions = auditEvents.edges.map((e: { node: { action: string; entityName: string } }) => `${e.node.action} ${e.node.entityName}`)
    expect(actions.filter((a: string) => a === 'webhook.call push')).toHaveLength(1)
    expect(actions.filter((a: string) => a === 'webhook.reject push')).toHaveLength(6)
    expect(auditEvents.edges[0].node).toMatchObject({ actorName: 'webhook "push"', via: 'SYSTEM' })
  })

  it('rate-limits per endpoint: over the limit answers 429 with Retry-After and records nothing', async () => {
    const made = (await t.ok(CREATE, { i: { name: 'limited', templateId: echo, parameterMapping: MAPPING, rateLimitPerMinute: 2 } })).createWebhookEndpoint
    expect((await post(made.path, { repository: { name: 'a' } })).status).toBe(202)
    expect((await post(made.path, '{')).status).toBe(400) // refused calls count too
    const over = await post(made.path, { repository: { name: 'c' } })
    expect(over).toMatchObject({ status: 429, json: { error: 'rate limit: at most 2 calls per minute to this endpoint' } })
    expect(over.headers.get('retry-after')).toBe('60')
    const { rows } = await t.app.db.pool.query(`SELECT count(*)::int AS n FROM webhook_call WHERE endpoint_id = $1`, [decodeGlobalID(made.endpoint.id).id])
    expect(rows[0].n).toBe(2)
  })
})

describe('the call log', () => {
  it('is kept as long as the audit log, then deleted by housekeeping', async () => {
    const made = (await t.ok(CREATE, { i: { name: 'aging', templateId: echo, parameterMapping: MAPPING } })).createWebhookEndpoint
    expect((await post(made.path, '{')).status).toBe(400)
    expect((await post(made.path, '{')).status).toBe(400)
    const id = decodeGlobalID(made.endpoint.id).id
    await t.app.db.pool.query(`UPDATE webhook_call SET received_at = now() - interval '400 days' WHERE id = (SELECT id FROM webhook_call WHERE endpoint_id = $1 LIMIT 1)`, [id])
    const { deleteExpiredWebhookCalls } = await import('../../src/modules/webhooks/call-retention.ts')
    expect(await deleteExpiredWebhookCalls(t.app.db.pool, 365)).toBe(1)
    const { rows } = await t.app.db.pool.query(`SELECT count(*)::int AS n FROM webhook_call WHERE endpoint_id = $1`, [id])
    expect(rows[0].n).toBe(1)
  })
})

describe('a signed workflow endpoint', () => {
  it('verifies the HMAC over the raw body within the replay window, dedupes delivery ids, and starts the workflow', async () => {
    const w = await wf.create({ name: 'hook-flow', parameters: [{ name: 'repo', type: 'STRING', required: true }], nodes: [{ key: 'a', templateId: echo, parameters: { repo: '{{ params.repo }}' } }] })
    const made = (await t.ok(CREATE, { i: { name: 'signed', workflowId: w, parameterMapping: { repo: { path: 'repository.name' } }, secretCredentialId: secretCred, replayWindowSeconds: 60 } })).createWebhookEndpoint
    const body = JSON.stringify({ repository: { name: 'signed-repo' } })
    const now = Math.floor(Date.now() / 1000)
    const before = await runCount()
    expect(await post(made.path, body)).toMatchObject({ status: 401, json: { error: expect.stringMatching(/^missing X-Switchyard-Signature/) } })
    expect(await post(made.path, body, { 'x-switchyard-signature': signWebhook('wrong', body, now) })).toMatchObject({ status: 401, json: { error: 'signature does not match the body' } })
    expect(await post(made.path, body.replace('signed-repo', 'other-repo'), { 'x-switchyard-signature': signWebhook('hmac-s3cret', body, now) })).toMatchObject({ status: 401 })
    expect(await post(made.path, body, { 'x-switchyard-signature': signWebhook('hmac-s3cret', body, now - 120) })).toMatchObject({ status: 401, json: { error: expect.stringContaining('outside the replay window') } })
    // A forged call carrying a delivery id does not burn it for the real sender.
    expect(await post(made.path, body, { 'x-switchyard-signature': signWebhook('wrong', body, now), 'x-switchyard-delivery': 'evt-7' })).toMatchObject({ status: 401 })
    expect(await runCount()).toBe(before)

    const ok = await post(made.path, body, { 'x-switchyard-signature': signWebhook('hmac-s3cret', body, now), 'x-switchyard-delivery': 'evt-7' })
    expect(ok).toMatchObject({ status: 202, json: { status: 'STARTED', workflowRun: { id: expect.any(String) } } })
    const done = await wf.waitEnd(ok.json.workflowRun.id)
    expect(done.status).toBe('SUCCEEDED')
    expect(done.node('a').jobRun).toMatchObject({ trigger: 'WORKFLOW', parameters: { repo: 'signed-repo' } })
    const read = (await t.ok(`query($id: ID!) { workflowRun(id: $id) { trigger webhookEndpoint { name } } }`, { id: ok.json.workflowRun.id })).workflowRun
    expect(read).toEqual({ trigger: 'WEBHOOK', webhookEndpoint: { name: 'signed' } })
    // The same signed request again (a replay inside the window): refused by its delivery id.
    const replay = await post(made.path, body, { 'x-switchyard-signature': signWebhook('hmac-s3cret', body, now), 'x-switchyard-delivery': 'evt-7' })
    expect(replay.status).toBe(409)
    // The signing credential cannot be deleted while the endpoint uses it.
    const del = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: secretCred })
    expect(del.errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
  })

  it("the owner is re-checked on each call: a disabled owner's endpoint starts nothing (403)", async () => {
    const op = await t.userToken('OPERATOR', 'hook-owner')
    const made = (await t.ok(CREATE, { i: { name: 'owned', templateId: echo, parameterMapping: MAPPING } }, op)).createWebhookEndpoint
    expect((await post(made.path, { repository: { name: 'a' } })).status).toBe(202)
    await t.app.db.pool.query(`UPDATE app_user SET disabled = true WHERE username = 'hook-owner'`)
    expect(await post(made.path, { repository: { name: 'b' } })).toMatchObject({ status: 403, json: { error: "the endpoint's owner is disabled; nothing runs in their name" } })
  })
})
