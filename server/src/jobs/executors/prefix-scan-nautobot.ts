/**
 * prefix_scan with Nautobot: the prefixes to scan are read from Nautobot (those whose custom field has a
 * value), and after the scan the live addresses are created or updated in Nautobot's IPAM — in the namespace
 * of the most specific scanned prefix that holds them, with its mask length, the configured status and the
 * reverse DNS name when one was found — and each prefix's "last scanned" custom field is set.
 *
 * Per prefix and per address results go into the run's result; a failed write is a warning unless `strict`.
 * Re-running changes nothing twice: addresses are looked up in their namespace before one is created.
 */
import { z } from 'zod'
import { coerceError } from '../../util/errors.ts'
import { Semaphore } from '../../util/semaphore.ts'
import { sourceUuid } from './checkmk/config.ts'
import { customFieldKey, customFieldTime, customFieldType, type AddressWrite, type NautobotPrefix, type NautobotSession } from './nautobot-port.ts'
import { parsePrefix, type AddressRange } from './prefix-scan-addresses.ts'
import type { ExecutionContext } from './types.ts'

export const nautobotScanSchema = z
  .object({
    sourceId: z
      .string()
      .trim()
      .refine((v) => sourceUuid(v) !== null, 'must be the id of an inventory source')
      .describe('The Nautobot inventory source whose URL and API token are used (its id as the API shows it, or its UUID).'),
    prefixField: customFieldKey.describe('Prefixes whose custom field with this key has a value (not empty, not false) are scanned.'),
    writeAddresses: z.boolean().default(true).describe('Create or update every live address in Nautobot IPAM (status, and DNS name when reverse DNS found one).'),
    ipStatus: z.string().trim().min(1).max(100).default('Active').describe('The status (by name) live addresses get in Nautobot.'),
    lastScannedField: customFieldKey.optional().describe('A prefix custom field set to the scan time after a complete scan.'),
    lastScannedType: customFieldType.default('datetime').describe('That custom field\'s type in Nautobot: `datetime`, `date` or `text`.'),
    strict: z.boolean().default(false).describe('A failed write to Nautobot fails the run (the scan result is kept); otherwise it is a warning.'),
  })
  .strict()
  .describe('Take the prefixes from Nautobot and write the results back there.')

export type NautobotScanConfig = z.output<typeof nautobotScanSchema>

export interface PrefixWriteResult {
  prefix: string
  id: string
  namespace: string | null
  alive: number
  lastScanned: 'WRITTEN' | 'UNCHANGED' | 'SKIPPED' | 'FAILED'
  error?: string
}
export interface AddressWriteResult {
  address: string
  prefix: string
  action: Uppercase<AddressWrite> | 'FAILED'
  dnsName?: string
  error?: string
}

const WRITES_AT_ONCE = 4
const MAX_ADDRESS_RESULTS = 1000

/** The prefixes to scan, read once at the start; invalid ones are refused with the prefix named. */
export async function nautobotPrefixes(session: NautobotSession, config: NautobotScanConfig): Promise<NautobotPrefix[]> {
  const prefixes = await session.prefixesWithField(config.prefixField)
  for (const p of prefixes) if (!parsePrefix(p.prefix)) throw new Error(`Nautobot prefix "${p.prefix}" is not a CIDR prefix`)
  return prefixes
}

interface Host {
  address: string
  hostname?: string
}

/** For each namespace, the most specific prefix that holds the address (its mask length and namespace). */
export function homes(address: string, prefixes: ReadonlyArray<{ p: NautobotPrefix; range: AddressRange; length: number }>) {
  const at = parsePrefix(address)!
  const best = new Map<string, { p: NautobotPrefix; length: number }>()
  for (const x of prefixes) {
    if (x.range.family !== at.family || at.first < x.range.first || at.first > x.range.last) continue
    const cur = best.get(x.p.namespaceId)
    if (!cur || x.length > cur.length) best.set(x.p.namespaceId, x)
  }
  return [...best.values()]
}

export async function writeScanResults(
  ctx: ExecutionContext<{ nautobot?: NautobotScanConfig }>,
  session: NautobotSession,
  prefixes: readonly NautobotPrefix[],
  alive: readonly Host[],
  scannedAt: Date,
): Promise<{ prefixes: PrefixWriteResult[]; addresses: AddressWriteResult[]; addressesTruncated: boolean; failures: number }> {
  const config = ctx.config.nautobot!
  const indexed = prefixes.map((p) => ({ p, range: parsePrefix(p.prefix)!, length: Number(p.prefix.split('/')[1] ?? (p.prefix.includes(':') ? 128 : 32)) }))
  const aliveIn = new Map<string, number>()
  const addresses: AddressWriteResult[] = []
  let failures = 0
  const slots = new Semaphore(WRITES_AT_ONCE)
  const jobs: Array<Promise<void>> = []
  for (const host of alive) {
    for (const { p, length } of homes(host.address, indexed)) {
      aliveIn.set(p.id, (aliveIn.get(p.id) ?? 0) + 1)
      if (!config.writeAddresses) continue
      const row: AddressWriteResult = { address: host.address, prefix: p.prefix, action: 'FAILED', ...(host.hostname ? { dnsName: host.hostname } : {}) }
      addresses.push(row)
      jobs.push(
        slots.use(async () => {
          try {
            const { action } = await session.upsertAddress({ host: host.address, maskLength: length, namespaceId: p.namespaceId, status: config.ipStatus, ...(host.hostname ? { dnsName: host.hostname } : {}) })
            row.action = action.toUpperCase() as AddressWriteResult['action']
          } catch (err) {
            failures++
            row.error = coerceError(err).message
            ctx.log.system(`Nautobot: could not write ${host.address}: ${row.error}`, { level: 'WARNING' })
          }
        }),
      )
    }
  }
  await Promise.all(jobs)
  const results: PrefixWriteResult[] = []
  const value = customFieldTime(config.lastScannedType, scannedAt)
  for (const { p } of indexed) {
    const r: PrefixWriteResult = { prefix: p.prefix, id: p.id, namespace: p.namespace, alive: aliveIn.get(p.id) ?? 0, lastScanned: 'SKIPPED' }
    results.push(r)
    if (!config.lastScannedField) continue
    try {
      const did = await session.setPrefixField(p.id, config.lastScannedField, value)
      r.lastScanned = did === 'written' ? 'WRITTEN' : did === 'unchanged' ? 'UNCHANGED' : 'SKIPPED'
      if (did === 'missing') r.error = 'the prefix is no longer in Nautobot'
    } catch (err) {
      failures++
      r.lastScanned = 'FAILED'
      r.error = coerceError(err).message
      ctx.log.system(`Nautobot: could not set ${config.lastScannedField} on ${p.prefix}: ${r.error}`, { level: 'WARNING' })
    }
  }
  const count = (a: AddressWriteResult['action']) => addresses.filter((x) => x.action === a).length
  ctx.log.system(
    `Nautobot (${session.sourceName}): addresses ${count('CREATED')} created, ${count('UPDATED')} updated, ${count('UNCHANGED')} unchanged, ${count('FAILED')} failed` +
      (config.lastScannedField ? `; ${config.lastScannedField} set on ${results.filter((r) => r.lastScanned === 'WRITTEN' || r.lastScanned === 'UNCHANGED').length}/${results.length} prefixes` : ''),
    failures ? { level: 'WARNING' } : undefined,
  )
  return { prefixes: results, addresses: addresses.slice(0, MAX_ADDRESS_RESULTS), addressesTruncated: addresses.length > MAX_ADDRESS_RESULTS, failures }
}
