/**
 * Log throughput of one run: a `bench-emit` run on one target writes `lines` output lines as fast as
 * the event loop allows (yielding every `chunk` lines), while a real graphql-ws client follows it with
 * `jobRunLogAppended(after: 0)`. Measured:
 *  - persisted: executor entered → arrival (on the benchmark's LISTEN connection) of the log NOTIFY
 *    whose lastSeq covers the last output line, i.e. the commit of the last line;
 *  - delivered: first output line received by the subscriber → last output line received;
 *  - INSERT statements: every log INSERT sends exactly one NOTIFY on `switchyard_log` carrying the
 *    batch's last seq (see src/logs/log-writer.ts), so notices = statements, and their seq deltas are
 *    the batch sizes;
 *  - subscription messages (batches) and lines per message; gaps / duplicates are checked, not assumed.
 */
import type { Client as WsClient } from 'graphql-ws'
import { createBenchRegistry, stamps } from '../executors.ts'
import { createTemplate, triggerService, withApp } from '../lib/app.ts'
import { listen } from '../lib/listen.ts'
import { cpuSince, cpuSnapshot, type CpuUse } from '../lib/cpu.ts'
import { withDatabase } from '../lib/resources.ts'
import { median, now } from '../lib/stats.ts'

export interface LogOptions {
  lines: number
  chunk: number
  warmupLines: number
  timeoutMs: number
}

export interface LogResult {
  lines: number
  /** Lines per second from the executor starting to the last line committed. */
  persistedPerSec: number
  persistMs: number
  /** How long the executor took just to produce the lines (appending into the writer's buffer). */
  emitMs: number
  /** Lines per second from the first output line received by the subscriber to the last. */
  deliveredPerSec: number
  deliverMs: number
  /** Executor entered → last output line received by the subscriber. */
  endToEndMs: number
  /** Last line committed → last line received. */
  deliveryLagMs: number
  insertStatements: number
  linesPerInsert: { median: number; max: number }
  subscriptionMessages: number
  linesPerMessage: { median: number; max: number }
  runFinishedMinusStartedMs: number
  /** CPU use from the trigger to the subscription's end. */
  cpu: CpuUse
}

const LOG_FEED = `subscription($id: ID!) { jobRunLogAppended(runId: $id, after: 0) { lastSeq lines { seq ts level stream targetId text } } }`

export async function runLogThroughput(o: LogOptions): Promise<LogResult> {
  return withDatabase((db) =>
    withApp(db, { roles: 'api,worker', registry: createBenchRegistry() }, async (a) => {
      await a.gql(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'bench-target', host: '127.0.0.1', tags: ['bench'] } })
      const template = (lines: number) =>
        // Room for every line (the server's default per-run limit is 100,000 lines, and the run logs a few of its own).
        createTemplate(a, { name: `bench emit ${lines}`, jobType: 'bench-emit', config: { lines, chunk: o.chunk }, targetSelector: { tags: ['bench'] }, logLimitLines: lines * 2 + 1000 })
      const warmTpl = await template(o.warmupLines)
      const tpl = await template(o.lines)

      const notices = new Map<string, Array<{ lastSeq: number; at: number }>>()
      const listener = await listen(db.url)
      try {
        await listener.on('switchyard_log', (n) => {
          const i = n.payload.lastIndexOf(':')
          const runId = n.payload.slice(0, i)
          const list = notices.get(runId) ?? []
          list.push({ lastSeq: Number(n.payload.slice(i + 1)), at: n.at })
          notices.set(runId, list)
        })
        const ws = a.ws()
        await follow(a.ws(), await triggerService(a, warmTpl.id), o.warmupLines, o.timeoutMs) // warm-up, not timed
        stamps.clear()
        const cpuStart = await cpuSnapshot({ database: db.name })
        const runId = await triggerService(a, tpl.id)
        const feed = await follow(ws, runId, o.lines, o.timeoutMs)
        const cpu = await cpuSince(cpuStart)
        const { rows } = await a.app.db.pool.query<{ ms: number; status: string }>(
          `SELECT status::text, extract(epoch FROM finished_at - started_at) * 1000 AS ms FROM job_run WHERE id = $1`,
          [runId],
        )
        if (rows[0]?.status !== 'SUCCEEDED') throw new Error(`log run ended ${rows[0]?.status}`)
        const ns = notices.get(runId) ?? []
        const lastOutputSeq = feed.lastOutputSeq
        const committed = ns.find((n) => n.lastSeq >= lastOutputSeq)
        if (!committed) throw new Error('no log notice covered the last output line')
        const entered = stamps.entered.get(runId)!
        const sizes = ns.map((n, i) => n.lastSeq - (i ? ns[i - 1]!.lastSeq : 0))
        return {
          lines: o.lines,
          persistedPerSec: (o.lines / (committed.at - entered)) * 1000,
          persistMs: committed.at - entered,
          emitMs: stamps.emitted.get(runId)! - entered,
          deliveredPerSec: (o.lines / (feed.lastAt - feed.firstAt)) * 1000,
          deliverMs: feed.lastAt - feed.firstAt,
          endToEndMs: feed.lastAt - entered,
          deliveryLagMs: feed.lastAt - committed.at,
          insertStatements: ns.length,
          linesPerInsert: { median: median(sizes), max: Math.max(...sizes) },
          subscriptionMessages: feed.messages.length,
          linesPerMessage: { median: median(feed.messages), max: Math.max(...feed.messages) },
          runFinishedMinusStartedMs: Number(rows[0].ms),
          cpu,
        }
      } finally {
        await listener.close()
      }
    }),
  )
}

interface Followed {
  /** Lines per message, in order. */
  messages: number[]
  /** Arrival of the first and the last output (STDOUT) line. */
  firstAt: number
  lastAt: number
  lastOutputSeq: number
}

/** Follows the run's log to its end; checks seqs are 1..n without gap or duplicate and that every output line came. */
function follow(ws: WsClient, runId: string, outputLines: number, timeoutMs: number): Promise<Followed> {
  const globalId = Buffer.from(`JobRun:${runId}`).toString('base64')
  return new Promise<Followed>((resolve, reject) => {
    const r: Followed = { messages: [], firstAt: NaN, lastAt: NaN, lastOutputSeq: 0 }
    let expectSeq = 1
    let output = 0
    let failed = false
    const fail = (e: Error) => {
      if (failed) return
      failed = true
      clearTimeout(timer)
      dispose()
      reject(e)
    }
    const timer = setTimeout(() => fail(new Error(`log subscription: ${output} of ${outputLines} output lines after ${timeoutMs} ms`)), timeoutMs)
    const dispose = ws.subscribe<{ jobRunLogAppended: { lastSeq: number; lines: Array<{ seq: number; stream: string }> } }>(
      { query: LOG_FEED, variables: { id: globalId } },
      {
        next: (msg) => {
          const at = now()
          if (msg.errors?.length || !msg.data) return fail(new Error(`jobRunLogAppended error: ${JSON.stringify(msg.errors)}`))
          const lines = msg.data.jobRunLogAppended.lines
          r.messages.push(lines.length)
          for (const l of lines) {
            if (l.seq !== expectSeq) return fail(new Error(`log subscription: expected seq ${expectSeq}, got ${l.seq}`))
            expectSeq++
            if (l.stream === 'STDOUT') {
              output++
              if (output === 1) r.firstAt = at
              if (output === outputLines) {
                r.lastAt = at
                r.lastOutputSeq = l.seq
              }
            }
          }
        },
        error: (e) => fail(e instanceof Error ? e : new Error(`jobRunLogAppended failed: ${JSON.stringify(e)}`)),
        complete: () => {
          if (failed) return
          clearTimeout(timer)
          if (output !== outputLines) return fail(new Error(`log subscription completed with ${output} of ${outputLines} output lines`))
          resolve(r)
        },
      },
    )
  })
}
