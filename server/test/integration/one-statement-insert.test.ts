/**
 * A trigger's runs are written by one statement (one-statement-insert.ts) that must write exactly what
 * the transaction it replaced writes: the same job_run row (as Prisma reads it), run targets, queue
 * message, audit event and notifications. Templates with names the statement cannot audit exactly go
 * through the transaction, which is compared with it here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { createTestRegistry } from '../harness/test-executors.ts'
import type { Actor } from '../../src/modules/actor.ts'
import { JOB_RUN_COLUMNS, jobRunFromRow } from '../../src/modules/runs/job-run-row.ts'
import { JOB_TEMPLATE_COLUMNS, JobTemplateReader } from '../../src/modules/templates/job-template-row.ts'
import { CHANNELS } from '../../src/pubsub/channels.ts'
import { SecretBox } from '../../src/crypto/secret-box.ts'

let t: TestApp
let admin: Actor
const statements: string[] = []

beforeAll(async () => {
  // API only: no worker starts the runs, so every row is read as the trigger wrote it.
  t = await startTestApp({ registry: createTestRegistry(), roles: 'api' })
  const user = await t.app.db.prisma.user.findFirstOrThrow({ where: { username: 'admin' } })
  admin = { userId: user.id, username: user.username, role: 'ADMIN', via: 'API' }
  // Observe (not change) the statements the app sends through its pool: which way a trigger went.
  const pool = t.app.db.pool as pg.Pool & { query: (...a: unknown[]) => unknown }
  const query = pool.query.bind(pool)
  pool.query = (...args: unknown[]) => {
    const q = args[0] as string | { name?: string; text: string }
    statements.push(typeof q === 'string' ? q : (q.name ?? q.text))
    return query(...(args as [string]))
  }
}, 120_000)
afterAll(async () => {
  await t?.stop()
})

async function template(name: string): Promise<string> {
  await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: `${name.slice(0, 20)}-t1`, host: '192.0.2.10', port: 2222 } }).catch(() => null)
  const { createJobTemplate } = await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
    i: {
      name,
      jobType: 'test-script',
      config: { steps: [] },
      visibility: 'PRIVATE',
      maxConcurrentRuns: 3,
      timeoutSeconds: 77,
      parameters: [
        { name: 'n', type: 'INT', required: true },
        { name: 'pw', type: 'SECRET', required: true },
      ],
    },
  })
  expect(createJobTemplate.id).toBeTruthy()
  return (await t.app.db.prisma.jobTemplate.findFirstOrThrow({ where: { name } })).id
}

/** Triggers one run and returns it with every row it wrote, and the pool statements it took. */
async function triggered(templateId: string, targetIds: string[]) {
  const listener = new pg.Client({ connectionString: t.db.url })
  listener.on('error', () => {})
  await listener.connect()
  try {
    return await writtenBy(templateId, targetIds, listener)
  } finally {
    await listener.end()
  }
}

async function writtenBy(templateId: string, targetIds: string[], listener: pg.Client) {
  const notices: Array<{ channel: string; payload: string }> = []
  listener.on('notification', (n) => notices.push({ channel: n.channel, payload: n.payload ?? '' }))
  await listener.query(`LISTEN "${CHANNELS.run}"; LISTEN "${CHANNELS.queued}"`)
  statements.length = 0
  const run = await t.app.services.runs.trigger(admin, { templateId, parameters: { n: 7, pw: 'hunter2-secret' }, targetIds })
  const took = [...statements]
  const q = async (sql: string, values: unknown[]) => (await t.app.db.pool.query(sql, values)).rows
  const [row] = await q('SELECT * FROM job_run WHERE id = $1', [run.id])
  const targets = await q('SELECT target_id, position, name, host, port, status, attempt FROM run_target WHERE run_id = $1 ORDER BY position', [run.id])
  const [audit] = await q(`SELECT actor_id, actor_name, via::text, action, entity_type, entity_id, entity_name, changes FROM audit_event WHERE entity_id = $1 AND action = 'run.trigger'`, [run.id])
  const messages = await q(
    `SELECT name, data, priority, retry_limit, retry_delay, retry_backoff, expire_seconds, deletion_seconds, policy, singleton_key, dead_letter, state,
            (keep_until - start_after) AS keeps, start_after <= now() AS starts_now
       FROM pgboss.job WHERE data->>'runId' = $1`,
    [run.id],
  )
  const [tx] = await q(
    `SELECT count(DISTINCT x) AS n FROM (SELECT xmin::text AS x FROM job_run WHERE id = $1::uuid UNION ALL SELECT xmin::text FROM run_target WHERE run_id = $1::uuid
       UNION ALL SELECT xmin::text FROM audit_event WHERE entity_id = $1::uuid UNION ALL SELECT xmin::text FROM pgboss.job WHERE data->>'runId' = $1::text) s`,
    [run.id],
  )
  await new Promise((r) => setTimeout(r, 200))
  return { run, row, targets, audit, messages, oneTransaction: Number(tx.n) === 1, notices, took }
}

describe('a trigger written by one statement', () => {
  it('maps every job_run column (this fails when the table gains one)', async () => {
    const { rows } = await t.app.db.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'job_run' AND table_schema = current_schema()`)
    expect(rows.map((r) => r.column_name).sort()).toEqual([...JOB_RUN_COLUMNS].sort())
  })

  it("reads the trigger's template as Prisma does, every column", async () => {
    const { rows } = await t.app.db.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'job_template' AND table_schema = current_schema()`)
    expect(rows.map((r) => r.column_name).sort()).toEqual([...JOB_TEMPLATE_COLUMNS].sort())
    const id = await template('read back')
    await t.app.db.prisma.jobTemplate.update({ where: { id }, data: { tags: ['a', 'b'], successThreshold: 0.75, logLimitLines: 1000, logLimitBytes: 2048, retryMaxAttempts: 3, retryDelaySeconds: 5, retryBackoff: 'EXPONENTIAL', overlapPolicy: 'SKIP', description: 'd' } })
    const reader = new JobTemplateReader(t.app.db.pool)
    expect(await reader.find(id)).toEqual(await t.app.db.prisma.jobTemplate.findUniqueOrThrow({ where: { id } }))
    // Asked together: one statement answers each caller with its own template (or none).
    const other = await template('read back 2')
    const [a, b, none, bad, again] = await Promise.all([reader.find(id), reader.find(other), reader.find('00000000-0000-4000-8000-000000000000'), reader.find('not-a-uuid'), reader.find(id.toUpperCase())])
    expect([a?.name, b?.name, none, bad, again?.name]).toEqual(['read back', 'read back 2', null, null, 'read back'])
  })

  it('writes what the transaction writes: the run as Prisma reads it, targets, queue message, audit event, notifications', async () => {
    const warmUp = await template('warm-up')
    const targetIds = (await t.app.db.prisma.target.findMany({ select: { id: true } })).map((x) => x.id)
    expect(targetIds.length).toBeGreaterThan(0)
    await t.app.services.runs.trigger(admin, { templateId: warmUp, parameters: { n: 1, pw: 'x' }, targetIds })
    const short = await triggered(await template('one statement'), targetIds)
    // 200 characters (the longest allowed): the audit name "#<n> <name>" might need clipping, which only the transaction does.
    const longName = `long ${'n'.repeat(195)}`
    const long = await triggered(await template(longName), targetIds)

    expect(short.took.some((s) => s.startsWith('switchyard-insert-runs-'))).toBe(true)
    expect(long.took.some((s) => s.startsWith('switchyard-insert-runs-'))).toBe(false)

    for (const w of [short, long]) {
      // What the caller got is the row as Prisma reads it, every column.
      expect(w.run).toEqual(await t.app.db.prisma.jobRun.findUniqueOrThrow({ where: { id: w.run.id } }))
      expect(jobRunFromRow(w.row)).toEqual(w.run)
      expect(w.run).toMatchObject({ status: 'QUEUED', trigger: 'API', triggeredById: admin.userId, visibility: 'PRIVATE', ownerId: admin.userId, maxConcurrent: 3, targetsTotal: targetIds.length })
      expect(w.run.parameters).toEqual({ n: 7, pw: '••••••' })
      expect(w.run.secretParameters).toBeInstanceOf(Uint8Array)
      expect(w.oneTransaction).toBe(true)
      expect(w.notices).toEqual(expect.arrayContaining([{ channel: CHANNELS.run, payload: w.run.id }, { channel: CHANNELS.queued, payload: '' }]))
    }
    // Both ways wrote the same rows, but for what names the run.
    const same = (w: typeof short) => ({
      row: Object.fromEntries(Object.entries(w.row).filter(([k]) => !['id', 'number', 'template_id', 'template_name', 'concurrency_key', 'spec', 'created_at', 'updated_at', 'secret_parameters'].includes(k))),
      targets: w.targets,
      audit: { ...w.audit, entity_id: undefined, entity_name: undefined, changes: { ...w.audit.changes, templateName: undefined } },
      messages: w.messages.map((m: Record<string, unknown>) => ({ ...m, data: undefined })),
    })
    expect(same(short)).toEqual(same(long))
    expect(short.messages).toHaveLength(1)
    expect(short.messages[0]).toMatchObject({ name: 'switchyard-run', data: { runId: short.run.id }, retry_limit: 0, expire_seconds: 377, state: 'created', starts_now: true })
    expect(short.audit).toMatchObject({ actor_id: admin.userId, actor_name: 'admin', via: 'API_TOKEN', entity_type: 'JobRun', entity_name: `#${short.run.number} one statement` })
    expect(long.audit.entity_name).toMatch(/…$/)
    // The secret is sealed the same way: the executor reads it back.
    const box = new SecretBox(t.app.config.secretKey!)
    for (const w of [short, long]) expect(box.open(w.run.secretParameters!)).toContain('hunter2-secret')
  })

  it('keeps working when a migration adds a column while the process runs (another process upgraded first)', async () => {
    const id = await template('rolling upgrade')
    const targetIds = (await t.app.db.prisma.target.findMany({ select: { id: true } })).map((x) => x.id)
    // One after the other: the pool hands the same idle connection back, so the statements prepared
    // before the change are the ones used after it.
    const trigger = (n: number) => t.app.services.runs.trigger(admin, { templateId: id, parameters: { n, pw: 'x' }, targetIds })
    const before = [await trigger(1), await trigger(2), await trigger(3)]
    await t.app.db.pool.query('ALTER TABLE job_run ADD COLUMN added_later int; ALTER TABLE job_template ADD COLUMN added_later int')
    try {
      // A prepared `RETURNING *` or `SELECT *` would now fail: "cached plan must not change result type".
      const after = [await trigger(4), await trigger(5), await trigger(6)]
      expect(after.map((r) => r.status)).toEqual(['QUEUED', 'QUEUED', 'QUEUED'])
      expect(after.every((r) => !('addedLater' in r) && !('added_later' in r))).toBe(true)
      expect(new Set([...before, ...after].map((r) => r.number)).size).toBe(6)
    } finally {
      await t.app.db.pool.query('ALTER TABLE job_run DROP COLUMN added_later; ALTER TABLE job_template DROP COLUMN added_later')
    }
  })
})
