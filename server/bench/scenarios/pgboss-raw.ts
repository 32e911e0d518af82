/**
 * The floor under Switchyard's run throughput: pg-boss 12 alone on a fresh clone of the same database
 * (its pg-boss schema already installed), with a pool of `poolSize` connections, on a queue of its own.
 *  1. batch send: `insert` of `jobs` messages in batches of `insertBatch`;
 *  2. single send: `send` one message per call, `concurrency` calls in flight (what one trigger costs);
 *  3. work + complete: `work` with `batchSize` drains the batch-sent messages (pg-boss completes each
 *     batch when the handler resolves); timed until the last one is committed as completed.
 */
import pg from 'pg'
import { PgBoss } from 'pg-boss'
import { track, withDatabase } from '../lib/resources.ts'
import { cpuSince, cpuSnapshot, type CpuUse } from '../lib/cpu.ts'
import { now } from '../lib/stats.ts'

export interface PgBossRawOptions {
  jobs: number
  insertBatch: number
  singleSends: number
  concurrency: number
  batchSize: number
  localConcurrency: number
  poolSize: number
}

export interface PgBossRawResult {
  batchSendPerSec: number
  singleSendPerSec: number
  workCompletePerSec: number
  /** jobs / (batch send time + work/complete time): a message from producer to completed, batched. */
  sendWorkPerSec: number
  batchSendMs: number
  workCompleteMs: number
  /** CPU use over the three phases. */
  cpu: CpuUse
}

const QUEUE = 'bench-raw'
const SINGLE_QUEUE = 'bench-raw-single'

export async function runPgBossRaw(o: PgBossRawOptions): Promise<PgBossRawResult> {
  return withDatabase(async (db) => {
    const boss = new PgBoss({ connectionString: db.url, schema: 'pgboss', max: o.poolSize, application_name: 'switchyard-bench-boss' })
    boss.on('error', (e) => process.stderr.write(`pg-boss error: ${(e as Error).message}\n`))
    await boss.start()
    const stopBoss = track('pg-boss', () => boss.stop({ graceful: false, close: true }))
    try {
      await boss.createQueue(QUEUE, { retryLimit: 0 })
      await boss.createQueue(SINGLE_QUEUE, { retryLimit: 0 })

      const cpuStart = await cpuSnapshot({ database: db.name })
      // 1. batch send
      let t0 = now()
      for (let sent = 0; sent < o.jobs; sent += o.insertBatch) {
        const n = Math.min(o.insertBatch, o.jobs - sent)
        await boss.insert(QUEUE, Array.from({ length: n }, (_, i) => ({ data: { runId: `r${sent + i}` } })))
      }
      const batchSendMs = now() - t0

      // 2. single sends (to another queue, not drained)
      t0 = now()
      let next = 0
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (next < o.singleSends) {
            next++
            await boss.send(SINGLE_QUEUE, { runId: 'x' }, { retryLimit: 0 })
          }
        }),
      )
      const singleSendMs = now() - t0

      // 3. work + complete
      const workCompleteMs = await drain(boss, db.url, o)
      const cpu = await cpuSince(cpuStart)
      return {
        batchSendPerSec: (o.jobs / batchSendMs) * 1000,
        singleSendPerSec: (o.singleSends / singleSendMs) * 1000,
        workCompletePerSec: (o.jobs / workCompleteMs) * 1000,
        sendWorkPerSec: (o.jobs / (batchSendMs + workCompleteMs)) * 1000,
        batchSendMs,
        workCompleteMs,
        cpu,
      }
    } finally {
      await stopBoss()
    }
  })
}

async function drain(boss: PgBoss, url: string, o: PgBossRawOptions): Promise<number> {
  let handled = 0
  let allHandled!: () => void
  const handledAll = new Promise<void>((r) => (allHandled = r))
  const t0 = now()
  const workId = await boss.work(QUEUE, { batchSize: o.batchSize, localConcurrency: o.localConcurrency, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true }, async (jobs) => {
    handled += jobs.length
    if (handled >= o.jobs) allHandled()
  })
  try {
    await handledAll
    // The last batch is completed after its handler resolves: wait until pg-boss has committed it.
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      for (;;) {
        const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'`, [QUEUE])
        if (rows[0]!.n >= o.jobs) return now() - t0
        await new Promise((r) => setTimeout(r, 2))
      }
    } finally {
      await c.end()
    }
  } finally {
    await boss.offWork(QUEUE, { id: workId }).catch(() => {})
  }
}
