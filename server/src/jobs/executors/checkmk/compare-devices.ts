/**
 * `compare_devices`: each selected Nautobot device against the Checkmk host it should be → EQUAL,
 * DIFFERENT (field by field), MISSING_IN_CHECKMK, EXTRA_IN_CHECKMK (managed hosts only), SKIPPED. Reads
 * only; the per-device results are stored with the run (JobRun.deviceResults in the API).
 */
import { z } from 'zod'
import { CheckmkClient } from '../../../checkmk/checkmk-client.ts'
import type { OutboundPolicy } from '../../../net/outbound-policy.ts'
import { compareDevices, type DeviceComparison, type HostMapping } from '../../../checkmk/host-plan.ts'
import { coerceError } from '../../../util/errors.ts'
import { requireCredential } from '../credential-ref.ts'
import type { ExecutionContext, JobExecutor } from '../types.ts'
import { checkmkCredentialRefs, checkmkSourceRefs, mappingFields, refineMapping, sourceUuid } from './config.ts'
import type { CheckmkDevicesPort, DeviceResultRow } from './port.ts'

const configSchema = z.object(mappingFields).strict().superRefine(refineMapping)
export type CompareConfig = z.output<typeof configSchema>

export function mappingOf(c: CompareConfig): HostMapping {
  return { folderTemplate: c.folderTemplate, site: c.site ?? null, labels: c.labels, tagGroups: c.tagGroups }
}

export function clientFor(ctx: ExecutionContext<CompareConfig>, outbound?: OutboundPolicy): CheckmkClient {
  const credential = requireCredential(ctx.credentials, ctx.config.checkmk.credentialId, 'config.checkmk.credentialId')
  if (credential.kind !== 'PASSWORD') throw new Error('config.checkmk.credentialId: must be a PASSWORD credential (automation user and secret)')
  return new CheckmkClient({ url: ctx.config.checkmk.url, username: credential.username, secret: credential.password, tlsVerify: ctx.config.checkmk.tlsVerify, signal: ctx.signal, outbound })
}

/** Devices from Nautobot and hosts from Checkmk, compared. Both reads complete before anything is judged. */
export async function readAndCompare(ctx: ExecutionContext<CompareConfig>, port: CheckmkDevicesPort, client: CheckmkClient): Promise<DeviceComparison[]> {
  const log = (text: string, level?: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR') => ctx.log.system(text, level ? { level } : undefined)
  const devices = await port.devices({ runId: ctx.runId, sourceId: sourceUuid(ctx.config.sourceId)!, signal: ctx.signal, log })
  log(`read ${devices.length} ${devices.length === 1 ? 'device' : 'devices'} from Nautobot`)
  const hosts = await client.listHosts()
  log(`read ${hosts.length} ${hosts.length === 1 ? 'host' : 'hosts'} from Checkmk at ${ctx.config.checkmk.url}`)
  return compareDevices(devices, hosts, mappingOf(ctx.config), ctx.config.devices ?? null)
}

export function statusCounts(rows: ReadonlyArray<{ status: string }>) {
  const count = (s: string) => rows.filter((r) => r.status === s).length
  return { equal: count('EQUAL'), different: count('DIFFERENT'), missingInCheckmk: count('MISSING_IN_CHECKMK'), extraInCheckmk: count('EXTRA_IN_CHECKMK'), skipped: count('SKIPPED') }
}

export function comparisonRow(c: DeviceComparison): DeviceResultRow {
  return { device: c.device, status: c.status, action: null, folder: c.desired?.folder ?? c.actual?.folder ?? null, diffs: c.diffs, error: c.reason }
}

/** Failures of Nautobot or Checkmk: transient ones (network, 5xx) may be retried by the template's policy. */
export function failure(ctx: ExecutionContext<unknown>, e: unknown) {
  const err = coerceError(e)
  ctx.log.system(err.message, { level: 'ERROR' })
  return { ok: false, error: err.message, retryable: (err as { transient?: unknown }).transient === true }
}

/** `outbound`: the SSRF guard for the Checkmk site's requests (net/outbound-policy.ts). */
export function createCompareDevicesExecutor(port: CheckmkDevicesPort, outbound?: OutboundPolicy): JobExecutor<typeof configSchema> {
  return {
    type: 'compare_devices',
    label: 'Compare devices (Nautobot → Checkmk)',
    description: 'Compares each Nautobot device with the Checkmk host it should be: equal, different (field by field), missing in Checkmk, or extra in Checkmk (hosts Switchyard manages).',
    configSchema,
    usesTargets: false,
    credentialRefs: checkmkCredentialRefs,
    sourceRefs: checkmkSourceRefs,
    async execute(ctx) {
      try {
        const client = clientFor(ctx, outbound)
        const comparisons = await readAndCompare(ctx, port, client)
        const rows = comparisons.map(comparisonRow)
        await port.recordResults(ctx.runId, rows)
        const counts = statusCounts(rows)
        for (const c of comparisons.filter((x) => x.status === 'DIFFERENT').slice(0, 200)) {
          ctx.log.system(`${c.device}: ${c.diffs.map((d) => `${d.field} ${d.actual ?? '∅'} → ${d.expected ?? '∅'}`).join(', ')}`)
        }
        ctx.log.system(
          `${counts.equal} equal, ${counts.different} different, ${counts.missingInCheckmk} missing in Checkmk, ${counts.extraInCheckmk} extra in Checkmk, ${counts.skipped} skipped`,
        )
        return { ok: true, result: { ...counts, devices: rows.length, inSync: counts.different + counts.missingInCheckmk + counts.extraInCheckmk === 0 } }
      } catch (e) {
        return failure(ctx, e)
      }
    },
  }
}
