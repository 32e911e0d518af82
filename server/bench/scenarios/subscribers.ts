/**
 * Many live log subscribers on one run (issue #14): `subscribers` graphql-ws clients, each on its own
 * WebSocket, follow `jobRunLogAppended(after: 0)` of one run that emits `linesPerSec` output lines per
 * second for `seconds` seconds. The subscribers live in `processes` child processes
 * (bench/subscriber-main.ts), not in the server's process, so their parsing does not compete with the
 * server inside one event loop (they still share the machine's cores).
 *
 * The run (job type `bench-paced-emit`, benchmark only) waits for a go signal until every subscriber is
 * connected and subscribed, then writes lines paced every 10 ms, each carrying its emit time (epoch
 * ms). Figures: lines every subscriber received (goal: all of them, in seq order, no gap or duplicate),
 * and line-to-subscriber latency — arrival in the subscriber process − emit time — p50/p99/max over
 * every line of every subscriber (goal p99 ≤ 500 ms).
 */
import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import type { JobExecutor } from '../../src/jobs/executors/types.ts'
import { createTemplate, triggerService, withApp } from '../lib/app.ts'
import { cpuSince, cpuSnapshot, type CpuUse } from '../lib/cpu.ts'
import { track, withDatabase } from '../lib/resources.ts'
import { now } from '../lib/stats.ts'

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface SubscribersOptions {
  subscribers: number
  processes: number
  linesPerSec: number
  seconds: number
  timeoutMs: number
  /** Each subscriber parses every n-th of its messages in full (subscriber-main.ts). */
  verifyEvery: number
}

export interface SubscribersResult {
  subscribers: number
  processes: number
  linesPerSec: number
  lines: number
  /** Subscribers that received every output line, in order. */
  complete: number
  /** Fewest lines any subscriber received. */
  minReceived: number
  /** Each line counted with its message's oldest line's latency: an upper bound per line. */
  latencyMs: { p50: number; p99: number; max: number }
  /** … with its message's newest line's: a lower bound per line. */
  newestLatencyMs: { p50: number; p99: number; max: number }
  /** `next` messages received over all subscribers, and how many of them were parsed in full. */
  messages: number
  fullParses: number
  /** CPU of all subscriber processes from ready to their report, as each measured itself. */
  clientCpuMs: number
  /** Emit start → last subscriber done. */
  wallMs: number
  errors: string[]
  cpu: CpuUse
}

/** Go signals for the paced emitter, by run id (it waits until the subscribers are in place). */
const gates = new Map<string, () => void>()
const gateWaiters = new Map<string, Promise<void>>()
function gate(runId: string): Promise<void> {
  let p = gateWaiters.get(runId)
  if (!p) {
    p = new Promise<void>((r) => gates.set(runId, r))
    gateWaiters.set(runId, p)
  }
  return p
}

const pacedConfig = z.object({ linesPerSec: z.number().int().min(1), seconds: z.number().min(0.1) }).strict()

/** Writes `linesPerSec` lines per second (every 10 ms, catching up if late), each starting `t=<epoch ms> `. */
const pacedEmitExecutor: JobExecutor<typeof pacedConfig> = {
  type: 'bench-paced-emit',
  label: 'Benchmark paced log emitter',
  description: 'Writes output lines at a fixed rate, stamped with their emit time (benchmark only).',
  configSchema: pacedConfig,
  usesTargets: true,
  async execute(ctx) {
    const target = ctx.targets[0]!
    ctx.targetStarted(target.id)
    await gate(ctx.runId)
    const total = Math.round(ctx.config.linesPerSec * ctx.config.seconds)
    const start = now()
    let written = 0
    while (written < total) {
      ctx.signal.throwIfAborted()
      const due = Math.min(total, Math.floor(((now() - start) / 1000) * ctx.config.linesPerSec) + 1)
      const t = Date.now() // the wall clock, as the subscriber processes read it
      for (; written < due; written++) ctx.log.output(target.id, 'STDOUT', `t=${t} line ${written + 1} of ${total}: interface Gi0/${written % 48} up`)
      await sleep(10)
    }
    ctx.targetFinished(target.id, { status: 'SUCCEEDED', exitCode: 0 })
    return {}
  },
}

function percentile(histogram: number[], q: number): number {
  const total = histogram.reduce((a, b) => a + b, 0)
  let seen = 0
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!
    if (seen >= q * total) return i
  }
  return histogram.length - 1
}

interface ChildReport {
  received: number[]
  complete: number
  errors: string[]
  histogram: number[]
  newestHistogram: number[]
  messages: number
  fullParses: number
  cpuMs: number
}

export async function runSubscribers(o: SubscribersOptions): Promise<SubscribersResult> {
  return withDatabase((db) =>
    withApp(db, { roles: 'api,worker', registry: new ExecutorRegistry([pacedEmitExecutor as JobExecutor]) }, async (a) => {
      const lines = Math.round(o.linesPerSec * o.seconds)
      await a.gql(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'paced-target', host: '127.0.0.1', tags: ['paced'] } })
      const config = { linesPerSec: o.linesPerSec, seconds: o.seconds }
      const tpl = await createTemplate(a, { name: 'paced emit', jobType: 'bench-paced-emit', config, targetSelector: { tags: ['paced'] }, logLimitLines: lines * 2 + 1000 })
      const runId = await triggerService(a, tpl.id)
      const runGlobalId = Buffer.from(`JobRun:${runId}`).toString('base64')
      const children: ChildProcess[] = []
      const stop = track('subscriber processes', async () => {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
      })
      try {
        const perChild = Math.ceil(o.subscribers / o.processes)
        const ready: Array<Promise<void>> = []
        const done: Array<Promise<ChildReport>> = []
        for (let i = 0; i < o.processes; i++) {
          const count = Math.min(perChild, o.subscribers - i * perChild)
          if (count <= 0) break
          const args = { url: a.endpoint.replace(/^http/, 'ws'), token: a.token, runGlobalId, count, expectLines: lines, timeoutMs: o.timeoutMs, verifyEvery: o.verifyEvery }
          const child = fork(path.join(benchDir, 'subscriber-main.ts'), [JSON.stringify(args)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
          children.push(child)
          const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`subscriber process exited with ${code} before reporting`))))
          ready.push(Promise.race([new Promise<void>((r) => child.on('message', (m: { type: string }) => m.type === 'ready' && r())), exited]))
          done.push(Promise.race([new Promise<ChildReport>((r) => child.on('message', (m: { type: string } & ChildReport) => m.type === 'done' && r(m))), exited]))
        }
        await Promise.all(ready)
        await sleep(500) // the last subscribe messages reach the server and its first (empty) reads finish
        const cpuStart = await cpuSnapshot({ children: children.map((c) => c.pid!), database: db.name })
        const t0 = now()
        gate(runId)
        gates.get(runId)!()
        const reports = await Promise.all(done)
        const wallMs = now() - t0
        const cpu = await cpuSince(cpuStart)
        const histogram = new Array<number>(reports[0]!.histogram.length).fill(0)
        const newest = new Array<number>(reports[0]!.newestHistogram.length).fill(0)
        for (const r of reports) r.histogram.forEach((n, i) => (histogram[i]! += n))
        for (const r of reports) r.newestHistogram.forEach((n, i) => (newest[i]! += n))
        const received = reports.flatMap((r) => r.received)
        return {
          subscribers: o.subscribers,
          processes: children.length,
          linesPerSec: o.linesPerSec,
          lines,
          complete: reports.reduce((n, r) => n + r.complete, 0),
          minReceived: Math.min(...received),
          latencyMs: { p50: percentile(histogram, 0.5), p99: percentile(histogram, 0.99), max: percentile(histogram, 1) },
          newestLatencyMs: { p50: percentile(newest, 0.5), p99: percentile(newest, 0.99), max: percentile(newest, 1) },
          messages: reports.reduce((n, r) => n + r.messages, 0),
          fullParses: reports.reduce((n, r) => n + r.fullParses, 0),
          clientCpuMs: reports.reduce((n, r) => n + r.cpuMs, 0),
          wallMs,
          errors: reports.flatMap((r) => r.errors).slice(0, 5),
          cpu,
        }
      } finally {
        await stop()
      }
    }),
  )
}

/** The subscribers' histogram ends at 60 s: its last bucket means "60 s or more". */
const ms = (v: number) => (v >= 60_000 ? '≥ 60000 ms' : `${v} ms`)

export function formatSubscribers(r: SubscribersResult | null): string {
  if (!r) return ''
  return [
    '',
    `Log subscribers: ${r.subscribers} graphql-ws subscribers (in ${r.processes} processes) on one run emitting ${r.linesPerSec} lines/s, ${r.lines} lines:`,
    `  every line to every subscriber   ${r.complete}/${r.subscribers} subscribers complete and in order (fewest lines received: ${r.minReceived})`,
    `  line → subscriber latency        p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)} (goal ≤ 500 ms), max ${ms(r.latencyMs.max)} (each line as its message's oldest: upper bound)`,
    `                                   p50 ${ms(r.newestLatencyMs.p50)}, p99 ${ms(r.newestLatencyMs.p99)}, max ${ms(r.newestLatencyMs.max)} (as its message's newest: lower bound)`,
    `  messages                         ${r.messages} (${(r.lines * r.subscribers / Math.max(1, r.messages)).toFixed(0)} lines each on average), ${r.fullParses} parsed in full`,
    `  emit start → last subscriber done ${(r.wallMs / 1000).toFixed(1)} s (emitting takes ${(r.lines / r.linesPerSec).toFixed(1)} s)`,
    ...(r.errors.length ? [`  errors: ${r.errors.join(' | ')}`] : []),
    `  CPU: ${JSON.stringify(r.cpu)}; subscriber processes ${(r.clientCpuMs / 1000).toFixed(1)} CPU-s (${((r.clientCpuMs / r.wallMs) * 100).toFixed(0)} % of a core over the wall time)`,
  ].join('\n') + '\n'
}
