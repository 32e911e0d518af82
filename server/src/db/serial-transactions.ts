/**
 * Makes every statement of a Prisma transaction wait for the one before it.
 *
 * An interactive transaction (`prisma.$transaction(async (tx) => …)`) runs on ONE pg client. Prisma's
 * query interpreter fetches the relations of an `include`/`select` with two or more relations at the
 * same level concurrently (`Promise.all` over the children of its "join" node), so a single
 * `tx.x.findUnique({ include: { a: true, b: true } })` issues several `client.query()` calls at once on
 * that client. pg@8 queues them (and prints "Calling client.query() when the client is already
 * executing a query is deprecated"); pg@9 will throw instead. The same happens to any caller that
 * `Promise.all`s statements on a `tx`.
 *
 * Queuing here, one statement after another in call order, is what pg does today internally — the
 * connection runs one statement at a time either way — so nothing changes but the warning (and the
 * future error). Outside a transaction each statement checks out its own pool client: left alone.
 */
import type { PrismaPg } from '@prisma/adapter-pg'

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>
type Transaction = Awaited<ReturnType<Adapter['startTransaction']>>

/** Wraps a Prisma pg adapter factory so the transactions it starts run their statements one at a time. */
export function serialTransactions(factory: PrismaPg): PrismaPg {
  return forward(factory, {
    connect: async () => {
      const adapter = await factory.connect()
      return forward(adapter, {
        startTransaction: async (isolationLevel?: Parameters<Adapter['startTransaction']>[0]) => serialised(await adapter.startTransaction(isolationLevel)),
      })
    },
  })
}

function serialised(tx: Transaction): Transaction {
  let tail: Promise<unknown> = Promise.resolve()
  // Each call starts once the previous one settled (failed or not): a failed statement must not
  // take the ones queued behind it down with it — Prisma decides what a failure means.
  const inTurn = <T>(run: () => Promise<T>): Promise<T> => {
    const result = tail.then(run, run)
    tail = result.catch(() => {})
    return result
  }
  return forward(tx, {
    queryRaw: (query: Parameters<Transaction['queryRaw']>[0]) => inTurn(() => tx.queryRaw(query)),
    executeRaw: (query: Parameters<Transaction['executeRaw']>[0]) => inTurn(() => tx.executeRaw(query)),
    commit: () => inTurn(() => tx.commit()),
    rollback: () => inTurn(() => tx.rollback()),
  })
}

/** `target` with `overrides` in place of some methods; every other property read from (and bound to) it. */
function forward<T extends object>(target: T, overrides: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof T]
      const value: unknown = Reflect.get(t, prop, t)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value
    },
  })
}
