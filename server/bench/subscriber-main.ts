/**
 * Log subscribers in a process of their own (the subscribers scenario forks a few of these, so the
 * clients' work does not compete with the server inside one event loop): opens `count` graphql-ws
 * connections, one `jobRunLogAppended(after: 0)` subscription each, and reports over IPC:
 *  - `ready` once every socket is acknowledged and its subscription sent (the run does not emit yet:
 *    it waits for the scenario's go);
 *  - `done` with, per subscriber, the lines received and whether their seqs were 1..n without gap or
 *    duplicate, plus one merged histogram (1 ms buckets) of line-to-subscriber latency: arrival −
 *    the emit time the executor wrote into the line's text (both epoch ms on this machine's clock).
 */
import { createClient, type Client } from 'graphql-ws'
import WebSocket from 'ws'

interface Args {
  url: string
  token: string
  runGlobalId: string
  count: number
  expectLines: number
  timeoutMs: number
}

const args = JSON.parse(process.argv[2]!) as Args
const QUERY = `subscription($id: ID!) { jobRunLogAppended(runId: $id, after: 0) { lastSeq lines { seq stream text } } }`
const BUCKETS = 60_000
const histogram = new Uint32Array(BUCKETS + 1)
// Date.now(), not performance.timeOrigin + now(): each process fixes its timeOrigin at start, and a clock
// adjustment between two starts would put a constant offset between the processes.
const epochNow = () => Date.now()

interface Sub {
  received: number
  nextSeq: number
  ordered: boolean
  error: string | null
  completed: boolean
}

const subs: Sub[] = []
const clients: Client[] = []
let finished = 0

function send(msg: unknown): void {
  process.send!(msg)
}

async function openAll(): Promise<void> {
  const acked: Array<Promise<void>> = []
  for (let i = 0; i < args.count; i++) {
    const sub: Sub = { received: 0, nextSeq: 1, ordered: true, error: null, completed: false }
    subs.push(sub)
    let resolveAck!: () => void
    acked.push(new Promise<void>((r) => (resolveAck = r)))
    const client = createClient({
      url: args.url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${args.token}` },
      on: { connected: () => resolveAck() },
    })
    clients.push(client)
    const end = () => {
      if (sub.completed) return
      sub.completed = true
      if (++finished === args.count) report()
    }
    client.subscribe<{ jobRunLogAppended: { lastSeq: number; lines: Array<{ seq: number; stream: string; text: string }> } }>(
      { query: QUERY, variables: { id: args.runGlobalId } },
      {
        next: (msg) => {
          const at = epochNow()
          if (!msg.data) {
            sub.error ??= JSON.stringify(msg.errors)
            return
          }
          for (const l of msg.data.jobRunLogAppended.lines) {
            if (l.seq !== sub.nextSeq) sub.ordered = false
            sub.nextSeq = l.seq + 1
            if (l.stream !== 'STDOUT') continue
            sub.received++
            const t = Number(l.text.slice(2, l.text.indexOf(' ')))
            const ms = Math.max(0, Math.round(at - t))
            histogram[Math.min(ms, BUCKETS)]!++
          }
        },
        error: (e) => {
          // graphql-ws reports a closed socket with its CloseEvent (code, reason), which JSON shows as {}.
          const close = e as { code?: number; reason?: string }
          sub.error ??= e instanceof Error ? e.message : close.code !== undefined ? `socket closed ${close.code} ${close.reason ?? ''}`.trim() : JSON.stringify(e)
          end()
        },
        complete: end,
      },
    )
    // Don't open a thousand TCP connections in one burst (the server's accept backlog would drop some).
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20))
  }
  await Promise.all(acked)
  // The subscribe message is sent right after the ack; give the server a moment to register them.
  send({ type: 'ready' })
}

let reported = false
function report(): void {
  if (reported) return
  reported = true
  send({
    type: 'done',
    received: subs.map((s) => s.received),
    complete: subs.filter((s) => s.ordered && s.error === null && s.received === args.expectLines).length,
    errors: subs.map((s) => s.error).filter((e): e is string => e !== null).slice(0, 5),
    histogram: Array.from(histogram),
  })
  void Promise.all(clients.map((c) => c.dispose())).finally(() => setTimeout(() => process.exit(0), 100))
}

setTimeout(() => {
  for (const s of subs) if (!s.completed) s.error ??= `timed out with ${s.received} of ${args.expectLines} lines`
  report()
}, args.timeoutMs).unref()

await openAll()
