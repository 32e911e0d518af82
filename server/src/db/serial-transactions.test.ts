/**
 * A Prisma transaction runs on one pg client; Prisma itself overlaps the queries of an include with
 * several relations (and a caller may Promise.all on a tx). pg@9 refuses a query while one is in flight,
 * so the adapter must hand the client one statement at a time. Real Postgres, real Prisma.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type pg from 'pg'
import { createDatabase, type Database } from './database.ts'
import { createTestDatabase, type TestDatabase } from '../../test/harness/database.ts'

let tdb: TestDatabase
let db: Database
/** Most statements ever sent to one checked-out client before the previous one answered. */
let maxInFlight = 0
let statements = 0

beforeAll(async () => {
  tdb = await createTestDatabase('serialtx')
  db = createDatabase(tdb.url, { max: 4 })
  const watched = new WeakSet<pg.PoolClient>()
  // Transactions check out a client (pool.connect): count what is outstanding on each.
  db.pool.on('acquire', (client) => {
    if (watched.has(client)) return
    watched.add(client)
    const original = client.query.bind(client) as (...a: unknown[]) => unknown
    let inFlight = 0
    client.query = ((...args: unknown[]) => {
      const result = original(...args)
      if (!(result instanceof Promise)) return result
      statements++
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      return result.finally(() => inFlight--)
    }) as typeof client.query
  })
})

afterAll(async () => {
  await db?.close()
  await tdb?.drop()
})

describe('a Prisma interactive transaction', () => {
  it('sends one statement at a time to its client, even for an include Prisma would fetch in parallel', async () => {
    const user = await db.prisma.user.create({ data: { username: 'serial-tx', passwordHash: 'x', role: 'OPERATOR' } })
    maxInFlight = 0
    statements = 0
    const read = await db.prisma.$transaction(async (tx) => {
      // Four relation lists at one level: Prisma's interpreter queries them with Promise.all.
      const one = await tx.user.findUniqueOrThrow({ where: { id: user.id }, include: { templates: true, credentials: true, targets: true, inventories: true } })
      // And a caller overlapping statements on the tx.
      const [a, b, c] = await Promise.all([tx.user.count(), tx.jobTemplate.count(), tx.$queryRaw<Array<{ one: number }>>`SELECT 1 AS one`])
      return { one, a, b, c }
    })
    expect(read.one).toMatchObject({ id: user.id, templates: [], credentials: [], targets: [], inventories: [] })
    expect(read.a).toBeGreaterThanOrEqual(1)
    expect(read.b).toBe(0)
    expect(read.c).toEqual([{ one: 1 }])
    // BEGIN, 1 + 4 for the include, 3 overlapped, COMMIT — all seen, never two at once.
    expect(statements).toBeGreaterThanOrEqual(10)
    expect(maxInFlight).toBe(1)
  })

  it('still sends the statements queued behind one that failed', async () => {
    maxInFlight = 0
    const outcome = await db.prisma
      .$transaction(async (tx) => {
        const results = await Promise.allSettled([tx.$queryRaw`SELECT 1/0 AS boom`, tx.user.count()])
        throw Object.assign(new Error('stop'), { results })
      })
      .catch((e: Error & { results?: PromiseSettledResult<unknown>[] }) => e.results?.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok')))
    // The second statement was not stuck behind the failure: it was sent and answered.
    expect(outcome).toHaveLength(2)
    expect(outcome?.[0]).toMatch(/division by zero/)
    expect(outcome?.[1]).toMatch(/^ok$|aborted/)
    expect(maxInFlight).toBe(1)
  })
})
