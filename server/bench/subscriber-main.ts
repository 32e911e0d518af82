/**
 * Log subscribers in a process of their own (the subscribers scenario forks a few of these, so the
 * clients' work does not compete with the server inside one event loop): opens `count` WebSockets
 * speaking graphql-ws's protocol (graphql-transport-ws), one `jobRunLogAppended(after: 0)` subscription
 * each, and reports over IPC:
 *  - `ready` once every socket is acknowledged and its subscription sent (the run does not emit yet:
 *    it waits for the scenario's go);
 *  - `done` with, per subscriber, the output lines received and whether their seqs were 1..n without
 *    gap or duplicate, plus two merged histograms (1 ms buckets) of line-to-subscriber latency.
 *
 * Cheap on purpose: at 10,000 lines/s, 1,000 subscribers receive ~900 MB/s of JSON; parsing all of it
 * (the graphql-ws client: UTF-8 check, string, JSON.parse, an object per line) needed more CPU than
 * the two cores had, so the clients, not the server, were measured. Here a `next` message stays a
 * Buffer (no UTF-8 validation, no string): its ends give the batch's `lastSeq`, the first line's seq and
 * emit time (the executor writes `t=<epoch ms>` first in every line) and the last line's, and one scan
 * looks for non-output streams. Completeness and order: every message must start at the seq after the
 * previous message's last one and end at its `lastSeq`, and at the end the subscriber must have received
 * as many output lines as the run emitted (`expectLines`). That the lines in between are
 * exactly first..last (no gap or duplicate inside a message) is checked by parsing messages fully: every
 * `verifyEvery`-th message of each subscriber (staggered, so that across subscribers every message
 * position is parsed by some), every message that carries a non-output (SYSTEM/STDERR) line, and every
 * message that does not have the expected shape.
 *
 * Latency: lines of one message arrive together but were emitted over the batch window. `oldest`
 * counts each line with its message's oldest line's latency (an upper bound for every line), `newest`
 * with the newest's (a lower bound); the true per-line distribution lies between them.
 */
import WebSocket from 'ws'

interface Args {
  url: string
  token: string
  runGlobalId: string
  count: number
  expectLines: number
  timeoutMs: number
  /** Parse every n-th message of a subscriber in full (1: all). */
  verifyEvery?: number
}

const args = JSON.parse(process.argv[2]!) as Args
const verifyEvery = Math.max(1, args.verifyEvery ?? 50)
const QUERY = `subscription($id: ID!) { jobRunLogAppended(runId: $id, after: 0) { lastSeq lines { seq stream text } } }`
const BUCKETS = 60_000
const oldest = new Uint32Array(BUCKETS + 1)
const newest = new Uint32Array(BUCKETS + 1)
// Date.now(), not performance.timeOrigin + now(): each process fixes its timeOrigin at start, and a clock
// adjustment between two starts would put a constant offset between the processes.
const epochNow = () => Date.now()

/** How graphql-ws's server writes a `next` for the subscription with id "1" (key order is fixed). */
const NEXT_PREFIX = Buffer.from('{"id":"1","type":"next","payload":{"data":{"jobRunLogAppended":{"lastSeq":')
const FIRST_LINE = Buffer.from(',"lines":[{"seq":')
const LINE_START = Buffer.from('{"seq":')
const TEXT_T = Buffer.from('"text":"t=')
const NOT_OUTPUT = [Buffer.from('"stream":"SYSTEM"'), Buffer.from('"stream":"STDERR"')]

interface Sub {
  index: number
  received: number
  /** Seq of the last line received. */
  lastSeq: number
  messages: number
  ordered: boolean
  error: string | null
  completed: boolean
}

const subs: Sub[] = []
const sockets: WebSocket[] = []
let finished = 0
let fullParses = 0
let messages = 0

function send(msg: unknown, then?: () => void): void {
  process.send!(msg, undefined, {}, then)
}

/** Non-negative decimal integer at `at`, and where it ends; -1 when there is no digit. */
function intAt(buf: Buffer, at: number): { value: number; end: number } {
  let v = 0
  let i = at
  for (; i < buf.length; i++) {
    const c = buf[i]!
    if (c < 48 || c > 57) break
    v = v * 10 + (c - 48)
  }
  return { value: i === at ? -1 : v, end: i }
}

function record(at: number, tOld: number, tNew: number, lines: number): void {
  oldest[Math.min(Math.max(0, at - tOld), BUCKETS)]! += lines
  newest[Math.min(Math.max(0, at - tNew), BUCKETS)]! += lines
}

function fail(sub: Sub, why: string): void {
  sub.ordered = false
  sub.error ??= why
}

/** The full check of one `next` (JSON.parse, every line). */
function verifyFully(sub: Sub, text: string, at: number): void {
  fullParses++
  const msg = JSON.parse(text) as { payload: { data?: { jobRunLogAppended: { lastSeq: number; lines: Array<{ seq: number; stream: string; text: string }> } }; errors?: unknown } }
  const batch = msg.payload.data?.jobRunLogAppended
  if (!batch) return fail(sub, JSON.stringify(msg.payload.errors))
  let tOld = -1
  let tNew = -1
  let output = 0
  for (const l of batch.lines) {
    if (l.seq !== sub.lastSeq + 1) fail(sub, `seq ${l.seq} after ${sub.lastSeq}`)
    sub.lastSeq = l.seq
    if (l.stream !== 'STDOUT') continue
    output++
    const t = Number(l.text.slice(2, l.text.indexOf(' ')))
    if (tOld < 0) tOld = t
    tNew = t
  }
  if (batch.lastSeq !== sub.lastSeq) fail(sub, `lastSeq ${batch.lastSeq} but last line ${sub.lastSeq}`)
  sub.received += output
  if (output) record(at, tOld, tNew, output)
}

/** A `next` message: the cheap path when it has the expected shape, the full parse otherwise. */
function onNext(sub: Sub, buf: Buffer, at: number): void {
  sub.messages++
  const sampled = (sub.messages + sub.index) % verifyEvery === 0
  if (!sampled && buf.length > NEXT_PREFIX.length && buf.compare(NEXT_PREFIX, 0, NEXT_PREFIX.length, 0, NEXT_PREFIX.length) === 0) {
    const lastSeq = intAt(buf, NEXT_PREFIX.length)
    const firstAt = lastSeq.end
    const first = buf.compare(FIRST_LINE, 0, FIRST_LINE.length, firstAt, firstAt + FIRST_LINE.length) === 0 ? intAt(buf, firstAt + FIRST_LINE.length) : null
    const lastLineAt = buf.lastIndexOf(LINE_START)
    const last = lastLineAt > 0 ? intAt(buf, lastLineAt + LINE_START.length) : null
    const firstT = first ? buf.indexOf(TEXT_T, first.end) : -1
    const lastT = last ? buf.indexOf(TEXT_T, last.end) : -1
    if (first && last && first.value > 0 && last.value === lastSeq.value && firstT > 0 && lastT > 0 && !NOT_OUTPUT.some((s) => buf.includes(s))) {
      if (first.value !== sub.lastSeq + 1) fail(sub, `message starts at seq ${first.value} after ${sub.lastSeq}`)
      const lines = last.value - first.value + 1
      if (lines < 1) return fail(sub, `message from seq ${first.value} to ${last.value}`)
      sub.lastSeq = last.value
      sub.received += lines
      record(at, intAt(buf, firstT + TEXT_T.length).value, intAt(buf, lastT + TEXT_T.length).value, lines)
      return
    }
  }
  verifyFully(sub, buf.toString('utf8'), at)
}

function end(sub: Sub): void {
  if (sub.completed) return
  sub.completed = true
  if (++finished === args.count) report()
}

function open(sub: Sub): Promise<void> {
  return new Promise<void>((resolveAck) => {
    // The ws client checks no UTF-8 and hands messages over as Buffers: the cheap path needs no string.
    const ws = new WebSocket(args.url, 'graphql-transport-ws', { skipUTF8Validation: true, perMessageDeflate: false })
    sockets.push(ws)
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${args.token}` } })))
    ws.on('message', (data: Buffer) => {
      const at = epochNow()
      // Every message of a subscription's stream is a `next` but the last few: checked by their start.
      if (data[2] === 0x69 /* {"id" */) {
        if (data.length > 25 && data.toString('latin1', 0, 25).includes('"type":"next"')) {
          messages++
          return onNext(sub, data, at)
        }
      }
      const msg = JSON.parse(data.toString('utf8')) as { type: string; payload?: unknown }
      if (msg.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY, variables: { id: args.runGlobalId } } }))
        resolveAck()
      } else if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }))
      else if (msg.type === 'next') {
        messages++
        onNext(sub, data, at)
      } else if (msg.type === 'error') {
        sub.error ??= JSON.stringify(msg.payload)
        end(sub)
      } else if (msg.type === 'complete') end(sub)
    })
    ws.on('error', (e) => {
      sub.error ??= e.message
    })
    ws.on('close', (code, reason) => {
      if (!sub.completed) sub.error ??= `socket closed ${code} ${reason.toString()}`.trim()
      resolveAck()
      end(sub)
    })
  })
}

async function openAll(): Promise<void> {
  const acked: Array<Promise<void>> = []
  for (let i = 0; i < args.count; i++) {
    const sub: Sub = { index: i, received: 0, lastSeq: 0, messages: 0, ordered: true, error: null, completed: false }
    subs.push(sub)
    acked.push(open(sub))
    // Don't open a thousand TCP connections in one burst (the server's accept backlog would drop some).
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20))
  }
  await Promise.all(acked)
  cpuAtReady = process.cpuUsage()
  send({ type: 'ready' })
}

/** This process's CPU from ready to report (measured here: /proc is gone once it exits). */
let cpuAtReady: NodeJS.CpuUsage | null = null
let reported = false
function report(): void {
  const cpu = process.cpuUsage(cpuAtReady ?? undefined)
  if (reported) return
  reported = true
  send({
    type: 'done',
    received: subs.map((s) => s.received),
    complete: subs.filter((s) => s.ordered && s.error === null && s.received === args.expectLines).length,
    errors: subs.map((s) => s.error).filter((e): e is string => e !== null).slice(0, 5),
    histogram: Array.from(oldest),
    newestHistogram: Array.from(newest),
    messages,
    fullParses,
    cpuMs: (cpu.user + cpu.system) / 1000,
  }, () => {
    // Only once the report has left: exiting earlier can drop it (seen on a machine at load 35).
    for (const ws of sockets) ws.terminate()
    setTimeout(() => process.exit(0), 100)
  })
}

setTimeout(() => {
  for (const s of subs) if (!s.completed) s.error ??= `timed out with ${s.received} of ${args.expectLines} lines`
  report()
}, args.timeoutMs).unref()

await openAll()
