/**
 * The `prefix_scan` job type (no targets): finds live hosts in IPv4/IPv6 prefixes by TCP connect to the
 * configured ports — open (connected), closed (refused) or filtered (timeout / other error) — optionally ICMP
 * ping through the system `ping` (skipped with a log line when missing or not permitted) and reverse DNS.
 * A host is alive when a port is open or it answers ping. Found hosts can be created or updated as Targets.
 *
 * Progress goes to the run log every `progressEvery` addresses, plus one line per live host. Cancel and
 * timeout destroy every socket and child process in flight and return the partial result.
 */
import type { ProcessSandbox } from '../../sandbox/process-sandbox.ts'
import { lookupService } from 'node:dns/promises'
import { connect, type Socket } from 'node:net'
import { z } from 'zod'
import { coerceError } from '../../util/errors.ts'
import { Semaphore } from '../../util/semaphore.ts'
import { countAddresses, enumerateAddresses, mergeRanges, parsePrefix, type AddressRange } from './prefix-scan-addresses.ts'
import { sourceUuid } from './checkmk/config.ts'
import type { NautobotPrefix, NautobotSession, NautobotWriteBackPort } from './nautobot-port.ts'
import { nautobotPrefixes, nautobotScanSchema, writeScanResults } from './prefix-scan-nautobot.ts'
import type { AbortReason, DiscoveredTarget, ExecutionContext, ExecutionOutcome, JobExecutor } from './types.ts'

/** Hosts listed in the run result at most (the counts are always complete). */
export const MAX_RESULT_HOSTS = 1000
/** Targets written per upsertTargets call. */
const UPSERT_BATCH = 500
const NAME_PLACEHOLDERS = ['ip', 'hostname', 'shortname'] as const
const ATTRIBUTE_VALUE = z.union([z.string(), z.number(), z.boolean(), z.null()])

const createTargetsSchema = z
  .object({
    tags: z.array(z.string().trim().min(1).max(100)).max(50).default([]).describe('Tags given to every target found (merged into existing tags).'),
    attributes: z.record(z.string().min(1), ATTRIBUTE_VALUE).default({}).describe('Attributes set on every target found (merged, these values win).'),
    namePattern: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .default('{ip}')
      .refine((p) => [...p.matchAll(/\{([^}]*)\}/g)].every((m) => (NAME_PLACEHOLDERS as readonly string[]).includes(m[1]!)), 'placeholders are {ip}, {hostname} and {shortname}')
      .describe('Target name: `{ip}`, `{hostname}` (reverse DNS name, else the address) and `{shortname}` (hostname up to the first dot) are replaced. A target with the same name is updated, not duplicated.'),
    port: z.number().int().min(1).max(65535).optional().describe('Port of the targets; default: the first open port found (in `ports` order), else the first of `ports`.'),
  })
  .strict()
  .describe('Create or update a Target for each live host found.')

const configSchema = z
  .object({
    prefixes: z
      .array(z.string().trim().refine((p) => parsePrefix(p) !== null, 'must be an IPv4 or IPv6 prefix in CIDR notation (e.g. 192.0.2.0/24) or an address'))
      .max(256)
      .default([])
      .describe('Prefixes to scan, in CIDR notation (`192.0.2.0/24`, `2001:db8::/120`) or single addresses. Overlaps are scanned once. May be empty when `nautobot` gives them.'),
    ports: z.array(z.number().int().min(1).max(65535)).min(1).max(100).default([22]).describe('TCP ports tried on every address.'),
    timeoutMs: z.number().int().min(10).max(60_000).default(1000).describe('Limit for one TCP connect (and for reverse DNS) in milliseconds.'),
    retries: z.number().int().min(0).max(5).default(0).describe('Extra connect attempts when a port is filtered (timeout or error other than refused).'),
    concurrency: z.number().int().min(1).max(1024).default(64).describe('Connects (and pings) in flight at once.'),
    maxAddresses: z.number().int().min(1).max(1_048_576).default(4096).describe('Refuse to save a template whose prefixes hold more addresses than this.'),
    skipNetworkAndBroadcast: z.boolean().default(true).describe('Skip the first and last address of IPv4 prefixes shorter than /31.'),
    reverseDns: z.boolean().default(false).describe('Look up the host name of each live host (system resolver, `timeoutMs` limit).'),
    icmp: z.boolean().default(false).describe('Also ping each address with the system `ping -c1 -W1`; skipped with a log line when ping is missing or not permitted.'),
    progressEvery: z.number().int().min(1).max(1_048_576).default(256).describe('Write a progress line to the run log every this many addresses.'),
    createTargets: createTargetsSchema.optional(),
    nautobot: nautobotScanSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.prefixes.length && !c.nautobot) ctx.addIssue({ code: 'custom', path: ['prefixes'], message: 'give at least one prefix, or take them from Nautobot (nautobot)' })
    const ranges = c.prefixes.map((p) => parsePrefix(p, c))
    if (ranges.some((r) => r === null)) return
    const count = countAddresses(mergeRanges(ranges as AddressRange[]))
    if (count > BigInt(c.maxAddresses)) {
      ctx.addIssue({ code: 'custom', path: ['prefixes'], message: `the prefixes hold ${count} addresses, more than maxAddresses (${c.maxAddresses})` })
    }
  })

export type PrefixScanConfig = z.output<typeof configSchema>
type Context = ExecutionContext<PrefixScanConfig>
type PortState = 'open' | 'closed' | 'filtered'

export interface ScannedHost {
  address: string
  openPorts: number[]
  closedPorts: number[]
  filteredPorts: number[]
  ping?: boolean
  hostname?: string
}

export interface PrefixScanOptions {
  /** The ping program (tests put a fake one here). */
  pingCommand?: string
  /** Reading prefixes from and writing results to Nautobot (`nautobot`); without it such a run fails. */
  nautobot?: NautobotWriteBackPort
}

export function createPrefixScanExecutor(options: PrefixScanOptions = {}): JobExecutor<typeof configSchema> {
  return {
    type: 'prefix_scan',
    label: 'Prefix scan',
    description: 'Scans IPv4/IPv6 prefixes for live hosts by TCP connect (and optionally ping), optionally creating Targets for them.',
    configSchema,
    usesTargets: false,
    sourceRefs: (config) => (config.nautobot ? [{ path: ['nautobot', 'sourceId'], id: sourceUuid(config.nautobot.sourceId)! }] : []),
    execute: (ctx) => execute(ctx, options.pingCommand ?? 'ping', options.nautobot),
  }
}

export const prefixScanExecutor = createPrefixScanExecutor()

async function execute(ctx: Context, pingCommand: string, nautobotPort: NautobotWriteBackPort | undefined): Promise<ExecutionOutcome> {
  const { config, signal } = ctx
  let session: NautobotSession | null = null
  let fromNautobot: NautobotPrefix[] = []
  if (config.nautobot) {
    try {
      if (!nautobotPort) throw new Error('this worker has no Nautobot access')
      const sourceId = sourceUuid(config.nautobot.sourceId)!
      session = await nautobotPort.open({ runId: ctx.runId, sourceId, signal })
      fromNautobot = await nautobotPrefixes(session, config.nautobot)
    } catch (err) {
      const e = coerceError(err)
      const error = `nautobot: cannot read the prefixes to scan: ${e.message}`
      ctx.log.system(error, { level: 'ERROR' })
      return { ok: false, error, retryable: (e as { transient?: unknown }).transient === true }
    }
    ctx.log.system(`Nautobot (${session.sourceName}): ${fromNautobot.length} prefix${fromNautobot.length === 1 ? '' : 'es'} with ${config.nautobot.prefixField} set${fromNautobot.length ? `: ${fromNautobot.slice(0, 20).map((p) => p.prefix).join(', ')}${fromNautobot.length > 20 ? ', …' : ''}` : ''}`)
  }
  const prefixTexts = [...config.prefixes, ...fromNautobot.map((p) => p.prefix)]
  const ranges: AddressRange[] = mergeRanges(prefixTexts.map((p) => parsePrefix(p, config)!))
  const total = Number(countAddresses(ranges))
  // Checked at save for the prefixes in the template; Nautobot's are known only now.
  if (total > config.maxAddresses) {
    const error = `the prefixes hold ${total} addresses, more than maxAddresses (${config.maxAddresses})`
    ctx.log.system(error, { level: 'ERROR' })
    return { ok: false, error }
  }
  ctx.log.system(`scanning ${total} address${total === 1 ? '' : 'es'} in ${prefixTexts.join(', ') || 'no prefix'} on port${config.ports.length === 1 ? '' : 's'} ${config.ports.join(', ')}`)
  const ping = config.icmp ? await probePing(ctx.sandbox, pingCommand, signal) : null
  if (config.icmp && !ping?.ok) ctx.log.system(`ICMP skipped: ${ping?.reason ?? 'ping unavailable'}`, { level: 'WARNING' })

  const connects = new Semaphore(config.concurrency)
  const inFlight = new Semaphore(config.concurrency)
  const dnsLimiter = new Semaphore(4)
  const counts = { scanned: 0, alive: 0, open: 0, closed: 0, filtered: 0 }
  const hosts: ScannedHost[] = []
  const found: ScannedHost[] = []
  const tasks = new Set<Promise<void>>()
  let failure = null as Error | null

  const scanAddress = async (address: string) => {
    const [states, pinged] = await Promise.all([
      Promise.all(config.ports.map((port) => connects.use(() => probePort(address, port, config.timeoutMs, config.retries, signal), signal))),
      ping?.ok ? connects.use(() => runPing(ctx.sandbox, pingCommand, address, signal), signal) : Promise.resolve(undefined),
    ])
    if (signal.aborted) return
    const host: ScannedHost = { address, openPorts: [], closedPorts: [], filteredPorts: [] }
    states.forEach((state, i) => {
      counts[state]++
      host[state === 'open' ? 'openPorts' : state === 'closed' ? 'closedPorts' : 'filteredPorts'].push(config.ports[i]!)
    })
    if (pinged !== undefined) host.ping = pinged
    counts.scanned++
    if (host.openPorts.length || pinged) {
      counts.alive++
      if (config.reverseDns) {
        const name = await dnsLimiter.use(() => reverseLookup(address, config.timeoutMs), signal).catch(() => undefined)
        if (name) host.hostname = name
      }
      if (signal.aborted) return
      found.push(host)
      if (hosts.length < MAX_RESULT_HOSTS) hosts.push(host)
      const open = host.openPorts.length ? `open ${host.openPorts.join(', ')}` : 'no open port'
      ctx.log.system(`${address} is up: ${open}${host.ping ? ', answers ping' : ''}${host.hostname ? ` (${host.hostname})` : ''}`)
    }
    if (counts.scanned % config.progressEvery === 0 && counts.scanned < total) {
      ctx.log.system(`progress: ${counts.scanned}/${total} addresses scanned, ${counts.alive} alive`)
    }
  }

  try {
    for (const address of enumerateAddresses(ranges)) {
      if (failure) break
      await inFlight.acquire(signal)
      const task: Promise<void> = scanAddress(address)
        .catch((err: unknown) => {
          if (!signal.aborted) failure ??= coerceError(err)
        })
        .finally(() => {
          inFlight.release()
          tasks.delete(task)
        })
      tasks.add(task)
    }
  } catch {
    // only the abort of `inFlight.acquire` lands here
  }
  await Promise.all(tasks)

  const summary = () => ({ scanned: counts.scanned, alive: counts.alive, ports: { open: counts.open, closed: counts.closed, filtered: counts.filtered } })
  const result = (extra: Record<string, unknown> = {}) => ({
    ...summary(),
    total,
    icmp: config.icmp ? (ping?.ok ? 'used' : 'skipped') : 'off',
    hosts: [...hosts].sort(byAddress),
    hostsTruncated: found.length > hosts.length,
    ...extra,
  })
  if (signal.aborted) {
    const cause = (signal.reason as Partial<AbortReason> | undefined)?.cause
    const error = cause === 'timeout' ? 'run timed out' : 'run cancelled'
    ctx.log.system(`${error} after ${counts.scanned}/${total} addresses (${counts.alive} alive)`, { level: 'WARNING' })
    return { ok: false, error, result: result() }
  }
  const failed = failure as Error | null
  if (failed) {
    ctx.log.system(`scan failed: ${failed.message}`, { level: 'ERROR' })
    return { ok: false, error: `scan failed: ${failed.message}`, retryable: true, result: result() }
  }
  ctx.log.system(`done: ${counts.scanned} addresses scanned, ${counts.alive} alive; ports open ${counts.open}, closed ${counts.closed}, filtered ${counts.filtered}`)

  let targetIds: string[] | undefined
  if (config.createTargets && found.length) {
    const discovered = found.sort(byAddress).map((h) => discoveredTarget(h, config))
    try {
      targetIds = []
      for (let i = 0; i < discovered.length; i += UPSERT_BATCH) targetIds.push(...(await ctx.upsertTargets(discovered.slice(i, i + UPSERT_BATCH))))
    } catch (err) {
      const message = `could not create targets: ${coerceError(err).message}`
      ctx.log.system(message, { level: 'ERROR' })
      return { ok: false, error: message, retryable: true, result: result() }
    }
    ctx.log.system(`created or updated ${targetIds.length} target${targetIds.length === 1 ? '' : 's'}: ${discovered.slice(0, 20).map((t) => t.name).join(', ')}${discovered.length > 20 ? ', …' : ''}`)
  }
  const extra: Record<string, unknown> = targetIds ? { targetsUpserted: targetIds.length } : {}
  if (session && config.nautobot) {
    const written = await writeScanResults(ctx, session, fromNautobot, [...found].sort(byAddress), new Date())
    extra.nautobot = { source: session.sourceName, ...written }
    if (written.failures && config.nautobot.strict) {
      const error = `scan done, but ${written.failures} write${written.failures === 1 ? '' : 's'} to Nautobot failed`
      return { ok: false, error, result: result(extra) }
    }
  }
  return { ok: true, result: result(extra) }
}

function byAddress(a: ScannedHost, b: ScannedHost): number {
  const key = (s: string) => parsePrefix(s)!
  const ka = key(a.address)
  const kb = key(b.address)
  return ka.family - kb.family || (ka.first < kb.first ? -1 : ka.first > kb.first ? 1 : 0)
}

function discoveredTarget(host: ScannedHost, config: PrefixScanConfig): DiscoveredTarget {
  const ct = config.createTargets!
  const hostname = host.hostname ?? host.address
  const values: Record<(typeof NAME_PLACEHOLDERS)[number], string> = { ip: host.address, hostname, shortname: host.hostname ? host.hostname.split('.')[0]! : host.address }
  const name = ct.namePattern.replace(/\{(ip|hostname|shortname)\}/g, (_, k: keyof typeof values) => values[k])
  return { name, host: host.address, port: ct.port ?? host.openPorts[0] ?? config.ports[0]!, tags: ct.tags, attributes: ct.attributes }
}

/** One TCP connect per attempt; only filtered results are retried. */
async function probePort(host: string, port: number, timeoutMs: number, retries: number, signal: AbortSignal): Promise<PortState> {
  let state: PortState = 'filtered'
  for (let attempt = 0; attempt <= retries && !signal.aborted; attempt++) {
    state = await connectOnce(host, port, timeoutMs, signal)
    if (state !== 'filtered') break
  }
  return state
}

function connectOnce(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<PortState> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve('filtered')
    let socket: Socket | undefined
    const done = (state: PortState) => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      socket?.destroy()
      resolve(state)
    }
    const onAbort = () => done('filtered')
    const timer = setTimeout(() => done('filtered'), timeoutMs)
    signal.addEventListener('abort', onAbort, { once: true })
    socket = connect({ host, port })
    socket.once('connect', () => done('open'))
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'closed' : 'filtered'))
  })
}

async function reverseLookup(address: string, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs)
  })
  try {
    const lookup = lookupService(address, 0).then(
      (r) => (r.hostname && r.hostname !== address ? r.hostname : undefined),
      () => undefined,
    )
    return await Promise.race([lookup, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function pingArgs(address: string): string[] {
  return ['-c1', '-W1', ...(address.includes(':') ? ['-6'] : []), address]
}

/** Checks once that the system ping exists and may send ICMP (raw sockets or ping_group_range). */
async function probePing(sandbox: ProcessSandbox, command: string, signal: AbortSignal): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    sandbox.execFile(command, pingArgs('127.0.0.1'), { signal, timeout: 5000 }, (err, _stdout, stderr) => {
      if (!err) return resolve({ ok: true })
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return resolve({ ok: false, reason: `${command} is not installed` })
      const text = String(stderr).trim().split('\n')[0] ?? ''
      resolve({ ok: false, reason: /permit|permission|denied|socket/i.test(text) ? `${command} is not permitted (${text})` : `${command} does not work here (${text || err.message})` })
    })
  })
}

function runPing(sandbox: ProcessSandbox, command: string, address: string, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false)
    sandbox.execFile(command, pingArgs(address), { signal, timeout: 5000 }, (err) => resolve(!err))
  })
}
