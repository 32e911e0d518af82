/**
 * The `prefix_scan` job type through the GraphQL API: listed in `jobTypes`, bad config rejected at template
 * save with the field named, a scan of loopback listeners (127.0.0.0/29 only) ending SUCCEEDED with its
 * result, found hosts created as Targets (and updated, not duplicated, by a second scan), cancel, and ICMP
 * through the real system `ping` against a network namespace the test creates (test/harness/netns.ts).
 */
import { createServer, type AddressInfo, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { createTestNetwork, type TestNetwork } from '../harness/netns.ts'

let t: TestApp
const servers: Server[] = []
const ports: Record<string, number> = {}
const LISTEN_ON = ['127.0.0.10', '127.0.0.11', '127.0.0.12']

const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
const LOG = `query($id: ID!) { jobRunLog(runId: $id, first: 5000) { lines { level text } } }`
const TARGETS = `query($tags: [String!]) { targets(tags: $tags) { id name host port tags attributes } }`

const api = runHelpers(() => t, { runFields: 'id status attempt error result' })
const { trigger, waitFor } = api
const createTemplate = (input: Record<string, unknown>) => api.createTemplate({ jobType: 'prefix_scan', ...input })

beforeAll(async () => {
  for (const host of LISTEN_ON) {
    const server = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve))
    servers.push(server)
    ports[host] = (server.address() as AddressInfo).port
  }
  t = await startTestApp()
}, 120_000)

afterAll(async () => {
  await t?.stop()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

describe('job type prefix_scan', () => {
  it('is listed in jobTypes with the JSON Schema of its config', async () => {
    const { jobTypes } = await t.ok(`{ jobTypes { type usesTargets configSchema } }`)
    const scan = jobTypes.find((j: { type: string }) => j.type === 'prefix_scan')
    expect(scan).toMatchObject({ usesTargets: false, configSchema: { type: 'object', properties: { ports: { default: [22] }, maxAddresses: { default: 4096 } } } })
    expect(scan.configSchema.properties.createTargets.properties.namePattern.description).toContain('{hostname}')
  })

  it('rejects bad config at template save, naming the field', async () => {
    const base = { name: 'bad-scan', jobType: 'prefix_scan', visibility: 'GLOBAL' }
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...base, config: { prefixes: ['127.0.0.0/16'] } } }), 'input.config.prefixes')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...base, config: { prefixes: ['127.0.0.0/29'], maxAddresses: 4 } } }), 'input.config.prefixes')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...base, config: { prefixes: ['127.0.0.0/29', '127.0.0.300/32'] } } }), 'input.config.prefixes.1')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...base, config: { prefixes: ['127.0.0.0/29'], ports: [] } } }), 'input.config.ports')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...base, config: { prefixes: ['127.0.0.0/29'], ports: [70000] } } }), 'input.config.ports.0')
  })

  it('scans loopback, succeeds with the hosts found, and creates then updates targets', async () => {
    const scanPorts = LISTEN_ON.map((h) => ports[h]!)
    const tpl = await createTemplate({
      name: 'scan-lab',
      config: {
        prefixes: ['127.0.0.8/29'],
        ports: scanPorts,
        timeoutMs: 5000,
        concurrency: 8,
        createTargets: { tags: ['discovered', 'lab'], attributes: { site: 'loopback', managed: true }, namePattern: 'lab-{ip}' },
      },
    })
    const id = await trigger(tpl)
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'])
    expect(r, JSON.stringify(r)).toMatchObject({ status: 'SUCCEEDED', result: { scanned: 6, total: 6, alive: 3, targetsUpserted: 3, hostsTruncated: false } })
    expect(r.result.hosts).toEqual(LISTEN_ON.map((address) => ({ address, openPorts: [ports[address]], closedPorts: scanPorts.filter((p) => p !== ports[address]), filteredPorts: [] })))
    const lines = (await t.ok(LOG, { id })).jobRunLog.lines as Array<{ level: string; text: string }>
    expect(lines.map((l) => l.text)).toContain(`127.0.0.11 is up: open ${ports['127.0.0.11']}`)
    expect(lines.some((l) => /^done: 6 addresses scanned, 3 alive/.test(l.text))).toBe(true)

    const first = (await t.ok(TARGETS, { tags: ['discovered'] })).targets as Array<{ id: string; name: string; host: string; port: number; tags: string[]; attributes: Record<string, unknown> }>
    expect(first.map((x) => x.name).sort()).toEqual(['lab-127.0.0.10', 'lab-127.0.0.11', 'lab-127.0.0.12'])
    for (const target of first) {
      expect(target).toMatchObject({ host: target.name.slice(4), port: ports[target.name.slice(4)], attributes: { site: 'loopback', managed: true } })
      expect([...target.tags].sort()).toEqual(['discovered', 'lab'])
    }

    // A second scan with other tags/attributes updates the same targets (merged), no duplicates.
    const again = await createTemplate({
      name: 'scan-lab-2',
      config: { prefixes: ['127.0.0.10/31'], ports: scanPorts, createTargets: { tags: ['rescanned'], attributes: { site: 'loopback-2' }, namePattern: 'lab-{ip}' } },
    })
    const r2 = await waitFor(await trigger(again), ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'])
    expect(r2).toMatchObject({ status: 'SUCCEEDED', result: { scanned: 2, alive: 2, targetsUpserted: 2 } })
    const all = (await t.ok(TARGETS, {})).targets as typeof first
    const lab = all.filter((x) => x.name.startsWith('lab-')).sort((a, b) => a.name.localeCompare(b.name))
    expect(lab).toHaveLength(3)
    expect(lab.map((x) => x.id).sort()).toEqual(first.map((x) => x.id).sort())
    expect([...lab[0]!.tags].sort()).toEqual(['discovered', 'lab', 'rescanned'])
    expect(lab[0]!.attributes).toEqual({ site: 'loopback-2', managed: true })
    expect(lab[2]!.tags).not.toContain('rescanned')
    // Targets made or changed by a scan are in the audit log, attributed to the run.
    const events = (await t.ok(`{ auditEvents(filter: { entityTypes: [TARGET] }) { edges { node { action via actorName entityName } } } }`)).auditEvents.edges.map(
      (e: { node: { action: string; via: string; actorName: string; entityName: string } }) => `${e.node.action} ${e.node.via} ${e.node.entityName} by ${e.node.actorName.replace(/#\d+/, '#N')}`,
    )
    expect([...events].sort()).toEqual(
      [
        'target.create SYSTEM lab-127.0.0.10 by run #N (scan-lab)',
        'target.create SYSTEM lab-127.0.0.11 by run #N (scan-lab)',
        'target.create SYSTEM lab-127.0.0.12 by run #N (scan-lab)',
        'target.update SYSTEM lab-127.0.0.10 by run #N (scan-lab-2)',
        'target.update SYSTEM lab-127.0.0.11 by run #N (scan-lab-2)',
      ].sort(),
    )

    // The same scan again changes nothing: the targets are rewritten as they were, and no event is added.
    const r3 = await waitFor(await trigger(again), ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'])
    expect(r3).toMatchObject({ status: 'SUCCEEDED', result: { targetsUpserted: 2 } })
    expect((await t.ok(`{ auditEvents(filter: { entityTypes: [TARGET] }) { edges { cursor } } }`)).auditEvents.edges).toHaveLength(events.length)
  })

  it('cancel stops a large loopback scan', async () => {
    const tpl = await createTemplate({
      name: 'scan-big',
      config: { prefixes: ['127.2.0.0/16'], ports: [1, 2, 3], maxAddresses: 65536, timeoutMs: 60_000, concurrency: 16, progressEvery: 256 },
    })
    const id = await trigger(tpl)
    await eventually(async () => ((await t.ok(LOG, { id })).jobRunLog.lines as Array<{ text: string }>).some((l) => l.text.startsWith('progress: ')), {
      timeoutMs: 30_000,
      what: 'scan progress',
    })
    await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id })
    const r = await waitFor(id, ['CANCELLED', 'FAILED', 'SUCCEEDED'], 30_000)
    expect(r.status).toBe('CANCELLED')
  })

  describe('with icmp through the system ping', () => {
    // A network namespace behind a veth pair: its addresses answer ping, the rest of its /29 answers nothing
    // (on loopback every address answers). A TCP listener runs inside the namespace.
    let net: TestNetwork
    let openPort: number
    beforeAll(async () => {
      net = await createTestNetwork()
      openPort = await net.listenTcp(net.ipv4.nsAddresses[0]!)
    })
    afterAll(() => net?.destroy())

    it('reports the namespace hosts alive by ping, the unused addresses not, and the port open across the namespace', async () => {
      const [listening, silent] = net.ipv4.nsAddresses as [string, string]
      const closedPort = openPort + 1 // nothing else listens inside the namespace
      const scanPorts = [openPort, closedPort]
      const tpl = await createTemplate({ name: 'scan-netns', config: { prefixes: [net.ipv4.prefix], ports: scanPorts, icmp: true, timeoutMs: 2000, concurrency: 32 } })
      const id = await trigger(tpl)
      const r = await waitFor(id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'])
      const lines = (await t.ok(LOG, { id })).jobRunLog.lines as Array<{ level: string; text: string }>
      const log = lines.map((l) => l.text).join('\n')
      expect(r, log).toMatchObject({ status: 'SUCCEEDED', result: { scanned: 6, total: 6, icmp: 'used' } })
      expect(log).not.toContain('ICMP skipped')
      // Without a working ping only `listening` would be alive: the host side and `silent` have no open port here.
      expect(r.result.hosts.map((h: { address: string }) => h.address), log).toEqual([net.ipv4.hostAddress, listening, silent])
      expect(r.result.alive).toBe(3)
      expect(r.result.hosts[0]).toMatchObject({ address: net.ipv4.hostAddress, ping: true })
      expect(r.result.hosts[1]).toEqual({ address: listening, openPorts: [openPort], closedPorts: [closedPort], filteredPorts: [], ping: true })
      expect(r.result.hosts[2]).toEqual({ address: silent, openPorts: [], closedPorts: scanPorts, filteredPorts: [], ping: true })
      // .4–.6: no ping reply, every connect filtered (nobody answers ARP).
      expect(r.result.ports.filtered, log).toBe(net.ipv4.unusedAddresses.length * scanPorts.length)
      expect(lines.map((l) => l.text)).toEqual(expect.arrayContaining([`${listening} is up: open ${openPort}, answers ping`, `${silent} is up: no open port, answers ping`]))
      expect(lines.some((l) => /^done: 6 addresses scanned, 3 alive/.test(l.text))).toBe(true)
    })
  })
})
