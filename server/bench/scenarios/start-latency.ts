/**
 * Trigger → start latency on an idle system: `samples` single runs of a `bench-probe` template (a
 * no-op that stamps when it is entered), one at a time, each waited on until it has SUCCEEDED before
 * the next is triggered. For each run:
 *  - trigger call: the trigger call's duration as the caller sees it (service call or HTTP mutation);
 *  - running seen: from the trigger call returning to the arrival, on the benchmark's LISTEN connection,
 *    of the NOTIFY that the claim (QUEUED → RUNNING) commits (the second `switchyard_run` notice for the
 *    run: the first is its creation, the third its final status). Negative when the run was already
 *    running by the time the call returned (HTTP response serialisation can be slower than the claim);
 *  - executor entered: from the call returning to the executor being called by the dispatcher;
 *  - DB started_at − created_at: both set by Postgres `now()` (transaction start), millisecond precision.
 */
import { createBenchRegistry, stamps } from '../executors.ts'
import { createTemplate, triggerHttp, triggerService, withApp } from '../lib/app.ts'
import { listen, type Notice } from '../lib/listen.ts'
import { cpuSince, cpuSnapshot, type CpuUse } from '../lib/cpu.ts'
import { withDatabase } from '../lib/resources.ts'
import { distribution, now, type Distribution } from '../lib/stats.ts'

export interface LatencyOptions {
  samples: number
  warmup: number
  /** Pause after each run has finished before the next trigger. */
  idleGapMs: number
  timeoutMs: number
}

export interface LatencySeries {
  triggerCallMs: Distribution
  runningSeenMs: Distribution
  /** From the start of the trigger call to the claim's NOTIFY arriving. */
  callToRunningMs: Distribution
  executorEnteredMs: Distribution
  dbStartedMinusCreatedMs: Distribution
  /** Samples whose claim notice arrived before the trigger call returned. */
  runningBeforeReturn: number
}

export interface LatencyResult {
  service: LatencySeries
  http: LatencySeries
  /** CPU use over both series (an idle system should show little besides the benchmark). */
  cpu: CpuUse
}

export async function runLatency(o: LatencyOptions): Promise<LatencyResult> {
  return withDatabase((db) =>
    withApp(db, { roles: 'api,worker', registry: createBenchRegistry() }, async (a) => {
      const tpl = await createTemplate(a, { name: 'bench probe', jobType: 'bench-probe', config: {} })
      const notices = new Map<string, number[]>()
      const waiters = new Map<string, () => void>()
      const listener = await listen(db.url)
      try {
        await listener.on('switchyard_run', (n: Notice) => {
          const list = notices.get(n.payload) ?? []
          list.push(n.at)
          notices.set(n.payload, list)
          if (list.length >= 3) waiters.get(n.payload)?.()
        })
        const series = async (trigger: () => Promise<string>): Promise<LatencySeries> => {
          const samples: Array<{ id: string; t0: number; t1: number }> = []
          for (let i = 0; i < o.warmup + o.samples; i++) {
            const t0 = now()
            const id = await trigger()
            const t1 = now()
            await settled(id)
            // Let the worker finish with the message (pg-boss complete, intake re-fetch) so the next
            // trigger meets an idle system.
            await new Promise((r) => setTimeout(r, o.idleGapMs))
            if (i >= o.warmup) samples.push({ id, t0, t1 })
          }
          const { rows } = await a.app.db.pool.query<{ id: string; ms: number }>(
            `SELECT id, extract(epoch FROM started_at - created_at) * 1000 AS ms FROM job_run WHERE id = ANY($1::uuid[])`,
            [samples.map((s) => s.id)],
          )
          const dbMs = new Map(rows.map((r) => [r.id, Number(r.ms)]))
          const odd = samples.filter((s) => notices.get(s.id)!.length !== 3)
          if (odd.length) throw new Error(`expected exactly 3 run notices per probe run (created, claimed, finished); ${odd.length} run(s) had another count`)
          const claimAt = (id: string) => notices.get(id)![1]!
          return {
            triggerCallMs: distribution(samples.map((s) => s.t1 - s.t0)),
            runningSeenMs: distribution(samples.map((s) => claimAt(s.id) - s.t1)),
            callToRunningMs: distribution(samples.map((s) => claimAt(s.id) - s.t0)),
            executorEnteredMs: distribution(samples.map((s) => stamps.entered.get(s.id)! - s.t1)),
            dbStartedMinusCreatedMs: distribution(samples.map((s) => dbMs.get(s.id)!)),
            runningBeforeReturn: samples.filter((s) => claimAt(s.id) < s.t1).length,
          }
        }
        const settled = (id: string) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`probe run ${id} did not finish within ${o.timeoutMs} ms`)), o.timeoutMs)
            const done = () => {
              clearTimeout(timer)
              waiters.delete(id)
              resolve()
            }
            waiters.set(id, done)
            if ((notices.get(id)?.length ?? 0) >= 3) done()
          })
        stamps.clear()
        const cpuStart = await cpuSnapshot({ database: db.name })
        const service = await series(() => triggerService(a, tpl.id))
        const http = await series(() => triggerHttp(a, tpl.globalId))
        return { service, http, cpu: await cpuSince(cpuStart) }
      } finally {
        await listener.close()
      }
    }),
  )
}
