/**
 * /livez and /readyz on a real Switchyard process whose Postgres connection runs through a TCP proxy:
 * ready with every check passing; unready (503, naming the failing checks) while the connection is cut,
 * while a migration is missing, and while the connection is silently frozen — answering every time,
 * never hanging — and ready again after; /metrics keeps answering through the outage. Anonymous callers
 * never see roles, worker id or error text.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_PASSWORD, eventually } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.ts'
import { survivePostgresRestarts } from '../../src/db/database.ts'

let db: TestDatabase
let proxy: TcpProxy
let server: WorkerProcess
let direct: pg.Pool
let token = ''

async function probe(path: string, auth = false): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, { headers: auth ? { authorization: `Bearer ${token}` } : {} })
  return { status: res.status, body: await res.json() }
}

beforeAll(async () => {
  db = await createTestDatabase('health')
  // Its idle connection can be ended under it (the database dropped with FORCE at the end): heard, not thrown.
  direct = survivePostgresRestarts(new pg.Pool({ connectionString: db.url, max: 1 }))
  proxy = await startTcpProxy(db.url)
  server = await spawnWorker(proxy.url, 'api,worker,scheduler')
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `mutation($p: String!) { login(username: "admin", password: $p) { token } }`, variables: { p: ADMIN_PASSWORD } }),
  })
  token = ((await res.json()) as any).data.login.token
})

afterAll(async () => {
  await server?.kill()
  await proxy?.close()
  await direct?.end()
  await db?.drop()
})

const allOk = { database: { ok: true }, migrations: { ok: true }, queue: { ok: true }, listen: { ok: true } }

describe('/livez and /readyz', () => {
  it('are ready with every check, and tell anonymous callers nothing that maps the deployment', async () => {
    expect(await probe('/livez')).toEqual({ status: 200, body: { status: 'ok' } })
    expect(await probe('/readyz')).toEqual({ status: 200, body: { status: 'ok', checks: allOk } })
    const signedIn = await probe('/readyz', true)
    expect(signedIn.status).toBe(200)
    expect(signedIn.body).toMatchObject({ status: 'ok', checks: allOk, workerId: server.workerId })
    expect(signedIn.body.roles.sort()).toEqual(['api', 'scheduler', 'worker'])
    // /healthz keeps its old answer.
    expect(await probe('/healthz')).toEqual({ status: 200, body: { status: 'ok' } })
  })

  it('goes unready while Postgres is unreachable, stays alive, and is ready again after', async () => {
    proxy.cut()
    try {
      const down = await eventually(async () => {
        const r = await probe('/readyz')
        return r.status === 503 && !r.body.checks.listen.ok ? r : null
      }, { what: 'readyz to report the outage' })
      expect(down.body).toEqual({
        status: 'unavailable',
        checks: { database: { ok: false }, migrations: { ok: false }, queue: { ok: true }, listen: { ok: false } },
      })
      // Signed-in callers learn why (the token cannot be checked during the outage: anonymous answer).
      expect(JSON.stringify((await probe('/readyz', true)).body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|workerId/)
      expect(await probe('/livez')).toEqual({ status: 200, body: { status: 'ok' } })
      // The metrics scrape keeps answering too (no token configured here: open), saying the database is down.
      const scrape = await fetch(`${server.url}/metrics`)
      expect(scrape.status).toBe(200)
      const text = await scrape.text()
      expect(text).toMatch(/^switchyard_database_up 0$/m)
      expect(text).toMatch(/^switchyard_runs_running 0$/m)
    } finally {
      proxy.restore()
    }
    await eventually(async () => (await probe('/readyz')).status === 200, { what: 'readyz to recover' })
    expect((await probe('/readyz')).body).toEqual({ status: 'ok', checks: allOk })
  }, 60_000)

  it('names a migration this build ships that the database has not applied (signed-in callers see which)', async () => {
    const { rows } = await direct.query(`SELECT migration_name FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1`)
    const last = rows[0].migration_name as string
    await direct.query(`UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1`, [last])
    try {
      const anon = await probe('/readyz')
      expect(anon).toEqual({ status: 503, body: { status: 'unavailable', checks: { ...allOk, migrations: { ok: false } } } })
      const detailed = await probe('/readyz', true)
      expect(detailed.status).toBe(503)
      expect(detailed.body.checks.migrations).toEqual({ ok: false, error: `not applied: ${last}` })
    } finally {
      await direct.query(`UPDATE _prisma_migrations SET rolled_back_at = NULL WHERE migration_name = $1`, [last])
    }
    expect((await probe('/readyz')).status).toBe(200)
  })

  it('answers 503 rather than hanging when the database connection goes silent', async () => {
    proxy.freeze() // open connections stop forwarding; new ones still work
    // The probe's own connection times out (and a token check would too: the caller is then answered
    // as anonymous rather than kept waiting): unready, not hanging; the next probe reconnects.
    const frozen = await probe('/readyz', true)
    expect(frozen.status).toBe(503)
    expect(frozen.body.checks.database).toEqual({ ok: false })
    await eventually(async () => (await probe('/readyz')).status === 200, { what: 'readyz on a fresh connection' })
  }, 60_000)

  it('keeps beating when its heartbeat connection goes silent: the hung beat gives up, the next one reconnects, before the dead-after period', async () => {
    const beatAt = async () => (await direct.query('SELECT heartbeat_at, stopped_at FROM worker WHERE id = $1', [server.workerId])).rows[0]
    const { rows: [{ now: frozenAt }] } = await direct.query('SELECT now()')
    proxy.freeze() // the heartbeat's open connection stops forwarding, and hangs its next beat
    // Heartbeat 1 s, dead-after 4 s (the test defaults): a beat landing 2.5 s after the freeze came on a
    // new connection (one in flight at the freeze can only have landed before it); none may be missed
    // long enough for the reaper to mark the worker stopped.
    await eventually(async () => (await beatAt()).heartbeat_at.getTime() > frozenAt.getTime() + 2_500, { timeoutMs: 15_000, what: 'a heartbeat after the freeze' })
    expect((await beatAt()).stopped_at).toBeNull()
  }, 60_000)
})
