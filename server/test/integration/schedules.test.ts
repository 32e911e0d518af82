/**
 * Schedules through the API and the real scheduler loop on real Postgres: validation, exactly-once
 * firing with three scheduler instances, misfire policies after an outage, overlap policies, the
 * per-template concurrency limit, blackout windows, and pause/edit/delete taking effect at once.
 * Fire-time arithmetic (DST, L/#/W) is table-tested in src/schedules/fire-times.test.ts.
 */
import { decodeGlobalID } from '@pothos/plugin-relay'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import { noopExecutor } from '../../src/jobs/executors/noop.ts'
import type { JobExecutor } from '../../src/jobs/executors/types.ts'
import { fireTimesBetween, upcomingFireTimes } from '../../src/schedules/fire-times.ts'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

/** `wait`: holds the run for `ms` (or until aborted), to make runs overlap. */
const waitExecutor: JobExecutor = {
  type: 'wait',
  label: 'Wait',
  description: 'test: waits',
  configSchema: z.object({ ms: z.number().int() }),
  usesTargets: false,
  async execute(ctx) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, (ctx.config as { ms: number }).ms)
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    return { ok: true }
  },
}
const registry = () => new ExecutorRegistry([noopExecutor as JobExecutor, waitExecutor])

const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
const CREATE_SCH = `mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id nextRunAt summary version upcomingRuns(count: 3) { at blackout } } }`

const rawId = (globalId: string) => decodeGlobalID(globalId).id

interface RunRow {
  status: string
  slot_at: Date | null
  trigger: string
  error: string | null
  started_at: Date | null
  finished_at: Date | null
  number: number
}

async function runsOf(t: TestApp, scheduleId: string): Promise<RunRow[]> {
  const { rows } = await t.app.db.pool.query<RunRow>(
    'SELECT status, slot_at, trigger, error, started_at, finished_at, number FROM job_run WHERE schedule_id = $1 ORDER BY slot_at NULLS LAST, number',
    [rawId(scheduleId)],
  )
  return rows
}

async function template(t: TestApp, input: Record<string, unknown>): Promise<string> {
  return (await t.ok(CREATE_TPL, { i: { visibility: 'GLOBAL', jobType: 'noop', config: {}, ...input } })).createJobTemplate.id
}

async function schedule(t: TestApp, input: Record<string, unknown>) {
  return (await t.ok(CREATE_SCH, { i: { timezone: 'UTC', ...input } })).createJobSchedule
}

describe('schedule validation and previews', () => {
  let t: TestApp
  let tpl: string
  beforeAll(async () => {
    t = await startTestApp({ roles: 'api', registry: registry() })
    tpl = await template(t, { name: 'v', parameters: [{ name: 'n', type: 'INT', default: 1 }] })
  })
  afterAll(() => t?.stop())

  it('rejects bad input with the field named, storing nothing', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ kind: 'CRON', cronExpression: '61 * * * *' }, 'input.cronExpression'],
      [{ kind: 'CRON', cronExpression: '* * *' }, 'input.cronExpression'],
      [{ kind: 'CRON' }, 'input.cronExpression'],
      [{ kind: 'CRON', cronExpression: '* * * * *', timezone: 'Mars/Olympus' }, 'input.timezone'],
      [{ kind: 'INTERVAL' }, 'input.intervalEvery'],
      [{ kind: 'INTERVAL', intervalEvery: 0 }, 'input.intervalEvery'],
      [{ kind: 'DAILY_AT', dailyTime: '25:00' }, 'input.dailyTime'],
      [{ kind: 'DAILY_AT', dailyTime: '08:00', daysOfWeek: [7] }, 'input.daysOfWeek.0'],
      [{ kind: 'ONCE', onceAt: 'tomorrow' }, 'input.onceAt'],
      [{ kind: 'CRON', cronExpression: '* * * * *', startAt: '2026-01-02T00:00:00Z', endAt: '2026-01-01T00:00:00Z' }, 'input.endAt'],
      [{ kind: 'CRON', cronExpression: '* * * * *', parameters: { n: 'x' } }, 'input.parameters.n'],
      [{ kind: 'CRON', cronExpression: '* * * * *', parameters: { nope: 1 } }, 'input.parameters.nope'],
    ]
    for (const [input, field] of cases) {
      const r = await t.gql(CREATE_SCH, { i: { name: 'bad', templateId: tpl, timezone: 'UTC', ...input } })
      expect(r.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', field })
    }
    expect((await t.ok(`{ jobSchedules { id } }`)).jobSchedules).toEqual([])
  })

  it('refuses a ONCE time in the past (in the schedule\'s timezone), on create and on update, saying so in words', async () => {
    const r = await t.gql(CREATE_SCH, { i: { name: 'past', templateId: tpl, kind: 'ONCE', onceAt: '2020-03-01T09:30', timezone: 'Asia/Tokyo' } })
    expect(r.errors?.[0]?.extensions, JSON.stringify(r)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.onceAt' })
    expect(r.errors?.[0]?.message).toMatch(/2020-03-01 09:30 in Asia\/Tokyo is in the past \(it is now \d{4}-\d\d-\d\d \d\d:\d\d there\)/)
    expect((await t.ok(`{ jobSchedules { id } }`)).jobSchedules).toEqual([])

    const s = await schedule(t, { name: 'future-once', templateId: tpl, kind: 'ONCE', onceAt: '2099-01-01T00:00' })
    const u = await t.gql(`mutation($id: ID!, $i: UpdateJobScheduleInput!) { updateJobSchedule(id: $id, input: $i) { id } }`, { id: s.id, i: { onceAt: '2021-05-05T05:05' } })
    expect(u.errors?.[0]?.extensions, JSON.stringify(u)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.onceAt' })
    expect((await t.ok(`query($id: ID!) { jobSchedule(id: $id) { onceAt } }`, { id: s.id })).jobSchedule.onceAt).toBe('2099-01-01T00:00')
    await t.ok(`mutation($id: ID!) { deleteJobSchedule(id: $id) }`, { id: s.id })
  })

  it('stores nextRunAt, previews upcoming runs and describes the timing in words', async () => {
    const s = await schedule(t, { name: 'berlin', templateId: tpl, kind: 'DAILY_AT', dailyTime: '02:30', daysOfWeek: [1, 3], timezone: 'Europe/Berlin' })
    const expected = upcomingFireTimes({ timing: { kind: 'DAILY_AT', time: '02:30', daysOfWeek: [1, 3] }, timezone: 'Europe/Berlin' }, new Date(), 3).map((d) => d.toISOString())
    expect(s.nextRunAt).toBe(expected[0])
    expect(s.upcomingRuns.map((u: { at: string }) => u.at)).toEqual(expected)
    expect(s.summary).toBe('At 02:30, only on Monday, Wednesday (Europe/Berlin)')
    const cron = await schedule(t, { name: 'cron', templateId: tpl, kind: 'CRON', cronExpression: '0 9 * * 1-5', timezone: 'America/New_York' })
    expect(cron.summary).toMatch(/09:00.*Monday through Friday.*America\/New_York/)
    const p = await t.ok(`{ previewJobSchedule(input: { kind: INTERVAL, intervalEvery: 90, intervalUnit: MINUTES, startAt: "2026-01-01T00:00:00Z" }, count: 2) { description upcoming } }`)
    expect(p.previewJobSchedule.description).toMatch(/Every 90 minutes/)
    expect(p.previewJobSchedule.upcoming).toHaveLength(2)
    const bad = await t.gql(`{ previewJobSchedule(input: { kind: CRON, cronExpression: "nope" }) { upcoming } }`)
    expect(bad.errors?.[0]?.extensions).toMatchObject({ field: 'input.cronExpression' })
  })
})

describe('firing', () => {
  let db: TestDatabase
  let api: TestApp
  const schedulers: TestApp[] = []
  beforeAll(async () => {
    db = await createTestDatabase('sched')
    api = await startTestApp({ db, roles: 'api,worker', registry: registry(), env: { SWITCHYARD_WORKER_CONCURRENCY: '40', SWITCHYARD_DB_POOL_SIZE: '10' } })
  })
  afterAll(async () => {
    for (const s of schedulers) await s.stop()
    await api?.stop()
    await db?.drop()
  })

  it('three scheduler instances fire 1-second schedules for a minute: every slot exactly once', async () => {
    for (let i = 0; i < 3; i++) schedulers.push(await startTestApp({ db, roles: 'api,scheduler', registry: registry() }))
    const tpl = await template(api, { name: 'every-second' })
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await schedule(api, { name: `s${i}`, templateId: tpl, kind: 'CRON', cronExpression: '* * * * * *' })).id)
    const startedAt = Date.now()
    await new Promise((r) => setTimeout(r, 60_000))
    for (const id of ids) await api.ok(`mutation($id: ID!) { setJobScheduleActive(id: $id, active: false) { id } }`, { id })
    const elapsed = (Date.now() - startedAt) / 1000
    for (const id of ids) {
      const runs = await runsOf(api, id)
      const slots = runs.map((r) => r.slot_at!.getTime())
      expect(new Set(slots).size).toBe(slots.length) // no duplicates
      expect(runs.filter((r) => r.status === 'MISSED' || r.status === 'SKIPPED')).toEqual([])
      // Consecutive seconds from the first slot to the last: no slot was skipped.
      for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(1000)
      expect(slots.length).toBeGreaterThanOrEqual(Math.floor(elapsed) - 2)
    }
    await Promise.all(schedulers.splice(0).map((s) => s.stop()))
  }, 120_000)

  it('after an outage, each misfire policy does what it says', async () => {
    // No scheduler runs while the outage is arranged; then one starts and finds the slots behind it.
    const tpl = await template(api, { name: 'misfire' })
    const every10min = '*/10 * * * *'
    const mk = async (name: string, misfirePolicy: string, extra: Record<string, unknown> = {}) =>
      (await schedule(api, { name, templateId: tpl, kind: 'CRON', cronExpression: every10min, misfirePolicy, misfireGraceSeconds: 1, ...extra })).id
    const ids = { skip: await mk('skip', 'SKIP'), once: await mk('once', 'RUN_ONCE'), all: await mk('all', 'RUN_ALL', { misfireMaxRuns: 3 }) }
    const now = new Date()
    const spec = { timing: { kind: 'CRON' as const, expression: every10min }, timezone: 'UTC' }
    const first = upcomingFireTimes(spec, new Date(now.getTime() - 61 * 60_000), 1)[0]!
    const missed = fireTimesBetween(spec, new Date(first.getTime() - 1), now, 1000).times
    expect(missed.length).toBeGreaterThanOrEqual(6)
    await api.app.db.pool.query(`UPDATE job_schedule SET next_run_at = $1, last_slot_at = $2 WHERE id = ANY($3::uuid[])`, [first, new Date(first.getTime() - 1), Object.values(ids).map(rawId)])

    const scheduler = await startTestApp({ db, roles: 'api,scheduler', registry: registry() })
    schedulers.push(scheduler)
    for (const id of Object.values(ids)) {
      await eventually(async () => (await api.app.db.pool.query(`SELECT next_run_at > now() AS ok FROM job_schedule WHERE id = $1`, [rawId(id)])).rows[0].ok, { what: 'catch-up' })
    }
    const summary = async (id: string) => {
      const runs = await runsOf(api, id)
      return { missed: runs.filter((r) => r.status === 'MISSED').map((r) => r.slot_at!.toISOString()), ran: runs.filter((r) => r.status !== 'MISSED').map((r) => r.slot_at!.toISOString()) }
    }
    const iso = missed.map((d) => d.toISOString())
    expect(await summary(ids.skip)).toEqual({ missed: iso, ran: [] })
    expect(await summary(ids.once)).toEqual({ missed: iso.slice(0, -1), ran: iso.slice(-1) })
    expect(await summary(ids.all)).toEqual({ missed: iso.slice(0, -3), ran: iso.slice(-3) })
    const anyMissed = (await runsOf(api, ids.skip))[0]!
    expect(anyMissed.error).toMatch(/missed: the scheduler did not run at .* \(misfire policy SKIP\)/)
    expect(anyMissed.trigger).toBe('SCHEDULE')
    await scheduler.stop()
    schedulers.pop()
  })

  describe('with a scheduler running', () => {
    let sch: TestApp
    beforeAll(async () => {
      sch = await startTestApp({ db, roles: 'api,scheduler', registry: registry() })
    })
    afterAll(() => sch?.stop())

    const waitForRuns = (id: string, n: number, what = `${n} runs`) =>
      eventually(async () => {
        const runs = await runsOf(api, id)
        return runs.length >= n ? runs : null
      }, { what, timeoutMs: 30_000 })
    const pause = (id: string) => api.ok(`mutation($id: ID!) { setJobScheduleActive(id: $id, active: false) { nextRunAt } }`, { id })
    const settled = (id: string) =>
      eventually(async () => ((await runsOf(api, id)).every((r) => !['QUEUED', 'RUNNING'].includes(r.status)) ? true : null), { what: 'runs to settle' })

    it('overlap SKIP records slots SKIPPED while a run is still going', async () => {
      const tpl = await template(api, { name: 'ov-skip', jobType: 'wait', config: { ms: 2500 }, overlapPolicy: 'SKIP' })
      const s = await schedule(api, { name: 'ov-skip', templateId: tpl, kind: 'CRON', cronExpression: '* * * * * *' })
      await waitForRuns(s.id, 6)
      await pause(s.id)
      await settled(s.id)
      const runs = await runsOf(api, s.id)
      const skipped = runs.filter((r) => r.status === 'SKIPPED')
      expect(skipped.length).toBeGreaterThan(0)
      expect(skipped[0]!.error).toMatch(/still (queued|running) \(overlap policy SKIP\)/)
      const ran = runs.filter((r) => r.status === 'SUCCEEDED')
      for (let i = 1; i < ran.length; i++) expect(ran[i]!.started_at!.getTime()).toBeGreaterThanOrEqual(ran[i - 1]!.finished_at!.getTime())
    })

    it('overlap QUEUE runs every slot, one after another', async () => {
      const tpl = await template(api, { name: 'ov-queue', jobType: 'wait', config: { ms: 1500 }, overlapPolicy: 'QUEUE' })
      const s = await schedule(api, { name: 'ov-queue', templateId: tpl, kind: 'CRON', cronExpression: '* * * * * *' })
      await waitForRuns(s.id, 3)
      await pause(s.id)
      await settled(s.id)
      const runs = await runsOf(api, s.id)
      expect(runs.every((r) => r.status === 'SUCCEEDED')).toBe(true)
      const byStart = [...runs].sort((a, b) => a.started_at!.getTime() - b.started_at!.getTime())
      for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.started_at!.getTime()).toBeGreaterThanOrEqual(byStart[i - 1]!.finished_at!.getTime())
    })

    it('overlap CANCEL_PREVIOUS cancels the run still going, then starts', async () => {
      const tpl = await template(api, { name: 'ov-cancel', jobType: 'wait', config: { ms: 60_000 }, overlapPolicy: 'CANCEL_PREVIOUS' })
      const s = await schedule(api, { name: 'ov-cancel', templateId: tpl, kind: 'INTERVAL', intervalEvery: 2 })
      await waitForRuns(s.id, 3)
      await pause(s.id)
      // Cancellation of a running run completes on its worker a moment later.
      await eventually(async () => (await runsOf(api, s.id)).slice(0, -1).every((r) => r.status === 'CANCELLED'), { what: 'earlier runs to be cancelled' })
      const runs = await runsOf(api, s.id)
      expect(runs.at(-1)!.status).not.toBe('CANCELLED')
      // Clean up the last one.
      const last = (await api.app.db.pool.query(`SELECT id FROM job_run WHERE schedule_id = $1 AND status IN ('QUEUED','RUNNING')`, [rawId(s.id)])).rows
      for (const r of last) await api.app.services.runs.cancel({ userId: (await api.app.db.prisma.user.findFirstOrThrow()).id, username: 'admin', role: 'ADMIN' }, r.id)
      await settled(s.id)
    })

    it('maxConcurrentRuns is a strict limit; waiting runs start as slots free up', async () => {
      const tpl = await template(api, { name: 'limited', jobType: 'wait', config: { ms: 700 }, maxConcurrentRuns: 2 })
      const ids = await Promise.all(Array.from({ length: 6 }, () => api.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl }).then((d) => rawId(d.triggerJobRun.id))))
      const rows = await eventually(async () => {
        const { rows } = await api.app.db.pool.query<RunRow>(`SELECT status, started_at, finished_at FROM job_run WHERE id = ANY($1::uuid[])`, [ids])
        return rows.every((r) => r.status === 'SUCCEEDED') ? rows : null
      }, { what: 'all limited runs to succeed' })
      // At no instant were more than two running.
      const events = rows.flatMap((r) => [[r.started_at!.getTime(), 1] as const, [r.finished_at!.getTime(), -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
      let running = 0
      let peak = 0
      for (const [, d] of events) peak = Math.max(peak, (running += d))
      expect(peak).toBe(2)
    })

    it('a blackout window skips the slots it covers, with the reason', async () => {
      const startTime = new Date(Date.now() - 60_000).toISOString().slice(11, 16)
      const bw = (await api.ok(`mutation($i: BlackoutWindowInput!) { createBlackoutWindow(input: $i) { id } }`, { i: { name: 'change freeze', kind: 'RECURRING', timezone: 'UTC', startTime, durationMinutes: 30 } })).createBlackoutWindow.id
      const tpl = await template(api, { name: 'frozen' })
      const s = await schedule(api, { name: 'frozen', templateId: tpl, kind: 'CRON', cronExpression: '* * * * * *', blackoutIds: [bw] })
      expect(s.upcomingRuns[0].blackout).toBe('change freeze')
      const runs = await waitForRuns(s.id, 2)
      await pause(s.id)
      expect(runs.every((r) => r.status === 'SKIPPED' && r.error === 'skipped: blackout window "change freeze"')).toBe(true)
    })

    it('pause, edit and delete take effect for the very next slot', async () => {
      const tpl = await template(api, { name: 'edits' })
      const s = await schedule(api, { name: 'edits', templateId: tpl, kind: 'CRON', cronExpression: '* * * * * *' })
      await waitForRuns(s.id, 2)
      const paused = await pause(s.id)
      expect(paused.setJobScheduleActive.nextRunAt).toBeNull()
      const pausedAt = Date.now()
      const countAtPause = (await runsOf(api, s.id)).length
      // A slot that was due at the moment of pausing may still land; nothing later than it may.
      await new Promise((r) => setTimeout(r, 2500))
      const afterPause = await runsOf(api, s.id)
      expect(afterPause.filter((r) => r.slot_at!.getTime() > pausedAt).length).toBe(0)
      expect(afterPause.length - countAtPause).toBeLessThanOrEqual(1)

      // Resume with a new definition: only even seconds from now on, and no MISSED for the pause.
      const edited = (await api.ok(`mutation($id: ID!) { updateJobSchedule(id: $id, input: { cronExpression: "*/2 * * * * *", active: true }) { version nextRunAt } }`, { id: s.id })).updateJobSchedule
      expect(edited.version).toBe(3) // created 1, paused 2, edited 3
      const editedAt = Date.now()
      await eventually(async () => (await runsOf(api, s.id)).filter((r) => r.slot_at!.getTime() >= editedAt).length >= 2, { what: 'runs after the edit' })
      const afterEdit = (await runsOf(api, s.id)).filter((r) => r.slot_at!.getTime() >= editedAt)
      expect(afterEdit.every((r) => r.slot_at!.getUTCSeconds() % 2 === 0 && r.status !== 'MISSED')).toBe(true)

      await api.ok(`mutation($id: ID!) { deleteJobSchedule(id: $id) }`, { id: s.id })
      const deletedAt = Date.now()
      await new Promise((r) => setTimeout(r, 2500))
      const { rows } = await api.app.db.pool.query(`SELECT count(*)::int AS n FROM job_run WHERE template_id = $1 AND slot_at > $2`, [rawId(tpl), new Date(deletedAt)])
      expect(rows[0].n).toBe(0)
    })

    it('runJobScheduleNow runs the template with the schedule\'s parameters, outside the slots', async () => {
      const tpl = await template(api, { name: 'now', parameters: [{ name: 'greeting', type: 'STRING', default: 'hi' }] })
      const s = await schedule(api, { name: 'now', templateId: tpl, kind: 'CRON', cronExpression: '0 0 1 1 *', parameters: { greeting: 'hello' } })
      const run = (await api.ok(`mutation($id: ID!) { runJobScheduleNow(id: $id) { id trigger parameters slotAt schedule { id } } }`, { id: s.id })).runJobScheduleNow
      expect(run).toMatchObject({ trigger: 'MANUAL', parameters: { greeting: 'hello' }, slotAt: null, schedule: { id: s.id } })
    })
  })
})
