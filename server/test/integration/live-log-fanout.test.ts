/**
 * One run's log fanned out to many graphql-ws subscribers at once (the shared read, execution and
 * serialisation of graphql/shared-events.ts and modules/runs/run-live.ts), over real sockets and a real
 * Postgres:
 *  - subscribers with different selections (field order, aliases, more or fewer fields), on shared and
 *    separate connections, signed in as different users, each get every line exactly once, in order,
 *    in exactly the shape they selected; one who may not see the run gets nothing;
 *  - a subscriber that stops reading does not hold the others back, costs the server about one message
 *    of memory (graphql-ws sends its next message only once the last one left), and when it reads
 *    again it catches up from the database without gap or duplicate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { subscribe, SubscriptionError } from '../harness/live-subscription.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'

const METRICS_TOKEN = 'fanout-metrics-token'
const CREATE_TEMPLATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
const TRIGGER = `mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`

let t: TestApp
let counter = 0

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry(), env: { SWITCHYARD_METRICS_TOKEN: METRICS_TOKEN } })
  for (const name of ['fan-a', 'fan-b']) {
    await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host: '127.0.0.1', tags: ['fanout'] } })
  }
})
afterAll(async () => {
  await t?.stop()
})

async function startRun(steps: unknown[], visibility: 'GLOBAL' | 'PRIVATE'): Promise<string> {
  const { createJobTemplate } = await t.ok<{ createJobTemplate: { id: string } }>(CREATE_TEMPLATE, {
    i: { name: `fanout ${++counter}`, jobType: 'test-script', config: { steps }, targetSelector: { tags: ['fanout'] }, visibility },
  })
  return (await t.ok<{ triggerJobRun: { id: string } }>(TRIGGER, { id: createJobTemplate.id })).triggerJobRun.id
}

function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':').slice(1).join(':')
}

async function stored(runGlobalId: string): Promise<Array<{ seq: number; text: string; level: string; stream: string }>> {
  const { rows } = await t.app.db.pool.query(`SELECT seq, text, level::text, stream::text FROM run_log WHERE run_id = $1 ORDER BY seq`, [rawId(runGlobalId)])
  return rows
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
type Batch = Record<string, unknown> & { lines?: Array<Record<string, unknown>> }

describe('one run, many log subscribers', () => {
  it('different selections and users: every line once, in order, in the selected shape; a user who cannot see the run gets nothing', async () => {
    const PER_TARGET = 3000
    const gate = `fanout-start-${++counter}`
    const run = await startRun([{ wait: gate }, { emit: PER_TARGET }], 'PRIVATE')
    await gates.reached(gate)

    const A = `subscription($id: ID!) { jobRunLogAppended(runId: $id, after: 0) { lastSeq lines { seq text } } }`
    const B = `subscription($id: ID!) { jobRunLogAppended(runId: $id) { runId lines { seq level stream targetId text } lastSeq } }`
    const C = `subscription Aliased($id: ID!) { log: jobRunLogAppended(runId: $id, after: 0) { cursor: lastSeq lines { n: seq text } } }`
    const otherAdmin = await t.userToken('ADMIN')
    const viewer = await t.userToken('VIEWER')
    // Two operations on one connection (graphql-ws ids differ, the shared payload is the same).
    const shared = t.wsClient()
    const subs = {
      a1: subscribe<{ jobRunLogAppended: Batch }>(shared, A, { id: run }),
      a2: subscribe<{ jobRunLogAppended: Batch }>(shared, A, { id: run }),
      a3: subscribe<{ jobRunLogAppended: Batch }>(t.wsClient(), A, { id: run }),
      aOther: subscribe<{ jobRunLogAppended: Batch }>(t.wsClient(otherAdmin), A, { id: run }),
      b: subscribe<{ jobRunLogAppended: Batch }>(t.wsClient(), B, { id: run }),
      c: subscribe<{ log: Batch }>(t.wsClient(), C, { id: run }),
    }
    const forbidden = subscribe<{ jobRunLogAppended: Batch }>(t.wsClient(viewer), A, { id: run })
    const batchOf = (m: Record<string, Batch>) => m.jobRunLogAppended ?? m.log!
    // The "attempt started" line proves every subscription is live before the flood starts.
    for (const s of Object.values(subs)) await s.waitFor((items) => items.length >= 1, 'the first line')
    const refused = await forbidden.done.then(
      () => null,
      (e: unknown) => e,
    )
    expect(refused).toBeInstanceOf(SubscriptionError)
    expect(((refused as SubscriptionError).errors as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code).toBe('NOT_FOUND')
    gates.release(gate)

    const results = Object.fromEntries(await Promise.all(Object.entries(subs).map(async ([k, s]) => [k, (await s.done) as Array<Record<string, Batch>>] as const)))
    const want = await stored(run)
    expect(want.length).toBe(2 * PER_TARGET + 2)
    expect(forbidden.items).toEqual([])

    for (const [name, items] of Object.entries(results)) {
      const batches = items.map(batchOf)
      const lines = batches.flatMap((b) => b.lines!)
      const seqKey = name === 'c' ? 'n' : 'seq'
      expect(lines.map((l) => l[seqKey]), name).toEqual(range(1, want.length))
      expect(lines.map((l) => l.text), name).toEqual(want.map((l) => l.text))
      // Batched, not a message per line.
      expect(batches.length, name).toBeLessThan(want.length / 10)
      for (const b of batches) {
        if (name === 'b') {
          expect(Object.keys(b)).toEqual(['runId', 'lines', 'lastSeq'])
          expect(b.runId).toBe(run)
          expect(b.lastSeq).toBe(b.lines!.at(-1)!.seq)
        } else if (name === 'c') {
          expect(Object.keys(b)).toEqual(['cursor', 'lines'])
          expect(b.cursor).toBe(b.lines!.at(-1)!.n)
        } else {
          expect(Object.keys(b)).toEqual(['lastSeq', 'lines'])
          expect(b.lastSeq).toBe(b.lines!.at(-1)!.seq)
        }
        for (const l of b.lines!) expect(Object.keys(l)).toEqual(name === 'b' ? ['seq', 'level', 'stream', 'targetId', 'text'] : name === 'c' ? ['n', 'text'] : ['seq', 'text'])
      }
      if (name === 'b') {
        const lines = batches.flatMap((b) => b.lines!)
        expect(lines.map((l) => l.level)).toEqual(want.map((l) => l.level))
        expect(lines.map((l) => l.stream)).toEqual(want.map((l) => l.stream))
      }
    }
    expect(Object.keys(results.c![0]!)).toEqual(['log'])
  }, 120_000)

  it('a subscriber that stops reading holds about one message on the server, does not slow the others, and catches up when it reads again', async () => {
    // 2 × 3,000 lines of ~2 kB: ~12 MB, well over what the loopback socket buffers take for a reader
    // that does not read (~4 MB send + 128 kB receive), so the paused reader backs up into the server.
    // Small enough to finish well before graphql-ws's keep-alive (a ping every 12 s, dropped after
    // another 12 s without a pong) gives up on the paused socket.
    const PER_TARGET = 3000
    const gate = `fanout-slow-${++counter}`
    const run = await startRun([{ wait: gate }, { emit: PER_TARGET, pad: 2000 }], 'GLOBAL')
    await gates.reached(gate)

    // The text is selected: it is what makes the messages big.
    const QUERY = `subscription($id: ID!) { jobRunLogAppended(runId: $id, after: 0) { lastSeq lines { seq text } } }`
    const fast = subscribe<{ jobRunLogAppended: { lastSeq: number; lines: Array<{ seq: number }> } }>(t.wsClient(), QUERY, { id: run })

    // The slow one speaks graphql-transport-ws by hand, so the test can stop reading its socket.
    const slow = new WebSocket(t.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws')
    const slowSeqs: number[] = []
    let slowDone!: () => void
    let slowFailed!: (e: Error) => void
    const slowFinished = new Promise<void>((resolve, reject) => {
      slowDone = resolve
      slowFailed = reject
    })
    let firstSeen!: () => void
    const first = new Promise<void>((r) => (firstSeen = r))
    slow.on('open', () => slow.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.adminToken}` } })))
    slow.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string; payload?: { data?: { jobRunLogAppended: { lines: Array<{ seq: number }> } } } }
      if (msg.type === 'connection_ack') slow.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query: QUERY, variables: { id: run } } }))
      else if (msg.type === 'next') {
        for (const l of msg.payload!.data!.jobRunLogAppended.lines) slowSeqs.push(l.seq)
        firstSeen()
      } else if (msg.type === 'complete') slowDone()
      else if (msg.type === 'error') slowFailed(new Error(JSON.stringify(msg.payload)))
    })
    slow.on('close', (code) => slowFailed(new Error(`slow socket closed ${code}`)))
    await first
    await fast.waitFor((items) => items.length >= 1, 'the first line')
    slow.pause() // stops reading the TCP socket: the kernel buffers fill, then the server's
    gates.release(gate)

    const fastItems = await fast.done
    const total = 2 * PER_TARGET + 2
    expect(fastItems.flatMap((m) => m.jobRunLogAppended.lines.map((l) => l.seq))).toEqual(range(1, total))
    // The fast subscriber finished while the slow one had read almost nothing.
    expect(slowSeqs.length).toBeLessThan(total / 2)

    // What the server holds for the stuck socket: something (it did back up), but no more than
    // about one message (≤ 1 MiB of text per batch, plus its JSON).
    const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    const buffered = Number(/^switchyard_ws_buffered_bytes_max (\S+)$/m.exec(await res.text())?.[1])
    expect(buffered).toBeGreaterThan(0)
    expect(buffered).toBeLessThan(2 * 1024 * 1024)

    slow.resume()
    await slowFinished
    expect(slowSeqs).toEqual(range(1, total))
    slow.close()
  }, 120_000)
})
