/**
 * PgListener against real Postgres: fan-out, LISTEN active when `on()` resolves (also for a second
 * subscriber of a channel), UNLISTEN, reconnect after the server kills the connection and after the
 * connection goes silent, and nothing left behind by stop().
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/harness/database.ts'
import { startTcpProxy } from '../../test/harness/tcp-proxy.ts'
import { silentLogger } from '../util/logger.ts'
import { PgListener } from './pg-listener.ts'

let db: TestDatabase
let admin: pg.Pool

beforeAll(async () => {
  db = await createTestDatabase('listener')
  admin = new pg.Pool({ connectionString: db.url, max: 2 })
  admin.on('error', () => {})
})
afterAll(async () => {
  await admin?.end()
  await db?.drop()
})

const notify = (channel: string, payload: string) => admin.query('SELECT pg_notify($1, $2)', [channel, payload])

/** Collects payloads; `next(n)` resolves once n have arrived in total. */
function inbox() {
  const got: string[] = []
  const waiters: Array<{ n: number; resolve: () => void }> = []
  return {
    got,
    handler: (p: string) => {
      got.push(p)
      for (const w of waiters.splice(0)) {
        if (got.length >= w.n) w.resolve()
        else waiters.push(w)
      }
    },
    next: (n: number) => (got.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  }
}

function reconnected(listener: PgListener): Promise<void> {
  return new Promise((resolve) => {
    const off = listener.onReconnect(() => {
      off()
      resolve()
    })
  })
}

async function listenBackends(): Promise<number[]> {
  const { rows } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'switchyard-listen'`)
  return rows.map((r) => r.pid)
}

describe('PgListener', () => {
  it('fans out to every handler, with LISTEN active when on() resolves, and stops after the last unsubscribes', async () => {
    const listener = new PgListener(db.url, silentLogger)
    await listener.start()
    try {
      const a = inbox()
      const b = inbox()
      const sentinel = inbox()
      const pendingA = listener.on('t_fan', a.handler)
      const offB = await listener.on('t_fan', b.handler) // the second subscriber of a channel
      await notify('t_fan', 'one')
      await b.next(1)
      const offA = await pendingA
      await a.next(1)
      expect(a.got).toEqual(['one'])
      expect(b.got).toEqual(['one'])

      await offA()
      await offA() // twice is harmless and does not remove b
      await notify('t_fan', 'two')
      await b.next(2)
      expect(a.got).toEqual(['one'])

      await offB()
      await listener.on('t_sentinel', sentinel.handler)
      await notify('t_fan', 'three')
      await notify('t_sentinel', 'after') // notifications arrive in order: 'three' would be here by now
      await sentinel.next(1)
      expect(b.got).toEqual(['one', 'two'])
    } finally {
      await listener.stop()
    }
  })

  it('sends one statement at a time on its connection when many subscribe at once and the ping fires', async () => {
    // pg@9 refuses a query on a client still executing one: count what is outstanding per client.
    const original = pg.Client.prototype.query
    const inFlight = new WeakMap<pg.Client, number>()
    let most = 0
    let listens = 0
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const result = (original as (...a: unknown[]) => unknown).apply(this, args)
      const app = (this as unknown as { connectionParameters: { application_name?: string } }).connectionParameters.application_name
      if (app !== 'switchyard-listen' || !(result instanceof Promise)) return result
      if (String(args[0]).startsWith('LISTEN')) listens++
      const n = (inFlight.get(this) ?? 0) + 1
      inFlight.set(this, n)
      most = Math.max(most, n)
      return result.finally(() => inFlight.set(this, (inFlight.get(this) ?? 1) - 1))
    } as typeof pg.Client.prototype.query
    const listener = new PgListener(db.url, silentLogger, { pingIntervalMs: 1 })
    try {
      await listener.start()
      const boxes = Array.from({ length: 8 }, () => inbox())
      const offs = await Promise.all(boxes.map((b, i) => listener.on(`t_many_${i}`, b.handler)))
      for (let i = 0; i < boxes.length; i++) await notify(`t_many_${i}`, `n${i}`)
      for (const [i, b] of boxes.entries()) {
        await b.next(1)
        expect(b.got).toEqual([`n${i}`])
      }
      await Promise.all(offs.map((off) => off()))
      expect(listens).toBe(8)
      expect(most).toBe(1)
    } finally {
      pg.Client.prototype.query = original
      await listener.stop()
    }
  })

  it('reconnects after the server ends its connection, listens again and tells onReconnect', async () => {
    const listener = new PgListener(db.url, silentLogger)
    await listener.start()
    try {
      const box = inbox()
      await listener.on('t_reconnect', box.handler)
      const [pid] = await listenBackends()
      const again = reconnected(listener)
      await admin.query('SELECT pg_terminate_backend($1)', [pid])
      await again
      expect(await listenBackends()).not.toContain(pid)
      await notify('t_reconnect', 'back')
      await box.next(1)
      expect(box.got).toEqual(['back'])
    } finally {
      await listener.stop()
    }
  })

  it('notices a connection that went silent (ping without answer) and reconnects', async () => {
    const proxy = await startTcpProxy(db.url)
    const listener = new PgListener(proxy.url, silentLogger, { pingIntervalMs: 50, pingTimeoutMs: 500 })
    await listener.start()
    try {
      const box = inbox()
      await listener.on('t_silent', box.handler)
      const again = reconnected(listener)
      proxy.freeze() // the old connection delivers nothing any more, and fails nothing either
      await again
      await notify('t_silent', 'through the new connection')
      await box.next(1)
      expect(box.got).toEqual(['through the new connection'])
    } finally {
      await listener.stop()
      await proxy.close()
    }
  })

  it('leaves no connection or timer behind after stop(), also when stopped while reconnecting', async () => {
    const listener = new PgListener(db.url, silentLogger)
    await listener.start()
    await listener.on('t_stop', () => {})
    const [pid] = await listenBackends()
    await admin.query('SELECT pg_terminate_backend($1)', [pid])
    await listener.stop()
    const deadline = Date.now() + 10_000
    while ((await listenBackends()).length && Date.now() < deadline) await new Promise((r) => setImmediate(r))
    expect(await listenBackends()).toEqual([])
  })
})
