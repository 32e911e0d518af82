/**
 * The prefix_scan executor against real TCP listeners on loopback addresses (127.0.0.0/8), and through the
 * real system `ping` against a network namespace the test creates (test/harness/netns.ts; root + iproute2 +
 * iputils-ping). Only the dispatcher side (the ExecutionContext) is faked, by
 * test/harness/fake-execution-context.ts; sockets, timeouts, ping and DNS are real.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fakeExecutionContext } from '../../../test/harness/fake-execution-context.ts'
import { createTestNetwork, type TestNetwork } from '../../../test/harness/netns.ts'
import { countAddresses, enumerateAddresses, formatAddress, mergeRanges, parsePrefix } from './prefix-scan-addresses.ts'
import { createPrefixScanExecutor, prefixScanExecutor, type ScannedHost } from './prefix-scan.ts'
import { AbortReason } from './types.ts'

const LISTEN_ON = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']
const servers: Server[] = []
const ports: Record<string, number> = {}
let closedPort: number
let tmp: string

async function listen(host: string): Promise<Server> {
  const server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve))
  return server
}

beforeAll(async () => {
  for (const host of LISTEN_ON) {
    const server = await listen(host)
    servers.push(server)
    ports[host] = (server.address() as AddressInfo).port
  }
  // A port that was just free on every address: bound then closed again.
  const probe = await listen('127.0.0.1')
  closedPort = (probe.address() as AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  tmp = mkdtempSync(join(tmpdir(), 'prefix-scan-test-'))
})
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  rmSync(tmp, { recursive: true, force: true })
})

function fakeContext(config: Record<string, unknown>, options: { signal?: AbortSignal; onLog?: (text: string) => void } = {}) {
  return fakeExecutionContext(prefixScanExecutor.configSchema.parse(config), {
    signal: options.signal,
    maxParallelTargets: 1,
    overrides: (recording) => ({
      log: {
        output: () => expect.fail('prefix_scan has no targets'),
        system: (text, opts) => {
          recording.log.system(text, opts)
          options.onLog?.(text)
        },
      },
      targetStarted: () => expect.fail('prefix_scan has no targets'),
      targetFinished: () => expect.fail('prefix_scan has no targets'),
    }),
  })
}

const issues = (config: unknown) => {
  const r = prefixScanExecutor.configSchema.safeParse(config)
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}
type ScanResult = { scanned: number; alive: number; total: number; icmp: string; ports: Record<string, number>; hosts: ScannedHost[]; hostsTruncated: boolean; targetsUpserted?: number }

describe('prefix_scan addresses', () => {
  it('parses IPv4/IPv6 prefixes and bare addresses, masks host bits, merges overlaps', () => {
    expect(parsePrefix('127.0.0.0/29')).toEqual({ family: 4, first: 0x7f000000n, last: 0x7f000007n })
    expect(parsePrefix('127.0.0.5/29', { skipNetworkAndBroadcast: true })).toEqual({ family: 4, first: 0x7f000001n, last: 0x7f000006n })
    expect(parsePrefix('10.0.0.0/31', { skipNetworkAndBroadcast: true })).toMatchObject({ first: 0x0a000000n, last: 0x0a000001n })
    expect(parsePrefix('192.0.2.9')).toMatchObject({ first: 0xc0000209n, last: 0xc0000209n })
    expect(parsePrefix('2001:db8::/126')).toMatchObject({ family: 6, last: (0x20010db8n << 96n) + 3n })
    expect(parsePrefix('::ffff:127.0.0.1/128')).toMatchObject({ family: 6, first: 0xffff7f000001n })
    for (const bad of ['127.0.0.0/33', '300.0.0.0/8', '127.0.0/24', 'fe80::1%eth0/64', '::/129', 'localhost', '10.0.0.0/08', '']) expect(parsePrefix(bad), bad).toBeNull()
    expect([...enumerateAddresses([parsePrefix('2001:db8::/127')!, parsePrefix('::1')!])]).toEqual(['2001:db8::', '2001:db8::1', '::1'])
    expect(formatAddress(6, 0x20010db8000000000001000000000001n)).toBe('2001:db8::1:0:0:1')
    const merged = mergeRanges([parsePrefix('10.0.0.0/24')!, parsePrefix('10.0.0.128/25')!, parsePrefix('10.0.1.0/24')!, parsePrefix('::1')!])
    expect(merged).toHaveLength(2)
    expect(countAddresses(merged)).toBe(513n)
  })
})

describe('prefix_scan executor', () => {
  it('validates its config and names the field', () => {
    expect(issues({ prefixes: ['127.0.0.0/29'] })).toEqual([])
    expect(prefixScanExecutor.configSchema.parse({ prefixes: ['127.0.0.0/29'] })).toMatchObject({ ports: [22], timeoutMs: 1000, retries: 0, concurrency: 64, maxAddresses: 4096, reverseDns: false, icmp: false })
    expect(issues({ prefixes: ['127.0.0.0/29', '127.0.0.0/33'] })).toEqual(['prefixes.1: must be an IPv4 or IPv6 prefix in CIDR notation (e.g. 192.0.2.0/24) or an address'])
    expect(issues({ prefixes: [] })[0]).toMatch(/^prefixes: /)
    expect(issues({ prefixes: ['127.0.0.0/8'] })).toEqual(['prefixes: the prefixes hold 16777214 addresses, more than maxAddresses (4096)'])
    expect(issues({ prefixes: ['127.0.0.0/29'], maxAddresses: 5 })).toEqual(['prefixes: the prefixes hold 6 addresses, more than maxAddresses (5)'])
    expect(issues({ prefixes: ['127.0.0.0/29'], maxAddresses: 5, skipNetworkAndBroadcast: false })[0]).toContain('hold 8 addresses')
    expect(issues({ prefixes: ['::/64'] })[0]).toContain('hold 18446744073709551616 addresses')
    expect(issues({ prefixes: ['127.0.0.1'], ports: [] })[0]).toMatch(/^ports: /)
    expect(issues({ prefixes: ['127.0.0.1'], ports: [0] })[0]).toMatch(/^ports\.0: /)
    expect(issues({ prefixes: ['127.0.0.1'], concurrency: 100_000 })[0]).toMatch(/^concurrency: /)
    expect(issues({ prefixes: ['127.0.0.1'], createTargets: { namePattern: 'scan-{address}' } })[0]).toMatch(/^createTargets\.namePattern: placeholders are/)
    expect(issues({ prefixes: ['127.0.0.1'], bogus: 1 })).toHaveLength(1)
    const schema = z.toJSONSchema(prefixScanExecutor.configSchema, { io: 'input' }) as { properties: Record<string, { description?: string }> }
    expect(schema.properties.prefixes?.description).toContain('CIDR')
  })

  it('finds the open ports on a /29 of loopback, reports the others closed, logs progress and live hosts', async () => {
    const scanPorts = [...LISTEN_ON.map((h) => ports[h]!), closedPort]
    const { ctx, system, upserts } = fakeContext({ prefixes: ['127.0.0.0/29'], ports: scanPorts, timeoutMs: 5000, concurrency: 4, progressEvery: 2 })
    const outcome = await prefixScanExecutor.execute(ctx)
    expect(outcome.ok).toBe(true)
    const result = outcome.result as ScanResult
    expect(result).toMatchObject({ scanned: 6, total: 6, icmp: 'off', hostsTruncated: false })
    for (const host of LISTEN_ON) {
      const found = result.hosts.find((h) => h.address === host)
      expect(found, host).toEqual({ address: host, openPorts: [ports[host]], closedPorts: scanPorts.filter((p) => p !== ports[host]), filteredPorts: [] })
    }
    // 127.0.0.1 and .6 listen on none of these ports (another process could hold one on 127.0.0.1, so only .6 is asserted).
    expect(result.hosts.map((h) => h.address)).not.toContain('127.0.0.6')
    expect(result.alive).toBe(result.hosts.length)
    expect(result.ports.closed).toBeGreaterThanOrEqual(6 * scanPorts.length - 5)
    const texts = system.map((s) => s.text)
    expect(texts[0]).toBe(`scanning 6 addresses in 127.0.0.0/29 on ports ${scanPorts.join(', ')}`)
    expect(texts).toContain(`127.0.0.3 is up: open ${ports['127.0.0.3']}`)
    expect(texts.filter((t) => t.startsWith('progress: ')).length).toBeGreaterThanOrEqual(1)
    expect(texts.at(-1)).toMatch(/^done: 6 addresses scanned, \d alive; ports open \d+, closed \d+, filtered 0$/)
    expect(upserts).toEqual([])
  })

  it('resolves reverse DNS where the machine can, and creates targets for live hosts', async () => {
    const { ctx, upserts, system } = fakeContext({
      prefixes: ['127.0.0.1/32', '127.0.0.2/31'],
      ports: [ports['127.0.0.2']!, ports['127.0.0.3']!],
      reverseDns: true,
      createTargets: { tags: ['discovered'], attributes: { site: 'lab' }, namePattern: 'scan-{ip}' },
    })
    const outcome = await prefixScanExecutor.execute(ctx)
    expect(outcome).toMatchObject({ ok: true, result: { scanned: 3, targetsUpserted: upserts[0]?.length } })
    const found = upserts[0]!.filter((t) => t.host !== '127.0.0.1')
    expect(found).toEqual([
      { name: 'scan-127.0.0.2', host: '127.0.0.2', port: ports['127.0.0.2'], tags: ['discovered'], attributes: { site: 'lab' } },
      { name: 'scan-127.0.0.3', host: '127.0.0.3', port: ports['127.0.0.3'], tags: ['discovered'], attributes: { site: 'lab' } },
    ])
    expect(system.some((s) => /^created or updated \d targets: /.test(s.text))).toBe(true)
    // Reverse DNS of 127.0.0.1 (when listening there) depends on the machine: only check its shape.
    for (const h of (outcome.result as ScanResult).hosts) if (h.hostname !== undefined) expect(h.hostname).toMatch(/^[A-Za-z0-9.-]+$/)
  })

  it('reverse-resolves 127.0.0.1 when the machine can', async () => {
    const server = await listen('127.0.0.1')
    try {
      const port = (server.address() as AddressInfo).port
      const { ctx } = fakeContext({ prefixes: ['127.0.0.1'], ports: [port], reverseDns: true, createTargets: { namePattern: '{shortname}' } })
      const outcome = await prefixScanExecutor.execute(ctx)
      const host = (outcome.result as ScanResult).hosts[0]!
      expect(host).toMatchObject({ address: '127.0.0.1', openPorts: [port] })
      if (host.hostname !== undefined) expect(host.hostname.length).toBeGreaterThan(0)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('skips ICMP with a log line when ping is missing, and uses a working ping', async () => {
    const missing = createPrefixScanExecutor({ pingCommand: join(tmp, 'no-such-ping') })
    const m = fakeContext({ prefixes: ['127.0.0.6'], ports: [closedPort], icmp: true })
    const outcome = await missing.execute(m.ctx)
    expect(outcome).toMatchObject({ ok: true, result: { scanned: 1, alive: 0, icmp: 'skipped' } })
    expect(m.system.find((s) => s.text.startsWith('ICMP skipped: '))).toMatchObject({ level: 'WARNING', text: expect.stringContaining('is not installed') })

    // A stand-in for the system ping: answers for 127.0.0.1 (the probe) and 127.0.0.6 only.
    const fake = join(tmp, 'ping')
    writeFileSync(fake, '#!/bin/sh\nfor a; do last=$a; done\n[ "$last" = 127.0.0.1 ] || [ "$last" = 127.0.0.6 ]\n')
    chmodSync(fake, 0o755)
    const f = fakeContext({ prefixes: ['127.0.0.6/31'], ports: [closedPort], icmp: true })
    const pinged = await createPrefixScanExecutor({ pingCommand: fake }).execute(f.ctx)
    expect(pinged).toMatchObject({ ok: true, result: { scanned: 2, alive: 1, icmp: 'used', hosts: [{ address: '127.0.0.6', openPorts: [], closedPorts: [closedPort], ping: true }] } })
    expect(f.system.map((s) => s.text)).toContain('127.0.0.6 is up: no open port, answers ping')
  })

  it('caps the listed hosts and writes targets in batches', async () => {
    const fake = join(tmp, 'ping-all')
    writeFileSync(fake, '#!/bin/sh\nexit 0\n')
    chmodSync(fake, 0o755)
    const { ctx, upserts } = fakeContext({ prefixes: ['127.3.0.0/22'], ports: [closedPort], icmp: true, concurrency: 16, createTargets: {} })
    const outcome = await createPrefixScanExecutor({ pingCommand: fake }).execute(ctx)
    expect(outcome).toMatchObject({ ok: true, result: { scanned: 1022, alive: 1022, hostsTruncated: true, targetsUpserted: 1022 } })
    expect((outcome.result as ScanResult).hosts).toHaveLength(1000)
    expect(upserts.map((u) => u.length)).toEqual([500, 500, 22])
    expect(upserts[0]![0]).toEqual({ name: '127.3.0.1', host: '127.3.0.1', port: closedPort, tags: [], attributes: {} })
  }, 120_000)

  it('stops promptly on cancel in the middle of a large range and returns the partial counts', async () => {
    const controller = new AbortController()
    const { ctx, system } = fakeContext(
      { prefixes: ['127.1.0.0/16'], ports: [closedPort, closedPort + 1], maxAddresses: 70_000, timeoutMs: 60_000, concurrency: 32, progressEvery: 500 },
      { signal: controller.signal, onLog: (text) => text.startsWith('progress: ') && controller.abort(new AbortReason('cancelled')) },
    )
    const outcome = await prefixScanExecutor.execute(ctx)
    expect(outcome).toMatchObject({ ok: false, error: 'run cancelled' })
    const result = outcome.result as ScanResult
    expect(result.total).toBe(65534)
    expect(result.scanned).toBeGreaterThanOrEqual(500)
    expect(result.scanned).toBeLessThan(65534)
    expect(system.at(-1)).toMatchObject({ level: 'WARNING', text: expect.stringMatching(/^run cancelled after \d+\/65534 addresses/) })
  }, 60_000)
})

describe('prefix_scan through the system ping', () => {
  // Loopback answers ping on every 127/8 address, so a host that does not answer needs a real link: a
  // network namespace behind a veth pair, with addresses inside it and unused ones on the same prefix.
  let net: TestNetwork
  let openPort: number
  beforeAll(async () => {
    net = await createTestNetwork()
    openPort = await net.listenTcp(net.ipv4.nsAddresses[0]!)
  })
  afterAll(() => net?.destroy())

  it('with the default ping command, finds the hosts that only answer ping (IPv4 and IPv6) and the port open in the namespace', async () => {
    const [listening, silent] = net.ipv4.nsAddresses as [string, string]
    const [v6Host] = net.ipv6.nsAddresses as [string]
    const [v6Unused] = net.ipv6.unusedAddresses as [string]
    const closedPort = openPort + 1 // nothing else listens inside the namespace
    const scanPorts = [openPort, closedPort]
    // The IPv4 /29 (host side .1, namespace .2/.3, unused .4–.6) and the IPv6 namespace address with an unused neighbour.
    const { ctx, system } = fakeContext({ prefixes: [net.ipv4.prefix, `${v6Host}/127`], ports: scanPorts, icmp: true, timeoutMs: 2000, concurrency: 32 })
    const outcome = await prefixScanExecutor.execute(ctx)
    const log = system.map((s) => s.text).join('\n')
    expect(outcome, log).toMatchObject({ ok: true, result: { scanned: 8, total: 8, icmp: 'used' } })
    expect(log).not.toContain('ICMP skipped')
    const result = outcome.result as ScanResult
    // Without a working ping, only `listening` would be alive: the others have no open port.
    expect(result.hosts.map((h) => h.address), log).toEqual([net.ipv4.hostAddress, listening, silent, v6Host])
    expect(result.alive).toBe(4)
    expect(result.hosts.find((h) => h.address === net.ipv4.hostAddress)).toMatchObject({ ping: true })
    expect(result.hosts.find((h) => h.address === listening)).toEqual({ address: listening, openPorts: [openPort], closedPorts: [closedPort], filteredPorts: [], ping: true })
    expect(result.hosts.find((h) => h.address === silent)).toEqual({ address: silent, openPorts: [], closedPorts: scanPorts, filteredPorts: [], ping: true })
    expect(result.hosts.find((h) => h.address === v6Host)).toEqual({ address: v6Host, openPorts: [], closedPorts: scanPorts, filteredPorts: [], ping: true })
    // The unused addresses (.4–.6 and the IPv6 neighbour) answer neither ping nor TCP: every connect filtered.
    expect(result.hosts.map((h) => h.address)).not.toContain(v6Unused)
    expect(result.ports.filtered, log).toBe(4 * scanPorts.length)
    expect(log).toContain(`${listening} is up: open ${openPort}, answers ping`)
    expect(log).toContain(`${silent} is up: no open port, answers ping`)
  })
})
