/**
 * The outbox relay shared by the notification and ticket outboxes (src/modules/outbox-relay.ts), on a table
 * of its own: real Postgres, real pg-boss, real LISTEN connections. Two relays with their own pools, pg-boss
 * instances and listeners stand for two worker processes.
 */
import pg from 'pg'
import { PgBoss } from 'pg-boss'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { survivePostgresRestarts } from '../../src/db/database.ts'
import { OutboxRelay, RELAY_BATCH, STALE_SECONDS, type AttemptFailure } from '../../src/modules/outbox-relay.ts'
import { PgListener } from '../../src/pubsub/pg-listener.ts'
import { silentLogger } from '../../src/util/logger.ts'
import { eventually } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

const QUEUE = 'switchyard-outbox-probe'
const CHANNEL = 'switchyard_outbox_probe'

let db: TestDatabase
let admin: pg.Pool
const stops: Array<() => Promise<void>> = []

beforeAll(async () => {
  db = await createTestDatabase('outboxrelay')
  admin = survivePostgresRestarts(new pg.Pool({ connectionString: db.url, max: 2 }))
  await admin.query(`CREATE TABLE outbox_probe (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), status text NOT NULL DEFAULT 'PENDING',
    enqueued_at timestamptz, next_attempt_at timestamptz, created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts int NOT NULL DEFAULT 0, last_status_code int, last_error text, updated_at timestamptz)`)
})
// A test's relays end with it: a worker left running would take the next test's messages.
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
})
afterAll(async () => {
  await admin?.end()
  await db?.drop()
})

/** Per row id, the failures its attempts meet before one succeeds (tried in order). */
const failures = new Map<string, AttemptFailure[]>()

/**
 * One "process": its own pool, pg-boss and listener, and a relay whose attempts are recorded in `seen`; an
 * attempt fails as `failures` says, else marks its row DONE.
 */
async function startRelay(seen: string[], sweepMs: number): Promise<{ relay: OutboxRelay; stop: () => Promise<void> }> {
  const pool = survivePostgresRestarts(new pg.Pool({ connectionString: db.url, max: 4 }))
  const boss = new PgBoss({ connectionString: db.url, schema: 'pgboss', supervise: false, schedule: false, max: 2 })
  boss.on('error', () => {})
  await boss.start()
  const listener = new PgListener(db.url, silentLogger)
  await listener.start()
  const relay = new OutboxRelay(pool, boss, listener, silentLogger, sweepMs, {
    table: 'outbox_probe',
    channel: CHANNEL,
    queue: QUEUE,
    idKey: 'probeId',
    claimSql: `SELECT id FROM outbox_probe
                WHERE status = 'PENDING' AND (enqueued_at IS NULL OR next_attempt_at < now() - make_interval(secs => $1))
                ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    work: { pollingIntervalSeconds: 0.5, batchSize: 50 },
    attempt: async (id) => {
      seen.push(id)
      const { rows } = await pool.query<{ created_at: Date; attempts: number }>(`UPDATE outbox_probe SET next_attempt_at = now() + interval '2 minutes' WHERE id = $1 RETURNING created_at, attempts`, [id])
      const failure = failures.get(id)?.shift()
      if (failure) await relay.recordFailure({ id, createdAt: rows[0]!.created_at, attempts: rows[0]!.attempts }, failure)
      else await pool.query(`UPDATE outbox_probe SET status = 'DONE', attempts = attempts + 1 WHERE id = $1`, [id])
    },
    what: 'probes',
    retry: { baseMs: 20, maxMs: 40, giveUpMs: 600_000, logRetentionDays: 1 },
    failedStatus: `'FAILED'`,
  })
  await relay.start()
  let stopped: Promise<void> | null = null
  const stop = () =>
    (stopped ??= (async () => {
      await relay.stop()
      await boss.stop({ graceful: false, close: true })
      await listener.stop()
      await pool.end()
    })())
  stops.push(stop)
  return { relay, stop }
}

async function insertRows(n: number): Promise<string[]> {
  const { rows } = await admin.query<{ id: string }>('INSERT INTO outbox_probe (id) SELECT gen_random_uuid() FROM generate_series(1, $1) RETURNING id', [n])
  return rows.map((r) => r.id)
}

/** The queue's messages, per row id. */
async function messages(): Promise<Map<string, number>> {
  const { rows } = await admin.query<{ id: string; n: number }>(`SELECT data->>'probeId' AS id, count(*)::int AS n FROM pgboss.job WHERE name = $1 GROUP BY 1`, [QUEUE])
  return new Map(rows.map((r) => [r.id, r.n]))
}

const sorted = (ids: Iterable<string>) => [...ids].sort()

describe('OutboxRelay', () => {
  it('relays rows written without a NOTIFY on its sweep, and a row whose message is long overdue again', async () => {
    const seen: string[] = []
    const { relay, stop } = await startRelay(seen, 200)
    await relay.idle() // the start's own pass is over: only the sweep can find what comes next
    const ids = await insertRows(3)
    await eventually(async () => seen.length >= 3, { what: 'three attempts' })
    expect(sorted(seen)).toEqual(sorted(ids))
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM outbox_probe WHERE id = ANY($1::uuid[]) AND enqueued_at IS NOT NULL`, [ids])
    expect(rows[0].n).toBe(3)

    // A PENDING row enqueued long ago whose attempt never recorded an outcome (its message was lost).
    const { rows: lostRows } = await admin.query<{ id: string }>(
      `INSERT INTO outbox_probe (enqueued_at, next_attempt_at) VALUES (now() - make_interval(secs => $1 * 2), now() - make_interval(secs => $1 + 60)) RETURNING id`,
      [STALE_SECONDS],
    )
    const lost = lostRows[0]!.id
    await eventually(async () => seen.includes(lost), { what: 'the overdue row attempted again' })
    await stop()
    expect((await messages()).get(lost)).toBe(1)
  })

  it('two relays racing over more than a batch of rows send each row exactly one message', async () => {
    const seen: string[] = []
    // No sweep during the test: the passes are the ones started below and by the NOTIFYs.
    const { relay: a } = await startRelay(seen, 3_600_000)
    const { relay: b } = await startRelay(seen, 3_600_000)
    const before = await messages()
    const ids = await insertRows(RELAY_BATCH * 2 + 37)
    for (let i = 0; i < 5; i++) {
      a.relay()
      b.relay()
      await admin.query(`SELECT pg_notify($1, '')`, [CHANNEL])
    }
    await eventually(async () => seen.length >= ids.length, { what: `${ids.length} attempts`, timeoutMs: 60_000 })
    await Promise.all([a.idle(), b.idle()])
    a.relay()
    b.relay()
    await Promise.all([a.idle(), b.idle()])

    expect(seen.length).toBe(ids.length)
    expect(sorted(seen)).toEqual(sorted(ids))
    const after = await messages()
    for (const id of ids) expect(after.get(id), id).toBe(1)
    expect(after.size - before.size).toBe(ids.length)
  })

  it('a retryable failure is attempted again after its backoff; one that is not marks the row FAILED with the reason', async () => {
    const seen: string[] = []
    const { stop } = await startRelay(seen, 3_600_000)
    const [flaky, broken] = await insertRows(2)
    failures.set(flaky!, [{ status: 503, error: 'busy', retryable: true }, { status: null, error: 'connection reset', retryable: true }])
    failures.set(broken!, [{ status: 404, error: 'no such thing', retryable: false }])
    await admin.query(`SELECT pg_notify($1, '')`, [CHANNEL])
    await eventually(async () => {
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM outbox_probe WHERE id = ANY($1::uuid[]) AND status <> 'PENDING'`, [[flaky, broken]])
      return rows[0].n === 2
    }, { what: 'both rows finished' })
    await stop()
    const { rows } = await admin.query(`SELECT id, status, attempts, last_status_code, last_error, next_attempt_at FROM outbox_probe WHERE id = ANY($1::uuid[])`, [[flaky, broken]])
    const byId = new Map(rows.map((r) => [r.id, r]))
    expect(byId.get(flaky)).toMatchObject({ status: 'DONE', attempts: 3, last_status_code: null, last_error: 'connection reset' })
    expect(byId.get(broken)).toMatchObject({ status: 'FAILED', attempts: 1, last_status_code: 404, last_error: 'no such thing', next_attempt_at: null })
    expect(seen.filter((id) => id === flaky)).toHaveLength(3)
    expect(seen.filter((id) => id === broken)).toHaveLength(1)
  })

  it('after stop() no pass starts: neither one a wake-up queued during the pass in flight nor a later wake-up', async () => {
    const seen: string[] = []
    const { relay } = await startRelay(seen, 60_000)
    await relay.idle()
    const before = await insertRows(3)
    // A pass in flight and a wake-up during it (the "again" flag), then the stop.
    relay.relay()
    relay.relay()
    await relay.stop()
    const sent = await messages()
    const after = await insertRows(2)
    relay.relay()
    await relay.idle()
    await new Promise((r) => setTimeout(r, 300))
    const now = await messages()
    expect(after.map((id) => now.get(id) ?? 0)).toEqual([0, 0])
    // Nothing sent after stop() returned: the queued pass ran before it, or not at all.
    expect(before.map((id) => now.get(id) ?? 0)).toEqual(before.map((id) => sent.get(id) ?? 0))
    // Its rows and messages go: the other tests count the table's.
    const ids = [...before, ...after]
    await admin.query('DELETE FROM outbox_probe WHERE id = ANY($1::uuid[])', [ids])
    await admin.query(`DELETE FROM pgboss.job WHERE name = $1 AND data->>'probeId' = ANY($2::text[])`, [QUEUE, ids])
  })
})
