/**
 * jobRunStats through the GraphQL API: runs are created through the API (an api-only app, so they stay
 * put), then their status and timestamps are set in the database so every count, percentile and bucket
 * can be asserted exactly — including that nobody's statistics count another user's PRIVATE runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type GraphQLResponse, type TestApp } from '../harness/app.ts'

let t: TestApp
let alice: string // operator, owns the GLOBAL templates A and B
let bob: string // operator, owns the PRIVATE template P
let tpl: { A: string; B: string; P: string; D: string }
let schedule: string

const STATS = `query($f: JobRunStatsFilter!, $limit: Int) {
  jobRunStats(filter: $f) {
    since until bucket total succeeded failed successRate
    byStatus { status count }
    duration { count avgMs p50Ms p95Ms maxMs }
    buckets { start total succeeded failed avgDurationMs }
    failingTemplates(limit: $limit) { template { id name } templateName failed total }
  }
}`

// Range R: four UTC hours, 10:00–14:00 on 2025-06-01.
const R = { since: '2025-06-01T10:00:00Z', until: '2025-06-01T14:00:00Z' }
const at = (hhmmss: string, day = '2025-06-01') => `${day}T${hhmmss}Z`

interface Seed {
  tpl: keyof typeof tpl
  token: () => string
  status: string
  created: string
  /** Run time in ms: started at `created`, finished this much later. Omitted: never started. */
  ms?: number
  started?: boolean
  trigger?: string
  schedule?: boolean
}

// A1..A7 and B1..B4 are alice's GLOBAL runs, P1/P2 bob's PRIVATE ones, D1 a run of a template deleted later.
const SEEDS: Record<string, Seed> = {
  A1: { tpl: 'A', token: () => alice, status: 'SUCCEEDED', created: at('10:05:00'), ms: 1000 },
  A2: { tpl: 'A', token: () => alice, status: 'SUCCEEDED', created: at('10:20:00'), ms: 2000 },
  A3: { tpl: 'A', token: () => alice, status: 'FAILED', created: at('11:10:00'), ms: 3000 },
  A4: { tpl: 'A', token: () => alice, status: 'TIMED_OUT', created: at('11:50:00'), ms: 10000 },
  A5: { tpl: 'A', token: () => alice, status: 'CANCELLED', created: at('12:30:00'), ms: 50000 }, // not an outcome: no duration
  A6: { tpl: 'A', token: () => alice, status: 'SUCCEEDED', created: at('09:59:59.999'), ms: 1 }, // before R
  A7: { tpl: 'A', token: () => alice, status: 'FAILED', created: at('14:00:00'), ms: 1 }, // at R's exclusive end
  B1: { tpl: 'B', token: () => alice, status: 'SUCCEEDED', created: at('13:00:00'), ms: 4000, trigger: 'SCHEDULE', schedule: true },
  B2: { tpl: 'B', token: () => alice, status: 'FAILED', created: at('13:59:59.999') }, // failed before it started: no duration
  B3: { tpl: 'B', token: () => alice, status: 'QUEUED', created: at('12:00:00') },
  B4: { tpl: 'B', token: () => alice, status: 'RUNNING', created: at('12:01:00'), started: true },
  P1: { tpl: 'P', token: () => bob, status: 'FAILED', created: at('11:00:00'), ms: 100000 },
  P2: { tpl: 'P', token: () => bob, status: 'SUCCEEDED', created: at('10:30:00'), ms: 7 },
  D1: { tpl: 'D', token: () => alice, status: 'FAILED', created: at('08:00:00', '2025-06-03'), ms: 500 },
}

const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!
const byStatus = (counts: Record<string, number>) =>
  ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED'].map((status) => ({ status, count: counts[status] ?? 0 }))
const bucket = (start: string, total: number, succeeded: number, failed: number, avgDurationMs: number | null) => ({ start, total, succeeded, failed, avgDurationMs })

async function stats(f: Record<string, unknown>, token: string = alice, limit?: number) {
  return (await t.ok(STATS, { f, limit }, token)).jobRunStats
}

function expectFieldError(r: GraphQLResponse, field: string, message?: RegExp): void {
  const dump = JSON.stringify(r)
  expect(r.errors?.[0]?.extensions?.code, dump).toBe('BAD_USER_INPUT')
  expect(r.errors?.[0]?.extensions?.field, dump).toBe(field)
  if (message) expect(r.errors?.[0]?.message, dump).toMatch(message)
  expect(r.data ?? null, dump).toBeNull()
}

beforeAll(async () => {
  // No worker: runs stay as the test sets them.
  t = await startTestApp({ roles: 'api' })
  alice = await t.userToken('OPERATOR', 'alice')
  bob = await t.userToken('OPERATOR', 'bob')
  const create = async (name: string, visibility: string, token: string) =>
    (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name, jobType: 'noop', config: {}, visibility } }, token)).createJobTemplate.id as string
  tpl = { A: await create('tpl-a', 'GLOBAL', alice), B: await create('tpl-b', 'GLOBAL', alice), P: await create('tpl-p', 'PRIVATE', bob), D: await create('tpl-d', 'GLOBAL', alice) }
  schedule = (
    await t.ok(`mutation($t: ID!) { createJobSchedule(input: { name: "yearly", templateId: $t, kind: CRON, cronExpression: "0 0 1 1 *", visibility: GLOBAL }) { id } }`, { t: tpl.B }, alice)
  ).createJobSchedule.id
  for (const s of Object.values(SEEDS)) {
    const run = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl[s.tpl] }, s.token())).triggerJobRun.id as string
    const created = new Date(s.created)
    const started = s.ms !== undefined || s.started ? created : null
    const finished = s.ms !== undefined ? new Date(created.getTime() + s.ms) : null
    await t.app.db.pool.query(
      `UPDATE job_run SET status = $2, created_at = $3, started_at = $4, finished_at = $5, trigger = coalesce($6, trigger), schedule_id = $7 WHERE id = $1`,
      [rawId(run), s.status, created, started, finished, s.trigger ?? null, s.schedule ? rawId(schedule) : null],
    )
  }
  await t.ok(`mutation($id: ID!) { deleteJobTemplate(id: $id) }`, { id: tpl.D }, alice)
})
afterAll(async () => {
  await t?.stop()
})

describe('jobRunStats', () => {
  it('counts, rates, duration percentiles and hourly buckets of a range, exactly', async () => {
    const s = await stats(R)
    expect(s).toMatchObject({ since: '2025-06-01T10:00:00.000Z', until: '2025-06-01T14:00:00.000Z', bucket: 'HOUR' })
    expect(s.byStatus).toEqual(byStatus({ QUEUED: 1, RUNNING: 1, SUCCEEDED: 3, FAILED: 2, CANCELLED: 1, TIMED_OUT: 1 }))
    expect(s.total).toBe(9)
    expect(s.succeeded).toBe(3)
    expect(s.failed).toBe(3) // FAILED + TIMED_OUT
    expect(s.successRate).toBe(0.5)
    // Durations of A1 A2 A3 B1 A4: 1000 2000 3000 4000 10000 (cancelled A5 and never-started B2 left out).
    // p95 interpolates at position 0.95 × 4 = 3.8: 4000 + 0.8 × (10000 − 4000).
    expect(s.duration).toEqual({ count: 5, avgMs: 4000, p50Ms: 3000, p95Ms: 8800, maxMs: 10000 })
    expect(s.buckets).toEqual([
      bucket('2025-06-01T10:00:00.000Z', 2, 2, 0, 1500),
      bucket('2025-06-01T11:00:00.000Z', 2, 0, 2, 6500),
      bucket('2025-06-01T12:00:00.000Z', 3, 0, 0, null),
      bucket('2025-06-01T13:00:00.000Z', 2, 1, 1, 4000),
    ])
    expect(s.failingTemplates).toEqual([
      { template: { id: tpl.A, name: 'tpl-a' }, templateName: 'tpl-a', failed: 2, total: 5 },
      { template: { id: tpl.B, name: 'tpl-b' }, templateName: 'tpl-b', failed: 1, total: 4 },
    ])
    expect((await stats(R, alice, 1)).failingTemplates.map((f: { templateName: string }) => f.templateName)).toEqual(['tpl-a'])
  })

  it('truncates since to its UTC bucket and lists every bucket; DAY buckets', async () => {
    const hourly = await stats({ since: '2025-06-01T10:59:59.999Z', until: '2025-06-01T12:30:00Z' })
    expect(hourly.since).toBe('2025-06-01T10:00:00.000Z')
    expect(hourly.buckets.map((b: { start: string; total: number }) => [b.start, b.total])).toEqual([
      ['2025-06-01T10:00:00.000Z', 2],
      ['2025-06-01T11:00:00.000Z', 2],
      ['2025-06-01T12:00:00.000Z', 2], // the last bucket is cut at until: B3 and B4 only (A5 is at 12:30)
    ])
    expect(hourly.total).toBe(6)

    // An offset in the input names the same instant; buckets stay UTC.
    const daily = await stats({ since: '2025-06-01T17:30:00+02:00', until: '2025-06-04T00:00:00Z', bucket: 'DAY' })
    expect(daily).toMatchObject({ since: '2025-06-01T00:00:00.000Z', bucket: 'DAY', total: 12 })
    expect(daily.buckets).toEqual([
      bucket('2025-06-01T00:00:00.000Z', 11, 4, 4, 2857.429), // + A6 and A7: (1 + 1000 + 2000 + 3000 + 10000 + 4000 + 1) / 7, to 3 decimals
      bucket('2025-06-02T00:00:00.000Z', 0, 0, 0, null),
      bucket('2025-06-03T00:00:00.000Z', 1, 0, 1, 500),
    ])
    // The deleted template's runs group under their recorded name.
    expect(daily.failingTemplates).toEqual([
      { template: { id: tpl.A, name: 'tpl-a' }, templateName: 'tpl-a', failed: 3, total: 7 },
      { template: { id: tpl.B, name: 'tpl-b' }, templateName: 'tpl-b', failed: 1, total: 4 },
      { template: null, templateName: 'tpl-d', failed: 1, total: 1 },
    ])
  })

  it('an empty range has zeros, nulls and every bucket', async () => {
    const s = await stats({ since: '2025-01-01T00:00:00Z', until: '2025-01-02T00:00:00Z' })
    expect(s).toMatchObject({ total: 0, succeeded: 0, failed: 0, successRate: null, failingTemplates: [] })
    expect(s.byStatus).toEqual(byStatus({}))
    expect(s.duration).toEqual({ count: 0, avgMs: null, p50Ms: null, p95Ms: null, maxMs: null })
    expect(s.buckets).toHaveLength(24)
    expect(s.buckets[0]).toEqual(bucket('2025-01-01T00:00:00.000Z', 0, 0, 0, null))
    expect(s.buckets[23]).toEqual(bucket('2025-01-01T23:00:00.000Z', 0, 0, 0, null))
    expect(s.buckets.every((b: { total: number }) => b.total === 0)).toBe(true)
  })

  it('filters by template, schedule and trigger', async () => {
    const a = await stats({ ...R, templateIds: [tpl.A] })
    expect(a.byStatus).toEqual(byStatus({ SUCCEEDED: 2, FAILED: 1, TIMED_OUT: 1, CANCELLED: 1 }))
    expect(a.duration).toEqual({ count: 4, avgMs: 4000, p50Ms: 2500, p95Ms: 8950, maxMs: 10000 })
    expect((await stats({ ...R, templateIds: [tpl.A, tpl.B] })).total).toBe(9)

    for (const f of [{ scheduleIds: [schedule] }, { triggers: ['SCHEDULE'] }, { triggers: ['SCHEDULE', 'RETRY'], templateIds: [tpl.B] }]) {
      const s = await stats({ ...R, ...f })
      expect(s, JSON.stringify(f)).toMatchObject({ total: 1, succeeded: 1, failed: 0, successRate: 1, duration: { count: 1, avgMs: 4000, p50Ms: 4000, p95Ms: 4000, maxMs: 4000 } })
      expect(s.buckets.map((b: { total: number }) => b.total)).toEqual([0, 0, 0, 1])
    }
    expect((await stats({ ...R, triggers: ['MANUAL'] })).total).toBe(8)
    expect((await stats({ ...R, triggers: ['SCHEDULE'], templateIds: [tpl.A] })).total).toBe(0)
  })

  it('never counts another user\'s PRIVATE runs (admins, who see every run, count them all)', async () => {

    // Bob sees the same plus exactly his two PRIVATE runs (P1 FAILED at 11:00 in 100 s, P2 SUCCEEDED at 10:30 in 7 ms).
    const bobView = await stats(R, bob)
    expect(bobView.total).toBe(11)
    expect(bobView.byStatus).toEqual(byStatus({ QUEUED: 1, RUNNING: 1, SUCCEEDED: 4, FAILED: 3, CANCELLED: 1, TIMED_OUT: 1 }))
    expect(bobView.duration).toEqual({ count: 7, avgMs: 17143.857, p50Ms: 3000, p95Ms: 73000, maxMs: 100000 })
    expect(bobView.buckets.map((b: { total: number }) => b.total)).toEqual([3, 3, 3, 2])
    expect(bobView.failingTemplates.map((f: { templateName: string; failed: number; total: number }) => [f.templateName, f.failed, f.total])).toEqual([
      ['tpl-a', 2, 5],
      ['tpl-b', 1, 4],
      ['tpl-p', 1, 2],
    ])
    // Bob's view is every run there is: an admin's is the same.
    expect(await stats(R, t.adminToken)).toEqual(bobView)

    // Filtering on the private template's id reveals nothing either (as jobRuns: an empty answer, not an error).
    for (const token of [alice]) {
      const s = await stats({ ...R, templateIds: [tpl.P] }, token)
      expect(s).toMatchObject({ total: 0, successRate: null, failingTemplates: [], duration: { count: 0 } })
    }
    expect((await stats({ ...R, templateIds: [tpl.P] }, bob)).total).toBe(2)
    expect((await stats({ ...R, templateIds: [tpl.P] }, t.adminToken)).total).toBe(2)
  })

  it('defaults until to now', async () => {
    await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl.A }, alice)
    const before = Date.now()
    const s = await stats({ since: new Date(before - 3600e3).toISOString() })
    expect(Date.parse(s.until)).toBeGreaterThanOrEqual(before)
    expect(s.byStatus.find((b: { status: string }) => b.status === 'QUEUED').count).toBe(1)
    expect(s.buckets.length === 1 || s.buckets.length === 2).toBe(true)
    expect(s.buckets.reduce((n: number, b: { total: number }) => n + b.total, 0)).toBe(1)
  })

  it('rejects bad input with the field it concerns', async () => {
    const q = `query($f: JobRunStatsFilter!) { jobRunStats(filter: $f) { total } }`
    expectFieldError(await t.gql(q, { f: { since: R.until, until: R.since } }, alice), 'filter.until', /after since/)
    expectFieldError(await t.gql(q, { f: { since: R.since, until: R.since } }, alice), 'filter.until')
    expectFieldError(await t.gql(q, { f: { since: new Date(Date.now() + 3600e3).toISOString() } }, alice), 'filter.since')
    expectFieldError(await t.gql(q, { f: { since: '2024-01-01T00:00:00Z', until: '2025-01-02T00:00:00Z', bucket: 'DAY' } }, alice), 'filter.since', /366 days/)
    expectFieldError(await t.gql(q, { f: { since: '2025-01-01T00:00:00Z', until: '2025-04-01T00:00:00Z' } }, alice), 'filter.bucket', /2160 HOUR buckets.*DAY/)
    expectFieldError(await t.gql(q, { f: { ...R, templateIds: [tpl.A, 'nonsense'] } }, alice), 'filter.templateIds.1')
    expectFieldError(await t.gql(q, { f: { ...R, scheduleIds: [tpl.A] } }, alice), 'filter.scheduleIds.0')
    expectFieldError(await t.gql(`query($f: JobRunStatsFilter!) { jobRunStats(filter: $f) { failingTemplates(limit: 0) { failed } } }`, { f: R }, alice), 'limit')
    // The limits themselves are allowed: 366 days of DAY buckets, 2000 HOUR buckets.
    expect((await stats({ since: '2024-01-01T00:00:00Z', until: '2025-01-01T00:00:00Z', bucket: 'DAY' })).buckets).toHaveLength(366)
    expect((await stats({ since: '2025-01-01T00:00:00Z', until: new Date(Date.parse('2025-01-01T00:00:00Z') + 2000 * 3600e3).toISOString() })).buckets).toHaveLength(2000)

    const anon = await t.gql(q, { f: R }, null)
    expect(anon.errors?.[0]?.extensions?.code, JSON.stringify(anon)).toBe('UNAUTHENTICATED')
  })
})
