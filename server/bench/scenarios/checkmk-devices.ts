/**
 * compare_devices + sync_devices of `devices` devices against the Checkmk contract server
 * (test/harness/checkmk.ts, on loopback), through real runs on an api+worker app: the product's
 * executors, per-device results written to Postgres by the product's CheckmkDevices port.
 *
 * The devices come from a generator rather than Nautobot (loading 10,000 devices into the test Nautobot
 * through its REST API alone takes longer than the whole benchmark); what is measured is the Checkmk side
 * and Switchyard's own cost. Steps: compare (all missing) → sync (creates all, activates) → sync again
 * (nothing to do) → compare (all equal). For each: wall time trigger → final, ms per device, and every
 * Postgres statement the process sent during the step (counted at pg's Client.query, so it includes the
 * dispatcher, the log writer and pg-boss's own polling) per device.
 */
import pg from 'pg'
import { createDatabase } from '../../src/db/database.ts'
import { createCompareDevicesExecutor } from '../../src/jobs/executors/checkmk/compare-devices.ts'
import type { CheckmkDevicesPort } from '../../src/jobs/executors/checkmk/port.ts'
import { createSyncDevicesExecutor } from '../../src/jobs/executors/checkmk/sync-devices.ts'
import { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import type { JobExecutor } from '../../src/jobs/executors/types.ts'
import type { SourceDevice } from '../../src/checkmk/host-plan.ts'
import { recordDeviceResults } from '../../src/modules/checkmk/device-results.ts'
import { startCheckmk } from '../../test/harness/checkmk.ts'
import { createTemplate, rawId, withApp, type BenchApp } from '../lib/app.ts'
import { track, withDatabase } from '../lib/resources.ts'
import { now } from '../lib/stats.ts'

export interface CheckmkDevicesOptions {
  devices: number
  chunkSize: number
  timeoutMs: number
}

export interface CheckmkStep {
  step: string
  wallMs: number
  msPerDevice: number
  statements: number
  statementsPerDevice: number
  checkmkRequests: number
  result: unknown
}

export interface CheckmkDevicesResult {
  devices: number
  steps: CheckmkStep[]
}

/** Statements sent by every pg client of this process (Prisma's adapter and the pools use pg). */
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

function devicesOf(n: number): SourceDevice[] {
  const locations = ['ber', 'par', 'fra', 'ams', 'lon']
  const roles = ['core', 'edge', 'access']
  return Array.from({ length: n }, (_, i) => ({
    name: `dev-${String(i).padStart(5, '0')}`,
    primaryIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    location: locations[i % locations.length]!,
    role: roles[i % roles.length]!,
    platform: 'ios',
    status: 'Active',
    tags: [],
  }))
}

export function runCheckmkDevices(o: CheckmkDevicesOptions): Promise<CheckmkDevicesResult> {
  return withDatabase(async (db) => {
    const cmk = await startCheckmk({ activationMs: 500, tagGroups: { tag_location: ['ber', 'par', 'fra', 'ams', 'lon'] } })
    const stopCmk = track('checkmk contract server', () => cmk.stop())
    const store = createDatabase(db.url, { max: 4, applicationName: 'bench-checkmk-port' })
    const stopStore = track('checkmk port database', () => store.close())
    const devices = devicesOf(o.devices)
    const port: CheckmkDevicesPort = { devices: async () => devices, recordResults: (runId, rows) => recordDeviceResults(store.prisma, runId, rows) }
    const registry = new ExecutorRegistry([createCompareDevicesExecutor(port) as JobExecutor, createSyncDevicesExecutor(port) as JobExecutor])
    const restore = countStatements()
    try {
      return await withApp(db, { roles: 'api,worker', registry }, async (a) => {
        const cred = await a.gql<{ createCredential: { id: string } }>(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
          i: { name: 'checkmk', kind: 'PASSWORD', username: 'automation', password: 'automation-secret-1' },
        })
        // The port hands out generated devices; the template still names a real source (checked at save).
        const source = await a.gql<{ createInventorySource: { id: string } }>(`mutation($i: CreateInventorySourceInput!) { createInventorySource(input: $i) { id } }`, {
          i: { name: 'bench source', kind: 'NAUTOBOT', url: 'http://127.0.0.1:9', tokenCredentialId: cred.createCredential.id },
        })
        const config = {
          sourceId: source.createInventorySource.id,
          checkmk: { url: cmk.url, credentialId: cred.createCredential.id },
          folderTemplate: '/network/{{ location }}/{{ role }}',
          site: cmk.site,
          labels: { 'nautobot/role': '{{ role }}', 'nautobot/platform': '{{ platform }}' },
          tagGroups: { tag_criticality: 'prod', tag_location: '{{ location }}' },
        }
        const compare = await createTemplate(a, { name: 'bench compare', jobType: 'compare_devices', config, timeoutSeconds: 3600 })
        const sync = await createTemplate(a, { name: 'bench sync', jobType: 'sync_devices', config: { ...config, activate: true, chunkSize: o.chunkSize }, timeoutSeconds: 3600 })
        const steps: CheckmkStep[] = []
        for (const [step, tpl] of [
          ['compare (all missing)', compare],
          ['sync (create all, activate)', sync],
          ['sync again (nothing to do)', sync],
          ['compare (all equal)', compare],
        ] as const) {
          steps.push(await measure(a, step, tpl.globalId, o, () => cmk.requests.length))
        }
        if (cmk.state.hosts.size !== o.devices) throw new Error(`Checkmk has ${cmk.state.hosts.size} hosts, expected ${o.devices}`)
        return { devices: o.devices, steps }
      })
    } finally {
      restore()
      await stopStore()
      await stopCmk()
    }
  })
}

async function measure(a: BenchApp, step: string, templateGlobalId: string, o: CheckmkDevicesOptions, requests: () => number): Promise<CheckmkStep> {
  const s0 = statements
  const r0 = requests()
  const t0 = now()
  const d = await a.gql<{ triggerJobRun: { id: string } }>(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: templateGlobalId })
  const id = rawId(d.triggerJobRun.id)
  for (;;) {
    const run = await a.app.db.prisma.jobRun.findUniqueOrThrow({ where: { id }, select: { status: true, result: true, error: true } })
    if (['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(run.status)) {
      if (run.status !== 'SUCCEEDED') throw new Error(`${step}: run ${run.status}: ${run.error}`)
      const wallMs = now() - t0
      const n = statements - s0
      return { step, wallMs: Math.round(wallMs), msPerDevice: Number((wallMs / o.devices).toFixed(3)), statements: n, statementsPerDevice: Number((n / o.devices).toFixed(4)), checkmkRequests: requests() - r0, result: run.result }
    }
    if (now() - t0 > o.timeoutMs) throw new Error(`${step}: no final status within ${o.timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export function formatCheckmkDevices(r: CheckmkDevicesResult): string {
  const lines = [``, `Checkmk compare/sync of ${r.devices} devices (contract server on loopback; statements = every pg statement of the process during the step)`]
  for (const s of r.steps) {
    lines.push(`  ${s.step.padEnd(30)} ${String(s.wallMs).padStart(7)} ms  ${s.msPerDevice.toFixed(3)} ms/device  ${String(s.statements).padStart(5)} statements (${s.statementsPerDevice.toFixed(4)}/device)  ${s.checkmkRequests} Checkmk requests`)
  }
  return lines.join('\n') + '\n'
}
