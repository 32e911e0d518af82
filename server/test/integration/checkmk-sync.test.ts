/**
 * compare_devices and sync_devices through the real thing: devices loaded into a real Nautobot (harness
 * nautobot.ts, through its REST API), hosts in the Checkmk contract server (harness checkmk.ts: the 2.4.0
 * REST semantics on loopback), templates and runs through the GraphQL API, executed by the app's worker.
 */
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { startCheckmk, type TestCheckmk } from '../harness/checkmk.ts'
import { startNautobot, type TestNautobot } from '../harness/nautobot.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'

let t: TestApp
let nb: TestNautobot
let cmk: TestCheckmk
const api = runHelpers(() => t, { runFields: 'id status error result jobType templateName', defaultTimeoutMs: 90_000 })
const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']
const ids: Record<string, string> = {}
let sourceId = ''
let cmkCredentialId = ''
let tokenId = ''

const RESULTS = `query($id: ID!, $statuses: [DeviceComparisonStatus!], $actions: [DeviceSyncAction!], $search: String) { jobRun(id: $id) {
  deviceResults(statuses: $statuses, actions: $actions, search: $search, first: 1000) {
    totalCount
    counts { total equal different missingInCheckmk extraInCheckmk skipped created updated unchanged removed failed actionSkipped }
    devices { device status action folder error diffs { field expected actual } } } } }`

async function createCredential(name: string, username: string, password: string): Promise<string> {
  return (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name, kind: 'PASSWORD', username, password } })).createCredential.id
}

async function addDevice(name: string, o: { location: string; role: string; ip?: string }) {
  const device = await nb.rest('POST', '/api/dcim/devices/', { name, device_type: ids.deviceType, role: ids[`role:${o.role}`], location: ids[`location:${o.location}`], status: ids.active })
  ids[`device:${name}`] = device.id
  if (o.ip) await setPrimaryIp(name, o.ip)
}

async function setPrimaryIp(device: string, address: string) {
  const iface = await nb.rest('POST', '/api/dcim/interfaces/', { device: ids[`device:${device}`], name: `mgmt-${address.replace(/[./]/g, '-')}`, type: 'virtual', status: ids.active })
  const ip = await nb.rest('POST', '/api/ipam/ip-addresses/', { address, status: ids.active, namespace: ids.namespace })
  await nb.rest('POST', '/api/ipam/ip-address-to-interface/', { ip_address: ip.id, interface: iface.id })
  await nb.rest('PATCH', `/api/dcim/devices/${ids[`device:${device}`]}/`, { primary_ip4: ip.id })
}

function config(extra: Record<string, unknown> = {}) {
  return {
    sourceId,
    checkmk: { url: cmk.url, credentialId: cmkCredentialId },
    folderTemplate: '/network/{{ location }}/{{ role }}',
    site: cmk.site,
    labels: { 'nautobot/role': '{{ role }}', 'nautobot/location': '{{ location }}' },
    tagGroups: { tag_criticality: 'prod', tag_location: '{{ location }}' },
    ...extra,
  }
}

async function run(jobType: string, extra: Record<string, unknown> = {}) {
  const tpl = await api.createTemplate({ name: `${jobType}-${Math.random().toString(36).slice(2, 8)}`, jobType, config: config(extra) })
  const id = await api.trigger(tpl)
  const r = await api.waitFor(id, FINAL)
  return { ...r, log: (await api.logLines(id)).map((l) => l.text) }
}

async function results(id: string, filter: Record<string, unknown> = {}) {
  return (await t.ok(RESULTS, { id, ...filter })).jobRun.deviceResults
}

const mutations = () => cmk.requests.filter((r) => r.method !== 'GET').length

beforeAll(async () => {
  ;[nb, t, cmk] = await Promise.all([startNautobot(), startTestApp(), startCheckmk({ activationMs: 600, tagGroups: { tag_location: ['site-a', 'site-b'] } })])
  ids.active = (await nb.rest('GET', '/api/extras/statuses/?name=Active')).results[0].id
  ids.namespace = (await nb.rest('GET', '/api/ipam/namespaces/?name=Global')).results[0].id
  const locationType = await nb.rest('POST', '/api/dcim/location-types/', { name: 'Site', content_types: ['dcim.device', 'ipam.prefix'] })
  for (const loc of ['site-a', 'site-b', 'site-empty']) ids[`location:${loc}`] = (await nb.rest('POST', '/api/dcim/locations/', { name: loc, location_type: locationType.id, status: ids.active })).id
  for (const role of ['core', 'edge']) ids[`role:${role}`] = (await nb.rest('POST', '/api/extras/roles/', { name: role, content_types: ['dcim.device'] })).id
  const manufacturer = await nb.rest('POST', '/api/dcim/manufacturers/', { name: 'Acme' })
  ids.deviceType = (await nb.rest('POST', '/api/dcim/device-types/', { manufacturer: manufacturer.id, model: 'Box 1' })).id
  await nb.rest('POST', '/api/ipam/prefixes/', { prefix: '10.9.0.0/24', status: ids.active, namespace: ids.namespace, type: 'network' })
  await addDevice('r1', { location: 'site-a', role: 'core', ip: '10.9.0.1/24' })
  await addDevice('r2', { location: 'site-a', role: 'edge', ip: '10.9.0.2/24' })
  await addDevice('r3', { location: 'site-b', role: 'core', ip: '10.9.0.3/24' })
  await addDevice('r4-no-ip', { location: 'site-b', role: 'edge' })
  await addDevice('core sw 9', { location: 'site-b', role: 'edge' })

  tokenId = await createCredential('nautobot-token', 'api', nb.token)
  cmkCredentialId = await createCredential('checkmk-automation', 'automation', 'automation-secret-1')
  sourceId = (await t.ok(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, { i: { name: 'lab', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId: tokenId } })).createInventorySource.id

  // Already in Checkmk: a host people manage (never touched, never "extra") and one Switchyard made earlier.
  cmk.state.folders.add('/legacy')
  cmk.state.hosts.set('legacy-1', { folder: '/legacy', attributes: { ipaddress: '192.0.2.1', labels: { team: 'ops' } }, version: 1 })
  cmk.state.hosts.set('old-managed', { folder: '/legacy', attributes: { labels: { 'switchyard/managed': 'true' } }, version: 1 })
}, 300_000)

afterAll(async () => {
  await t?.stop()
  await Promise.all([nb?.stop(), cmk?.stop()])
})

describe('compare_devices and sync_devices (real Nautobot, Checkmk by contract)', () => {
  it('validates the config, naming the field', async () => {
    const CREATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
    const base = { name: 'bad', jobType: 'compare_devices', visibility: 'GLOBAL' }
    expectFieldError(await t.gql(CREATE, { i: { ...base, config: config({ folderTemplate: '/x/{{ rack }}' }) } }), 'input.config.folderTemplate')
    expectFieldError(await t.gql(CREATE, { i: { ...base, config: config({ tagGroups: { criticality: 'prod' } }) } }), 'input.config.tagGroups.criticality')
    expectFieldError(await t.gql(CREATE, { i: { ...base, config: config({ labels: { 'switchyard/managed': 'x' } }) } }), 'input.config.labels.switchyard/managed')
    expectFieldError(await t.gql(CREATE, { i: { ...base, config: config({ checkmk: { url: 'ftp://x', credentialId: cmkCredentialId } }) } }), 'input.config.checkmk.url')
  })

  it('checks the inventory source and the Checkmk credential at save, not only at run time', async () => {
    const CREATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
    for (const jobType of ['compare_devices', 'sync_devices']) {
      const base = { name: `refs-${jobType}`, jobType, visibility: 'GLOBAL' }
      // A source that does not exist (a well-formed id of nothing).
      const gone = await t.gql(CREATE, { i: { ...base, config: config({ sourceId: '00000000-0000-4000-8000-000000000000' }) } })
      expectFieldError(gone, 'input.config.sourceId')
      expect(gone.errors?.[0]?.message).toContain('no such inventory source')
      // A Checkmk credential of the wrong kind, and one that does not exist.
      const key = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
        i: { name: `key-${jobType}`, kind: 'PRIVATE_KEY', username: 'u', privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) },
      })).createCredential.id
      expectFieldError(await t.gql(CREATE, { i: { ...base, config: config({ checkmk: { url: cmk.url, credentialId: key } }) } }), 'input.config.checkmk.credentialId')
      expectFieldError(await t.gql(CREATE, { i: { ...base, config: config({ checkmk: { url: cmk.url, credentialId: '00000000-0000-4000-8000-000000000000' } }) } }), 'input.config.checkmk.credentialId')
      // An operator may not build on a source someone else owns (its token is opened for the template's runs).
      const operator = await t.userToken('OPERATOR')
      const own = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: `op-cmk-${jobType}`, kind: 'PASSWORD', username: 'automation', password: 'x' } }, operator)).createCredential.id
      const refused = await t.gql(CREATE, { i: { ...base, config: config({ checkmk: { url: cmk.url, credentialId: own } }) } }, operator)
      expect(refused.errors?.[0]?.extensions, JSON.stringify(refused)).toMatchObject({ code: 'FORBIDDEN', field: 'input.config.sourceId' })
      expect(refused.errors?.[0]?.message).toContain('inventory source "lab"')
    }
    const names = (await t.ok(`{ jobTemplates { name } }`)).jobTemplates.map((x: { name: string }) => x.name)
    expect(names.filter((n: string) => n.startsWith('refs-'))).toEqual([])
  })

  it('compare: missing, extra (managed hosts only), skipped — stored per device and filterable', async () => {
    const r = await run('compare_devices')
    expect(r, JSON.stringify(r)).toMatchObject({ status: 'SUCCEEDED', result: { equal: 0, different: 0, missingInCheckmk: 4, extraInCheckmk: 1, skipped: 1, inSync: false } })
    const all = await results(r.id)
    expect(all.counts).toMatchObject({ total: 6, missingInCheckmk: 4, extraInCheckmk: 1, skipped: 1 })
    expect(all.devices.find((d: { device: string }) => d.device === 'core sw 9')).toMatchObject({ status: 'SKIPPED', error: expect.stringMatching(/not a valid Checkmk host name/) })
    const extra = await results(r.id, { statuses: ['EXTRA_IN_CHECKMK'] })
    expect(extra.devices.map((d: { device: string }) => d.device)).toEqual(['old-managed'])
    expect(extra.totalCount).toBe(1)
    expect((await results(r.id, { search: 'R1' })).devices).toEqual([{ device: 'r1', status: 'MISSING_IN_CHECKMK', action: null, folder: '/network/site-a/core', error: null, diffs: [] }])
    expect(mutations()).toBe(0)
  })

  it('sync dry run records what it would do and changes nothing', async () => {
    const before = structuredClone([...cmk.state.hosts])
    const r = await run('sync_devices', { dryRun: true, removeExtra: true, activate: true })
    expect(r.result).toMatchObject({ dryRun: true, changed: false, created: 4, removed: 1, skipped: 1, activationId: null, refusal: 'it would remove 1 of 1 managed hosts (more than 20%)' })
    expect(r.log).toContain('would be created: r1')
    expect([...cmk.state.hosts]).toEqual(before)
    expect(cmk.state.pending).toEqual([])
    expect(mutations()).toBe(0)
    expect((await results(r.id, { actions: ['CREATED'] })).totalCount).toBe(4)
  })

  it('the removal safety valve: refuses removing more than maxRemoveFraction of the managed hosts unless forced', async () => {
    const r = await run('sync_devices', { removeExtra: true })
    expect(r.status).toBe('FAILED')
    expect(r.error).toMatch(/^refused: it would remove 1 of 1 managed hosts \(more than 20%\); nothing was changed \(set force to apply it\)$/)
    expect(mutations()).toBe(0)
    const empty = (await t.ok(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, {
      i: { name: 'empty', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId: tokenId, filter: { locations: ['site-empty'] } },
    })).createInventorySource.id
    const none = await run('sync_devices', { sourceId: empty, removeExtra: true, maxRemoveFraction: 1 })
    expect(none.error).toMatch(/^refused: the inventory source returned no devices, so all 1 managed host would be removed/)
    expect(mutations()).toBe(0)
  })

  it('sync creates hosts in their folders with the managed attributes, removes the managed extra, activates and waits', async () => {
    const r = await run('sync_devices', { removeExtra: true, force: true, activate: true, chunkSize: 2 })
    expect(r, JSON.stringify(r)).toMatchObject({ status: 'SUCCEEDED', result: { created: 4, updated: 0, removed: 1, failed: 0, skipped: 1, changed: true, activationId: expect.stringMatching(/^[0-9a-f-]{36}$/) } })
    expect(cmk.state.hosts.get('r1')).toMatchObject({
      folder: '/network/site-a/core',
      attributes: { ipaddress: '10.9.0.1', site: 'mysite', tag_criticality: 'prod', tag_location: 'site-a', labels: { 'nautobot/role': 'core', 'nautobot/location': 'site-a', 'switchyard/managed': 'true' } },
    })
    expect(cmk.state.hosts.get('r4-no-ip')!.attributes).not.toHaveProperty('ipaddress')
    expect(cmk.state.hosts.has('old-managed')).toBe(false)
    expect(cmk.state.hosts.get('legacy-1')).toEqual({ folder: '/legacy', attributes: { ipaddress: '192.0.2.1', labels: { team: 'ops' } }, version: 1 })
    // Chunks of 2: two bulk-create calls for 4 hosts; the activation waited (302 seen) and cleared the changes.
    expect(cmk.requests.filter((q) => q.path.endsWith('bulk-create/invoke'))).toHaveLength(2)
    expect(cmk.requests.some((q) => q.path.endsWith('wait-for-completion/invoke') && q.status === 302)).toBe(true)
    expect(cmk.state.pending).toEqual([])
    expect(r.log.join('\n')).not.toContain('automation-secret-1')
    expect(r.log.some((l: string) => /^activation .* completed$/.test(l))).toBe(true)
  })

  it('a second sync changes nothing and says so ("nothing to activate" is success)', async () => {
    const before = mutations()
    const r = await run('sync_devices', { removeExtra: true, activate: true })
    expect(r.result).toMatchObject({ refusal: null, created: 0, updated: 0, removed: 0, unchanged: 4, changed: false, activationId: null })
    expect(r.status).toBe('SUCCEEDED')
    // The only non-GET is the activation attempt, answered 422.
    expect(cmk.requests.slice(-5).filter((q) => q.method !== 'GET')).toEqual([{ method: 'POST', path: '/domain-types/activation_run/actions/activate-changes/invoke', status: 422 }])
    expect(mutations()).toBe(before + 1)
    expect(r.log).toContain('nothing to activate: Checkmk has no pending changes')
    const c = await run('compare_devices')
    expect(c.result).toMatchObject({ equal: 4, different: 0, missingInCheckmk: 0, extraInCheckmk: 0, inSync: true })
  })

  it('changes on either side: field-by-field diffs; the sync touches only managed attributes, keeps people\'s labels, retries a 412', async () => {
    // A person in Checkmk: an alias, a label of their own, a managed label changed, the host moved.
    cmk.touchHost('r1', (h) => {
      h.attributes.alias = 'core router'
      h.attributes.labels = { ...(h.attributes.labels as object), owner: 'neteng', 'nautobot/role': 'edge' }
    })
    cmk.state.folders.add('/elsewhere')
    cmk.touchHost('r3', (h) => (h.folder = '/elsewhere'))
    // In Nautobot: r2 gets a new primary IP.
    await setPrimaryIp('r2', '10.9.0.22/24')

    const c = await run('compare_devices')
    expect(c.result).toMatchObject({ equal: 1, different: 3 })
    const diff = await results(c.id, { statuses: ['DIFFERENT'] })
    expect(Object.fromEntries(diff.devices.map((d: { device: string; diffs: unknown }) => [d.device, d.diffs]))).toEqual({
      r1: [{ field: 'labels.nautobot/role', expected: 'core', actual: 'edge' }],
      r2: [{ field: 'ipaddress', expected: '10.9.0.22', actual: '10.9.0.2' }],
      r3: [{ field: 'folder', expected: '/network/site-b/core', actual: '/elsewhere' }],
    })

    cmk.raceNextEdits(1) // the first If-Match edit meets a concurrent change: 412, re-read, retry
    const s = await run('sync_devices')
    expect(s, JSON.stringify(s)).toMatchObject({ status: 'SUCCEEDED', result: { updated: 3, unchanged: 1, failed: 0 } })
    expect(cmk.requests.some((q) => q.method === 'PUT' && q.path === '/objects/host_config/r1' && q.status === 412)).toBe(true)
    expect(cmk.state.hosts.get('r1')!.attributes).toMatchObject({ alias: 'core router', labels: { owner: 'neteng', 'nautobot/role': 'core', 'switchyard/managed': 'true' } })
    expect(cmk.state.hosts.get('r2')!.attributes.ipaddress).toBe('10.9.0.22')
    expect(cmk.state.hosts.get('r3')!.folder).toBe('/network/site-b/core')
    expect((await results(s.id, { actions: ['UPDATED'] })).devices.map((d: { device: string }) => d.device).sort()).toEqual(['r1', 'r2', 'r3'])
  })

  it('"sync selected" syncs only the chosen devices, with the comparison\'s config', async () => {
    cmk.touchHost('r1', (h) => (h.attributes.ipaddress = '10.9.9.1'))
    cmk.touchHost('r2', (h) => (h.attributes.ipaddress = '10.9.9.2'))
    const c = await run('compare_devices')
    expect(c.result).toMatchObject({ different: 2 })
    const SELECTED = `mutation($id: ID!, $d: [String!]!) { syncSelectedDevices(runId: $id, devices: $d) { id jobType templateName } }`
    expectFieldError(await t.gql(SELECTED, { id: c.id, d: [] }), 'devices')
    const started = (await t.ok(SELECTED, { id: c.id, d: ['r2'] })).syncSelectedDevices
    expect(started.jobType).toBe('sync_devices')
    const s = await api.waitFor(started.id, FINAL)
    expect(s, JSON.stringify(s)).toMatchObject({ status: 'SUCCEEDED', result: { updated: 1, created: 0, removed: 0 } })
    expect(cmk.state.hosts.get('r2')!.attributes.ipaddress).toBe('10.9.0.22')
    expect(cmk.state.hosts.get('r1')!.attributes.ipaddress).toBe('10.9.9.1')
    expect((await results(started.id)).devices.map((d: { device: string }) => d.device)).toEqual(['r2'])
    const viewer = await t.userToken('VIEWER')
    const refused = await t.gql(SELECTED, { id: c.id, d: ['r1'] }, viewer)
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
  })

  it('activation with other users\' changes pending fails the run saying so; the sync itself was applied', async () => {
    cmk.touchHost('legacy-1', (h) => (h.attributes.alias = 'by a colleague'), 'colleague')
    cmk.touchHost('r3', (h) => (h.attributes.ipaddress = '10.9.9.3'))
    const r = await run('sync_devices', { activate: true })
    expect(r.status).toBe('FAILED')
    expect(r.error).toMatch(/^Checkmk refused to activate: other users' changes are pending/)
    expect(cmk.state.hosts.get('r3')!.attributes.ipaddress).toBe('10.9.0.3')
    // r1 too: "sync selected" above left it different on purpose.
    expect((await results(r.id, { actions: ['UPDATED'] })).devices.map((d: { device: string }) => d.device)).toEqual(['r1', 'r3'])
    cmk.state.pending.splice(0) // as if someone activated them in Checkmk
  })

  it('a device Checkmk refuses (a tag id that does not exist) fails alone; the rest of its chunk is created', async () => {
    await addDevice('r5', { location: 'site-empty', role: 'core', ip: '10.9.0.5/24' })
    await addDevice('r6', { location: 'site-a', role: 'core', ip: '10.9.0.6/24' })
    const r = await run('sync_devices')
    expect(r, JSON.stringify(r)).toMatchObject({ status: 'FAILED', error: '1 device failed (see the per-device results)', result: { created: 1, failed: 1 } })
    const failed = (await results(r.id, { actions: ['FAILED'] })).devices
    expect(failed).toEqual([expect.objectContaining({ device: 'r5', error: expect.stringMatching(/tag_location.*not one of site-a, site-b/) })])
    expect(cmk.state.hosts.has('r6')).toBe(true)
    expect(cmk.state.hosts.has('r5')).toBe(false)
  })

  it('a wrong automation secret fails the run with a clear error, and nothing changes', async () => {
    const wrong = await createCredential('checkmk-wrong', 'automation', 'not-the-secret-42')
    const before = mutations()
    const tpl = await api.createTemplate({ name: 'wrong-secret', jobType: 'sync_devices', config: { ...config(), checkmk: { url: cmk.url, credentialId: wrong } } })
    const r = await api.waitFor(await api.trigger(tpl), FINAL)
    expect(r.status).toBe('FAILED')
    expect(r.error).toMatch(/rejected the automation user's credentials \(HTTP 401/)
    const log = (await api.logLines(r.id)).map((l) => l.text).join('\n')
    expect(log).not.toContain('not-the-secret-42')
    expect(mutations()).toBe(before)
  })

  it('Checkmk that is down: the run fails, saying so', async () => {
    const tpl = await api.createTemplate({ name: 'down', jobType: 'compare_devices', config: { ...config(), checkmk: { url: 'http://127.0.0.1:9/site', credentialId: cmkCredentialId } } })
    const r = await api.waitFor(await api.trigger(tpl), FINAL)
    expect(r).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/cannot reach Checkmk at http:\/\/127.0.0.1:9\/site/) })
  })
})
