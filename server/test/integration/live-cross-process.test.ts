/**
 * The API (this process, role api only) and a worker in another OS process share nothing but Postgres:
 * a run triggered here executes there, and its log lines and status reach this process's subscribers
 * live through LISTEN/NOTIFY.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { subscribe } from '../harness/live-subscription.ts'
import { createTestRegistry } from '../harness/test-executors.ts'

const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const LOG = `subscription($id: ID!, $after: Int) { jobRunLogAppended(runId: $id, after: $after) { lastSeq lines { seq text } } }`
const UPDATED = `subscription($id: ID!) { jobRunUpdated(runId: $id) { id status error progress { total done } } }`

interface LogMsg {
  jobRunLogAppended: { lastSeq: number; lines: Array<{ seq: number; text: string }> }
}
interface RunMsg {
  jobRunUpdated: { id: string; status: string; error: string | null; progress: { total: number; done: number } }
}

/** The worker process, driven over its stdin/stdout (see worker-process.ts). */
class WorkerProcess {
  readonly reached = new Set<string>()
  readonly #waiters = new Set<() => void>()
  #exited = false
  ready!: { workerId: string; pid: number }

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.on('exit', () => {
      this.#exited = true
      this.#notify()
    })
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: { type?: string; gate?: string; workerId?: string; pid?: number }
      try {
        msg = JSON.parse(line)
      } catch {
        return // stray output
      }
      if (msg.type === 'ready') this.ready = { workerId: msg.workerId!, pid: msg.pid! }
      if (msg.type === 'reached') this.reached.add(msg.gate!)
      this.#notify()
    })
  }

  static async start(databaseUrl: string): Promise<WorkerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(SERVER_DIR, 'test/harness/worker-process.ts'), databaseUrl], {
      cwd: SERVER_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env },
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const w = new WorkerProcess(child)
    try {
      await w.until(() => !!w.ready, 'the worker process to start')
    } catch (e) {
      await w.kill()
      throw new Error(`${(e as Error).message}; its stderr:\n${stderr}`)
    }
    return w
  }

  until(test: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (test()) done(resolve)
        else if (this.#exited) done(() => reject(new Error(`worker process exited while waiting for ${what}`)))
      }
      const done = (fn: () => void) => {
        this.#waiters.delete(check)
        clearTimeout(timer)
        fn()
      }
      const timer = setTimeout(() => done(() => reject(new Error(`gave up waiting for ${what}`))), timeoutMs)
      this.#waiters.add(check)
      check()
    })
  }

  gateReached(gate: string): Promise<void> {
    return this.until(() => this.reached.has(gate), `gate ${gate} in the worker process`)
  }

  release(gate: string): void {
    this.child.stdin.write(JSON.stringify({ release: gate }) + '\n')
  }

  /** SIGTERM (graceful stop), then SIGKILL if it is still there after a few seconds. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w()
  }
}

let db: TestDatabase
let t: TestApp | undefined
let worker: WorkerProcess | undefined
let listen: pg.Client | undefined
const logNotifications: Array<{ processId: number; payload: string }> = []
let templateId = ''

beforeAll(async () => {
  db = await createTestDatabase('xproc')
  t = await startTestApp({ db, roles: 'api', registry: createTestRegistry() })
  worker = await WorkerProcess.start(db.url)
  // An independent LISTEN connection, to see who sends the log notifications.
  listen = new pg.Client({ connectionString: db.url })
  await listen.connect()
  listen.on('notification', (n) => {
    if (n.channel === 'switchyard_log') logNotifications.push({ processId: n.processId, payload: n.payload ?? '' })
  })
  await listen.query('LISTEN switchyard_log')

  for (const name of ['east', 'west']) {
    await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host: '127.0.0.1', tags: ['xproc'] } })
  }
  const { createJobTemplate } = await t.ok<{ createJobTemplate: { id: string } }>(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
    i: {
      name: 'cross-process',
      jobType: 'test-script',
      config: { steps: [{ wait: 'x-start' }, { emit: 2000 }, { wait: 'x-mid' }, { emit: 2000 }] },
      targetSelector: { tags: ['xproc'] },
      visibility: 'GLOBAL',
    },
  })
  templateId = createJobTemplate.id
})

afterAll(async () => {
  // Each step on its own: a failure in one must not leave the worker process running.
  await worker?.kill()
  await listen?.end().catch(() => {})
  await t?.stop()
  await db?.drop()
})

describe('a worker in another process', () => {
  it('runs a run triggered through this API process, whose subscribers get every line and the final status live', async () => {
    expect(t!.app.dispatcher).toBeNull() // nothing executes in this process
    const notifiedBefore = t!.app.services.live.stats().notificationsReceived
    const { triggerJobRun: run } = await t!.ok<{ triggerJobRun: { id: string } }>(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: templateId })
    const log = subscribe<LogMsg>(t!.wsClient(), LOG, { id: run.id, after: 0 })
    const updates = subscribe<RunMsg>(t!.wsClient(), UPDATED, { id: run.id })

    await worker!.gateReached('x-start')
    await log.waitFor((items) => items.at(-1)?.jobRunLogAppended.lastSeq === 1, 'the "attempt started" line')
    await updates.waitFor((items) => items.at(-1)?.jobRunUpdated.status === 'RUNNING', 'RUNNING')
    worker!.release('x-start')

    // While the run is held in the worker process, everything it wrote so far has reached this one.
    await worker!.gateReached('x-mid')
    await log.waitFor((items) => (items.at(-1)?.jobRunLogAppended.lastSeq ?? 0) >= 1 + 2 * 2000, 'the first half of the lines')
    const { rows: holder } = await t!.app.db.pool.query(`SELECT r.status::text, w.pid, w.roles FROM job_run r JOIN worker w ON w.id = r.worker_id WHERE r.id = $1`, [rawId(run.id)])
    expect(holder[0]).toMatchObject({ status: 'RUNNING', pid: worker!.ready.pid, roles: ['worker'] })
    // The log notifications so far came from the worker process's database sessions, one per batch.
    const senders = [...new Set(logNotifications.map((n) => n.processId))]
    const { rows: sessions } = await t!.app.db.pool.query(`SELECT pid, application_name FROM pg_stat_activity WHERE pid = ANY($1::int[])`, [senders])
    expect(sessions.length).toBeGreaterThan(0)
    for (const s of sessions) expect(s.application_name).toBe('switchyard-worker')
    expect(logNotifications.length).toBeLessThan(4001 / 20)
    // … and this process's live subscriptions were woken by them (not only by their safety poll).
    expect(t!.app.services.live.stats().notificationsReceived).toBeGreaterThan(notifiedBefore)

    worker!.release('x-mid')
    const [logItems, updateItems] = await Promise.all([log.done, updates.done])
    const seqs = logItems.flatMap((m) => m.jobRunLogAppended.lines.map((l) => l.seq))
    const total = 2 + 2 * 2 * 2000
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    expect(logItems.at(-1)!.jobRunLogAppended.lines.at(-1)!.text).toMatch(/^run succeeded/)
    expect(logItems.length).toBeLessThan(total / 20)
    expect(updateItems.at(-1)!.jobRunUpdated).toMatchObject({ status: 'SUCCEEDED', progress: { total: 2, done: 2 } })
    expect(updateItems.map((u) => u.jobRunUpdated.status)).toContain('RUNNING')
  })

  it('stops a run cancelled through this API process, and the subscribers see it end', async () => {
    const { createJobTemplate } = await t!.ok<{ createJobTemplate: { id: string } }>(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'held', jobType: 'test-script', config: { steps: [{ emit: 10 }, { wait: 'x-never' }, { emit: 10 }] }, targetSelector: { tags: ['xproc'] }, visibility: 'GLOBAL' },
    })
    const { triggerJobRun: run } = await t!.ok<{ triggerJobRun: { id: string } }>(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: createJobTemplate.id })
    const log = subscribe<LogMsg>(t!.wsClient(), LOG, { id: run.id, after: 0 })
    const updates = subscribe<RunMsg>(t!.wsClient(), UPDATED, { id: run.id })
    await worker!.gateReached('x-never')
    await log.waitFor((items) => (items.at(-1)?.jobRunLogAppended.lastSeq ?? 0) >= 21, 'the lines before the gate')
    await t!.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: run.id })

    const [logItems, updateItems] = await Promise.all([log.done, updates.done])
    expect(updateItems.at(-1)!.jobRunUpdated.status).toBe('CANCELLED')
    const texts = logItems.flatMap((m) => m.jobRunLogAppended.lines.map((l) => l.text))
    expect(texts).toContain('run cancelled')
    const seqs = logItems.flatMap((m) => m.jobRunLogAppended.lines.map((l) => l.seq))
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    expect(seqs.length).toBeGreaterThanOrEqual(22) // started + 20 lines + "run cancelled"
  })

  it('the "cancel requested" line precedes the final line, so live subscribers always get it', async () => {
    const { createJobTemplate } = await t!.ok<{ createJobTemplate: { id: string } }>(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'held-2', jobType: 'test-script', config: { steps: [{ emit: 3 }, { wait: 'x-never-2' }] }, targetSelector: { tags: ['xproc'] }, visibility: 'GLOBAL' },
    })
    const { triggerJobRun: run } = await t!.ok<{ triggerJobRun: { id: string } }>(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: createJobTemplate.id })
    const log = subscribe<LogMsg>(t!.wsClient(), LOG, { id: run.id, after: 0 })
    await worker!.gateReached('x-never-2')
    await t!.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: run.id })
    const texts = (await log.done).flatMap((m) => m.jobRunLogAppended.lines.map((l) => l.text))
    const requested = texts.findIndex((x) => x === 'cancel requested by admin')
    // Lines are ordered by commit: the request may precede worker lines still in its 50 ms buffer.
    expect(requested, JSON.stringify(texts)).toBeGreaterThanOrEqual(0)
    expect(requested).toBeLessThan(texts.indexOf('run cancelled'))
    expect(texts.at(-1)).toBe('run cancelled')
  })
})

function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':').slice(1).join(':')
}
