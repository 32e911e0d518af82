/**
 * Run retention on real Postgres: runs are made through the API (noop runs that succeed, command runs on
 * a refused port that fail with their targets, one command run stuck connecting to a silent listener),
 * then aged by moving created_at back; one housekeeping pass of a second process (its reaper's first
 * pass) deletes exactly the runs past their age beyond each template's last N, with their targets and
 * logs, and keeps failures within their longer period, pinned runs and the running one.
 * Also: pinJobRun through the API with its permissions and audit events.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type App } from '../../src/app.ts'
import { RunRetention } from '../../src/modules/runs/run-retention.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { eventually, startTestApp, testConfig, type TestApp } from '../harness/app.ts'

let t: TestApp
let silent: net.Server
let alice: string // operator, owns the templates and triggers the runs
let bob: string // another operator
let vic: string // viewer
const sockets: net.Socket[] = []

beforeAll(async () => {
  // This process applies no run retention, so only the second process's pass below deletes anything.
  t = await startTestApp({ env: { SWITCHYARD_RUN_RETENTION_DAYS: '0', SWITCHYARD_FAILED_RUN_RETENTION_DAYS: '0' } })
  alice = await t.userToken('OPERATOR', 'alice')
  bob = await t.userToken('OPERATOR', 'bob')
  vic = await t.userToken('VIEWER', 'vic')
  // Accepts connections and never answers: an SSH handshake to it waits until its connect timeout.
  silent = net.createServer((s) => sockets.push(s))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  silent?.close()
  await t?.stop()
})

const STATUS = `query($id: ID!) { jobRun(id: $id) { status pinned } }`
const PIN = `mutation($id: ID!, $p: Boolean!) { pinJobRun(id: $id, pinned: $p) { id pinned } }`

async function createTemplate(input: Record<string, unknown>): Promise<string> {
  return (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { visibility: 'GLOBAL', ...input } }, alice)).createJobTemplate.id
}
async function trigger(templateId: string, targets?: string[]): Promise<string> {
  return (await t.ok(`mutation($id: ID!, $t: [ID!]) { triggerJobRun(templateId: $id, targets: $t) { id } }`, { id: templateId, t: targets }, alice)).triggerJobRun.id
}
async function waitFor(runId: string, status: string): Promise<void> {
  await eventually(async () => (await t.ok(STATUS, { id: runId }, alice)).jobRun.status === status, { what: `run ${runId} ${status}` })
}
/** The run's uuid (the API's ids are global ids: base64 of `JobRun:<uuid>`). */
function uuid(runId: string): string {
  return Buffer.from(runId, 'base64').toString('utf8').split(':')[1]!
}
/** A clean slate of final runs; run_log has no foreign key, so their lines are deleted by hand too. */
async function clearFinalRuns(): Promise<void> {
  const { rows } = await t.app.db.pool.query<{ id: string }>(`DELETE FROM job_run WHERE status NOT IN ('QUEUED', 'RUNNING') RETURNING id`)
  await t.app.db.pool.query(`DELETE FROM run_log WHERE run_id = ANY($1::uuid[])`, [rows.map((r) => r.id)])
}
async function age(runId: string, days: number): Promise<void> {
  await t.app.db.pool.query(
    `UPDATE job_run SET created_at = created_at - make_interval(days => $2), finished_at = finished_at - make_interval(days => $2) WHERE id = $1`,
    [uuid(runId), days],
  )
}

describe('pinJobRun', () => {
  it('who may cancel or retry a run may pin and unpin it (audited); a viewer or another operator may not', async () => {
    const tpl = await createTemplate({ name: 'pin-noop', jobType: 'noop', config: {} })
    const run = await trigger(tpl)
    await waitFor(run, 'SUCCEEDED')
    expect((await t.ok(STATUS, { id: run }, alice)).jobRun.pinned).toBe(false)

    for (const token of [vic, bob]) {
      const r = await t.gql(PIN, { id: run, p: true }, token)
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(r)).toBe('FORBIDDEN')
    }
    expect((await t.ok(STATUS, { id: run }, alice)).jobRun.pinned).toBe(false)

    expect((await t.ok(PIN, { id: run, p: true }, alice)).pinJobRun.pinned).toBe(true)
    expect((await t.ok(STATUS, { id: run }, vic)).jobRun.pinned).toBe(true)
    expect((await t.ok(PIN, { id: run, p: true }, alice)).pinJobRun.pinned).toBe(true) // already pinned: no change, no event
    expect((await t.ok(PIN, { id: run, p: false })).pinJobRun.pinned).toBe(false) // an admin may

    const { rows } = await t.app.db.pool.query<{ action: string; actor_name: string; changes: unknown }>(
      `SELECT action, actor_name, changes FROM audit_event WHERE action LIKE 'run.%pin' AND entity_id = $1 ORDER BY at, id`,
      [uuid(run)],
    )
    expect(rows.map((r) => [r.action, r.actor_name])).toEqual([['run.pin', 'alice'], ['run.unpin', 'admin']])
    expect(rows.map((r) => r.changes)).toEqual([{ pinned: { old: false, new: true } }, { pinned: { old: true, new: false } }])

    const missing = await t.gql(PIN, { id: Buffer.from(`JobRun:${crypto.randomUUID()}`).toString('base64'), p: true }, alice)
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' })
  })
})

describe('retention', () => {
  it('one housekeeping pass deletes exactly the expired runs (with targets and logs), keeping the last N per template, failures within their period, pinned and running runs', async () => {
    const cred = (await t.ok(`mutation { createCredential(input: { name: "ret-cred", kind: PASSWORD, username: "u", password: "p" }) { id } }`)).createCredential.id
    const target = async (name: string, port: number) =>
      (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host: '127.0.0.1', port, credentialId: cred } })).createTarget.id as string
    await t.ok(`mutation($id: ID!) { grantCredentialUse(credentialId: $id, role: OPERATOR) { id } }`, { id: cred })
    const refused = await target('ret-refused', 1)
    const hanging = await target('ret-silent', (silent.address() as net.AddressInfo).port)

    const noopA = await createTemplate({ name: 'ret-a', jobType: 'noop', config: { message: 'a line' } })
    const noopB = await createTemplate({ name: 'ret-b', jobType: 'noop', config: {} })
    const cmd = await createTemplate({ name: 'ret-cmd', jobType: 'command', config: { commands: ['true'], connectTimeoutSeconds: 120 }, targetSelector: { targetIds: [refused] } })

    // Created in this order, so ages and "newest" agree.
    const stuck = await trigger(cmd, [hanging])
    await waitFor(stuck, 'RUNNING')
    const runs: Record<string, string> = {}
    for (const [name, tpl, status] of [
      ['a1', noopA, 'SUCCEEDED'], ['a2', noopA, 'SUCCEEDED'], ['a3', noopA, 'SUCCEEDED'], ['a4', noopA, 'SUCCEEDED'],
      ['a5', noopA, 'SUCCEEDED'], ['a6', noopA, 'SUCCEEDED'],
      ['b1', noopB, 'SUCCEEDED'], ['b2', noopB, 'SUCCEEDED'], ['b3', noopB, 'SUCCEEDED'],
      ['f1', cmd, 'FAILED'], ['f2', cmd, 'FAILED'], ['f3', cmd, 'FAILED'], ['f4', cmd, 'FAILED'],
    ] as const) {
      runs[name] = await trigger(tpl)
      await waitFor(runs[name], status)
    }
    await t.ok(PIN, { id: runs.a2, p: true }, alice)
    // a1–a4 and all of b are past 90 days; a5, a6 are new (the last 2 of A). f1 is past 200 days (past 180),
    // f2 past 100 (within 180); f3, f4 are new (the last 2 of cmd). The stuck run is 300 days old.
    for (const n of ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3']) await age(runs[n]!, 100)
    await age(runs.f1!, 200)
    await age(runs.f2!, 100)
    await age(stuck, 300)

    const ids = Object.fromEntries(Object.entries(runs).map(([n, id]) => [n, uuid(id)] as const))
    const count = async (table: string, names: string[]) =>
      (await t.app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE run_id = ANY($1::uuid[])`, [names.map((n) => ids[n])])).rows[0]!.n
    const doomed = ['a1', 'a3', 'a4', 'b1', 'f1']
    expect(await count('run_log', doomed)).toBeGreaterThan(0)
    expect(await count('run_target', ['f1'])).toBe(1)

    // A second process whose reaper applies a keep-last of 2: its first pass is due at once.
    let other: App | null = null
    try {
      other = await startApp(testConfig(t.db.url, { SWITCHYARD_RUN_RETENTION_KEEP_LAST: '2' }, 'scheduler'), { logger: silentLogger })
      expect(other.config.runRetention).toEqual({ days: 90, failedDays: 180, keepLast: 2 })
    } finally {
      await other?.stop({ graceMs: 2000 })
    }

    const { rows } = await t.app.db.pool.query<{ id: string }>(`SELECT id FROM job_run WHERE id = ANY($1::uuid[])`, [Object.values(ids)])
    const left = Object.keys(ids).filter((n) => rows.some((r) => r.id === ids[n])).sort()
    expect(left).toEqual(['a2', 'a5', 'a6', 'b2', 'b3', 'f2', 'f3', 'f4'])
    expect(await count('run_log', doomed)).toBe(0)
    expect(await count('run_target', doomed)).toBe(0)
    expect(await count('run_log', ['a5', 'f2'])).toBeGreaterThan(0)
    expect(await count('run_target', ['f2'])).toBe(1)
    // The stuck run is 300 days old but RUNNING: kept.
    expect((await t.ok(STATUS, { id: stuck })).jobRun.status).toBe('RUNNING')
    const gone = await t.gql(STATUS, { id: runs.a1 })
    expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND')

    await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: stuck })
    await waitFor(stuck, 'CANCELLED')
  })
})

describe('retention, in batches and one process at a time', () => {

  it('deletes a bounded number of batches per pass, and nothing while another process holds the lock', async () => {
    await clearFinalRuns()
    const tpl = await createTemplate({ name: 'ret-batch', jobType: 'noop', config: {} })
    const runs: string[] = []
    for (let i = 0; i < 5; i++) {
      runs.push(await trigger(tpl))
      await waitFor(runs.at(-1)!, 'SUCCEEDED')
    }
    for (const r of runs) await age(r, 100)
    const left = async () => (await t.app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_run WHERE template_id = $1`, [uuid(tpl)])).rows[0]!.n
    const retention = new RunRetention(t.app.db.pool, { days: 90, failedDays: 180, keepLast: 1 }, { batch: 2, maxBatches: 1 })

    const holder = await t.app.db.pool.connect()
    try {
      await holder.query('BEGIN')
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext('switchyard-run-retention'))`)
      expect(await retention.deleteExpired()).toBe(0)
      await holder.query('COMMIT')
    } finally {
      holder.release()
    }
    expect(await left()).toBe(5)
    expect(await retention.deleteExpired()).toBe(2)
    expect(await left()).toBe(3)
    // runIfDue: the first call is due, the next within a minute is not.
    expect(await retention.runIfDue()).toBe(2)
    expect(await retention.runIfDue()).toBe(0)
    expect(await retention.deleteExpired()).toBe(0) // the last one is kept (keep-last 1)
    expect(await left()).toBe(1)
    expect(await new RunRetention(t.app.db.pool, { days: 0, failedDays: 0, keepLast: 0 }).deleteExpired()).toBe(0) // 0 days: forever
    expect(await left()).toBe(1)
  })

  it('keeps the runs of a workflow run in progress; once it ended they go, and its node rows stay', async () => {
    await clearFinalRuns()
    const tpl = await createTemplate({ name: 'ret-wf-step', jobType: 'noop', config: {} })
    const wf = (
      await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, {
        i: {
          name: 'ret-wf',
          nodes: [{ key: 'first', templateId: tpl }, { key: 'gate', kind: 'APPROVAL', approval: { approverRoles: ['OPERATOR'], timeoutSeconds: 3600 } }],
          edges: [{ from: 'first', to: 'gate' }],
        },
      })
    ).createWorkflow.id
    const wr = (await t.ok(`mutation($id: ID!) { triggerWorkflowRun(workflowId: $id) { id } }`, { id: wf })).triggerWorkflowRun.id
    const NODES = `query($id: ID!) { workflowRun(id: $id) { status nodes { key status jobRun { id } } } }`
    const first = await eventually(async () => {
      const r = (await t.ok(NODES, { id: wr })).workflowRun
      return r.nodes.find((n: { key: string }) => n.key === 'gate').status === 'AWAITING_APPROVAL' ? r.nodes.find((n: { key: string }) => n.key === 'first') : null
    }, { what: 'the gate to await approval' })
    expect(first.status).toBe('SUCCEEDED')
    await age(first.jobRun.id, 100)
    const retention = new RunRetention(t.app.db.pool, { days: 90, failedDays: 180, keepLast: 0 })
    expect(await retention.deleteExpired()).toBe(0)

    await t.ok(`mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }`, { id: wr })
    await eventually(async () => (await t.ok(NODES, { id: wr })).workflowRun.status === 'CANCELLED', { what: 'the workflow run to end' })
    expect(await retention.deleteExpired()).toBe(1)
    const after = (await t.ok(NODES, { id: wr })).workflowRun
    expect(after.nodes.find((n: { key: string }) => n.key === 'first')).toEqual({ key: 'first', status: 'SUCCEEDED', jobRun: null })
  })
})

describe('statistics roll-ups', () => {
  const STATS = `query($f: JobRunStatsFilter!) {
    jobRunStats(filter: $f) {
      total succeeded failed successRate
      byStatus { status count }
      duration { count avgMs p50Ms p95Ms maxMs }
      buckets { start total succeeded failed avgDurationMs }
      failingTemplates(limit: 10) { templateName failed total }
    }
  }`

  it('deleted runs still count in the statistics (no loss, no double count, filters apply), and a delete and its roll-up commit together', async () => {
    await clearFinalRuns()
    await t.app.db.pool.query(`DELETE FROM run_stats_hourly`)
    const tpl = await createTemplate({ name: 'ret-stats', jobType: 'noop', config: {} })
    const other = await createTemplate({ name: 'ret-stats-other', jobType: 'noop', config: {} })
    const runs: string[] = []
    for (let i = 0; i < 20; i++) {
      runs.push(await trigger(tpl))
      await waitFor(runs.at(-1)!, 'SUCCEEDED')
    }
    const otherRun = await trigger(other)
    await waitFor(otherRun, 'SUCCEEDED')
    // Known durations 100 ms … 2 s; five of them failed. All 100 days old but the failures (200: past 180).
    for (const [i, r] of runs.entries()) {
      await t.app.db.pool.query(
        `UPDATE job_run SET started_at = created_at, finished_at = created_at + make_interval(secs => $2), status = $3::"RunStatus" WHERE id = $1`,
        [uuid(r), (i + 1) / 10, i % 4 === 0 ? 'FAILED' : 'SUCCEEDED'],
      )
      await age(r, i % 4 === 0 ? 200 : 100)
    }
    await age(otherRun, 100)
    const until = new Date(Date.now() + 3_600_000).toISOString()
    const filters = [
      { since: new Date(Date.now() - 210 * 86_400_000).toISOString(), until, bucket: 'DAY' },
      { since: new Date(Date.now() - 210 * 86_400_000).toISOString(), until, bucket: 'DAY', templateIds: [tpl] },
      { since: new Date(Date.now() - 100 * 86_400_000 - 7_200_000).toISOString(), until: new Date(Date.now() - 99 * 86_400_000).toISOString(), bucket: 'HOUR', triggers: ['MANUAL'] },
      { since: new Date(Date.now() - 210 * 86_400_000).toISOString(), until, bucket: 'DAY', triggers: ['SCHEDULE'] },
    ]
    const snapshot = async () => Promise.all(filters.map(async (f) => (await t.ok(STATS, { f }, vic)).jobRunStats))
    const before = await snapshot()
    expect(before[0].total).toBeGreaterThanOrEqual(21)
    expect(before[1].total).toBe(20)
    expect(before[3].total).toBe(0)

    const retention = new RunRetention(t.app.db.pool, { days: 90, failedDays: 180, keepLast: 2 }, { batch: 7 })
    const count = async () => (await t.app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_run WHERE template_id = $1`, [uuid(tpl)])).rows[0]!.n
    // A failure while writing the roll-up (here: a trigger that refuses it) undoes the batch's delete too.
    await t.app.db.pool.query(`CREATE FUNCTION refuse_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`)
    await t.app.db.pool.query(`CREATE TRIGGER refuse_rollup BEFORE INSERT ON run_stats_hourly FOR EACH ROW EXECUTE FUNCTION refuse_rollup()`)
    await expect(retention.deleteExpired()).rejects.toThrow(/refused/)
    expect(await count()).toBe(20)
    expect((await t.app.db.pool.query(`SELECT * FROM run_stats_hourly`)).rows).toEqual([])
    await t.app.db.pool.query(`DROP TRIGGER refuse_rollup ON run_stats_hourly; DROP FUNCTION refuse_rollup()`)

    // Batches of 7 add to the same hourly rows (the runs were created within minutes).
    expect(await retention.deleteExpired()).toBe(18) // its last 2 stay, and the other template's only run
    expect(await count()).toBe(2)
    const { rows: rolled } = await t.app.db.pool.query<{ runs: number; timed: number }>(`SELECT sum(runs)::int AS runs, sum(timed_runs)::int AS timed FROM run_stats_hourly`)
    expect(rolled[0]).toEqual({ runs: 18, timed: 18 })

    const after = await snapshot()
    for (const [i, b] of before.entries()) {
      const a = after[i]
      expect({ ...a, duration: null }, `filter ${i}`).toEqual({ ...b, duration: null, buckets: b.buckets.map((x: { avgDurationMs: number | null }, j: number) => ({ ...x, avgDurationMs: a.buckets[j].avgDurationMs })) })
      expect(a.buckets.map((x: { avgDurationMs: number | null }) => x.avgDurationMs?.toFixed(0) ?? null)).toEqual(b.buckets.map((x: { avgDurationMs: number | null }) => x.avgDurationMs?.toFixed(0) ?? null))
      expect(a.duration.count).toBe(b.duration.count)
      expect(a.duration.maxMs).toBe(b.duration.maxMs)
      if (b.duration.count) {
        expect(a.duration.avgMs).toBeCloseTo(b.duration.avgMs, 2)
        // Percentiles of deleted runs come from the histogram: within 15 % of the exact ones here.
        for (const k of ['p50Ms', 'p95Ms']) expect(Math.abs(a.duration[k] - b.duration[k]) / b.duration[k], `${k} of filter ${i}`).toBeLessThan(0.15)
      } else {
        expect(a.duration).toEqual(b.duration)
      }
    }
    // A viewer who may not see a PRIVATE run's statistics does not see its roll-up either.
    const priv = await createTemplate({ name: 'ret-stats-private', jobType: 'noop', config: {}, visibility: 'PRIVATE' })
    const privRun = await trigger(priv)
    await waitFor(privRun, 'SUCCEEDED')
    await age(privRun, 100)
    const f = { ...filters[0], templateIds: [priv] }
    expect((await t.ok(STATS, { f }, alice)).jobRunStats.total).toBe(1)
    expect(await retention.deleteExpired()).toBe(0) // the last 2 of its template: kept
    await t.app.db.pool.query(`DELETE FROM run_stats_hourly`)
    expect(await new RunRetention(t.app.db.pool, { days: 90, failedDays: 180, keepLast: 0 }).deleteExpired()).toBe(4)
    expect((await t.ok(STATS, { f }, alice)).jobRunStats.total).toBe(1)
    expect((await t.ok(STATS, { f }, bob)).jobRunStats.total).toBe(0)
  })
})
