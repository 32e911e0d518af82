/**
 * End-to-end no-op run throughput: `runs` runs of a `noop` template are triggered by `concurrency`
 * callers at once, executed by the dispatcher, and each one's SUCCEEDED state is observed by a real
 * graphql-ws subscriber of `jobRunsChanged(filter: {statuses: [SUCCEEDED]})`. Timed from the first
 * trigger call to the last SUCCEEDED event received.
 *
 * How runs are triggered:
 *  - service: `RunsService.trigger` in the API process (no HTTP, no GraphQL);
 *  - http: the `triggerJobRun` mutation over HTTP (fetch, keep-alive) to the in-process API;
 *  - split: `RunsService.trigger` in an API-only process, executed by a separate worker process
 *    (bench/worker-main.ts: same config, the product's default job types, which include `noop`);
 *  - spread: like service, but the runs go round-robin to `spreadTemplates` identical noop templates
 *    instead of one (a diagnostic: per-template serialisation shows up as the gap to `service`).
 */
import type { Client as WsClient } from 'graphql-ws'
import { createBenchRegistry } from '../executors.ts'
import { createTemplate, rawId, triggerHttp, triggerService, withApp, type BenchApp } from '../lib/app.ts'
import { cpuSince, cpuSnapshot, type CpuUse } from '../lib/cpu.ts'
import { track, withDatabase } from '../lib/resources.ts'
import { spawnBenchWorker } from '../lib/worker-process.ts'
import { now } from '../lib/stats.ts'
import { countStatements, topStatements } from '../lib/statements.ts'

export type TriggerMode = 'service' | 'http' | 'split' | 'spread'

export interface E2EOptions {
  runs: number
  concurrency: number
  warmupRuns: number
  spreadTemplates: number
  timeoutMs: number
}

export interface E2EResult {
  mode: TriggerMode
  runsPerSec: number
  elapsedMs: number
  /** When the last trigger call returned (from the first call). */
  triggerPhaseMs: number
  /** runs / triggerPhaseMs: how fast the callers could create runs while the worker executed them. */
  triggerPerSec: number
  /** Runs already SUCCEEDED (as seen by the subscriber) when the last trigger call returned. */
  doneWhenTriggered: number
  /** Same figure from the database: runs / (last finished_at − first created_at). */
  dbRunsPerSec: number
  /** Subscription events received (a run can be reported more than once). */
  events: number
  /** CPU use during the measured phase. */
  cpu: CpuUse
  /** SQL statements this process sent during the measured phase, per run (not the split mode's worker process). */
  statementsPerRun: number
  /** The most frequent of them: [per run, statement text]. */
  topStatements: Array<[number, string]>
  /** The app's pool and concurrency settings, as its config resolved them. */
  appConfig: Record<string, unknown>
}

const SUCCEEDED_FEED = `subscription { jobRunsChanged(filter: { statuses: [SUCCEEDED, FAILED, CANCELLED, TIMED_OUT] }) { id status } }`

export async function runE2E(mode: TriggerMode, o: E2EOptions): Promise<E2EResult> {
  return withDatabase((db) =>
    withApp(db, { roles: mode === 'split' ? 'api' : 'api,worker', registry: createBenchRegistry() }, async (a) => {
      let stopWorker = async () => {}
      const children: number[] = []
      if (mode === 'split') {
        const worker = await spawnBenchWorker(db.url)
        stopWorker = track('worker process', () => worker.stop())
        children.push(worker.pid)
      }
      const templates: Array<{ globalId: string; id: string }> = []
      for (let i = 0; i < (mode === 'spread' ? o.spreadTemplates : 1); i++) templates.push(await createTemplate(a, { name: `bench noop ${i + 1}`, jobType: 'noop', config: {} }))
      let turn = 0
      const next = () => templates[turn++ % templates.length]!
      const trigger = mode === 'http' ? () => triggerHttp(a, next().globalId) : () => triggerService(a, next().id)
      const feed = finishedFeed(a.ws())
      try {
        await feed.live(trigger)
        // Warm-up (not timed): JIT, connection pools, Postgres caches.
        await measure(trigger, feed, o.warmupRuns, o.concurrency, o.timeoutMs)
        feed.reset()
        const cpuStart = await cpuSnapshot({ children, database: db.name })
        const stopCounting = countStatements()
        const r = await measure(trigger, feed, o.runs, o.concurrency, o.timeoutMs)
        const statements = stopCounting()
        const cpu = await cpuSince(cpuStart)
        const { rows } = await a.app.db.pool.query<{ ms: number; n: number; bad: number }>(
          `SELECT extract(epoch FROM max(finished_at) - min(created_at)) * 1000 AS ms, count(*)::int AS n,
                  count(*) FILTER (WHERE status <> 'SUCCEEDED')::int AS bad
             FROM job_run WHERE id = ANY($1::uuid[])`,
          [r.ids],
        )
        const row = rows[0]!
        if (row.n !== o.runs || row.bad) throw new Error(`expected ${o.runs} SUCCEEDED runs, found ${row.n} runs of which ${row.bad} did not succeed`)
        return {
          mode,
          runsPerSec: (o.runs / r.elapsedMs) * 1000,
          elapsedMs: r.elapsedMs,
          triggerPhaseMs: r.triggerPhaseMs,
          triggerPerSec: (o.runs / r.triggerPhaseMs) * 1000,
          doneWhenTriggered: r.doneWhenTriggered,
          dbRunsPerSec: (o.runs / Number(row.ms)) * 1000,
          events: feed.events,
          cpu,
          statementsPerRun: statements.total / o.runs,
          topStatements: topStatements(statements, o.runs),
          appConfig: pickConfig(a),
        }
      } finally {
        feed.close()
        await stopWorker()
      }
    }),
  )
}

function pickConfig(a: BenchApp): Record<string, unknown> {
  const c = a.app.config as unknown as Record<string, unknown>
  return Object.fromEntries(['workerConcurrency', 'dbPoolSize', 'heartbeatSeconds'].filter((k) => k in c).map((k) => [k, c[k]]))
}

interface Feed {
  /** Run uuids seen finished, with the arrival time of the first event for each. */
  readonly finished: Map<string, { status: string; at: number }>
  events: number
  /** Resolves when every id in `ids` has been seen finished. */
  waitAll(ids: Iterable<string>, timeoutMs: number): Promise<void>
  /** Resolves once the subscription demonstrably delivers (a run triggered after it is seen). */
  live(trigger: () => Promise<string>): Promise<void>
  reset(): void
  close(): void
}

function finishedFeed(ws: WsClient): Feed {
  const finished = new Map<string, { status: string; at: number }>()
  let wanted: Set<string> | null = null
  let onProgress: (() => void) | null = null
  let failure: Error | null = null
  const feed: Feed = {
    finished,
    events: 0,
    waitAll(ids, timeoutMs) {
      wanted = new Set(ids)
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          onProgress = null
          reject(new Error(`only ${[...wanted!].filter((id) => finished.has(id)).length} of ${wanted!.size} runs seen finished after ${timeoutMs} ms`))
        }, timeoutMs)
        onProgress = () => {
          if (failure) {
            clearTimeout(timer)
            onProgress = null
            return reject(failure)
          }
          for (const id of wanted!) if (!finished.has(id)) return
          clearTimeout(timer)
          onProgress = null
          resolve()
        }
        onProgress()
      })
    },
    async live(trigger) {
      for (let attempt = 1; ; attempt++) {
        const id = await trigger()
        try {
          return await feed.waitAll([id], 1000)
        } catch (e) {
          if (attempt >= 10 || failure) throw e
        }
      }
    },
    reset() {
      finished.clear()
      feed.events = 0
    },
    close: () => dispose(),
  }
  const dispose = ws.subscribe<{ jobRunsChanged: { id: string; status: string } }>(
    { query: SUCCEEDED_FEED },
    {
      next: (msg) => {
        const at = now()
        if (msg.errors?.length || !msg.data) failure = new Error(`jobRunsChanged error: ${JSON.stringify(msg.errors)}`)
        else {
          feed.events++
          const id = rawId(msg.data.jobRunsChanged.id)
          if (!finished.has(id)) finished.set(id, { status: msg.data.jobRunsChanged.status, at })
        }
        onProgress?.()
      },
      error: (e) => {
        failure = e instanceof Error ? e : new Error(`jobRunsChanged failed: ${JSON.stringify(e)}`)
        onProgress?.()
      },
      complete: () => {
        failure ??= new Error('jobRunsChanged completed unexpectedly')
        onProgress?.()
      },
    },
  )
  return feed
}

async function measure(trigger: () => Promise<string>, feed: Feed, runs: number, concurrency: number, timeoutMs: number) {
  const ids: string[] = []
  let issued = 0
  const t0 = now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < runs) {
        issued++
        ids.push(await trigger())
      }
    }),
  )
  const triggeredAt = now()
  const doneWhenTriggered = ids.filter((id) => feed.finished.has(id)).length
  await feed.waitAll(ids, timeoutMs)
  const last = Math.max(...ids.map((id) => feed.finished.get(id)!.at))
  const bad = ids.filter((id) => feed.finished.get(id)!.status !== 'SUCCEEDED')
  if (bad.length) throw new Error(`${bad.length} run(s) did not succeed, e.g. ${bad[0]} ${feed.finished.get(bad[0]!)!.status}`)
  return { ids, elapsedMs: last - t0, triggerPhaseMs: triggeredAt - t0, doneWhenTriggered }
}

