/**
 * Write-back to a real Nautobot (test/harness/nautobot.ts): `config_backup` sets a device custom field to the
 * backup time on targets synced from Nautobot (real sshd targets, a real bare Git repository), and
 * `prefix_scan` takes its prefixes from Nautobot (a prefix custom field) and writes the live addresses
 * (real TCP listeners on loopback) and a "last scanned" field back. The custom fields are created here
 * through Nautobot's REST API; every check reads Nautobot back through it.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { startNautobot, type TestNautobot } from '../harness/nautobot.ts'
import { giveToRunAsUser } from '../harness/run-as.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { startSshd, unusedLoopbackPort, type TestSshd } from '../harness/sshd.ts'

const exec = promisify(execFile)
let t: TestApp
let nb: TestNautobot
let sshd: TestSshd
let dir = ''
let repo = ''
let sourceId = ''
let adminTokenCredentialId = ''
const ids: Record<string, string> = {}
const servers: Server[] = []
const ports: number[] = []

const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
const api = runHelpers(() => t, { runFields: 'id status error result targets { name status error result }', defaultTimeoutMs: 120_000 })
const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']
const run = async (templateId: string, token?: string) => {
  const id = token ? (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: templateId }, token)).triggerJobRun.id : await api.trigger(templateId)
  return { ...(await api.waitFor(id, FINAL)), log: (await api.logLines(id)).map((l) => l.text) }
}
type RunTarget = { name: string; status: string; error: string | null; result: any }
const byName = (targets: RunTarget[]): Record<string, any> => Object.fromEntries(targets.map((x) => [x.name, x]))

async function customField(key: string, type: string, contentTypes: string[]) {
  await nb.rest('POST', '/api/extras/custom-fields/', { label: key, key, type, content_types: contentTypes })
}

async function device(name: string, host: string) {
  const d = await nb.rest('POST', '/api/dcim/devices/', { name, device_type: ids.deviceType, role: ids.role, location: ids.location, status: ids.active })
  ids[`device:${name}`] = d.id
  const iface = await nb.rest('POST', '/api/dcim/interfaces/', { device: d.id, name: 'mgmt', type: 'virtual', status: ids.active })
  const ip = await nb.rest('POST', '/api/ipam/ip-addresses/', { address: `${host}/8`, status: ids.active, namespace: ids.global })
  await nb.rest('POST', '/api/ipam/ip-address-to-interface/', { ip_address: ip.id, interface: iface.id })
  await nb.rest('PATCH', `/api/dcim/devices/${d.id}/`, { primary_ip4: ip.id })
}

beforeAll(async () => {
  ;[nb, t, sshd] = await Promise.all([startNautobot(), startTestApp(), startSshd({ count: 2 })])
  for (const host of ['127.0.0.1', '127.0.0.10', '127.0.0.11', '127.0.0.17']) {
    const server = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve))
    servers.push(server)
    ports.push((server.address() as AddressInfo).port)
  }
  dir = await mkdtemp(join(tmpdir(), 'switchyard-nb-writeback-'))
  await chmod(dir, 0o755)
  repo = join(dir, 'configs.git')
  await exec('git', ['init', '-q', '--bare', '-b', 'main', repo])
  await giveToRunAsUser(repo)
  for (const name of ['nb-1', 'nb-2', 'nb-gone', 'hand-made']) await writeFile(join(dir, `${name}.conf`), `hostname ${name}\n`, { mode: 0o644 })

  ids.active = (await nb.rest('GET', '/api/extras/statuses/?name=Active')).results[0].id
  ids.global = (await nb.rest('GET', '/api/ipam/namespaces/?name=Global')).results[0].id
  ids.lab = (await nb.rest('POST', '/api/ipam/namespaces/', { name: 'lab' })).id
  const locationType = await nb.rest('POST', '/api/dcim/location-types/', { name: 'Site', content_types: ['dcim.device'] })
  ids.location = (await nb.rest('POST', '/api/dcim/locations/', { name: 'dc1', location_type: locationType.id, status: ids.active })).id
  ids.role = (await nb.rest('POST', '/api/extras/roles/', { name: 'router', content_types: ['dcim.device'] })).id
  const manufacturer = await nb.rest('POST', '/api/dcim/manufacturers/', { name: 'Acme' })
  ids.deviceType = (await nb.rest('POST', '/api/dcim/device-types/', { manufacturer: manufacturer.id, model: 'Box' })).id
  await customField('last_backup', 'datetime', ['dcim.device'])
  await customField('backup_day', 'date', ['dcim.device'])
  await customField('scan_me', 'text', ['ipam.prefix'])
  await customField('last_scanned', 'date', ['ipam.prefix'])
  await nb.rest('POST', '/api/ipam/prefixes/', { prefix: '127.0.0.0/8', status: ids.active, namespace: ids.global, type: 'network' })
  await device('nb-1', sshd.hosts[0]!)
  await device('nb-2', sshd.hosts[1]!)
  await device('nb-gone', '127.0.0.9')

  const cred = async (name: string, username: string, password: string) =>
    (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name, kind: 'PASSWORD', username, password } })).createCredential.id
  const tokenCredentialId = await cred('nautobot-token', 'api', nb.token)
  adminTokenCredentialId = tokenCredentialId
  const sshCredentialId = await cred('lab-ssh', sshd.user, sshd.password)
  sourceId = (
    await t.ok(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, {
      i: { name: 'nautobot', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId, defaultCredentialId: sshCredentialId, defaultPort: sshd.port, extraTags: ['nb-backup'] },
    })
  ).createInventorySource.id
  const syncId = (await t.ok(`mutation($id: ID!) { syncInventorySource(id: $id) { id } }`, { id: sourceId })).syncInventorySource.id
  expect((await api.waitFor(syncId, FINAL)).status).toBe('SUCCEEDED')
  // nb-gone's target points at a reachable sshd; its device is deleted from Nautobot after the sync.
  const { targets } = await t.ok(`{ targets { id name } }`)
  const gone = targets.find((x: { name: string }) => x.name === 'nb-gone')
  await t.ok(`mutation($id: ID!, $i: UpdateTargetInput!) { updateTarget(id: $id, input: $i) { id } }`, { id: gone.id, i: { host: sshd.hosts[0] } })
  await nb.rest('DELETE', `/api/dcim/devices/${ids['device:nb-gone']}/`)
  await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'hand-made', host: sshd.hosts[0], port: sshd.port, credentialId: sshCredentialId, tags: ['nb-backup'] } })
}, 300_000)

afterAll(async () => {
  await t?.stop()
  await Promise.all([nb?.stop(), sshd?.stop(), ...servers.map((s) => new Promise((resolve) => s.close(resolve)))])
  if (dir) await rm(dir, { recursive: true, force: true })
})

const backupTemplate = (name: string, nautobotWriteBack: Record<string, unknown>) =>
  api.createTemplate({
    name,
    jobType: 'config_backup',
    targetSelector: { tags: ['nb-backup'] },
    maxParallelTargets: 4,
    config: { commands: [`cat ${dir}/{{ target.name }}.conf`], repository: repo, pathTemplate: `${name}/{target.name}.txt`, nautobotWriteBack },
  })

describe('write-back to Nautobot', () => {
  it('refuses bad write-back options at template save, naming the field', async () => {
    const backup = { name: 'bad', jobType: 'config_backup', visibility: 'GLOBAL', targetSelector: { tags: ['nb-backup'] } }
    const cfg = { commands: ['true'], repository: repo }
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...backup, config: { ...cfg, nautobotWriteBack: { customField: 'last backup' } } } }), 'input.config.nautobotWriteBack.customField')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...backup, config: { ...cfg, nautobotWriteBack: { customField: 'x', fieldType: 'integer' } } } }), 'input.config.nautobotWriteBack.fieldType')
    const scan = { name: 'bad-scan', jobType: 'prefix_scan', visibility: 'GLOBAL' }
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...scan, config: { ports: [22] } } }), 'input.config.prefixes')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...scan, config: { nautobot: { sourceId: 'nope', prefixField: 'scan_me' } } } }), 'input.config.nautobot.sourceId')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...scan, config: { nautobot: { sourceId, prefixField: '1-bad' } } } }), 'input.config.nautobot.prefixField')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...scan, config: { nautobot: { sourceId, prefixField: 'scan_me', lastScannedType: 'json' } } } }), 'input.config.nautobot.lastScannedType')
  })

  it('config_backup sets the device field per target, skips with a reason, and never fails the backup', async () => {
    const r = await run(await backupTemplate('nb-time', { customField: 'last_backup' }))
    expect(r.status, JSON.stringify(r)).toBe('SUCCEEDED')
    expect(r.result.commit).toMatch(/^[0-9a-f]{40}$/)
    const at = byName(r.targets)
    for (const name of ['nb-1', 'nb-2']) {
      expect(at[name]).toMatchObject({ status: 'SUCCEEDED', result: { nautobot: { status: 'WRITTEN', field: 'last_backup', deviceId: ids[`device:${name}`] } } })
      const value = at[name].result.nautobot.value as string
      expect(value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      expect((await nb.rest('GET', `/api/dcim/devices/${ids[`device:${name}`]}/`)).custom_fields.last_backup).toBe(value)
    }
    expect(at['hand-made']).toMatchObject({ status: 'SUCCEEDED', result: { nautobot: { status: 'SKIPPED', reason: 'the target did not come from an inventory source' } } })
    expect(at['nb-gone']).toMatchObject({ status: 'SUCCEEDED', result: { nautobot: { status: 'SKIPPED' } } })
    expect(at['nb-gone'].result.nautobot.reason).toMatch(/no longer in Nautobot/)
    expect(r.log.join('\n')).not.toContain(nb.token)
  })

  it('is idempotent: a second backup the same day leaves a date field unchanged', async () => {
    const tpl = await backupTemplate('nb-day', { customField: 'backup_day', fieldType: 'date' })
    const first = byName((await run(tpl)).targets)
    expect(first['nb-1'].result.nautobot).toMatchObject({ status: 'WRITTEN', value: new Date().toISOString().slice(0, 10) })
    const second = await run(tpl)
    expect(second.status).toBe('SUCCEEDED')
    expect(byName(second.targets)['nb-1'].result.nautobot).toMatchObject({ status: 'UNCHANGED' })
    expect(byName(second.targets)['nb-2'].result.nautobot).toMatchObject({ status: 'UNCHANGED' })
  })

  it('a failed write is a warning on the target, or fails it when strict (the backup stays stored)', async () => {
    const lenient = await run(await backupTemplate('nb-missing', { customField: 'no_such_field' }))
    expect(lenient.status).toBe('SUCCEEDED')
    const l = byName(lenient.targets)['nb-1']
    expect(l).toMatchObject({ status: 'SUCCEEDED', result: { nautobot: { status: 'FAILED' } } })
    expect(l.result.nautobot.reason).toMatch(/no custom field "no_such_field" on devices/)

    const strict = await run(await backupTemplate('nb-strict', { customField: 'no_such_field', strict: true }))
    expect(strict.status).toBe('FAILED')
    const s = byName(strict.targets)
    expect(s['nb-1'].status).toBe('FAILED')
    expect(s['nb-1'].error).toMatch(/^backup stored, but the Nautobot write-back failed: .*no_such_field/)
    expect(s['nb-1'].result.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(s['hand-made'].status).toBe('SUCCEEDED') // skipped is not a failure
  })

  it('a Nautobot that is down fails only the write-back, with the reason, on each of its targets', async () => {
    const UPDATE_SOURCE = `mutation($id: ID!, $i: UpdateInventorySourceInput!) { updateInventorySource(id: $id, input: $i) { id } }`
    await t.ok(UPDATE_SOURCE, { id: sourceId, i: { url: `http://127.0.0.1:${await unusedLoopbackPort()}` } })
    try {
      const r = await run(await backupTemplate('nb-down', { customField: 'last_backup' }))
      expect(r.status).toBe('SUCCEEDED')
      const n1 = byName(r.targets)['nb-1']
      expect(n1).toMatchObject({ status: 'SUCCEEDED', result: { nautobot: { status: 'FAILED' } } })
      expect(n1.result.nautobot.reason).toMatch(/^cannot reach Nautobot at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
      expect(r.result.commit).toMatch(/^[0-9a-f]{40}$/)
    } finally {
      await t.ok(UPDATE_SOURCE, { id: sourceId, i: { url: nb.url } })
    }
  })

  it('prefix_scan takes prefixes from Nautobot and writes live addresses and the scan date back, idempotently', async () => {
    const prefix = async (p: string, scanMe: string | null) =>
      (await nb.rest('POST', '/api/ipam/prefixes/', { prefix: p, status: ids.active, namespace: ids.lab, type: 'network', custom_fields: { scan_me: scanMe } })).id
    ids.p0 = await prefix('127.0.0.0/30', 'yes')
    ids.p8 = await prefix('127.0.0.8/29', 'weekly')
    ids.p16 = await prefix('127.0.0.16/29', null) // not marked: its listener is never seen
    // An address Nautobot already has, with another status: updated, not duplicated.
    const other = (await nb.rest('GET', '/api/extras/statuses/?content_types=ipam.ipaddress')).results.find((s: { name: string }) => s.name !== 'Active')
    const existing = await nb.rest('POST', '/api/ipam/ip-addresses/', { address: '127.0.0.11/29', status: other.id, namespace: ids.lab })

    const tpl = await api.createTemplate({
      name: 'nb-scan',
      jobType: 'prefix_scan',
      config: { ports, timeoutMs: 3000, reverseDns: true, nautobot: { sourceId, prefixField: 'scan_me', lastScannedField: 'last_scanned', lastScannedType: 'date' } },
    })
    const r = await run(tpl)
    expect(r.status, JSON.stringify(r)).toBe('SUCCEEDED')
    expect(r.result).toMatchObject({ alive: 3, total: 8 })
    const nbResult = r.result.nautobot
    const action = Object.fromEntries(nbResult.addresses.map((a: { address: string; action: string }) => [a.address, a.action]))
    expect(action).toEqual({ '127.0.0.1': 'CREATED', '127.0.0.10': 'CREATED', '127.0.0.11': 'UPDATED' })
    const today = new Date().toISOString().slice(0, 10)
    expect(nbResult.prefixes.map((p: any) => [p.prefix, p.alive, p.lastScanned]).sort()).toEqual([
      ['127.0.0.0/30', 1, 'WRITTEN'],
      ['127.0.0.8/29', 2, 'WRITTEN'],
    ])
    expect((await nb.rest('GET', `/api/ipam/prefixes/${ids.p8}/`)).custom_fields.last_scanned).toBe(today)
    expect((await nb.rest('GET', `/api/ipam/prefixes/${ids.p16}/`)).custom_fields.last_scanned).toBeNull()

    const inLab = async () => (await nb.rest('GET', `/api/ipam/ip-addresses/?namespace=${ids.lab}&depth=1&limit=100`)).results as any[]
    const addresses = await inLab()
    expect(addresses.map((a) => a.address).sort()).toEqual(['127.0.0.1/30', '127.0.0.10/29', '127.0.0.11/29'])
    for (const a of addresses) expect(a.status.name).toBe('Active')
    expect(addresses.find((a) => a.address === '127.0.0.11/29').id).toBe(existing.id)
    expect(addresses.find((a) => a.address === '127.0.0.10/29').parent.id).toBe(ids.p8)
    const named = r.result.hosts.find((h: { address: string }) => h.address === '127.0.0.1')?.hostname
    if (named) expect(addresses.find((a) => a.address === '127.0.0.1/30').dns_name).toBe(named)

    const again = await run(tpl)
    expect(again.status).toBe('SUCCEEDED')
    expect(again.result.nautobot.addresses.map((a: { action: string }) => a.action)).toEqual(['UNCHANGED', 'UNCHANGED', 'UNCHANGED'])
    expect(again.result.nautobot.prefixes.map((p: { lastScanned: string }) => p.lastScanned)).toEqual(['UNCHANGED', 'UNCHANGED'])
    expect((await inLab()).length).toBe(3)
    expect(again.log.join('\n')).not.toContain(nb.token)
  })

  it('checks the right to use the source and its token at save and again when the run starts', async () => {
    const operator = await t.userToken('OPERATOR')
    const scan = (name: string, sid: string) => ({ i: { name, jobType: 'prefix_scan', visibility: 'PRIVATE', config: { ports, nautobot: { sourceId: sid, prefixField: 'scan_me' } } } })
    // At save: another user's source is refused, naming the field; so is one that does not exist.
    const refused = await t.gql(CREATE_TPL, scan('op-scan', sourceId), operator)
    expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(refused)).toBe('FORBIDDEN')
    expect(JSON.stringify(refused.errors)).toContain('input.config.nautobot.sourceId')
    expectFieldError(await t.gql(CREATE_TPL, scan('op-scan', '00000000-0000-4000-8000-000000000000'), operator), 'input.config.nautobot.sourceId')

    // The operator's own source and token: saved. Then an admin points the source at a token the operator
    // may not use — the run refuses before the token is opened.
    const own = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'op-token', kind: 'PASSWORD', username: 'api', password: nb.token } }, operator)).createCredential.id
    const opSource = (await t.ok(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, { i: { name: 'op-nautobot', kind: 'NAUTOBOT', url: nb.url, tokenCredentialId: own } }, operator)).createInventorySource.id
    const tpl = (await t.ok(CREATE_TPL, scan('op-scan', opSource), operator)).createJobTemplate.id
    await t.ok(`mutation($id: ID!, $i: UpdateInventorySourceInput!) { updateInventorySource(id: $id, input: $i) { id } }`, { id: opSource, i: { tokenCredentialId: adminTokenCredentialId } })
    const r = await run(tpl, operator)
    expect(r.status).toBe('FAILED')
    expect(r.error).toMatch(/nautobot: cannot read the prefixes to scan: not started: .* may no longer use credential "nautobot-token"/)
  })
})
