/**
 * Inventory sources against a real Nautobot (test/harness/nautobot.ts; installed by
 * scripts/test-peers/nautobot.sh). The devices, locations, roles, platforms, tags and primary IPs are loaded
 * through Nautobot's own REST API; Switchyard reads them through Nautobot's GraphQL API.
 */
import { spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { startNautobot, type TestNautobot } from '../harness/nautobot.ts'
import { startSshd, unusedLoopbackPort, type TestSshd } from '../harness/sshd.ts'
import { fetchNautobotDevices } from '../../src/modules/inventory-sources/nautobot-client.ts'

let t: TestApp
let nb: TestNautobot
/** A global id (`InventorySource:<uuid>`, base64) to the row's UUID, for SQL. */
const decodeUuid = (id: string) => Buffer.from(id, 'base64').toString('utf8').split(':')[1]!
const api = runHelpers(() => t, { runFields: 'id status error result jobType templateName' })

/** Nautobot ids of what the tests load. */
const ids: Record<string, string> = {}
let tokenCredentialId = ''
let sshCredentialId = ''

const SOURCE_FIELDS = 'id name url kind syncMode maxDeleteFraction tlsVerify defaultPort extraTags targetCount lastSyncAt lastSyncResult filter { locations roles platforms statuses tags } tokenCredential { id name } defaultCredential { id name } customFieldMappings { customField attribute tagPrefix } syncBeforeRunMaxAgeSeconds syncBeforeRunRequired'
const CREATE = `mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { ${SOURCE_FIELDS} } }`
const UPDATE = `mutation($id: ID!, $i: UpdateInventorySourceInput!) { updateInventorySource(id: $id, input: $i) { ${SOURCE_FIELDS} } }`
const TEST = `mutation($id: ID!) { testInventorySource(id: $id) { ok message version deviceCount } }`
const PREVIEW = `mutation($id: ID!) { previewInventorySync(id: $id) {
  deviceCount changesNothing refusal unchanged
  create { name host port tags attributes }
  update { name target { id } changes { field old new } }
  remove { name host target { id } }
  skipped { name reason } } }`
const SYNC = `mutation($id: ID!, $force: Boolean) { syncInventorySource(id: $id, force: $force) { id } }`
const TARGETS = `{ targets { id name host port tags attributes credential { id } source { id name } } }`

type Target = { id: string; name: string; host: string; port: number; tags: string[]; attributes: Record<string, unknown>; credential: { id: string } | null; source: { id: string; name: string } | null }

async function targets(): Promise<Target[]> {
  return (await t.ok(TARGETS)).targets
}

async function sync(sourceId: string, force = false) {
  const id = (await t.ok(SYNC, { id: sourceId, force })).syncInventorySource.id
  const run = await api.waitFor(id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 120_000)
  return { run, log: (await api.logLines(id)).map((l) => l.text) }
}

/** The statements the app sends on checked-out clients (its transactions) until stop(). */
function watchTransactionStatements() {
  const texts: string[] = []
  let on = true
  const wrapped = new WeakSet<object>()
  const onAcquire = (client: { query: (...a: unknown[]) => unknown }) => {
    if (wrapped.has(client)) return
    wrapped.add(client)
    const original = client.query.bind(client)
    client.query = (...args: unknown[]) => {
      const first = args[0]
      if (on) texts.push(typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? ''))
      return original(...args)
    }
  }
  t.app.db.pool.on('acquire', onAcquire)
  return {
    texts,
    stop() {
      on = false
      t.app.db.pool.off('acquire', onAcquire)
    },
  }
}

async function createCredential(name: string, password: string, kind = 'PASSWORD'): Promise<string> {
  const input = kind === 'PASSWORD' ? { name, kind, username: 'api', password } : { name, kind, username: 'api', privateKey: password }
  return (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: input })).createCredential.id
}

async function createSource(input: Record<string, unknown>) {
  return (await t.ok(CREATE, { i: { kind: 'NAUTOBOT', url: nb.url, tokenCredentialId, defaultCredentialId: sshCredentialId, extraTags: ['nautobot'], ...input } })).createInventorySource
}

/** A device with an interface, an IP on it and that IP as its primary (how Nautobot models a primary IP). */
async function addDevice(name: string, o: { location: string; role: string; platform?: string; tags?: string[]; ip?: string }) {
  const device = await nb.rest('POST', '/api/dcim/devices/', {
    name,
    device_type: ids.deviceType,
    role: ids[`role:${o.role}`],
    location: ids[`location:${o.location}`],
    status: ids.active,
    ...(o.platform ? { platform: ids[`platform:${o.platform}`] } : {}),
    tags: (o.tags ?? []).map((tg) => ids[`tag:${tg}`]),
  })
  ids[`device:${name}`] = device.id
  if (o.ip) await setPrimaryIp(name, o.ip)
  return device
}

async function setPrimaryIp(device: string, address: string) {
  const iface = await nb.rest('POST', '/api/dcim/interfaces/', { device: ids[`device:${device}`], name: `mgmt-${address.replace(/[./]/g, '-')}`, type: 'virtual', status: ids.active })
  const ip = await nb.rest('POST', '/api/ipam/ip-addresses/', { address, status: ids.active, namespace: ids.namespace })
  await nb.rest('POST', '/api/ipam/ip-address-to-interface/', { ip_address: ip.id, interface: iface.id })
  await nb.rest('PATCH', `/api/dcim/devices/${ids[`device:${device}`]}/`, { primary_ip4: ip.id })
}

beforeAll(async () => {
  ;[nb, t] = await Promise.all([startNautobot(), startTestApp()])
  const statuses = await nb.rest('GET', '/api/extras/statuses/?name=Active')
  ids.active = statuses.results[0].id
  ids.namespace = (await nb.rest('GET', '/api/ipam/namespaces/?name=Global')).results[0].id
  const locationType = await nb.rest('POST', '/api/dcim/location-types/', { name: 'Site', content_types: ['dcim.device', 'ipam.prefix'] })
  for (const loc of ['site-a', 'site-b', 'site-empty']) ids[`location:${loc}`] = (await nb.rest('POST', '/api/dcim/locations/', { name: loc, location_type: locationType.id, status: ids.active })).id
  for (const role of ['core', 'edge']) ids[`role:${role}`] = (await nb.rest('POST', '/api/extras/roles/', { name: role, content_types: ['dcim.device'] })).id
  for (const p of ['ios', 'junos']) ids[`platform:${p}`] = (await nb.rest('POST', '/api/dcim/platforms/', { name: p })).id
  ids[`tag:managed`] = (await nb.rest('POST', '/api/extras/tags/', { name: 'managed', content_types: ['dcim.device'] })).id
  const manufacturer = await nb.rest('POST', '/api/dcim/manufacturers/', { name: 'Acme' })
  ids.deviceType = (await nb.rest('POST', '/api/dcim/device-types/', { manufacturer: manufacturer.id, model: 'Box 1' })).id
  await nb.rest('POST', '/api/ipam/prefixes/', { prefix: '10.9.0.0/24', status: ids.active, namespace: ids.namespace, type: 'network' })
  await addDevice('r1', { location: 'site-a', role: 'core', platform: 'ios', tags: ['managed'], ip: '10.9.0.1/24' })
  await addDevice('r2', { location: 'site-a', role: 'edge', platform: 'ios', ip: '10.9.0.2/24' })
  await addDevice('r3', { location: 'site-b', role: 'core', platform: 'junos', ip: '10.9.0.3/24' })
  await addDevice('r4-no-ip', { location: 'site-b', role: 'edge' })

  tokenCredentialId = await createCredential('nautobot-token', nb.token)
  sshCredentialId = await createCredential('device-login', 'ssh-password-1')
}, 300_000)

afterAll(async () => {
  await t?.stop()
  await nb?.stop()
})

describe('inventory sources (Nautobot)', () => {
  let sourceId = ''

  it('validates input, naming the field, and keeps the token write-only', async () => {
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', kind: 'NAUTOBOT', url: 'ftp://nautobot', tokenCredentialId } }), 'input.url')
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId, maxDeleteFraction: 2 } }), 'input.maxDeleteFraction')
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId, extraTags: ['has space'] } }), 'input.extraTags.0')
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId, defaultPort: 0 } }), 'input.defaultPort')
    const key = await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
      i: { name: 'a-key', kind: 'PRIVATE_KEY', username: 'u', privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) },
    })
    // The token is a PASSWORD credential's password; a key is refused, naming the field.
    expectFieldError(await t.gql(CREATE, { i: { name: 'x', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId: key.createCredential.id } }), 'input.tokenCredentialId')

    const viewer = await t.userToken('VIEWER')
    expect((await t.gql(CREATE, { i: { name: 'v', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId } }, viewer)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    // An operator may not name a credential they may not use (the admin's token).
    const operator = await t.userToken('OPERATOR')
    const refused = await t.gql(CREATE, { i: { name: 'o', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId } }, operator)
    expect(refused.errors?.[0]?.extensions, JSON.stringify(refused)).toMatchObject({ code: 'FORBIDDEN', field: 'input.tokenCredentialId' })

    const source = await createSource({ name: 'lab', syncMode: 'AUTHORITATIVE', maxDeleteFraction: 0.5 })
    sourceId = source.id
    expect(source).toMatchObject({ name: 'lab', kind: 'NAUTOBOT', syncMode: 'AUTHORITATIVE', tlsVerify: true, defaultPort: 22, targetCount: 0, tokenCredential: { name: 'nautobot-token' } })
    expect(JSON.stringify(source)).not.toContain(nb.token)
    // Update keeps what it was not given.
    const renamed = (await t.ok(UPDATE, { id: sourceId, i: { description: 'the lab' } })).updateInventorySource
    expect(renamed).toMatchObject({ syncMode: 'AUTHORITATIVE', maxDeleteFraction: 0.5, extraTags: ['nautobot'] })
    // Another operator cannot change or sync it.
    expect((await t.gql(SYNC, { id: sourceId }, operator)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
  })

  it('pages through Nautobot\'s GraphQL API with limit/offset and gets every device once', async () => {
    const conn = { url: nb.url, token: nb.token, tlsVerify: true, caCertificate: null }
    const whole = await fetchNautobotDevices(conn, {})
    const paged = await fetchNautobotDevices(conn, {}, 1)
    expect(whole.pages).toBe(1)
    expect(paged.pages).toBe(5) // 4 devices, one per page, then an empty page
    expect(paged.devices.map((d) => d.name).sort()).toEqual(whole.devices.map((d) => d.name).sort())
    expect(whole.devices.find((d) => d.name === 'r1')).toMatchObject({ primaryIp: '10.9.0.1', role: 'core', location: 'site-a', platform: 'ios', status: 'Active', tags: ['managed'] })
  })

  it('tests the connection and counts the devices', async () => {
    const r = (await t.ok(TEST, { id: sourceId })).testInventorySource
    expect(r, JSON.stringify(r)).toMatchObject({ ok: true, deviceCount: 4 })
    expect(r.message).toContain('4 devices')
  })

  it('dry run shows the diff, and the sync applies exactly it', async () => {
    const hand = (await t.ok(`mutation { createTarget(input: { name: "hand-1", host: "10.9.9.9", tags: ["nautobot"] }) { id } }`)).createTarget.id
    const p = (await t.ok(PREVIEW, { id: sourceId })).previewInventorySync
    expect(p.deviceCount).toBe(4)
    expect(p.create.map((c: { name: string }) => c.name).sort()).toEqual(['r1', 'r2', 'r3'])
    expect(p.create.find((c: { name: string }) => c.name === 'r1')).toEqual({
      name: 'r1',
      host: '10.9.0.1',
      port: 22,
      tags: ['location:site-a', 'managed', 'nautobot', 'platform:ios', 'role:core'],
      attributes: { nautobot_id: ids['device:r1'], platform: 'ios', role: 'core', location: 'site-a', status: 'Active' },
    })
    expect(p.skipped).toEqual([{ name: 'r4-no-ip', reason: 'the device has no primary IP address' }])
    expect(p).toMatchObject({ update: [], remove: [], unchanged: [], refusal: null, changesNothing: false })
    expect(await targets()).toHaveLength(1) // the dry run changed nothing

    const { run, log } = await sync(sourceId)
    expect(run, JSON.stringify({ run, log })).toMatchObject({ status: 'SUCCEEDED', jobType: 'inventory_sync', templateName: 'inventory sync: lab', result: { created: 3, updated: 0, removed: 0, unchanged: 0, skipped: 1, changed: true } })
    expect(log.join('\n')).not.toContain(nb.token)
    const after = await targets()
    expect(after.map((x) => x.name).sort()).toEqual(['hand-1', 'r1', 'r2', 'r3'])
    const r1 = after.find((x) => x.name === 'r1')!
    expect(r1).toMatchObject({ host: '10.9.0.1', port: 22, credential: { id: sshCredentialId }, source: { id: sourceId, name: 'lab' } })
    expect(after.find((x) => x.id === hand)!.source).toBeNull()
    const source = (await t.ok(`query($id: ID!) { inventorySource(id: $id) { targetCount lastSyncAt lastSyncResult } }`, { id: sourceId })).inventorySource
    expect(source).toMatchObject({ targetCount: 3, lastSyncResult: { created: 3, updated: 0, removed: 0, unchanged: 0, skipped: 1 } })
    expect(source.lastSyncAt).not.toBeNull()
  })

  it('a second sync changes nothing, and says so', async () => {
    const before = await targets()
    const p = (await t.ok(PREVIEW, { id: sourceId })).previewInventorySync
    expect(p).toMatchObject({ changesNothing: true, create: [], update: [], remove: [] })
    expect(p.unchanged.sort()).toEqual(['r1', 'r2', 'r3'])
    const { run, log } = await sync(sourceId)
    expect(run.result).toMatchObject({ created: 0, updated: 0, removed: 0, unchanged: 3, changed: false })
    expect(log.some((l) => /^nothing changed: 3 targets are up to date/.test(l)), log.join('\n')).toBe(true)
    expect(await targets()).toEqual(before)
  })

  it('a changed device is updated field by field', async () => {
    await nb.rest('PATCH', `/api/dcim/devices/${ids['device:r2']}/`, { role: ids['role:core'], platform: ids['platform:junos'] })
    const p = (await t.ok(PREVIEW, { id: sourceId })).previewInventorySync
    expect(p.update).toHaveLength(1)
    expect(p.update[0].name).toBe('r2')
    expect(p.update[0].changes).toEqual([
      { field: 'tags', old: ['location:site-a', 'nautobot', 'platform:ios', 'role:edge'], new: ['location:site-a', 'nautobot', 'platform:junos', 'role:core'] },
      { field: 'attributes.platform', old: 'ios', new: 'junos' },
      { field: 'attributes.role', old: 'edge', new: 'core' },
    ])
    const seen = watchTransactionStatements()
    const { run } = await sync(sourceId).finally(() => seen.stop())
    expect(run.result).toMatchObject({ created: 0, updated: 1, unchanged: 2 })
    expect((await targets()).find((x) => x.name === 'r2')).toMatchObject({ attributes: { role: 'core', platform: 'junos' } })
    // Changed targets are written in one statement per chunk, with no read of each one first: the plan's
    // read of the source's targets and that UPDATE are all the sync sends about targets (was 1 + 2 per device).
    const aboutTargets = seen.texts.filter((q) => /"public"\."target"|^\s*(UPDATE|INSERT INTO|DELETE FROM) target\b/.test(q))
    expect(aboutTargets, aboutTargets.join('\n---\n')).toHaveLength(2)
    expect(aboutTargets.filter((q) => /^\s*UPDATE target\b/.test(q))).toHaveLength(1)
  })

  it('a moved device forgets its trusted host key and keeps attributes set by hand; an unmoved one keeps both', async () => {
    // As if both had been reached once (trust on first use) and an operator had noted a rack on each.
    await t.app.db.pool.query(
      `UPDATE target SET host_key_fingerprint = 'SHA256:old-' || name, host_key_algorithm = 'ssh-ed25519', attributes = attributes || jsonb_build_object('rack', 'B-' || name) WHERE name IN ('r1', 'r2')`,
    )
    await setPrimaryIp('r2', '10.9.0.22/24')
    const { run } = await sync(sourceId)
    expect(run.result).toMatchObject({ updated: 1 })
    const { rows } = await t.app.db.pool.query(`SELECT name, host, host_key_fingerprint AS fp, host_key_algorithm AS alg, attributes FROM target WHERE name IN ('r1', 'r2') ORDER BY name`)
    expect(rows).toEqual([
      { name: 'r1', host: '10.9.0.1', fp: 'SHA256:old-r1', alg: 'ssh-ed25519', attributes: expect.objectContaining({ rack: 'B-r1', role: 'core' }) },
      { name: 'r2', host: '10.9.0.22', fp: null, alg: null, attributes: expect.objectContaining({ rack: 'B-r2', role: 'core', platform: 'junos' }) },
    ])
  })

  it('a device removed from Nautobot: the authoritative sync removes only its own target', async () => {
    await nb.rest('DELETE', `/api/dcim/devices/${ids['device:r3']}/`)
    const p = (await t.ok(PREVIEW, { id: sourceId })).previewInventorySync
    expect(p.remove.map((r: { name: string }) => r.name)).toEqual(['r3'])
    expect(p.refusal).toBeNull() // 1 of 3 is within the 50% allowed
    const { run } = await sync(sourceId)
    expect(run.result).toMatchObject({ removed: 1, unchanged: 2 })
    // hand-1 carries the same tag as the source's targets but was made by hand: it stays.
    expect((await targets()).map((x) => x.name).sort()).toEqual(['hand-1', 'r1', 'r2'])
  })

  it('the safety valve refuses a large deletion or an empty source unless forced', async () => {
    // Only site-b now: r1 and r2 would go (2 of 2 = 100% > 50%).
    await t.ok(UPDATE, { id: sourceId, i: { filter: { locations: ['site-b'] } } })
    const p = (await t.ok(PREVIEW, { id: sourceId })).previewInventorySync
    expect(p.refusal).toContain('would remove 2 of the source\'s 2 targets')
    const refused = await sync(sourceId)
    expect(refused.run.status).toBe('FAILED')
    expect(refused.run.error).toContain('refused')
    expect((await targets()).map((x) => x.name).sort()).toEqual(['hand-1', 'r1', 'r2'])

    // A location without devices: the source returns none.
    await t.ok(UPDATE, { id: sourceId, i: { filter: { locations: ['site-empty'] } } })
    const empty = await sync(sourceId)
    expect(empty.run.status).toBe('FAILED')
    expect(empty.run.error).toContain('the source returned no devices')
    expect((await targets()).map((x) => x.name).sort()).toEqual(['hand-1', 'r1', 'r2'])

    const forced = await sync(sourceId, true)
    expect(forced.run, JSON.stringify(forced)).toMatchObject({ status: 'SUCCEEDED', result: { removed: 2 } })
    expect((await targets()).map((x) => x.name)).toEqual(['hand-1'])
    await t.ok(UPDATE, { id: sourceId, i: { filter: { locations: [] } } })
  })

  let filtered = ''
  it('filters by location and role (and tag, platform)', async () => {
    const s = await createSource({ name: 'site-a-core', filter: { locations: ['site-a'], roles: ['core'] } })
    filtered = s.id
    expect(s.filter).toEqual({ locations: ['site-a'], roles: ['core'], platforms: [], statuses: [], tags: [] })
    const p = (await t.ok(PREVIEW, { id: s.id })).previewInventorySync
    // r2 became core in site-a above; r1 is core in site-a; r3 is gone and r4-no-ip is in site-b.
    expect(p.deviceCount).toBe(2)
    expect(p.create.map((c: { name: string }) => c.name).sort()).toEqual(['r1', 'r2'])
    const tagged = await createSource({ name: 'managed-only', filter: { tags: ['managed'], platforms: ['ios'] } })
    expect((await t.ok(PREVIEW, { id: tagged.id })).previewInventorySync.create.map((c: { name: string }) => c.name)).toEqual(['r1'])
    const { run } = await sync(s.id)
    expect(run.result).toMatchObject({ deviceCount: 2, created: 2 })
  })

  it('a wrong token: the test says so, the run fails with a clear error and nothing changes', async () => {
    const bad = await createCredential('wrong-token', '0123456789abcdef0123456789abcdef01234567')
    // Authoritative and forced: only the error handling stands between a failed fetch and removing r1 and r2.
    await t.ok(UPDATE, { id: filtered, i: { tokenCredentialId: bad, syncMode: 'AUTHORITATIVE' } })
    const before = await targets()
    expect(before.filter((x) => x.source?.id === filtered).map((x) => x.name).sort()).toEqual(['r1', 'r2'])
    const test = (await t.ok(TEST, { id: filtered })).testInventorySource
    expect(test.ok).toBe(false)
    expect(test.message).toMatch(/rejected the API token \(HTTP 403/)
    const preview = await t.gql(PREVIEW, { id: filtered })
    expect(preview.errors?.[0]?.extensions?.code, JSON.stringify(preview)).toBe('SOURCE_UNAVAILABLE')
    const { run, log } = await sync(filtered, true)
    expect(run.status).toBe('FAILED')
    expect(run.error).toMatch(/rejected the API token/)
    expect(log.join('\n')).not.toContain('0123456789abcdef0123456789abcdef01234567')
    expect(await targets()).toEqual(before)
  })

  it('a source that is down: the run fails with a clear error and nothing changes', async () => {
    const port = await unusedLoopbackPort()
    await t.ok(UPDATE, { id: filtered, i: { tokenCredentialId, url: `http://127.0.0.1:${port}` } })
    const before = await targets()
    expect((await t.ok(TEST, { id: filtered })).testInventorySource).toMatchObject({ ok: false, message: expect.stringContaining('cannot reach Nautobot') })
    const { run } = await sync(filtered, true)
    expect(run.status).toBe('FAILED')
    expect(run.error).toMatch(/cannot reach Nautobot at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
    expect(await targets()).toEqual(before)
  })

  it('audits each target the syncs changed, as the run', async () => {
    const events = (await t.ok(`{ auditEvents(first: 100, filter: { actions: ["target."] }) { edges { node { action actorName entityName } } } }`)).auditEvents.edges.map((e: { node: { action: string; actorName: string; entityName: string } }) => e.node)
    const bySync = events.filter((e: { actorName: string }) => /inventory sync: lab\)$/.test(e.actorName))
    expect(bySync.filter((e: { action: string }) => e.action === 'target.create').map((e: { entityName: string }) => e.entityName).sort()).toEqual(['r1', 'r2', 'r3'])
    expect(bySync.filter((e: { action: string }) => e.action === 'target.delete').map((e: { entityName: string }) => e.entityName).sort()).toEqual(['r1', 'r2', 'r3'])
  })

  it('a credential used as a source token cannot be deleted', async () => {
    const r = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: tokenCredentialId })
    expect(r.errors?.[0]?.extensions?.code, JSON.stringify(r)).toBe('INVALID_STATE')
    expect(r.errors?.[0]?.message).toContain('inventory source')
  })
})

describe('custom-field mapping (custom fields made through Nautobot\'s REST API)', () => {
  let cfSource = ''

  beforeAll(async () => {
    const locationType = (await nb.rest('GET', '/api/dcim/location-types/?name=Site')).results[0].id
    ids['location:site-cf'] = (await nb.rest('POST', '/api/dcim/locations/', { name: 'site-cf', location_type: locationType, status: ids.active })).id
    await nb.rest('POST', '/api/extras/custom-fields/', { label: 'Site code', key: 'site_code', type: 'text', content_types: ['dcim.device'] })
    await nb.rest('POST', '/api/extras/custom-fields/', { label: 'Rack units', key: 'rack_units', type: 'integer', content_types: ['dcim.device'] })
    const services = await nb.rest('POST', '/api/extras/custom-fields/', { label: 'Services', key: 'services', type: 'multi-select', content_types: ['dcim.device'] })
    for (const [i, value] of ['ssh', 'snmp', 'netconf'].entries()) await nb.rest('POST', '/api/extras/custom-field-choices/', { custom_field: services.id, value, weight: 100 + i })
    await nb.rest('POST', '/api/ipam/prefixes/', { prefix: '10.10.0.0/24', status: ids.active, namespace: ids.namespace, type: 'network' })
    await addDevice('cf1', { location: 'site-cf', role: 'core', platform: 'ios', ip: '10.10.0.1/24' })
    await addDevice('cf2', { location: 'site-cf', role: 'edge', ip: '10.10.0.2/24' })
    await nb.rest('PATCH', `/api/dcim/devices/${ids['device:cf1']}/`, { custom_fields: { site_code: 'AMS-1', rack_units: 2, services: ['ssh', 'snmp'] } })
  }, 120_000)

  it('validates mappings at save, naming the field', async () => {
    const base = { name: 'cf-bad', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId }
    expectFieldError(await t.gql(CREATE, { i: { ...base, customFieldMappings: [{ customField: 'site code', attribute: 'site_code' }] } }), 'input.customFieldMappings.0.customField')
    expectFieldError(await t.gql(CREATE, { i: { ...base, customFieldMappings: [{ customField: 'site_code', attribute: 'platform' }] } }), 'input.customFieldMappings.0.attribute')
    expectFieldError(await t.gql(CREATE, { i: { ...base, customFieldMappings: [{ customField: 'site_code', attribute: '1x' }] } }), 'input.customFieldMappings.0.attribute')
    expectFieldError(await t.gql(CREATE, { i: { ...base, customFieldMappings: [{ customField: 'site_code' }] } }), 'input.customFieldMappings.0.attribute')
    expectFieldError(await t.gql(CREATE, { i: { ...base, customFieldMappings: [{ customField: 'site_code', tagPrefix: 'has space' }] } }), 'input.customFieldMappings.0.tagPrefix')
    expectFieldError(
      await t.gql(CREATE, { i: { ...base, customFieldMappings: [{ customField: 'site_code', attribute: 'site' }, { customField: 'rack_units', attribute: 'site' }] } }),
      'input.customFieldMappings.1.attribute',
    )
    expectFieldError(await t.gql(CREATE, { i: { ...base, syncBeforeRunMaxAgeSeconds: 1 } }), 'input.syncBeforeRunMaxAgeSeconds')
    expect((await t.ok(`{ inventorySources { name } }`)).inventorySources.map((x: { name: string }) => x.name)).not.toContain('cf-bad')
  })

  it('maps custom fields into attributes and tags: shown by the dry run, applied by the sync', async () => {
    const source = await createSource({
      name: 'cf',
      filter: { locations: ['site-cf'] },
      customFieldMappings: [
        { customField: 'site_code', attribute: 'site_code', tagPrefix: 'site' },
        { customField: 'rack_units', attribute: 'rack_units' },
        { customField: 'services', tagPrefix: 'svc' },
      ],
    })
    cfSource = source.id
    expect(source.customFieldMappings).toEqual([
      { customField: 'site_code', attribute: 'site_code', tagPrefix: 'site' },
      { customField: 'rack_units', attribute: 'rack_units', tagPrefix: null },
      { customField: 'services', attribute: null, tagPrefix: 'svc' },
    ])
    const p = (await t.ok(PREVIEW, { id: cfSource })).previewInventorySync
    const cf1 = p.create.find((c: { name: string }) => c.name === 'cf1')
    expect(cf1.attributes).toMatchObject({ site_code: 'AMS-1', rack_units: 2, platform: 'ios' })
    expect(cf1.tags).toEqual(expect.arrayContaining(['site:AMS-1', 'svc:ssh', 'svc:snmp', 'role:core']))
    // Unset custom fields: a null attribute, no tag.
    const cf2 = p.create.find((c: { name: string }) => c.name === 'cf2')
    expect(cf2.attributes).toMatchObject({ site_code: null, rack_units: null })
    expect(cf2.tags.filter((tg: string) => /^(site|svc):/.test(tg))).toEqual([])
    const { run } = await sync(cfSource)
    expect(run.result).toMatchObject({ created: 2 })
    const made = (await targets()).find((x) => x.name === 'cf1')!
    expect(made.attributes).toMatchObject({ site_code: 'AMS-1', rack_units: 2 })
    expect(made.tags).toEqual(expect.arrayContaining(['site:AMS-1', 'svc:snmp', 'svc:ssh']))
    expect((await t.ok(PREVIEW, { id: cfSource })).previewInventorySync.changesNothing).toBe(true)
  })

  it('a changed custom field is a field change in the dry run, then updated', async () => {
    await nb.rest('PATCH', `/api/dcim/devices/${ids['device:cf1']}/`, { custom_fields: { site_code: 'FRA-2', services: ['netconf'] } })
    const p = (await t.ok(PREVIEW, { id: cfSource })).previewInventorySync
    expect(p.update).toHaveLength(1)
    const changes = Object.fromEntries(p.update[0].changes.map((c: { field: string; old: unknown; new: unknown }) => [c.field, c]))
    expect(changes['attributes.site_code']).toEqual({ field: 'attributes.site_code', old: 'AMS-1', new: 'FRA-2' })
    expect(changes.tags.old).toEqual(expect.arrayContaining(['site:AMS-1', 'svc:ssh']))
    expect(changes.tags.new).toEqual(expect.arrayContaining(['site:FRA-2', 'svc:netconf']))
    expect(changes.tags.new).not.toContain('svc:ssh')
    expect(Object.keys(changes).sort()).toEqual(['attributes.site_code', 'tags'])
    const { run } = await sync(cfSource)
    expect(run.result).toMatchObject({ updated: 1, unchanged: 1 })
    expect((await targets()).find((x) => x.name === 'cf1')!.attributes).toMatchObject({ site_code: 'FRA-2' })
  })

  it('the connection test names mapped custom fields Nautobot does not have', async () => {
    expect((await t.ok(TEST, { id: cfSource })).testInventorySource.message).toBe('connected to Nautobot 3.2.7: the filter selects 2 devices')
    await t.ok(UPDATE, { id: cfSource, i: { customFieldMappings: [{ customField: 'site_code', attribute: 'site_code' }, { customField: 'no_such_field', tagPrefix: 'x' }] } })
    const r = (await t.ok(TEST, { id: cfSource })).testInventorySource
    expect(r).toMatchObject({ ok: true, message: 'connected to Nautobot 3.2.7: the filter selects 2 devices; Nautobot has no device custom field "no_such_field" (the mapping sets nothing from it)' })
  })

  it('an update keeps the mappings when not given, and replaces them when given', async () => {
    const kept = (await t.ok(UPDATE, { id: cfSource, i: { description: 'x' } })).updateInventorySource
    expect(kept.customFieldMappings).toHaveLength(2)
    const replaced = (await t.ok(UPDATE, { id: cfSource, i: { customFieldMappings: [{ customField: 'site_code', attribute: 'site_code' }] } })).updateInventorySource
    expect(replaced.customFieldMappings).toEqual([{ customField: 'site_code', attribute: 'site_code', tagPrefix: null }])
  })
})

describe('sync before a run when the source is older than its TTL', () => {
  let sshd: TestSshd
  let ttlSource = ''
  let template = ''
  const RUN_FIELDS = 'id status error targets { name host status }'

  async function runAndWait(templateId: string) {
    const id = await api.trigger(templateId)
    await api.waitFor(id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 120_000)
    const run = (await t.ok(`query($id: ID!) { jobRun(id: $id) { ${RUN_FIELDS} } }`, { id })).jobRun
    return { run, log: await api.logLines(id) }
  }
  const backdate = (id: string) => t.app.db.pool.query(`UPDATE inventory_source SET last_sync_at = now() - interval '1 hour' WHERE id = $1`, [decodeUuid(id)])

  beforeAll(async () => {
    sshd = await startSshd({ hosts: ['127.0.0.2', '127.0.0.4', '127.0.0.5', '127.0.0.6'] }) // 127.0.0.3 refuses
    const locationType = (await nb.rest('GET', '/api/dcim/location-types/?name=Site')).results[0].id
    ids['location:site-ttl'] = (await nb.rest('POST', '/api/dcim/locations/', { name: 'site-ttl', location_type: locationType, status: ids.active })).id
    await nb.rest('POST', '/api/ipam/prefixes/', { prefix: '127.0.0.0/8', status: ids.active, namespace: ids.namespace, type: 'network' })
    await addDevice('ttl1', { location: 'site-ttl', role: 'core', ip: '127.0.0.3/8' })
    const login = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'ttl-login', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
    const source = await createSource({ name: 'ttl', filter: { locations: ['site-ttl'] }, defaultPort: sshd.port, defaultCredentialId: login, syncBeforeRunMaxAgeSeconds: 600 })
    ttlSource = source.id
    expect(source).toMatchObject({ syncBeforeRunMaxAgeSeconds: 600, syncBeforeRunRequired: false })
    expect((await sync(ttlSource)).run.status).toBe('SUCCEEDED')
    template = await api.createTemplate({ name: 'on-ttl-targets', jobType: 'command', config: { commands: ['echo ran on {{ target.name }}'] }, targetSelector: { tags: ['location:site-ttl'] } })
  }, 120_000)

  afterAll(async () => {
    await sshd?.stop()
  })

  it('a fresh source is not synced again', async () => {
    // The device moved, but the inventory is younger than the TTL: the run uses what it has (and fails to connect).
    await setPrimaryIp('ttl1', '127.0.0.2/8')
    const { run, log } = await runAndWait(template)
    expect(run.targets).toEqual([{ name: 'ttl1', host: '127.0.0.3', status: 'FAILED' }])
    expect(log.map((l) => l.text).join('\n')).not.toContain('syncing it before the run')
  })

  it('a stale source is synced first, and the run uses the synced address', async () => {
    await backdate(ttlSource)
    const { run, log } = await runAndWait(template)
    const text = log.map((l) => l.text)
    expect(run.status, text.join('\n')).toBe('SUCCEEDED')
    expect(text).toContainEqual(expect.stringMatching(/^inventory source "ttl" was last synced 60 min ago, more than its 600 s limit: syncing it before the run$/))
    expect(text).toContain('sync applied: 0 created, 1 updated, 0 removed, 0 unchanged, 0 skipped')
    expect(text).toContainEqual(expect.stringContaining('ran on ttl1'))
    expect((await targets()).find((x) => x.name === 'ttl1')!.host).toBe('127.0.0.2')
    const s = (await t.ok(`query($id: ID!) { inventorySource(id: $id) { lastSyncAt lastSyncRun { id } } }`, { id: ttlSource })).inventorySource
    expect(s.lastSyncRun.id).toBe(run.id)
  })

  it('concurrent runs of a stale source: one syncs, the others reuse it', async () => {
    await backdate(ttlSource)
    const ids = await Promise.all([api.trigger(template), api.trigger(template), api.trigger(template)])
    const logs = await Promise.all(ids.map(async (id) => {
      await api.waitFor(id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 120_000)
      return (await api.logLines(id)).map((l) => l.text)
    }))
    const syncs = logs.flat().filter((l) => l.endsWith('syncing it before the run'))
    expect(syncs, logs.map((l) => l.join('\n')).join('\n---\n')).toHaveLength(1)
    expect(logs.flat().filter((l) => l.startsWith('nothing changed: 1 target is up to date'))).toHaveLength(1)
  })

  it('a run waiting for another process\'s sync of the source reuses it instead of syncing again', async () => {
    await backdate(ttlSource)
    // Another process holds the source's sync lock (as a worker elsewhere would during its sync).
    const holder = await t.app.db.pool.connect()
    const key = `switchyard:inventory-source-sync:${decodeUuid(ttlSource)}`
    try {
      await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key])
      const waiting = await Promise.all([api.trigger(template), api.trigger(template)])
      for (const id of waiting) {
        await eventually(async () => (await api.logLines(id)).some((l) => l.text === 'waiting for another run\'s sync of inventory source "ttl"'), { what: `run ${id} waiting for the lock` })
      }
      // …which finishes its sync; then it lets go.
      await t.app.db.pool.query(`UPDATE inventory_source SET last_sync_at = now() WHERE id = $1`, [decodeUuid(ttlSource)])
      await holder.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key])
      for (const id of waiting) {
        const run = await api.waitFor(id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 120_000)
        const text = (await api.logLines(id)).map((l) => l.text)
        expect(run.status, text.join('\n')).toBe('SUCCEEDED')
        expect(text).toContainEqual(expect.stringMatching(/^inventory source "ttl" was synced \d+ s ago while this run waited for that sync; using it$/))
        expect(text.join('\n')).not.toContain('syncing it before the run')
      }
    } finally {
      holder.release()
    }
  })

  it('the holder of the source\'s sync lock is SIGKILLed: Postgres ends its session and lock, and the waiting run syncs and ends SUCCEEDED', async () => {
    // Nautobot has the device at 127.0.0.2 (where sshd listens, set by the tests above); Switchyard's stale
    // copy says 127.0.0.3.
    await t.app.db.pool.query(`UPDATE target SET host = '127.0.0.3' WHERE name = 'ttl1'`)
    await backdate(ttlSource)
    // Another OS process takes the source's sync lock (as a worker elsewhere does for its sync) and then dies
    // without letting go: no unlock, no sync, only the end of its session.
    const key = `switchyard:inventory-source-sync:${decodeUuid(ttlSource)}`
    const holder = spawn(process.execPath, ['-e', `
      const pg = require('pg')
      const c = new pg.Client({ connectionString: process.argv[1] })
      c.connect().then(() => c.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [process.argv[2]])).then(() => process.stdout.write('locked\\n'))
      setInterval(() => {}, 1 << 30)
    `, t.db.url, key], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => holder.once('exit', resolve))
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (b: Buffer) => b.toString().includes('locked') && resolve())
        holder.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before locking`)))
      })
      const id = await api.trigger(template)
      await eventually(async () => (await api.logLines(id)).some((l) => l.text === 'waiting for another run\'s sync of inventory source "ttl"'), { what: 'the run to wait for the lock' })
      holder.kill('SIGKILL')
      await exited
      const run = await api.waitFor(id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 120_000)
      const text = (await api.logLines(id)).map((l) => l.text)
      expect(run.status, text.join('\n')).toBe('SUCCEEDED')
      // The dead holder never synced: the waiting run found the source still stale and synced it itself.
      expect(text).toContainEqual(expect.stringMatching(/^inventory source "ttl" was last synced 60 min ago, more than its 600 s limit: syncing it before the run$/))
      expect(text).toContain('sync applied: 0 created, 1 updated, 0 removed, 0 unchanged, 0 skipped')
      expect((await targets()).find((x) => x.name === 'ttl1')!.host).toBe('127.0.0.2')
    } finally {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL')
      await exited
    }
  })

  it('a device the sync before a run finds new joins that run when its selector matches it; a run given its targets keeps to them', async () => {
    await addDevice('ttl2', { location: 'site-ttl', role: 'edge', ip: '127.0.0.4/8' })
    await backdate(ttlSource)
    const id = await api.trigger(template)
    // Triggered with the one target the source had.
    expect((await t.ok(`query($id: ID!) { jobRun(id: $id) { targets { name } } }`, { id })).jobRun.targets).toEqual([{ name: 'ttl1' }])
    await api.waitFor(id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 120_000)
    const run = (await t.ok(`query($id: ID!) { jobRun(id: $id) { status progress { total done failed } targets { name host status } } }`, { id })).jobRun
    const text = (await api.logLines(id)).map((l) => l.text)
    expect(run.status, text.join('\n')).toBe('SUCCEEDED')
    expect(run.targets).toEqual([
      { name: 'ttl1', host: '127.0.0.2', status: 'SUCCEEDED' },
      { name: 'ttl2', host: '127.0.0.4', status: 'SUCCEEDED' },
    ])
    expect(run.progress).toEqual({ total: 2, done: 2, failed: 0 })
    expect(text).toContain('sync applied: 1 created, 0 updated, 0 removed, 1 unchanged, 0 skipped')
    expect(text).toContain('1 target new from the sync joins this run (its selector matches): ttl2')
    expect(text).toContainEqual(expect.stringContaining('ran on ttl2'))

    // A run given its targets keeps to them when the sync finds a new device: a retry (the first run's targets)…
    const finish = async (runId: string) => {
      await api.waitFor(runId, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 120_000)
      const r = (await t.ok(`query($id: ID!) { jobRun(id: $id) { status targets { name } } }`, { id: runId })).jobRun
      return { status: r.status, targets: r.targets.map((x: { name: string }) => x.name), log: (await api.logLines(runId)).map((l) => l.text) }
    }
    await addDevice('ttl3', { location: 'site-ttl', role: 'edge', ip: '127.0.0.5/8' })
    await backdate(ttlSource)
    const retried = await finish((await t.ok(`mutation($id: ID!) { retryJobRun(id: $id) { id } }`, { id })).retryJobRun.id)
    expect(retried.status, retried.log.join('\n')).toBe('SUCCEEDED')
    expect(retried.targets).toEqual(['ttl1', 'ttl2'])
    expect(retried.log).toContain('sync applied: 1 created, 0 updated, 0 removed, 2 unchanged, 0 skipped')
    expect(retried.log.join('\n')).not.toContain('joins this run')
    // …and a trigger with explicit targets.
    await addDevice('ttl4', { location: 'site-ttl', role: 'edge', ip: '127.0.0.6/8' })
    await backdate(ttlSource)
    const ttl1 = (await targets()).find((x) => x.name === 'ttl1')!.id
    const explicit = await finish((await t.ok(`mutation($id: ID!, $t: [ID!]) { triggerJobRun(templateId: $id, targets: $t) { id } }`, { id: template, t: [ttl1] })).triggerJobRun.id)
    expect(explicit.status, explicit.log.join('\n')).toBe('SUCCEEDED')
    expect(explicit.targets).toEqual(['ttl1'])
    expect(explicit.log).toContain('sync applied: 1 created, 0 updated, 0 removed, 3 unchanged, 0 skipped')
    expect(explicit.log.join('\n')).not.toContain('joins this run')
  })

  it('a failing sync: the run goes on with the last-known targets and a WARNING, or fails when the source requires it', async () => {
    const port = await unusedLoopbackPort()
    await t.ok(UPDATE, { id: ttlSource, i: { url: `http://127.0.0.1:${port}` } })
    await backdate(ttlSource)
    const { run, log } = await runAndWait(template)
    expect(run.status).toBe('SUCCEEDED')
    const warning = log.find((l) => l.level === 'WARNING')
    expect(warning?.text).toMatch(/^the sync of inventory source "ttl" before the run failed: cannot reach Nautobot at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); the run goes on with its targets as last synced 60 min ago \(/)

    await t.ok(UPDATE, { id: ttlSource, i: { syncBeforeRunRequired: true } })
    const failed = await runAndWait(template)
    expect(failed.run.status).toBe('FAILED')
    expect(failed.run.error).toMatch(/^not started: the sync of inventory source "ttl" before the run failed: cannot reach Nautobot/)
    expect(failed.run.targets.map((x: { status: string }) => x.status)).not.toContain('SUCCEEDED')

    // Off: null turns it off, and the run does not try.
    const off = (await t.ok(UPDATE, { id: ttlSource, i: { syncBeforeRunMaxAgeSeconds: null } })).updateInventorySource
    expect(off).toMatchObject({ syncBeforeRunMaxAgeSeconds: null, syncBeforeRunRequired: true })
    const plain = await runAndWait(template)
    expect(plain.run.status).toBe('SUCCEEDED')
    expect(plain.log.map((l) => l.text).join('\n')).not.toContain('before the run')
  })
})
