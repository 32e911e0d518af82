/**
 * CRUD through the GraphQL API for credentials, targets, inventories and job templates, and the
 * validation of templates and triggered runs: every expected failure has a stable code and names the
 * field; none is an internal error; a failed mutation leaves no row behind.
 */
import { encodeGlobalID } from '@pothos/plugin-relay'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type GraphQLResponse, type TestApp } from '../harness/app.ts'

let t: TestApp
beforeAll(async () => {
  t = await startTestApp()
})
afterAll(async () => {
  await t?.stop()
})

function expectError(r: GraphQLResponse, code: string, field?: string): void {
  const dump = JSON.stringify(r)
  expect(r.errors?.length, dump).toBeGreaterThan(0)
  const e = r.errors![0]!
  expect(e.extensions?.code, dump).toBe(code)
  expect(e.message, dump).not.toMatch(/unexpected error/i)
  if (field !== undefined) {
    expect(e.extensions?.field, dump).toBe(field)
    expect(e.extensions?.fields?.map((f) => f.field), dump).toContain(field)
  }
}

/** Row counts of every domain table, to prove failed mutations write nothing. */
async function counts(): Promise<Record<string, number>> {
  // (Not run_log: earlier runs may still be writing theirs.)
  const tables = ['app_user', 'api_token', 'credential', 'target', 'inventory', 'job_template', 'job_run', 'run_target', 'audit_event']
  const out: Record<string, number> = {}
  for (const table of tables) out[table] = (await t.app.db.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n
  out['pgboss.job'] = (await t.app.db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'switchyard-run'`)).rows[0].n
  return out
}

/** Runs failing mutations and checks that no table changed. */
async function unchanged(fn: () => Promise<void>): Promise<void> {
  const before = await counts()
  await fn()
  expect(await counts()).toEqual(before)
}

const GHOST_UUID = '00000000-0000-4000-8000-000000000000'
const ghost = (type: string) => encodeGlobalID(type, GHOST_UUID)

const CREATE_CRED = `mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id name description kind username hasPassphrase } }`
const UPDATE_CRED = `mutation($id: ID!, $i: UpdateCredentialInput!) { updateCredential(id: $id, input: $i) { id name description kind username hasPassphrase } }`
const TARGET_FIELDS = `id name description host port tags attributes credential { id name } hostKeyFingerprint`
const CREATE_TARGET = `mutation($i: CreateTargetInput!) { createTarget(input: $i) { ${TARGET_FIELDS} } }`
const UPDATE_TARGET = `mutation($id: ID!, $i: UpdateTargetInput!) { updateTarget(id: $id, input: $i) { ${TARGET_FIELDS} } }`
const INV_FIELDS = `id name description tags namePatterns explicitTargets { name } targets { name }`
const CREATE_INV = `mutation($i: InventoryInput!) { createInventory(input: $i) { ${INV_FIELDS} } }`
const UPDATE_INV = `mutation($id: ID!, $i: InventoryInput!) { updateInventory(id: $id, input: $i) { ${INV_FIELDS} } }`
const TPL_FIELDS = `id name description jobType config visibility timeoutSeconds retryMaxAttempts retryDelaySeconds retryBackoff maxParallelTargets successThreshold
  targetSelector { targets { name } inventories { name } tags namePatterns }
  parameters { name type label description required default choices }`
const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { ${TPL_FIELDS} } }`
const UPDATE_TPL = `mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { ${TPL_FIELDS} } }`
const TRIGGER = `mutation($id: ID!, $p: JSON, $targets: [ID!]) { triggerJobRun(templateId: $id, parameters: $p, targets: $targets) { id status parameters targets { name host port } } }`

describe('credentials', () => {
  it('create, read, list, update, delete', async () => {
    const { createCredential: c } = await t.ok(CREATE_CRED, { i: { name: 'lab', description: 'lab switches', kind: 'PASSWORD', username: 'netops', password: 'pw-1' } })
    expect(c).toMatchObject({ name: 'lab', description: 'lab switches', kind: 'PASSWORD', username: 'netops', hasPassphrase: false })
    expect((await t.ok(`query($id: ID!) { credential(id: $id) { id name } }`, { id: c.id })).credential).toEqual({ id: c.id, name: 'lab' })
    expect((await t.ok(`{ credentials { name } }`)).credentials.map((x: { name: string }) => x.name)).toContain('lab')

    // Updating one field keeps the others (description included).
    const { updateCredential: u } = await t.ok(UPDATE_CRED, { id: c.id, i: { username: 'netops2' } })
    expect(u).toMatchObject({ name: 'lab', description: 'lab switches', kind: 'PASSWORD', username: 'netops2' })
    const { updateCredential: u2 } = await t.ok(UPDATE_CRED, { id: c.id, i: { name: 'lab-renamed', password: 'pw-2' } })
    expect(u2).toMatchObject({ name: 'lab-renamed', description: 'lab switches', username: 'netops2' })

    expect((await t.ok(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: c.id })).deleteCredential).toBe(c.id)
    expectError(await t.gql(`query($id: ID!) { credential(id: $id) { id } }`, { id: c.id }), 'NOT_FOUND', 'id')
    expectError(await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: c.id }), 'NOT_FOUND', 'id')
  })

  it('validates input, naming the field, and writes nothing on failure', async () => {
    await t.ok(CREATE_CRED, { i: { name: 'taken', kind: 'PASSWORD', username: 'u', password: 'p' } })
    await unchanged(async () => {
      expectError(await t.gql(CREATE_CRED, { i: { name: 'taken', kind: 'PASSWORD', username: 'u', password: 'p' } }), 'CONFLICT', 'input.name')
      expectError(await t.gql(CREATE_CRED, { i: { name: '  ', kind: 'PASSWORD', username: 'u', password: 'p' } }), 'BAD_USER_INPUT', 'input.name')
      expectError(await t.gql(CREATE_CRED, { i: { name: 'c1', kind: 'PASSWORD', username: '', password: 'p' } }), 'BAD_USER_INPUT', 'input.username')
      expectError(await t.gql(CREATE_CRED, { i: { name: 'c1', kind: 'PASSWORD', username: 'u' } }), 'BAD_USER_INPUT', 'input.password')
      expectError(await t.gql(CREATE_CRED, { i: { name: 'c1', kind: 'PRIVATE_KEY', username: 'u' } }), 'BAD_USER_INPUT', 'input.privateKey')
      expectError(await t.gql(CREATE_CRED, { i: { name: 'c1', kind: 'PRIVATE_KEY', username: 'u', privateKey: 'not a key' } }), 'BAD_USER_INPUT', 'input.privateKey')
      expectError(await t.gql(CREATE_CRED, { i: { name: 'c1', kind: 'PASSWORD', username: 'u', password: 'p', privateKey: 'k' } }), 'BAD_USER_INPUT', 'input.privateKey')
      expectError(await t.gql(CREATE_CRED, { i: { name: 'c1', kind: 'PASSWORD', username: 'u', password: 'x'.repeat(5000) } }), 'BAD_USER_INPUT', 'input.password')
      // GraphQL's own input validation: an unknown enum value.
      const badKind = await t.gql(CREATE_CRED, { i: { name: 'c1', kind: 'TOKEN', username: 'u', password: 'p' } })
      expect(badKind.errors?.[0]?.message).toMatch(/kind/)
      expect(badKind.errors?.[0]?.message).not.toMatch(/unexpected error/i)
    })
    const { createCredential: c } = await t.ok(CREATE_CRED, { i: { name: 'switcher', kind: 'PASSWORD', username: 'u', password: 'p' } })
    await unchanged(async () => {
      expectError(await t.gql(UPDATE_CRED, { id: c.id, i: { name: 'taken' } }), 'CONFLICT', 'input.name')
      expectError(await t.gql(UPDATE_CRED, { id: c.id, i: { kind: 'PRIVATE_KEY' } }), 'BAD_USER_INPUT', 'input.privateKey')
      expectError(await t.gql(UPDATE_CRED, { id: c.id, i: { passphrase: 'x' } }), 'BAD_USER_INPUT', 'input.passphrase')
      expectError(await t.gql(UPDATE_CRED, { id: 'bogus', i: { name: 'x' } }), 'BAD_USER_INPUT', 'id')
      expectError(await t.gql(UPDATE_CRED, { id: ghost('Credential'), i: { name: 'x' } }), 'NOT_FOUND', 'id')
    })
    expect((await t.ok(`query($id: ID!) { credential(id: $id) { name kind } }`, { id: c.id })).credential).toEqual({ name: 'switcher', kind: 'PASSWORD' })
  })

  it('cannot be deleted while a target uses it', async () => {
    const { createCredential: c } = await t.ok(CREATE_CRED, { i: { name: 'in-use', kind: 'PASSWORD', username: 'u', password: 'p' } })
    const { createTarget: tg } = await t.ok(CREATE_TARGET, { i: { name: 'uses-cred', host: '10.0.0.1', credentialId: c.id } })
    await unchanged(async () => {
      expectError(await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: c.id }), 'INVALID_STATE')
    })
    expect((await t.ok(`query($id: ID!) { target(id: $id) { credential { id } } }`, { id: tg.id })).target.credential).toEqual({ id: c.id })
    // Once detached, it can go.
    await t.ok(UPDATE_TARGET, { id: tg.id, i: { credentialId: null } })
    expect((await t.ok(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: c.id })).deleteCredential).toBe(c.id)
  })
})

describe('targets', () => {
  it('create with defaults, read, filter, update one field at a time, delete', async () => {
    const { createCredential: cred } = await t.ok(CREATE_CRED, { i: { name: 'tgt-cred', kind: 'PASSWORD', username: 'u', password: 'p' } })
    const { createTarget: a } = await t.ok(CREATE_TARGET, {
      i: { name: 'core-sw-1', host: 'core-sw-1.lab.example', credentialId: cred.id, tags: ['core', 'lab', 'core'], attributes: { location: 'fra1', rack: 12, managed: true } },
    })
    expect(a).toMatchObject({ name: 'core-sw-1', description: '', host: 'core-sw-1.lab.example', port: 22, tags: ['core', 'lab'], attributes: { location: 'fra1', rack: 12, managed: true }, credential: { id: cred.id, name: 'tgt-cred' } })
    await t.ok(CREATE_TARGET, { i: { name: 'edge-rtr-1', host: '2001:db8::1', port: 830, tags: ['edge'] } })

    expect((await t.ok(`query($id: ID!) { target(id: $id) { name } }`, { id: a.id })).target.name).toBe('core-sw-1')
    const byTag = await t.ok(`{ targets(tags: ["core", "lab"]) { name } }`)
    expect(byTag.targets.map((x: { name: string }) => x.name)).toEqual(['core-sw-1'])
    const bySearch = await t.ok(`{ targets(search: "2001:DB8") { name } }`)
    expect(bySearch.targets.map((x: { name: string }) => x.name)).toEqual(['edge-rtr-1'])

    // Set a trusted host key, then update a field that does not move the target: everything else is kept.
    await t.app.db.pool.query(`UPDATE target SET host_key_fingerprint = 'SHA256:abc', host_key_algorithm = 'ssh-ed25519' WHERE name = 'core-sw-1'`)
    const { updateTarget: u1 } = await t.ok(UPDATE_TARGET, { id: a.id, i: { description: 'core switch' } })
    expect(u1).toMatchObject({ name: 'core-sw-1', description: 'core switch', host: 'core-sw-1.lab.example', port: 22, tags: ['core', 'lab'], attributes: { location: 'fra1', rack: 12, managed: true }, credential: { id: cred.id }, hostKeyFingerprint: 'SHA256:abc' })
    const { updateTarget: u2 } = await t.ok(UPDATE_TARGET, { id: a.id, i: { port: 2222 } })
    expect(u2).toMatchObject({ description: 'core switch', port: 2222, tags: ['core', 'lab'], credential: { id: cred.id }, hostKeyFingerprint: null })
    const { updateTarget: u3 } = await t.ok(UPDATE_TARGET, { id: a.id, i: { credentialId: null, tags: [] } })
    expect(u3).toMatchObject({ description: 'core switch', port: 2222, tags: [], credential: null, attributes: { location: 'fra1', rack: 12, managed: true } })

    expect((await t.ok(`mutation($id: ID!) { deleteTarget(id: $id) }`, { id: a.id })).deleteTarget).toBe(a.id)
    expectError(await t.gql(`query($id: ID!) { target(id: $id) { id } }`, { id: a.id }), 'NOT_FOUND', 'id')
  })

  it('validates host, port, name, tags, attributes and credential, naming the field', async () => {
    await t.ok(CREATE_TARGET, { i: { name: 'exists', host: '10.0.0.9' } })
    await unchanged(async () => {
      const badHosts = ['', '   ', 'has space.example', '-leading-dash.example', 'a..b', 'http://x.example', 'x.example:22', '10.0.0.1/24', '[::1]', 'host_name!', '10.0.0.256', '192.168.1', '1234', '10.0.0.1.']
      for (const host of badHosts) expectError(await t.gql(CREATE_TARGET, { i: { name: 'h', host } }), 'BAD_USER_INPUT', 'input.host')
      for (const port of [0, -1, 65536, 100000]) expectError(await t.gql(CREATE_TARGET, { i: { name: 'p', host: '10.0.0.1', port } }), 'BAD_USER_INPUT', 'input.port')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'exists', host: '10.0.0.1' } }), 'CONFLICT', 'input.name')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'two words', host: '10.0.0.1' } }), 'BAD_USER_INPUT', 'input.name')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'x', host: '10.0.0.1', tags: ['ok', 'not ok'] } }), 'BAD_USER_INPUT', 'input.tags.1')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'x', host: '10.0.0.1', attributes: ['a'] } }), 'BAD_USER_INPUT', 'input.attributes')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'x', host: '10.0.0.1', attributes: 'loc' } }), 'BAD_USER_INPUT', 'input.attributes')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'x', host: '10.0.0.1', attributes: { 'bad key': 1 } } }), 'BAD_USER_INPUT', 'input.attributes.bad key')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'x', host: '10.0.0.1', attributes: { nested: { a: 1 } } } }), 'BAD_USER_INPUT', 'input.attributes.nested')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'x', host: '10.0.0.1', credentialId: 'nope' } }), 'BAD_USER_INPUT', 'input.credentialId')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'x', host: '10.0.0.1', credentialId: ghost('Target') } }), 'BAD_USER_INPUT', 'input.credentialId')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'x', host: '10.0.0.1', credentialId: ghost('Credential') } }), 'NOT_FOUND', 'input.credentialId')
      // Text Postgres cannot store is an input error, not a crash.
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'nul\u0000byte', host: '10.0.0.1' } }), 'BAD_USER_INPUT', 'input.name')
      expectError(await t.gql(CREATE_TARGET, { i: { name: 'nul-attr', host: '10.0.0.1', attributes: { note: 'a\u0000b' } } }), 'BAD_USER_INPUT', 'input.attributes.note')
    })
    for (const host of ['router-1', 'router-1.lab.example.', '192.0.2.10', '::1', 'fe80::1%eth0', '2001:db8::42', 'xn--bcher-kva.example', 'under_score.lab', '1a.lab', 'sw01.dc2']) {
      const r = await t.gql(CREATE_TARGET, { i: { name: `ok-${host.replace(/[^a-z0-9]/gi, '')}`, host } })
      expect(r.errors, `${host}: ${JSON.stringify(r.errors)}`).toBeUndefined()
      expect(r.data!.createTarget.host).toBe(host)
    }
    for (const port of [1, 65535]) expect((await t.ok(CREATE_TARGET, { i: { name: `port-${port}`, host: '10.0.0.1', port } })).createTarget.port).toBe(port)

    const { createTarget: x } = await t.ok(CREATE_TARGET, { i: { name: 'to-update', host: '10.0.0.2' } })
    await unchanged(async () => {
      expectError(await t.gql(UPDATE_TARGET, { id: x.id, i: { name: 'exists' } }), 'CONFLICT', 'input.name')
      expectError(await t.gql(UPDATE_TARGET, { id: x.id, i: { port: 0 } }), 'BAD_USER_INPUT', 'input.port')
      expectError(await t.gql(UPDATE_TARGET, { id: x.id, i: { host: 'bad host' } }), 'BAD_USER_INPUT', 'input.host')
      expectError(await t.gql(UPDATE_TARGET, { id: 'garbage', i: { port: 23 } }), 'BAD_USER_INPUT', 'id')
      expectError(await t.gql(UPDATE_TARGET, { id: ghost('Target'), i: { port: 23 } }), 'NOT_FOUND', 'id')
      expectError(await t.gql(`mutation { deleteTarget(id: "garbage") }`), 'BAD_USER_INPUT', 'id')
      expectError(await t.gql(`mutation($id: ID!) { deleteTarget(id: $id) }`, { id: ghost('Target') }), 'NOT_FOUND', 'id')
      expectError(await t.gql(`query($id: ID!) { target(id: $id) { id } }`, { id: ghost('Credential') }), 'BAD_USER_INPUT', 'id')
    })
    expect((await t.ok(`query($id: ID!) { target(id: $id) { name host port } }`, { id: x.id })).target).toEqual({ name: 'to-update', host: '10.0.0.2', port: 22 })
  })
})

describe('inventories', () => {
  let ids: Record<string, string>
  beforeAll(async () => {
    ids = {}
    const targets: Array<[string, string[]]> = [
      ['web-1', ['prod', 'web']],
      ['web-2', ['staging', 'web']],
      ['web-10', ['prod', 'web']],
      ['web-a', ['prod']],
      ['db-1', ['prod', 'db']],
      ['db-2', ['staging', 'db']],
      ['Web-3', ['prod', 'web']],
      ['web.x', ['prod', 'web']],
      ['webXx', ['prod', 'web']],
    ]
    for (const [name, tags] of targets) ids[name] = (await t.ok(CREATE_TARGET, { i: { name, host: '10.1.0.1', tags } })).createTarget.id
  })
  const names = (xs: Array<{ name: string }>) => xs.map((x) => x.name).sort()

  it('resolve tags AND glob patterns, OR explicit targets', async () => {
    const { createInventory: inv } = await t.ok(CREATE_INV, { i: { name: 'prod-web', tags: ['prod', 'web'], namePatterns: ['web-?'], targetIds: [ids['db-2']] } })
    // web-? : one character after "web-" (not web-10), case-sensitive (not Web-3); db-2 is explicit.
    expect(names(inv.targets)).toEqual(['db-2', 'web-1'])
    expect(names(inv.explicitTargets)).toEqual(['db-2'])

    const q = `query($id: ID!) { inventory(id: $id) { targets { name } } }`
    // `.` in a pattern is literal; `*` matches any run (including none).
    const { updateInventory: u } = await t.ok(UPDATE_INV, { id: inv.id, i: { namePatterns: ['web.*', 'web-1*'], targetIds: [] } })
    expect(names(u.targets)).toEqual(['web-1', 'web-10', 'web.x'])
    expect(u.tags).toEqual(['prod', 'web'])
    // Only tags (every one of them).
    await t.ok(UPDATE_INV, { id: inv.id, i: { namePatterns: [], tags: ['db'] } })
    expect(names((await t.ok(q, { id: inv.id })).inventory.targets)).toEqual(['db-1', 'db-2'])
    // Only patterns.
    await t.ok(UPDATE_INV, { id: inv.id, i: { tags: [], namePatterns: ['*-2'] } })
    expect(names((await t.ok(q, { id: inv.id })).inventory.targets)).toEqual(['db-2', 'web-2'])
    // Only explicit ids.
    await t.ok(UPDATE_INV, { id: inv.id, i: { namePatterns: [], targetIds: [ids['web-a'], ids['Web-3']] } })
    expect(names((await t.ok(q, { id: inv.id })).inventory.targets)).toEqual(['Web-3', 'web-a'])
    // Empty: nothing.
    await t.ok(UPDATE_INV, { id: inv.id, i: { targetIds: [] } })
    expect((await t.ok(q, { id: inv.id })).inventory.targets).toEqual([])
    // The result follows the targets: a new matching target shows up without editing the inventory.
    await t.ok(UPDATE_INV, { id: inv.id, i: { tags: ['staging'] } })
    expect(names((await t.ok(q, { id: inv.id })).inventory.targets)).toEqual(['db-2', 'web-2'])
    await t.ok(CREATE_TARGET, { i: { name: 'cache-9', host: '10.1.0.9', tags: ['staging'] } })
    expect(names((await t.ok(q, { id: inv.id })).inventory.targets)).toEqual(['cache-9', 'db-2', 'web-2'])
  })

  it('updating some fields keeps the others', async () => {
    const { createInventory: inv } = await t.ok(CREATE_INV, { i: { name: 'keep', description: 'd', tags: ['prod'], namePatterns: ['db-*'], targetIds: [ids['web-2']] } })
    const { updateInventory: u } = await t.ok(UPDATE_INV, { id: inv.id, i: { name: 'keep-renamed' } })
    expect(u).toMatchObject({ name: 'keep-renamed', description: 'd', tags: ['prod'], namePatterns: ['db-*'] })
    expect(names(u.explicitTargets)).toEqual(['web-2'])
    expect(names(u.targets)).toEqual(['db-1', 'web-2'])
    const { updateInventory: u2 } = await t.ok(UPDATE_INV, { id: inv.id, i: { description: 'new' } })
    expect(u2).toMatchObject({ name: 'keep-renamed', description: 'new', tags: ['prod'], namePatterns: ['db-*'] })
  })

  it('validates input, naming the field, and deletes', async () => {
    const { createInventory: inv } = await t.ok(CREATE_INV, { i: { name: 'inv-taken' } })
    await unchanged(async () => {
      expectError(await t.gql(CREATE_INV, { i: {} }), 'BAD_USER_INPUT', 'input.name')
      expectError(await t.gql(CREATE_INV, { i: { name: 'inv-taken' } }), 'CONFLICT', 'input.name')
      expectError(await t.gql(CREATE_INV, { i: { name: 'x', targetIds: [ids['web-1'], 'junk'] } }), 'BAD_USER_INPUT', 'input.targetIds.1')
      expectError(await t.gql(CREATE_INV, { i: { name: 'x', targetIds: [ghost('Target')] } }), 'BAD_USER_INPUT', 'input.targetIds.0')
      expectError(await t.gql(CREATE_INV, { i: { name: 'x', targetIds: [inv.id] } }), 'BAD_USER_INPUT', 'input.targetIds.0')
      expectError(await t.gql(CREATE_INV, { i: { name: 'x', tags: ['bad tag'] } }), 'BAD_USER_INPUT', 'input.tags.0')
      expectError(await t.gql(CREATE_INV, { i: { name: 'x', namePatterns: ['ok', ''] } }), 'BAD_USER_INPUT', 'input.namePatterns.1')
      expectError(await t.gql(UPDATE_INV, { id: inv.id, i: { name: '' } }), 'BAD_USER_INPUT', 'input.name')
      expectError(await t.gql(UPDATE_INV, { id: ghost('Inventory'), i: { name: 'y' } }), 'NOT_FOUND', 'id')
      expectError(await t.gql(`query { inventory(id: "%%%") { id } }`), 'BAD_USER_INPUT', 'id')
    })
    expect((await t.ok(`mutation($id: ID!) { deleteInventory(id: $id) }`, { id: inv.id })).deleteInventory).toBe(inv.id)
    expectError(await t.gql(`query($id: ID!) { inventory(id: $id) { id } }`, { id: inv.id }), 'NOT_FOUND', 'id')
  })
})

describe('job types', () => {
  it('lists command and noop with a JSON Schema of their config', async () => {
    const { jobTypes } = await t.ok(`{ jobTypes { type label description usesTargets configSchema } }`)
    const byType = Object.fromEntries(jobTypes.map((j: { type: string }) => [j.type, j]))
    expect(Object.keys(byType)).toEqual(expect.arrayContaining(['command', 'noop']))
    const command = byType.command
    expect(command.usesTargets).toBe(true)
    expect(command.label).toBeTruthy()
    expect(command.configSchema).toMatchObject({ type: 'object', required: ['commands'], properties: { commands: { type: 'array', items: { type: 'string' }, minItems: 1 } } })
    expect(command.configSchema.$schema).toMatch(/json-schema\.org/)
    const noop = byType.noop
    expect(noop.usesTargets).toBe(false)
    expect(noop.configSchema).toMatchObject({ type: 'object', additionalProperties: false, properties: { message: { type: 'string' } } })
  })
})

describe('job templates', () => {
  let target: string
  beforeAll(async () => {
    target = (await t.ok(CREATE_TARGET, { i: { name: 'tpl-target', host: '127.0.0.1', port: 1, tags: ['tpl'] } })).createTarget.id
  })

  it('create, read, list, update some fields (keeping the rest), delete', async () => {
    const { createInventory: inv } = await t.ok(CREATE_INV, { i: { name: 'tpl-inv', tags: ['tpl'] } })
    const { createJobTemplate: tpl } = await t.ok(CREATE_TPL, {
      i: {
        name: 'show version',
        description: 'collects versions',
        jobType: 'command',
        config: { commands: ['show version'] },
        targetSelector: { targetIds: [target], inventoryIds: [inv.id], tags: ['tpl'], namePatterns: ['tpl-*'] },
        parameters: [
          { name: 'count', type: 'INT', default: 3, required: true },
          { name: 'mode', type: 'CHOICE', choices: ['fast', 'slow'], default: 'fast' },
        ],
        timeoutSeconds: 600,
        retryMaxAttempts: 3,
        retryDelaySeconds: 5,
        retryBackoff: 'EXPONENTIAL',
        maxParallelTargets: 4,
        successThreshold: 75,
        visibility: 'GLOBAL',
      },
    })
    const expected = {
      name: 'show version',
      description: 'collects versions',
      jobType: 'command',
      config: { commands: ['show version'], continueOnError: false, pty: false, connectTimeoutSeconds: 15 },
      visibility: 'GLOBAL',
      timeoutSeconds: 600,
      retryMaxAttempts: 3,
      retryDelaySeconds: 5,
      retryBackoff: 'EXPONENTIAL',
      maxParallelTargets: 4,
      successThreshold: 75,
      targetSelector: { targets: [{ name: 'tpl-target' }], inventories: [{ name: 'tpl-inv' }], tags: ['tpl'], namePatterns: ['tpl-*'] },
      parameters: [
        { name: 'count', type: 'INT', label: null, description: null, required: true, default: 3, choices: null },
        { name: 'mode', type: 'CHOICE', label: null, description: null, required: false, default: 'fast', choices: ['fast', 'slow'] },
      ],
    }
    expect(tpl).toMatchObject(expected)
    expect((await t.ok(`query($id: ID!) { jobTemplate(id: $id) { ${TPL_FIELDS} } }`, { id: tpl.id })).jobTemplate).toEqual(tpl)
    expect((await t.ok(`{ jobTemplates(search: "VERSION") { id } }`)).jobTemplates).toEqual([{ id: tpl.id }])
    expect((await t.ok(`{ jobTemplates(jobTypes: ["noop"]) { id } }`)).jobTemplates).toEqual([])

    // Renaming alone changes nothing else (visibility, selector, parameters, retry policy…).
    const { updateJobTemplate: u1 } = await t.ok(UPDATE_TPL, { id: tpl.id, i: { name: 'show version v2' } })
    expect(u1).toMatchObject({ ...expected, name: 'show version v2' })
    // Changing the config keeps the rest; null clears the clearable fields.
    const { updateJobTemplate: u2 } = await t.ok(UPDATE_TPL, { id: tpl.id, i: { config: { commands: ['show run'], pty: true }, timeoutSeconds: null, successThreshold: null } })
    expect(u2).toMatchObject({ ...expected, name: 'show version v2', config: { commands: ['show run'], pty: true }, timeoutSeconds: null, successThreshold: null })
    // Changing the type needs a config valid for the new type.
    const { updateJobTemplate: u3 } = await t.ok(UPDATE_TPL, { id: tpl.id, i: { jobType: 'noop', config: { message: 'hi' } } })
    expect(u3).toMatchObject({ jobType: 'noop', config: { message: 'hi' }, visibility: 'GLOBAL', retryMaxAttempts: 3 })

    expect((await t.ok(`mutation($id: ID!) { deleteJobTemplate(id: $id) }`, { id: tpl.id })).deleteJobTemplate).toBe(tpl.id)
    expectError(await t.gql(`query($id: ID!) { jobTemplate(id: $id) { id } }`, { id: tpl.id }), 'NOT_FOUND', 'id')
  })

  it('validates the config against the job type', async () => {
    await unchanged(async () => {
      const base = { name: 'cfg', jobType: 'command', config: { commands: ['uptime'] } }
      expectError(await t.gql(CREATE_TPL, { i: { ...base, jobType: 'teleport' } }), 'BAD_USER_INPUT', 'input.jobType')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, jobType: '' } }), 'BAD_USER_INPUT', 'input.jobType')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, config: {} } }), 'BAD_USER_INPUT', 'input.config.commands')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, config: { commands: [] } } }), 'BAD_USER_INPUT', 'input.config.commands')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, config: { commands: 'uptime' } } }), 'BAD_USER_INPUT', 'input.config.commands')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, config: { commands: ['uptime', '  '] } } }), 'BAD_USER_INPUT', 'input.config.commands.1')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, config: { commands: ['x'], connectTimeoutSeconds: 0 } } }), 'BAD_USER_INPUT', 'input.config.connectTimeoutSeconds')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, config: { commands: ['x'], env: { 'not-a-var': 'x' } } } }), 'BAD_USER_INPUT', 'input.config.env.not-a-var')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, config: 'uptime' } }), 'BAD_USER_INPUT', 'input.config')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, jobType: 'noop', config: { message: 'x', extra: 1 } } }), 'BAD_USER_INPUT', 'input.config')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, jobType: 'noop', config: { message: 42 } } }), 'BAD_USER_INPUT', 'input.config.message')
      // Other template fields.
      expectError(await t.gql(CREATE_TPL, { i: { ...base, name: '' } }), 'BAD_USER_INPUT', 'input.name')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, timeoutSeconds: 0 } }), 'BAD_USER_INPUT', 'input.timeoutSeconds')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, retryMaxAttempts: 0 } }), 'BAD_USER_INPUT', 'input.retryMaxAttempts')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, retryDelaySeconds: -1 } }), 'BAD_USER_INPUT', 'input.retryDelaySeconds')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, maxParallelTargets: 0 } }), 'BAD_USER_INPUT', 'input.maxParallelTargets')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, successThreshold: 100.5 } }), 'BAD_USER_INPUT', 'input.successThreshold')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, targetSelector: { tags: ['no spaces allowed'] } } }), 'BAD_USER_INPUT', 'input.targetSelector.tags.0')
    })
    const { createJobTemplate: tpl } = await t.ok(CREATE_TPL, { i: { name: 'cfg-ok', jobType: 'command', config: { commands: ['uptime'] } } })
    await unchanged(async () => {
      expectError(await t.gql(UPDATE_TPL, { id: tpl.id, i: { jobType: 'noop' } }), 'BAD_USER_INPUT', 'input.config')
      expectError(await t.gql(UPDATE_TPL, { id: tpl.id, i: { jobType: 'noop', config: { commands: ['x'] } } }), 'BAD_USER_INPUT', 'input.config')
      expectError(await t.gql(UPDATE_TPL, { id: tpl.id, i: { config: { commands: [] } } }), 'BAD_USER_INPUT', 'input.config.commands')
      expectError(await t.gql(UPDATE_TPL, { id: tpl.id, i: { jobType: 'nope', config: {} } }), 'BAD_USER_INPUT', 'input.jobType')
    })
    expect((await t.ok(`query($id: ID!) { jobTemplate(id: $id) { jobType config } }`, { id: tpl.id })).jobTemplate).toMatchObject({ jobType: 'command', config: { commands: ['uptime'] } })
  })

  it('validates parameter definitions', async () => {
    const base = { name: 'params', jobType: 'noop', config: {} }
    const p = (parameters: unknown[]) => ({ i: { ...base, parameters } })
    await unchanged(async () => {
      expectError(await t.gql(CREATE_TPL, p([{ name: 'env', type: 'CHOICE' }])), 'BAD_USER_INPUT', 'input.parameters.0.choices')
      expectError(await t.gql(CREATE_TPL, p([{ name: 'env', type: 'CHOICE', choices: [] }])), 'BAD_USER_INPUT', 'input.parameters.0.choices')
      expectError(await t.gql(CREATE_TPL, p([{ name: 'env', type: 'STRING', choices: ['a'] }])), 'BAD_USER_INPUT', 'input.parameters.0.choices')
      expectError(await t.gql(CREATE_TPL, p([{ name: 'env', type: 'CHOICE', choices: ['a', 'b'], default: 'c' }])), 'BAD_USER_INPUT', 'input.parameters.0.default')
      expectError(await t.gql(CREATE_TPL, p([{ name: 'ok', type: 'STRING' }, { name: 'pw', type: 'SECRET', default: 'hunter2' }])), 'BAD_USER_INPUT', 'input.parameters.1.default')
      expectError(await t.gql(CREATE_TPL, p([{ name: 'a', type: 'STRING' }, { name: 'b', type: 'INT' }, { name: 'a', type: 'BOOL' }])), 'BAD_USER_INPUT', 'input.parameters.2.name')
      expectError(await t.gql(CREATE_TPL, p([{ name: '1st', type: 'STRING' }])), 'BAD_USER_INPUT', 'input.parameters.0.name')
      expectError(await t.gql(CREATE_TPL, p([{ name: 'has-dash', type: 'STRING' }])), 'BAD_USER_INPUT', 'input.parameters.0.name')
      expectError(await t.gql(CREATE_TPL, p([{ name: 'n', type: 'INT', default: 'three' }])), 'BAD_USER_INPUT', 'input.parameters.0.default')
      expectError(await t.gql(CREATE_TPL, p([{ name: 'n', type: 'INT', default: 1.5 }])), 'BAD_USER_INPUT', 'input.parameters.0.default')
      expectError(await t.gql(CREATE_TPL, p([{ name: 'b', type: 'BOOL', default: 'yes' }])), 'BAD_USER_INPUT', 'input.parameters.0.default')
      expectError(await t.gql(CREATE_TPL, p([{ name: 's', type: 'STRING', default: { nested: true } }])), 'BAD_USER_INPUT', 'input.parameters.0.default')
      const unknownType = await t.gql(CREATE_TPL, p([{ name: 's', type: 'FLOAT' }]))
      expect(unknownType.errors?.[0]?.message).toMatch(/type/)
    })
    // An update with bad definitions leaves the template as it was.
    const { createJobTemplate: tpl } = await t.ok(CREATE_TPL, p([{ name: 'keep', type: 'STRING', default: 'x' }]))
    await unchanged(async () => {
      expectError(await t.gql(UPDATE_TPL, { id: tpl.id, i: { parameters: [{ name: 'x', type: 'SECRET', default: 's3cr3t' }] } }), 'BAD_USER_INPUT', 'input.parameters.0.default')
    })
    const after = await t.ok(`query($id: ID!) { jobTemplate(id: $id) { parameters { name default } } }`, { id: tpl.id })
    expect(after.jobTemplate.parameters).toEqual([{ name: 'keep', default: 'x' }])
    const raw = await t.app.db.pool.query(`SELECT parameters::text AS p FROM job_template WHERE name = 'params'`)
    expect(raw.rows[0].p).not.toContain('s3cr3t')
  })

  it('validates the target selector: malformed and unknown ids name the field', async () => {
    const base = { name: 'sel', jobType: 'command', config: { commands: ['x'] } }
    await unchanged(async () => {
      expectError(await t.gql(CREATE_TPL, { i: { ...base, targetSelector: { targetIds: ['garbage'] } } }), 'BAD_USER_INPUT', 'input.targetSelector.targetIds.0')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, targetSelector: { targetIds: [target, ghost('Credential')] } } }), 'BAD_USER_INPUT', 'input.targetSelector.targetIds.1')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, targetSelector: { targetIds: [target, ghost('Target')] } } }), 'BAD_USER_INPUT', 'input.targetSelector.targetIds.1')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, targetSelector: { inventoryIds: [target] } } }), 'BAD_USER_INPUT', 'input.targetSelector.inventoryIds.0')
      expectError(await t.gql(CREATE_TPL, { i: { ...base, targetSelector: { inventoryIds: [ghost('Inventory')] } } }), 'BAD_USER_INPUT', 'input.targetSelector.inventoryIds.0')
    })
  })

  it('names are unique per owner', async () => {
    await t.ok(CREATE_TPL, { i: { name: 'mine', jobType: 'noop', config: {} } })
    await unchanged(async () => {
      expectError(await t.gql(CREATE_TPL, { i: { name: 'mine', jobType: 'noop', config: {} } }), 'CONFLICT', 'input.name')
      expectError(await t.gql(CREATE_TPL, { i: { name: '  mine ', jobType: 'noop', config: {} } }), 'CONFLICT', 'input.name')
    })
    const { createJobTemplate: other } = await t.ok(CREATE_TPL, { i: { name: 'other', jobType: 'noop', config: {} } })
    expectError(await t.gql(UPDATE_TPL, { id: other.id, i: { name: 'mine' } }), 'CONFLICT', 'input.name')
    // Another user may use the same name.
    const operator = await t.userToken('OPERATOR')
    expect((await t.ok(CREATE_TPL, { i: { name: 'mine', jobType: 'noop', config: {} } }, operator)).createJobTemplate.name).toBe('mine')
  })

  it('malformed ids are field errors for every template operation', async () => {
    for (const [q, field] of [
      [`query { jobTemplate(id: "zzz") { id } }`, 'id'],
      [`mutation { updateJobTemplate(id: "zzz", input: { name: "x" }) { id } }`, 'id'],
      [`mutation { deleteJobTemplate(id: "zzz") }`, 'id'],
      [`mutation { triggerJobRun(templateId: "zzz") { id } }`, 'templateId'],
      [`mutation { cancelJobRun(id: "zzz") { id } }`, 'id'],
      [`mutation { retryJobRun(id: "zzz") { id } }`, 'id'],
      [`query { jobRun(id: "zzz") { id } }`, 'id'],
      [`query { jobRunLog(runId: "zzz") { lastSeq } }`, 'runId'],
    ] as const) {
      expectError(await t.gql(q), 'BAD_USER_INPUT', field)
    }
    expectError(await t.gql(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: ghost('JobTemplate') }), 'NOT_FOUND', 'templateId')
  })
})

describe('triggerJobRun', () => {
  let withParams: string
  let noTargets: string
  let withTargets: string
  let targetIds: string[]
  beforeAll(async () => {
    withParams = (
      await t.ok(CREATE_TPL, {
        i: {
          name: 'trigger-params',
          jobType: 'noop',
          config: {},
          parameters: [
            { name: 'host', type: 'STRING', required: true },
            { name: 'count', type: 'INT', default: 1 },
            { name: 'dryRun', type: 'BOOL' },
            { name: 'mode', type: 'CHOICE', choices: ['fast', 'slow'] },
          ],
        },
      })
    ).createJobTemplate.id
    noTargets = (await t.ok(CREATE_TPL, { i: { name: 'trigger-empty', jobType: 'command', config: { commands: ['true'] }, targetSelector: { tags: ['matches-nothing'] } } })).createJobTemplate.id
    targetIds = []
    for (const name of ['trig-b', 'trig-a']) targetIds.push((await t.ok(CREATE_TARGET, { i: { name, host: '127.0.0.1', port: 1, tags: ['trig'] } })).createTarget.id)
    withTargets = (
      await t.ok(CREATE_TPL, { i: { name: 'trigger-targets', jobType: 'command', config: { commands: ['true'], connectTimeoutSeconds: 1 }, targetSelector: { tags: ['trig'] } } })
    ).createJobTemplate.id
  })

  it('validates parameter values, naming parameters.<name>, and creates nothing on failure', async () => {
    await unchanged(async () => {
      expectError(await t.gql(TRIGGER, { id: withParams, p: {} }), 'BAD_USER_INPUT', 'parameters.host')
      expectError(await t.gql(TRIGGER, { id: withParams, p: { host: '' } }), 'BAD_USER_INPUT', 'parameters.host')
      expectError(await t.gql(TRIGGER, { id: withParams, p: { host: 'h', bogus: 1 } }), 'BAD_USER_INPUT', 'parameters.bogus')
      expectError(await t.gql(TRIGGER, { id: withParams, p: { host: 'h', count: 'many' } }), 'BAD_USER_INPUT', 'parameters.count')
      expectError(await t.gql(TRIGGER, { id: withParams, p: { host: 'h', count: 1.5 } }), 'BAD_USER_INPUT', 'parameters.count')
      expectError(await t.gql(TRIGGER, { id: withParams, p: { host: 'h', dryRun: 'maybe' } }), 'BAD_USER_INPUT', 'parameters.dryRun')
      expectError(await t.gql(TRIGGER, { id: withParams, p: { host: 'h', mode: 'medium' } }), 'BAD_USER_INPUT', 'parameters.mode')
      expectError(await t.gql(TRIGGER, { id: withParams, p: { host: 42 } }), 'BAD_USER_INPUT', 'parameters.host')
      expectError(await t.gql(TRIGGER, { id: withParams, p: ['h'] }), 'BAD_USER_INPUT', 'parameters')
      expectError(await t.gql(TRIGGER, { id: withParams, p: 'host=h' }), 'BAD_USER_INPUT', 'parameters')
      // Every problem is reported at once.
      const many = await t.gql(TRIGGER, { id: withParams, p: { count: 'x', extra: true } })
      expectError(many, 'BAD_USER_INPUT')
      expect(many.errors![0]!.extensions!.fields!.map((f) => f.field).sort()).toEqual(['parameters.count', 'parameters.extra', 'parameters.host'])
      // A non-target job type refuses target overrides.
      expectError(await t.gql(TRIGGER, { id: withParams, p: { host: 'h' }, targets: [targetIds[0]] }), 'BAD_USER_INPUT', 'targets')
    })
    // Valid values, with lenient coercion of strings typed in forms, and defaults filled in.
    const { triggerJobRun: run } = await t.ok(TRIGGER, { id: withParams, p: { host: 'h', count: '42', dryRun: 'TRUE', mode: 'slow' } })
    expect(run.parameters).toEqual({ host: 'h', count: 42, dryRun: true, mode: 'slow' })
    const { triggerJobRun: run2 } = await t.ok(TRIGGER, { id: withParams, p: { host: 'h' } })
    expect(run2.parameters).toEqual({ host: 'h', count: 1 })
  })

  it('refuses a template that selects no targets, and unknown override targets', async () => {
    await unchanged(async () => {
      expectError(await t.gql(TRIGGER, { id: noTargets }), 'BAD_USER_INPUT', 'targets')
      expectError(await t.gql(TRIGGER, { id: withTargets, targets: [targetIds[0], ghost('Target')] }), 'BAD_USER_INPUT', 'targets.1')
      expectError(await t.gql(TRIGGER, { id: withTargets, targets: ['junk'] }), 'BAD_USER_INPUT', 'targets.0')
    })
    // The selector resolves at trigger time; an override replaces it.
    const { triggerJobRun: all } = await t.ok(TRIGGER, { id: withTargets })
    expect(all.targets.map((x: { name: string }) => x.name)).toEqual(['trig-a', 'trig-b'])
    expect(all.status).toBe('QUEUED')
    const { triggerJobRun: one } = await t.ok(TRIGGER, { id: withTargets, targets: [targetIds[0]] })
    expect(one.targets).toEqual([{ name: 'trig-b', host: '127.0.0.1', port: 1 }])
    await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: all.id }).catch(() => {})
    await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: one.id }).catch(() => {})
  })
})

describe('input GraphQL itself rejects', () => {
  async function post(query: string, variables: Record<string, unknown>): Promise<{ status: number; body: GraphQLResponse }> {
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}` }, body: JSON.stringify({ query, variables }) })
    return { status: res.status, body: (await res.json()) as GraphQLResponse }
  }

  it('is a client error naming the variable path, never an internal error', async () => {
    await unchanged(async () => {
      const cases: Array<[string, Record<string, unknown>, RegExp]> = [
        [CREATE_TARGET, { i: { name: 'v', host: '10.0.0.1', port: 'twenty-two' } }, /"i\.port"/],
        [CREATE_TARGET, { i: { name: 'v', host: '10.0.0.1', port: 22.5 } }, /"i\.port"/],
        [CREATE_TARGET, { i: { name: 'v', host: '10.0.0.1', colour: 'red' } }, /colour/],
        [CREATE_TARGET, { i: { host: '10.0.0.1' } }, /name/],
        [CREATE_CRED, { i: { name: 'v', kind: 'TOKEN', username: 'u', password: 'p' } }, /"i\.kind"/],
        [CREATE_TPL, { i: { name: 'v', jobType: 'noop', config: {}, parameters: [{ name: 'x', type: 'FLOAT' }] } }, /"i\.parameters\[0\]\.type"/],
        [CREATE_TPL, { i: { name: 'v', jobType: 'noop', config: {}, retryBackoff: 'LINEAR' } }, /"i\.retryBackoff"/],
        [`query($f: JobRunFilter) { jobRuns(filter: $f) { totalCount } }`, { f: { createdAfter: 'yesterday' } }, /"f\.createdAfter"/],
      ]
      for (const [query, variables, message] of cases) {
        const { status, body } = await post(query, variables)
        const dump = JSON.stringify(body)
        expect(status, dump).toBeGreaterThanOrEqual(400)
        expect(status, dump).toBeLessThan(500)
        expect(body.errors?.[0]?.message, dump).toMatch(message)
        expect(body.errors?.[0]?.extensions?.code, dump).not.toBe('INTERNAL_SERVER_ERROR')
      }
    })
  })

  it('domain errors carry the GraphQL path of the failing field', async () => {
    const { body } = await post(CREATE_TARGET, { i: { name: 'v', host: '10.0.0.1', port: 0 } })
    expect(body.errors?.[0]).toMatchObject({ path: ['createTarget'], extensions: { code: 'BAD_USER_INPUT', field: 'input.port' } })
  })

  it('text Postgres cannot hold is a field error in searches, parameters and login too', async () => {
    expectError(await t.gql(`query($s: String) { targets(search: $s) { id } }`, { s: 'a\u0000' }), 'BAD_USER_INPUT', 'search')
    expectError(await t.gql(`query($s: [String!]) { targets(tags: $s) { id } }`, { s: ['ok', 'a\u0000'] }), 'BAD_USER_INPUT', 'tags.1')
    expectError(await t.gql(`query($s: String) { jobTemplates(search: $s) { id } }`, { s: '\u0000' }), 'BAD_USER_INPUT', 'search')
    const { createJobTemplate: tpl } = await t.ok(CREATE_TPL, { i: { name: 'nul-params', jobType: 'noop', config: {}, parameters: [{ name: 's', type: 'STRING' }] } })
    await unchanged(async () => {
      expectError(await t.gql(TRIGGER, { id: tpl.id, p: { s: 'a\u0000b' } }), 'BAD_USER_INPUT', 'parameters.s')
    })
    expectError(await t.gql(`mutation($u: String!) { login(username: $u, password: "whatever-1") { token } }`, { u: 'adm\u0000in' }, null), 'BAD_USER_INPUT', 'username')
  })
})
