/**
 * Notifications under load: `runs` failing runs (`bench-fail`) triggered `concurrency` at a time on one
 * api+worker process, once with a webhook rule for RUN_FAILED to a local HTTP receiver and once with no
 * rule at all, alternating which goes first each round (each on a fresh database):
 *
 * - end-to-end runs/s, first run created → last run finished (Postgres timestamps), with and without the
 *   rule: their ratio is what writing the outbox (in the run's final transaction) costs the runs;
 * - notifications delivered/s: deliveries received / (first run finished → last delivery received);
 * - run end → receiver: the receiver's clock at receipt − the run's finished_at in the payload (one
 *   machine, one clock), p50/p99/max.
 */
import crypto from 'node:crypto'
import { createBenchRegistry } from '../executors.ts'
import { createTemplate, triggerService, withApp } from '../lib/app.ts'
import { cpuSince, cpuSnapshot, type CpuUse } from '../lib/cpu.ts'
import { withDatabase } from '../lib/resources.ts'
import { distribution, median, type Distribution } from '../lib/stats.ts'
import { WebhookReceiver } from '../../test/harness/webhook-receiver.ts'

export interface NotificationsOptions {
  runs: number
  concurrency: number
  rounds: number
  timeoutMs: number
}

export interface NotificationsRound {
  withoutRunsPerSec: number
  withRunsPerSec: number
  deliveredPerSec: number
  endToReceiver: Distribution
  deliveries: number
  cpuWith: CpuUse
}

export interface NotificationsResult {
  runs: number
  rounds: NotificationsRound[]
}

async function once(o: NotificationsOptions, withRule: boolean): Promise<{ runsPerSec: number; deliveredPerSec: number; endToReceiver: Distribution; deliveries: number; cpu: CpuUse }> {
  const receiver = new WebhookReceiver()
  await receiver.start()
  // Wall-clock receipt times (ms since the epoch, as the payload's finishedAt).
  const receivedAt: Array<{ at: number; finishedAt: number }> = []
  receiver.onReceive = (r) => {
    const body = JSON.parse(r.body) as { run: { finishedAt: string } }
    receivedAt.push({ at: Date.now(), finishedAt: Date.parse(body.run.finishedAt) })
  }
  try {
    return await withDatabase((db) =>
      withApp(db, { roles: 'api,worker', registry: createBenchRegistry() }, async (a) => {
        const tpl = await createTemplate(a, { name: 'bench failing', jobType: 'bench-fail', config: {} })
        if (withRule) {
          const cred = await a.gql<{ createCredential: { id: string } }>(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
            i: { name: 'bench hook secret', kind: 'PASSWORD', username: 'hook', password: crypto.randomBytes(24).toString('hex') },
          })
          const ch = await a.gql<{ createNotificationChannel: { id: string } }>(`mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, {
            i: { name: 'bench hook', url: `${receiver.url}/hook`, secretCredentialId: cred.createCredential.id },
          })
          await a.gql(`mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { id } }`, { i: { name: 'bench failures', events: ['RUN_FAILED'], channelIds: [ch.createNotificationChannel.id] } })
        }
        const cpuStart = await cpuSnapshot({ database: db.name })
        let next = 0
        await Promise.all(
          Array.from({ length: o.concurrency }, async () => {
            while (next < o.runs) {
              next++
              await triggerService(a, tpl.id)
            }
          }),
        )
        const deadline = Date.now() + o.timeoutMs
        for (;;) {
          const { rows } = await a.app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_run WHERE status = 'FAILED'`)
          if (rows[0]!.n >= o.runs && (!withRule || receivedAt.length >= o.runs)) break
          if (Date.now() > deadline) throw new Error(`notifications bench: ${rows[0]!.n} of ${o.runs} runs ended, ${receivedAt.length} delivered after ${o.timeoutMs} ms`)
          await new Promise((r) => setTimeout(r, 50))
        }
        const cpu = await cpuSince(cpuStart)
        const { rows } = await a.app.db.pool.query<{ ms: string; first_end: Date }>(
          `SELECT extract(epoch FROM max(finished_at) - min(created_at)) * 1000 AS ms, min(finished_at) AS first_end FROM job_run`,
        )
        const runsPerSec = (o.runs / Number(rows[0]!.ms)) * 1000
        if (!withRule) return { runsPerSec, deliveredPerSec: NaN, endToReceiver: distribution([]), deliveries: 0, cpu }
        const lastReceipt = Math.max(...receivedAt.map((r) => r.at))
        return {
          runsPerSec,
          deliveredPerSec: (receivedAt.length / (lastReceipt - rows[0]!.first_end.getTime())) * 1000,
          endToReceiver: distribution(receivedAt.map((r) => r.at - r.finishedAt)),
          deliveries: receivedAt.length,
          cpu,
        }
      }),
    )
  } finally {
    await receiver.stop()
  }
}

export async function runNotifications(o: NotificationsOptions): Promise<NotificationsResult> {
  const rounds: NotificationsRound[] = []
  for (let i = 0; i < o.rounds; i++) {
    // Alternate the order, so whatever drifts during a round touches both alike.
    const first = i % 2 === 0
    const a = await once(o, first)
    const b = await once(o, !first)
    const [withR, withoutR] = first ? [a, b] : [b, a]
    rounds.push({ withoutRunsPerSec: withoutR.runsPerSec, withRunsPerSec: withR.runsPerSec, deliveredPerSec: withR.deliveredPerSec, endToReceiver: withR.endToReceiver, deliveries: withR.deliveries, cpuWith: withR.cpu })
  }
  return { runs: o.runs, rounds }
}

const f1 = (v: number) => v.toFixed(1)

export function formatNotifications(r: NotificationsResult): string {
  const lines = ['', `6. Notifications: ${r.runs} failing runs, a webhook rule (RUN_FAILED) to a local receiver vs no rule, one api+worker process`]
  for (const [i, x] of r.rounds.entries()) {
    lines.push(
      `  round ${i + 1}: runs/s without ${f1(x.withoutRunsPerSec)}, with ${f1(x.withRunsPerSec)} (overhead ×${(x.withoutRunsPerSec / x.withRunsPerSec).toFixed(2)}); ` +
        `delivered ${x.deliveries} at ${f1(x.deliveredPerSec)}/s; run end → receiver p50 ${Math.round(x.endToReceiver.p50)} ms p99 ${Math.round(x.endToReceiver.p99)} ms max ${Math.round(x.endToReceiver.max)} ms`,
    )
  }
  const m = (pick: (x: NotificationsRound) => number) => median(r.rounds.map(pick))
  lines.push(
    `  median: runs/s without ${f1(m((x) => x.withoutRunsPerSec))}, with ${f1(m((x) => x.withRunsPerSec))}, overhead ratio ×${m((x) => x.withoutRunsPerSec / x.withRunsPerSec).toFixed(2)}; ` +
      `delivered/s ${f1(m((x) => x.deliveredPerSec))}; run end → receiver p99 ${Math.round(m((x) => x.endToReceiver.p99))} ms`,
  )
  return lines.join('\n') + '\n'
}
