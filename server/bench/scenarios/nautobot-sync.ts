/**
 * Inventory sync from a real Nautobot (test/harness/nautobot.ts, installed by scripts/test-peers/nautobot.sh):
 * `devices` devices are loaded through Nautobot's own REST API in bulk (lists of `chunk` objects per POST /
 * PATCH: devices with a custom field set, interfaces, IP addresses, their assignments, the primary IPs), then
 * one api+worker app with the product's own registry measures, per step, wall time, ms per device and every
 * Postgres statement this process sent during the step (counted at `pg`'s Client.query, as the Checkmk
 * scenario does: it includes the dispatcher, the log writer and pg-boss polling):
 *
 *   fetch only      — the GraphQL paging alone (Nautobot's share of every step below)
 *   dry run         — previewInventorySync: fetch + plan against the (empty) targets
 *   sync            — an inventory_sync run: fetch + plan + apply (creates every target), trigger → final
 *   dry run again   — everything unchanged
 *   sync again      — nothing to change (says so)
 *   sync (all moved)— every device's custom field changed in Nautobot first: one update per target
 *
 * Nautobot's `runserver` and its Postgres run on the same machine, so their CPU competes with Switchyard's.
 */
import pg from 'pg'
import { fetchNautobotDevices } from '../../src/modules/inventory-sources/nautobot-client.ts'
import { startNautobot, type TestNautobot } from '../../test/harness/nautobot.ts'
import { rawId, withApp, type BenchApp } from '../lib/app.ts'
import { track, withDatabase } from '../lib/resources.ts'
import { now } from '../lib/stats.ts'

export interface NautobotSyncOptions {
  devices: number
  /** Objects per bulk REST call while loading. */
  chunk: number
  timeoutMs: number
}

export interface NautobotStep {
  step: string
  wallMs: number
  msPerDevice: number
  statements: number
  statementsPerDevice: number
  result: unknown
}

export interface NautobotSyncResult {
  devices: number
  loadSeconds: number
  steps: NautobotStep[]
}

let statements = 0
function countStatements(): () => void {
  const original = pg.Client.prototype.query
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++
    return (original as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof original
  return () => {
    pg.Client.prototype.query = original
  }
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n))
  return out
}

/** Everything the source reads, through Nautobot's REST API (bulk list bodies). */
async function load(nb: TestNautobot, o: NautobotSyncOptions): Promise<void> {
  const active = (await nb.rest('GET', '/api/extras/statuses/?name=Active')).results[0].id
  const namespace = (await nb.rest('GET', '/api/ipam/namespaces/?name=Global')).results[0].id
  const locationType = await nb.rest('POST', '/api/dcim/location-types/', { name: 'Site', content_types: ['dcim.device', 'ipam.prefix'] })
  const locations: string[] = []
  for (const name of ['ber', 'par', 'fra', 'ams', 'lon']) locations.push((await nb.rest('POST', '/api/dcim/locations/', { name, location_type: locationType.id, status: active })).id)
  const roles: string[] = []
  for (const name of ['core', 'edge', 'access']) roles.push((await nb.rest('POST', '/api/extras/roles/', { name, content_types: ['dcim.device'] })).id)
  const platform = (await nb.rest('POST', '/api/dcim/platforms/', { name: 'ios' })).id
  const manufacturer = await nb.rest('POST', '/api/dcim/manufacturers/', { name: 'Acme' })
  const deviceType = (await nb.rest('POST', '/api/dcim/device-types/', { manufacturer: manufacturer.id, model: 'Box 1' })).id
  await nb.rest('POST', '/api/extras/custom-fields/', { label: 'Site code', key: 'site_code', type: 'text', content_types: ['dcim.device'] })
  await nb.rest('POST', '/api/ipam/prefixes/', { prefix: '10.64.0.0/16', status: active, namespace, type: 'network' })

  const n = o.devices
  const deviceIds: string[] = []
  for (const part of chunks([...Array(n).keys()], o.chunk)) {
    const made = await nb.rest<Array<{ id: string }>>(
      'POST',
      '/api/dcim/devices/',
      part.map((i) => ({
        name: `dev-${String(i).padStart(5, '0')}`,
        device_type: deviceType,
        role: roles[i % roles.length],
        location: locations[i % locations.length],
        platform,
        status: active,
        custom_fields: { site_code: `S${i % 50}` },
      })),
    )
    deviceIds.push(...made.map((d) => d.id))
  }
  const ifaceIds: string[] = []
  for (const part of chunks(deviceIds, o.chunk)) {
    const made = await nb.rest<Array<{ id: string }>>('POST', '/api/dcim/interfaces/', part.map((device) => ({ device, name: 'mgmt0', type: 'virtual', status: active })))
    ifaceIds.push(...made.map((x) => x.id))
  }
  const ipIds: string[] = []
  for (const part of chunks([...Array(n).keys()], o.chunk)) {
    const made = await nb.rest<Array<{ id: string }>>('POST', '/api/ipam/ip-addresses/', part.map((i) => ({ address: `10.64.${(i >> 8) & 255}.${i & 255}/16`, status: active, namespace })))
    ipIds.push(...made.map((x) => x.id))
  }
  for (const part of chunks([...Array(n).keys()], o.chunk)) {
    await nb.rest('POST', '/api/ipam/ip-address-to-interface/', part.map((i) => ({ ip_address: ipIds[i], interface: ifaceIds[i] })))
  }
  for (const part of chunks([...Array(n).keys()], o.chunk)) {
    await nb.rest('PATCH', '/api/dcim/devices/', part.map((i) => ({ id: deviceIds[i], primary_ip4: ipIds[i] })))
  }
}

async function changeEveryCustomField(nb: TestNautobot, o: NautobotSyncOptions): Promise<void> {
  const ids: string[] = []
  for (let offset = 0; ; offset += 1000) {
    const page = await nb.rest('GET', `/api/dcim/devices/?limit=1000&offset=${offset}&depth=0`)
    ids.push(...page.results.map((d: { id: string }) => d.id))
    if (!page.next) break
  }
  for (const part of chunks(ids, o.chunk)) await nb.rest('PATCH', '/api/dcim/devices/', part.map((id) => ({ id, custom_fields: { site_code: 'MOVED' } })))
}

export function runNautobotSync(o: NautobotSyncOptions): Promise<NautobotSyncResult> {
  return withDatabase(async (db) => {
    const nb = await startNautobot()
    const stopNb = track('nautobot', () => nb.stop())
    try {
      const l0 = now()
      await load(nb, o)
      const loadSeconds = Number(((now() - l0) / 1000).toFixed(1))
      const restore = countStatements()
      try {
        return await withApp(db, { roles: 'api,worker' }, async (a) => {
          const cred = await a.gql<{ createCredential: { id: string } }>(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
            i: { name: 'nautobot-token', kind: 'PASSWORD', username: 'api', password: nb.token },
          })
          const src = await a.gql<{ createInventorySource: { id: string } }>(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, {
            i: {
              name: 'bench nautobot',
              kind: 'NAUTOBOT',
              url: nb.url,
              tokenCredentialId: cred.createCredential.id,
              syncMode: 'AUTHORITATIVE',
              customFieldMappings: [{ customField: 'site_code', attribute: 'site_code', tagPrefix: 'site' }],
            },
          })
          const sourceId = src.createInventorySource.id
          const steps: NautobotStep[] = []
          steps.push(
            await measure('fetch only (Nautobot GraphQL)', o, async () => {
              const { devices, pages } = await fetchNautobotDevices({ url: nb.url, token: nb.token, tlsVerify: true, caCertificate: null }, {}, 500, 200_000, true)
              return { devices: devices.length, pages }
            }),
          )
          steps.push(await measure('dry run (all new)', o, () => preview(a, sourceId)))
          steps.push(await measure('sync (create all)', o, () => sync(a, sourceId, o)))
          steps.push(await measure('dry run again (unchanged)', o, () => preview(a, sourceId)))
          steps.push(await measure('sync again (nothing to do)', o, () => sync(a, sourceId, o)))
          await changeEveryCustomField(nb, o)
          steps.push(await measure('sync (every device changed)', o, () => sync(a, sourceId, o)))
          const count = await a.app.db.prisma.target.count({ where: { sourceId: rawId(sourceId) } })
          if (count !== o.devices) throw new Error(`the source has ${count} targets, expected ${o.devices}`)
          return { devices: o.devices, loadSeconds, steps }
        })
      } finally {
        restore()
      }
    } finally {
      await stopNb()
    }
  })
}

async function preview(a: BenchApp, id: string): Promise<unknown> {
  const d = await a.gql<{ previewInventorySync: { deviceCount: number; create: unknown[]; update: unknown[]; unchanged: unknown[]; skipped: unknown[] } }>(
    `mutation($id: ID!) { previewInventorySync(id: $id) { deviceCount create { name } update { name } unchanged skipped { name } } }`,
    { id },
  )
  const p = d.previewInventorySync
  return { deviceCount: p.deviceCount, create: p.create.length, update: p.update.length, unchanged: p.unchanged.length, skipped: p.skipped.length }
}

async function sync(a: BenchApp, sourceId: string, o: NautobotSyncOptions): Promise<unknown> {
  const d = await a.gql<{ syncInventorySource: { id: string } }>(`mutation($id: ID!) { syncInventorySource(id: $id) { id } }`, { id: sourceId })
  const id = rawId(d.syncInventorySource.id)
  const t0 = now()
  for (;;) {
    const run = await a.app.db.prisma.jobRun.findUniqueOrThrow({ where: { id }, select: { status: true, result: true, error: true } })
    if (['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(run.status)) {
      if (run.status !== 'SUCCEEDED') throw new Error(`sync run ${run.status}: ${run.error}`)
      return run.result
    }
    if (now() - t0 > o.timeoutMs) throw new Error(`sync: no final status within ${o.timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function measure(step: string, o: NautobotSyncOptions, fn: () => Promise<unknown>): Promise<NautobotStep> {
  const s0 = statements
  const t0 = now()
  const result = await fn()
  const wallMs = now() - t0
  const n = statements - s0
  return { step, wallMs: Math.round(wallMs), msPerDevice: Number((wallMs / o.devices).toFixed(3)), statements: n, statementsPerDevice: Number((n / o.devices).toFixed(4)), result }
}

export function formatNautobotSync(r: NautobotSyncResult): string {
  const lines = [``, `Nautobot inventory sync of ${r.devices} devices (real Nautobot on loopback, loaded through its REST API in ${r.loadSeconds} s; statements = every pg statement of this process during the step)`]
  for (const s of r.steps) {
    lines.push(`  ${s.step.padEnd(32)} ${String(s.wallMs).padStart(7)} ms  ${s.msPerDevice.toFixed(3)} ms/device  ${String(s.statements).padStart(6)} statements (${s.statementsPerDevice.toFixed(4)}/device)`)
  }
  return lines.join('\n') + '\n'
}
