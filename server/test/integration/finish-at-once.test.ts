/**
 * Runs without targets end in one statement (run-store finishRunsAtOnce), and runs that end together
 * share it. The statement must write, per run, exactly what one run's ending writes: its final status
 * under its fence, its last lines after those already stored, its NOTIFYs; and nothing for a run whose
 * fence no longer matches (the caller's transactional path then takes over).
 */
import pg from 'pg'
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finishRunsAtOnce } from '../../src/jobs/run-store.ts'
import { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import type { JobExecutor } from '../../src/jobs/executors/types.ts'
import type { Actor } from '../../src/modules/actor.ts'
import { CHANNELS } from '../../src/pubsub/channels.ts'
import type { Logger } from '../../src/util/logger.ts'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { countQueries, type QueryCounter } from '../harness/query-counter.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.ts'

/** Runs of `together` wait until `expected` of them are executing, then all end in the same turn. */
let expected = Infinity
let waiting: Array<() => void> = []
const together: JobExecutor = {
  type: 'together',
  label: 'Together',
  description: 'test: ends when all runs of the batch are executing, each as its config says',
  configSchema: z.object({ fail: z.boolean() }).strict(),
  usesTargets: false,
  async execute(ctx) {
    ctx.log.system(`hello from ${ctx.runId}`)
    await new Promise<void>((resolve) => {
      waiting.push(resolve)
      if (waiting.length >= expected) for (const r of waiting.splice(0)) r()
    })
    const fail = (ctx.config as { fail: boolean }).fail
    return fail ? { ok: false, error: 'asked to fail' } : { ok: true, result: { n: 1 } }
  },
}

let t: TestApp
/** API only: its runs stay QUEUED until the test makes them RUNNING by hand. */
let apiOnly: TestApp
let admin: Actor
let endings: QueryCounter

const adminOf = async (app: TestApp): Promise<Actor> => {
  const user = await app.app.db.prisma.user.findFirstOrThrow({ where: { username: 'admin' } })
  return { userId: user.id, username: user.username, role: 'ADMIN', via: 'API' }
}

beforeAll(async () => {
  t = await startTestApp({ registry: new ExecutorRegistry([together]), roles: 'api,worker' })
  apiOnly = await startTestApp({ registry: new ExecutorRegistry([together]), roles: 'api' })
  admin = await adminOf(t)
  // The runs' endings, by the statement's text (it is a named statement; the text comes with it).
  endings = countQueries(t.app.db.pool, /AS i\(id, worker_id, attempt, status, error, result, n\)/)
}, 120_000)
afterAll(async () => {
  await t?.stop()
  await apiOnly?.stop()
})

async function template(name: string, fail: boolean, app = t): Promise<string> {
  await app.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name, jobType: 'together', config: { fail } } })
  return (await app.app.db.prisma.jobTemplate.findFirstOrThrow({ where: { name } })).id
}

const rows = async (sql: string, values: unknown[], app = t) => (await app.app.db.pool.query(sql, values)).rows

describe('runs ending at once', () => {
  it('runs that end together share one statement, each with its own status and lines in order', async () => {
    const ok = await template('together ok', false)
    const bad = await template('together fail', true)
    expected = 6
    endings.reset()
    const runs = await Promise.all([ok, bad, ok, bad, ok, ok].map((templateId) => t.app.services.runs.trigger(admin, { templateId })))
    const ids = runs.map((r) => r.id)
    await eventually(async () => (await rows(`SELECT count(*)::int AS n FROM job_run WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL`, [ids]))[0].n === 6, { what: 'six runs ended' })
    const finishes = endings.count
    expect(finishes).toBeGreaterThanOrEqual(1)
    expect(finishes).toBeLessThan(6)
    for (const [i, run] of runs.entries()) {
      const fail = i === 1 || i === 3
      const [row] = await rows('SELECT status::text, error, result, log_seq::int AS log_seq FROM job_run WHERE id = $1', [run.id])
      expect(row).toMatchObject(fail ? { status: 'FAILED', error: 'asked to fail', result: null } : { status: 'SUCCEEDED', error: null, result: { n: 1 } })
      const lines = await rows('SELECT seq::int AS seq, stream::text AS stream, level::text AS level, text FROM run_log WHERE run_id = $1 ORDER BY seq', [run.id])
      expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: lines.length }, (_, k) => k + 1))
      expect(row.log_seq).toBe(lines.length)
      expect(lines.some((l) => l.stream === 'SYSTEM' && l.text === `hello from ${run.id}`)).toBe(true)
      expect(lines.at(-1)).toMatchObject(fail ? { stream: 'SYSTEM', level: 'ERROR', text: 'run failed: asked to fail' } : { stream: 'SYSTEM', level: 'INFO', text: 'run succeeded' })
    }
  })

  it('writes nothing for a run whose fence no longer matches, and the others as given', async () => {
    const templateId = await template('fenced', false, apiOnly)
    const me = await adminOf(apiOnly)
    const workerId = randomUUID()
    const runs = await Promise.all([0, 1, 2].map(() => apiOnly.app.services.runs.trigger(me, { templateId })))
    const ids = runs.map((r) => r.id)
    // Taken over by a fictitious worker before the real one can: RUNNING, attempt 1, two lines already stored.
    await rows(`UPDATE job_run SET status = 'RUNNING', worker_id = $2, attempt = 1, log_seq = 2 WHERE id = ANY($1::uuid[])`, [ids, workerId], apiOnly)
    await rows(
      `INSERT INTO run_log (run_id, seq, ts, level, stream, text) SELECT id, s, now(), 'INFO', 'STDOUT', 'earlier ' || s FROM unnest($1::uuid[]) AS id, generate_series(1, 2) AS s`,
      [ids],
      apiOnly,
    )
    const listener = new pg.Client({ connectionString: apiOnly.db.url })
    listener.on('error', () => {})
    await listener.connect()
    const notices: string[] = []
    listener.on('notification', (n) => notices.push(`${n.channel} ${n.payload}`))
    await listener.query(`LISTEN "${CHANNELS.run}"; LISTEN "${CHANNELS.log}"`)
    try {
      const line = (text: string) => ({ level: 'INFO', stream: 'SYSTEM', targetId: null, text, ts: Date.now() })
      const result = await finishRunsAtOnce(apiOnly.app.db.pool, [
        { fence: { runId: ids[0]!, workerId, attempt: 1 }, status: 'SUCCEEDED', error: null, result: { a: 1 }, lines: [line('a1'), line('a2')] },
        { fence: { runId: ids[1]!, workerId, attempt: 2 }, status: 'SUCCEEDED', error: null, result: null, lines: [line('b1')] },
        { fence: { runId: ids[2]!, workerId, attempt: 1 }, status: 'CANCELLED', error: 'cancelled', result: undefined, lines: [line('c1')] },
      ])
      expect(result).toEqual([
        { finished: true, waiting: false },
        { finished: false, waiting: false },
        { finished: true, waiting: false },
      ])
      const status = async (id: string) => (await rows('SELECT status::text, error, result, log_seq::int AS log_seq, finished_at IS NOT NULL AS ended FROM job_run WHERE id = $1', [id], apiOnly))[0]
      expect(await status(ids[0]!)).toEqual({ status: 'SUCCEEDED', error: null, result: { a: 1 }, log_seq: 4, ended: true })
      expect(await status(ids[1]!)).toEqual({ status: 'RUNNING', error: null, result: null, log_seq: 2, ended: false })
      expect(await status(ids[2]!)).toEqual({ status: 'CANCELLED', error: 'cancelled', result: null, log_seq: 3, ended: true })
      const texts = async (id: string) => (await rows('SELECT seq::int AS seq, text FROM run_log WHERE run_id = $1 ORDER BY seq', [id], apiOnly)).map((r) => `${r.seq} ${r.text}`)
      expect(await texts(ids[0]!)).toEqual(['1 earlier 1', '2 earlier 2', '3 a1', '4 a2'])
      expect(await texts(ids[1]!)).toEqual(['1 earlier 1', '2 earlier 2'])
      expect(await texts(ids[2]!)).toEqual(['1 earlier 1', '2 earlier 2', '3 c1'])
      await eventually(async () => notices.length >= 4, { what: 'notices' })
      expect(notices.sort()).toEqual(
        [`${CHANNELS.run} ${ids[0]}`, `${CHANNELS.run} ${ids[2]}`, `${CHANNELS.log} ${ids[0]}:4`, `${CHANNELS.log} ${ids[2]}:3`].sort(),
      )
    } finally {
      await listener.end()
    }
  })

  it('runs ending together while Postgres is unreachable end once each, with every line, after it returns', async () => {
    // Its own app, connected through a proxy that can be cut (all of it: pool, queue, LISTEN).
    const db: TestDatabase = await createTestDatabase('finishoutage')
    const proxy: TcpProxy = await startTcpProxy(db.url)
    const warnings: string[] = []
    const logger: Logger = { debug() {}, info() {}, warn: (msg) => void warnings.push(msg), error: (msg) => void warnings.push(msg), child: () => logger }
    const app = await startTestApp({ db: { ...db, url: proxy.url }, registry: new ExecutorRegistry([together]), roles: 'api,worker', logger })
    const direct = new pg.Pool({ connectionString: db.url, max: 2 })
    direct.on('error', () => {})
    try {
      const templateId = await template('outage', false, app)
      const me = await adminOf(app)
      // Held at the barrier (never full: expected is Infinity) until all five execute; the proxy is cut
      // before they are let go, so their endings meet a dead connection.
      expected = Infinity
      const runs = await Promise.all([0, 1, 2, 3, 4].map(() => app.app.services.runs.trigger(me, { templateId })))
      await eventually(async () => waiting.length === 5, { what: 'five runs executing' })
      proxy.cut()
      for (const r of waiting.splice(0)) r()
      await new Promise((r) => setTimeout(r, 2500))
      proxy.restore()
      const q = async (sql: string, values: unknown[]) => (await direct.query(sql, values)).rows
      await eventually(async () => (await q(`SELECT count(*)::int AS n FROM job_run WHERE id = ANY($1::uuid[]) AND status = 'SUCCEEDED'`, [runs.map((r) => r.id)]))[0].n === 5, {
        what: 'five runs SUCCEEDED',
        timeoutMs: 30_000,
      })
      // The endings did meet the outage (and were retried), rather than slipping through before the cut.
      expect(warnings).toContain('settling the run failed; retrying')
      for (const run of runs) {
        const lines = await q('SELECT seq::int AS seq, text FROM run_log WHERE run_id = $1 ORDER BY seq', [run.id])
        expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: lines.length }, (_, k) => k + 1))
        expect(lines.filter((l) => l.text === 'run succeeded')).toHaveLength(1)
        expect(lines.filter((l) => l.text === `hello from ${run.id}`)).toHaveLength(1)
        const [row] = await q('SELECT attempt, log_seq::int AS log_seq FROM job_run WHERE id = $1', [run.id])
        expect(row).toEqual({ attempt: 1, log_seq: lines.length })
      }
    } finally {
      expected = Infinity
      await app.stop()
      await direct.end()
      await proxy.close()
      await db.drop()
    }
  }, 60_000)
})
