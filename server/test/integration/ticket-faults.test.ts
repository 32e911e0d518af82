/**
 * Ticket delivery through faults, with real processes and real Postgres:
 *  - a 20 s Postgres outage (a TCP proxy between a Switchyard process and Postgres, cut and restored) just
 *    after the tracker made the issue, and while a retried comment waits: each is delivered exactly once;
 *  - the worker SIGKILLed while the tracker is handling an action: the lease runs out and a new worker
 *    process delivers it again. The generic webhook tracker sees the same X-Switchyard-Delivery both times
 *    (its way to drop the repeat); Redmine has no idempotency key, so the repeated create first looks for
 *    the issue carrying the ticket's marker (redmine-adapter.ts) and finds the one the killed worker made.
 */
import crypto from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { REDMINE_PROJECT, redmineInstalled, startRedmine, type TestRedmine } from '../harness/redmine.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'
import { WebhookReceiver } from '../harness/webhook-receiver.ts'
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.ts'
import { createTestRegistry } from '../harness/test-executors.ts'
import { survivePostgresRestarts } from '../../src/db/database.ts'
import { apiClient } from '../harness/api-client.ts'

const SECRET = 'tracker-signing-secret-0123456789'
const raw = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!
const OUTAGE_MS = 20_000

interface Received {
  headers: http.IncomingHttpHeaders
  body: { action: string; ticket: { id: string; externalId: string | null }; comment: string | null }
  rawBody: string
}

/**
 * The generic tracker as a real one would be written: it answers a repeated delivery (same
 * X-Switchyard-Delivery) with what it answered the first time instead of acting twice. `status` picks the
 * answer's status as a request arrives (200 acts); `after` runs once the tracker has acted, before its answer
 * leaves: a test cuts Postgres or kills the worker there.
 */
class DedupingTracker {
  readonly received: Received[] = []
  /** What the tracker did: one entry per action it performed (repeats dropped). */
  readonly performed: string[] = []
  readonly #answers = new Map<string, string>()
  #next = 0
  status: ((r: Received) => number) | null = null
  after: ((r: Received) => Promise<void> | void) | null = null
  url = ''
  readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks).toString()
      const r: Received = { headers: req.headers, body: JSON.parse(rawBody), rawBody }
      this.received.push(r)
      const status = this.status?.(r) ?? 200
      let answer = '{"error":"busy"}'
      if (status === 200) {
        const key = String(req.headers['x-switchyard-delivery'])
        const earlier = this.#answers.get(key)
        if (earlier === undefined) {
          this.performed.push(`${r.body.action}:${r.body.ticket.externalId ?? r.body.ticket.id}`)
          answer = r.body.action === 'create' ? JSON.stringify({ id: `T-${++this.#next}` }) : '{}'
          this.#answers.set(key, answer)
        } else answer = earlier
      }
      await this.after?.(r)
      if (res.destroyed) return
      res.statusCode = status
      res.setHeader('content-type', 'application/json')
      res.end(answer)
    })
  })
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/tickets`
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }
}

function verify(r: Received): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['x-switchyard-signature']))
  if (!m) return false
  const expected = crypto.createHmac('sha256', SECRET).update(`${m[1]}.${r.rawBody}`).digest('hex')
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(m[2]!))
}

/** A small GraphQL client for a spawned process's API. */
const CREATE_CREDENTIAL = `mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`
const CREATE_TRACKER = `mutation($i: CreateTicketTrackerInput!) { createTicketTracker(input: $i) { id } }`
const CREATE_RULE = `mutation($i: CreateTicketRuleInput!) { createTicketRule(input: $i) { id } }`
const CREATE_TEMPLATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
const TRIGGER = `mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`

interface ActionRow {
  id: string
  kind: string
  status: string
  attempts: number
  last_status_code: number | null
  leased: boolean
}
async function actionsOf(pool: pg.Pool, runGlobalId: string): Promise<ActionRow[]> {
  const { rows } = await pool.query<ActionRow>(
    `SELECT a.id, a.kind::text AS kind, a.status::text AS status, a.attempts, a.last_status_code, a.next_attempt_at > now() AS leased
       FROM ticket_action a WHERE a.job_run_id = $1 ORDER BY a.seq`,
    [raw(runGlobalId)],
  )
  return rows
}
async function runState(pool: pg.Pool, runGlobalId: string) {
  const { rows } = await pool.query<{ status: string; error: string | null; finished_at: Date | null }>('SELECT status::text AS status, error, finished_at FROM job_run WHERE id = $1', [raw(runGlobalId)])
  return rows[0]
}

describe('a 20 s Postgres outage during ticket delivery', () => {
  let db: TestDatabase
  let proxy: TcpProxy
  let server: WorkerProcess
  let direct: pg.Pool
  const tracker = new DedupingTracker()
  const api = apiClient(() => server.url!)

  beforeAll(async () => {
    await tracker.start()
    db = await createTestDatabase('ticketoutage')
    direct = survivePostgresRestarts(new pg.Pool({ connectionString: db.url, max: 2 }))
    proxy = await startTcpProxy(db.url)
    // Every role in one real process, all of it through the proxy. Retries of a refused action wait 5–10 s,
    // so one scheduled before the cut is due during the outage.
    server = await spawnWorker(proxy.url, 'api,worker,scheduler', {
      captureStderr: true,
      env: {
        SWITCHYARD_TEST_LOGS: '1',
        SWITCHYARD_TEST_EXECUTORS: '1',
        SWITCHYARD_TEST_CONFIG: JSON.stringify({ SWITCHYARD_NOTIFY_RETRY_BASE_SECONDS: '10', SWITCHYARD_NOTIFY_RETRY_MAX_SECONDS: '10' }),
      },
    })
    await api.login()
  }, 120_000)
  afterAll(async () => {
    await server?.kill()
    await proxy?.close()
    await direct?.end()
    await db?.drop()
    await tracker.stop()
  })

  it('an issue made just before the outage is recorded after it (no second create); a comment queued before it is delivered once after', async () => {
    const secretId = (await api.gql(CREATE_CREDENTIAL, { i: { name: 'tracker-secret', kind: 'PASSWORD', username: 'x', password: SECRET } })).createCredential.id
    const trackerId = (await api.gql(CREATE_TRACKER, { i: { name: 'generic', kind: 'WEBHOOK', url: tracker.url, credentialId: secretId } })).createTicketTracker.id
    const templateId = (await api.gql(CREATE_TEMPLATE, { i: { name: 'nightly-sync', jobType: 'test-outcome', config: { fail: 'upstream refused' }, visibility: 'GLOBAL' } })).createJobTemplate.id
    await api.gql(CREATE_RULE, { i: { name: 'sync', trackerId, templateIds: [templateId] } })

    // 1. The tracker makes the issue; Postgres goes away before Switchyard can record its id.
    const outageStarted = new Promise<void>((resolve) => {
      tracker.after = (r) => {
        if (r.body.action !== 'create') return
        tracker.after = null
        proxy.cut()
        resolve()
      }
    })
    const run1 = (await api.gql(TRIGGER, { id: templateId })).triggerJobRun.id
    await outageStarted
    const cutAt = Date.now()
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - cutAt))))
    proxy.restore()

    const [create] = await eventually(async () => {
      const list = await actionsOf(direct, run1)
      return list[0]?.status === 'DONE' ? list : null
    }, { what: 'the CREATE to be recorded after the outage', timeoutMs: 60_000 })
    expect(create).toMatchObject({ kind: 'CREATE', status: 'DONE', attempts: 1 })
    // It was the issue id's write that met the outage (and waited it out).
    expect(server.stderr()).toMatch(/recording the tracker's issue id failed; retrying/)
    const ticket = (await direct.query(`SELECT external_id FROM ticket WHERE id = (SELECT ticket_id FROM ticket_action WHERE id = $1)`, [create!.id])).rows[0]
    expect(ticket.external_id).toBe('T-1')
    expect(tracker.received.map((r) => r.body.action)).toEqual(['create'])
    expect(await runState(direct, run1)).toMatchObject({ status: 'FAILED', error: 'upstream refused' })

    // 2. A second failure comments; the tracker refuses the first try (503), and Postgres goes away while
    //    the retry waits: the retry, due during the outage, is delivered once Postgres is back.
    tracker.status = (r) => (r.body.action === 'comment' && tracker.received.filter((x) => x.body.action === 'comment').length === 1 ? 503 : 200)
    const run2 = (await api.gql(TRIGGER, { id: templateId })).triggerJobRun.id
    await eventually(async () => (await actionsOf(direct, run2))[0]?.last_status_code === 503, { what: 'the refused comment to be scheduled again' })
    const run2Final = await runState(direct, run2)
    proxy.cut()
    await new Promise((r) => setTimeout(r, OUTAGE_MS))
    proxy.restore()
    const [comment] = await eventually(async () => {
      const list = await actionsOf(direct, run2)
      return list[0]?.status === 'DONE' ? list : null
    }, { what: 'the comment to be delivered after the outage', timeoutMs: 60_000 })
    expect(comment).toMatchObject({ kind: 'COMMENT', status: 'DONE', attempts: 2 })
    const comments = tracker.received.filter((r) => r.body.action === 'comment')
    expect(comments).toHaveLength(2)
    expect(comments[0]!.headers['x-switchyard-delivery']).toBe(comments[1]!.headers['x-switchyard-delivery'])
    expect(tracker.performed).toEqual([`create:${tracker.received[0]!.body.ticket.id}`, 'comment:T-1'])
    for (const r of tracker.received) expect(verify(r)).toBe(true)
    // The runs: untouched by the tickets' trouble.
    expect(await runState(direct, run2)).toEqual(run2Final)
    expect(run2Final).toMatchObject({ status: 'FAILED', error: 'upstream refused' })
  }, 240_000)

  it('a webhook notification answered just before the outage is recorded DELIVERED after it, and sent once', async () => {
    const receiver = new WebhookReceiver()
    await receiver.start()
    try {
      const secretId = (await api.gql(CREATE_CREDENTIAL, { i: { name: 'webhook-secret', kind: 'PASSWORD', username: 'x', password: SECRET } })).createCredential.id
      const channelId = (await api.gql(`mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, { i: { name: 'hook', url: `${receiver.url}/hook`, secretCredentialId: secretId } })).createNotificationChannel.id
      const templateId = (await api.gql(CREATE_TEMPLATE, { i: { name: 'notified', jobType: 'test-outcome', config: { fail: 'down again' }, visibility: 'GLOBAL' } })).createJobTemplate.id
      await api.gql(`mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { id } }`, { i: { name: 'on-failure', channelIds: [channelId], events: ['RUN_FAILED'], templateIds: [templateId] } })
      // The receiver has the notification; Postgres goes away before Switchyard can record its answer.
      const outageStarted = new Promise<void>((resolve) => {
        receiver.onReceive = () => {
          receiver.onReceive = null
          proxy.cut()
          resolve()
        }
      })
      await api.gql(TRIGGER, { id: templateId })
      await outageStarted
      await new Promise((r) => setTimeout(r, OUTAGE_MS))
      proxy.restore()
      const delivery = await eventually(async () => {
        const { rows } = await direct.query(`SELECT status::text, attempts FROM notification_delivery WHERE channel_id = $1`, [raw(channelId)])
        return rows[0]?.status === 'DELIVERED' ? rows[0] : null
      }, { what: 'the delivery to be recorded after the outage', timeoutMs: 60_000 })
      expect(delivery).toEqual({ status: 'DELIVERED', attempts: 1 })
      expect(server.stderr()).toMatch(/recording a delivered notification failed; retrying/)
      expect(receiver.at('/hook')).toHaveLength(1)
    } finally {
      await receiver.stop()
    }
  }, 240_000)
})

describe('the worker SIGKILLed while the tracker handles an action', () => {
  let t: TestApp
  const workers: WorkerProcess[] = []
  const tracker = new DedupingTracker()

  beforeAll(async () => {
    await tracker.start()
    // The API and the reaper in this process; ticket delivery only in the worker processes (worker role).
    t = await startTestApp({ roles: 'api,scheduler', registry: createTestRegistry() })
  }, 120_000)
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.kill()
  })
  afterAll(async () => {
    await t?.stop()
    await tracker.stop()
  })

  const spawn = async () => {
    const w = await spawnWorker(t.db.url, 'worker', { env: { SWITCHYARD_TEST_EXECUTORS: '1' } })
    workers.push(w)
    return w
  }

  /**
   * The killed worker's lease (120 s) and the relay's stale margin (300 s) are minutes: rather than wait
   * them out, the test moves the action's lease into the past, as the clock would, and wakes the relay.
   */
  async function expireLease(actionId: string) {
    await t.app.db.pool.query(`UPDATE ticket_action SET next_attempt_at = next_attempt_at - interval '421 seconds' WHERE id = $1`, [actionId])
    await t.app.db.pool.query(`SELECT pg_notify('switchyard_ticket', '')`)
  }

  it('webhook tracker: the lease runs out, a new worker delivers it again with the same X-Switchyard-Delivery, and the tracker acts once', async () => {
    const secretId = (await t.ok(CREATE_CREDENTIAL, { i: { name: 'kill-secret', kind: 'PASSWORD', username: 'x', password: SECRET } })).createCredential.id
    const trackerId = (await t.ok(CREATE_TRACKER, { i: { name: 'kill-generic', kind: 'WEBHOOK', url: tracker.url, credentialId: secretId } })).createTicketTracker.id
    const templateId = (await t.ok(CREATE_TEMPLATE, { i: { name: 'kill-sync', jobType: 'test-outcome', config: { fail: 'boom' }, visibility: 'GLOBAL' } })).createJobTemplate.id
    await t.ok(CREATE_RULE, { i: { name: 'kill', trackerId, templateIds: [templateId] } })

    const first = await spawn()
    // The tracker performs the create, and before its answer leaves, the worker dies.
    let performedThenKilled!: () => void
    const killed = new Promise<void>((resolve) => (performedThenKilled = resolve))
    tracker.after = async (r) => {
      if (r.body.action !== 'create') return
      tracker.after = null
      await first.kill()
      performedThenKilled()
    }
    const run = (await t.ok(TRIGGER, { id: templateId })).triggerJobRun.id
    await killed
    const [leased] = await actionsOf(t.app.db.pool, run)
    // Nothing lost, nothing recorded: the action is still PENDING under the dead worker's lease.
    expect(leased).toMatchObject({ kind: 'CREATE', status: 'PENDING', attempts: 0, leased: true })
    expect(tracker.performed).toEqual([`create:${tracker.received[0]!.body.ticket.id}`])

    await spawn()
    await expireLease(leased!.id)
    const [done] = await eventually(async () => {
      const list = await actionsOf(t.app.db.pool, run)
      return list[0]?.status === 'DONE' ? list : null
    }, { what: 'the CREATE to be delivered again by the new worker' })
    expect(done).toMatchObject({ status: 'DONE', attempts: 1 })
    const creates = tracker.received.filter((r) => r.body.action === 'create')
    expect(creates).toHaveLength(2)
    expect(creates[1]!.headers['x-switchyard-delivery']).toBe(leased!.id)
    expect(creates[0]!.headers['x-switchyard-delivery']).toBe(creates[1]!.headers['x-switchyard-delivery'])
    for (const r of creates) expect(verify(r)).toBe(true)
    // The tracker recognised the repeat: one issue, whose id the ticket now has.
    expect(tracker.performed).toHaveLength(1)
    const { rows } = await t.app.db.pool.query(`SELECT external_id FROM ticket WHERE id = $1`, [creates[0]!.body.ticket.id])
    expect(rows[0].external_id).toBe('T-1')
    expect((await runState(t.app.db.pool, run))?.status).toBe('FAILED')
  }, 120_000)

  describe.skipIf(!redmineInstalled())('Redmine (real, scripts/test-peers/redmine.sh)', () => {
    let redmine: TestRedmine
    let front: http.Server
    let frontUrl = ''
    /** Set by the test: called when Redmine has answered a POST /issues.json, before the answer is passed on. */
    let onCreated: (() => Promise<void>) | null = null

    beforeAll(async () => {
      redmine = await startRedmine()
      // An HTTP relay in front of Redmine, so the test can act between Redmine's answer and the worker's.
      front = http.createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', async () => {
          const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>
          const answer = await fetch(`${redmine.url}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined })
          const text = await answer.text()
          if (req.method === 'POST' && /^\/issues\.json/.test(req.url ?? '') && onCreated) {
            const hook = onCreated
            onCreated = null
            await hook()
          }
          if (res.destroyed) return
          res.statusCode = answer.status
          res.setHeader('content-type', answer.headers.get('content-type') ?? 'application/json')
          res.end(text)
        })
      })
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
      frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`
    }, 180_000)
    afterAll(async () => {
      front?.closeAllConnections()
      if (front) await new Promise((resolve) => front.close(resolve))
      await redmine?.stop()
    })

    it('the lease runs out and a new worker delivers the create again: it finds the issue the killed worker made, one issue in Redmine', async () => {
      const keyId = (await t.ok(CREATE_CREDENTIAL, { i: { name: 'redmine-kill-key', kind: 'PASSWORD', username: 'admin', password: redmine.apiKey } })).createCredential.id
      const trackerId = (await t.ok(CREATE_TRACKER, { i: { name: 'redmine-kill', kind: 'REDMINE', url: frontUrl, credentialId: keyId, project: REDMINE_PROJECT } })).createTicketTracker.id
      const templateId = (await t.ok(CREATE_TEMPLATE, { i: { name: 'redmine-kill-sync', jobType: 'test-outcome', config: { fail: 'boom' }, visibility: 'GLOBAL' } })).createJobTemplate.id
      await t.ok(CREATE_RULE, { i: { name: 'redmine-kill', trackerId, templateIds: [templateId] } })

      const first = await spawn()
      const killed = new Promise<void>((resolve) => {
        onCreated = async () => {
          await first.kill()
          resolve()
        }
      })
      const run = (await t.ok(TRIGGER, { id: templateId })).triggerJobRun.id
      await killed
      const [leased] = await actionsOf(t.app.db.pool, run)
      expect(leased).toMatchObject({ kind: 'CREATE', status: 'PENDING', leased: true })

      await spawn()
      await expireLease(leased!.id)
      await eventually(async () => (await actionsOf(t.app.db.pool, run))[0]?.status === 'DONE', { what: 'the CREATE to be delivered again by the new worker' })
      const { rows } = await t.app.db.pool.query(`SELECT t.external_id, t.title FROM ticket t JOIN ticket_action a ON a.ticket_id = t.id WHERE a.id = $1`, [leased!.id])
      const issues = (await redmine.rest('GET', `/issues.json?project_id=${REDMINE_PROJECT}&status_id=*&limit=100`)).issues as Array<{ id: number; subject: string }>
      const same = issues.filter((i) => i.subject === rows[0].title).map((i) => i.id).sort((a, b) => a - b)
      // Delivered twice, made once: the repeated create found the killed attempt's issue by the ticket's marker.
      expect(same).toHaveLength(1)
      expect(rows[0].external_id).toBe(String(same[0]))
    }, 240_000)
  })
})
