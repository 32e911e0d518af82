/**
 * Scheduler fire lateness with many active schedules, and the scheduler's CPU while idle.
 *
 * Lateness: `count` CRON schedules with seconds, spread evenly over the minute
 * (`<i mod 60> * * * * *`, each firing once a minute), on one process with roles api+scheduler (no
 * worker, so runs only queue and nothing else competes). For every slot in a `windowSeconds` window:
 * created_at (Postgres now() of the transaction that turned the slot into a run) − slot_at.
 * Schedules are inserted in bulk (the API would take minutes for 10,000), with nextRunAt computed by
 * the product's own fire-time code.
 *
 * Idle CPU: the same process with `count` schedules none of which is due for hours, measured for
 * `idleSeconds`: what keeping many schedules costs when nothing fires.
 */
import { createBenchRegistry } from '../executors.ts'
import { createTemplate, withApp } from '../lib/app.ts'
import { cpuSince, cpuSnapshot, type CpuUse } from '../lib/cpu.ts'
import { withDatabase } from '../lib/resources.ts'
import { distribution, type Distribution } from '../lib/stats.ts'
import { nextFireTime } from '../../src/schedules/fire-times.ts'

export interface ScheduleLatenessOptions {
  counts: number[]
  windowSeconds: number
  idleSeconds: number
}

export interface ScheduleLatenessSeries {
  count: number
  /** ms from slot to the run's creation. */
  lateness: Distribution
  /** Slots in the window without a run (should be 0). */
  missing: number
  cpu: CpuUse
}

export interface ScheduleLatenessResult {
  series: ScheduleLatenessSeries[]
  idle: { count: number; cpu: CpuUse }
}

const CHUNK = 1000

export async function runScheduleLateness(o: ScheduleLatenessOptions): Promise<ScheduleLatenessResult> {
  const series: ScheduleLatenessSeries[] = []
  for (const count of o.counts) series.push(await lateness(count, o.windowSeconds))
  const idle = await idleCpu(Math.max(...o.counts), o.idleSeconds)
  return { series, idle }
}

async function insertSchedules(a: Parameters<Parameters<typeof withApp>[2]>[0], templateId: string, count: number, expression: (i: number) => string): Promise<void> {
  const owner = (await a.app.db.prisma.user.findFirstOrThrow()).id
  const start = new Date(Date.now() + 3000)
  for (let i = 0; i < count; i += CHUNK) {
    const rows = []
    for (let j = i; j < Math.min(count, i + CHUNK); j++) {
      const cronExpression = expression(j)
      rows.push({
        name: `bench ${j}`,
        templateId,
        kind: 'CRON' as const,
        cronExpression,
        timezone: 'UTC',
        ownerId: owner,
        visibility: 'GLOBAL' as const,
        lastSlotAt: start,
        nextRunAt: nextFireTime({ timing: { kind: 'CRON', expression: cronExpression }, timezone: 'UTC' }, start),
      })
    }
    await a.app.db.prisma.jobSchedule.createMany({ data: rows })
  }
  // Wake the schedulers (they sleep until the earliest nextRunAt they last saw).
  await a.app.db.pool.query(`SELECT pg_notify('switchyard_schedule', 'bench')`)
}

function lateness(count: number, windowSeconds: number): Promise<ScheduleLatenessSeries> {
  return withDatabase((db) =>
    withApp(db, { roles: 'api,scheduler', registry: createBenchRegistry() }, async (a) => {
      const tpl = (await createTemplate(a, { name: 'bench scheduled', jobType: 'noop', config: {} })).id
      await insertSchedules(a, tpl, count, (i) => `${i % 60} * * * * *`)
      // Measure a window that starts once the first slots are due, and leave a margin at the end.
      const from = new Date(Date.now() + 4000)
      await new Promise((r) => setTimeout(r, 4000))
      const cpuStart = await cpuSnapshot({ database: db.name })
      await new Promise((r) => setTimeout(r, windowSeconds * 1000))
      const cpu = await cpuSince(cpuStart)
      const to = new Date(Date.now() - 2000)
      // Let the last slots of the window land before reading.
      await new Promise((r) => setTimeout(r, 3000))
      const { rows } = await a.app.db.pool.query<{ ms: number }>(
        `SELECT extract(epoch FROM created_at - slot_at) * 1000 AS ms FROM job_run WHERE slot_at >= $1 AND slot_at < $2`,
        [from, to],
      )
      // Every schedule fires once a minute at second (i mod 60): count the slots the window holds.
      let expected = 0
      for (let t = Math.ceil(from.getTime() / 1000) * 1000; t < to.getTime(); t += 1000) {
        const second = new Date(t).getUTCSeconds()
        expected += Math.floor(count / 60) + (second < count % 60 ? 1 : 0)
      }
      return { count, lateness: distribution(rows.map((r) => Number(r.ms))), missing: Math.max(0, expected - rows.length), cpu }
    }),
  )
}

function idleCpu(count: number, seconds: number): Promise<{ count: number; cpu: CpuUse }> {
  return withDatabase((db) =>
    withApp(db, { roles: 'api,scheduler', registry: createBenchRegistry() }, async (a) => {
      const tpl = (await createTemplate(a, { name: 'bench idle', jobType: 'noop', config: {} })).id
      // Due once a year, on 1 January: nothing fires during the measurement.
      await insertSchedules(a, tpl, count, (i) => `${i % 60} ${i % 60} 0 1 1 *`)
      await new Promise((r) => setTimeout(r, 2000))
      const start = await cpuSnapshot({ database: db.name })
      await new Promise((r) => setTimeout(r, seconds * 1000))
      return { count, cpu: await cpuSince(start) }
    }),
  )
}

const ms = (v: number) => `${Math.round(v)} ms`
const pct = (v: number) => `${v.toFixed(1)}%`

export function formatScheduleLateness(r: ScheduleLatenessResult): string {
  const lines = ['', '4. Schedules: fire lateness (slot → run created), one api+scheduler process, no worker']
  for (const s of r.series) {
    lines.push(
      `  ${String(s.count).padStart(6)} schedules  p50 ${ms(s.lateness.p50)}  p99 ${ms(s.lateness.p99)}  max ${ms(s.lateness.max)}  (${s.lateness.n} slots, ${s.missing} missing)  CPU: app ${pct(s.cpu.selfPct)} PG ${pct(s.cpu.postgresPct)} other ${pct(s.cpu.otherPct)}`,
    )
  }
  lines.push(`  idle, ${r.idle.count} schedules none due: app ${pct(r.idle.cpu.selfPct)} of a core, PG ${pct(r.idle.cpu.postgresPct)}`)
  return lines.join('\n') + '\n'
}
