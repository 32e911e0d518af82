/**
 * Per-request batching for fields that would otherwise cost one query per parent row (a run's outputs
 * in a list of runs, a template's latest run on the monitoring page). graphql-js resolves the fields of
 * every item of a list before any of their promises settle, so keys asked for until the event loop's
 * next turn are loaded together with one `loadMany` call — the DataLoader idea, without its cache:
 * nothing outlives the batch, so a long-lived (subscription) context never serves a stale row.
 */

/** Loads the values of many keys (a key without a value: no entry); gets the request's context. */
export type LoadMany<C, K, V> = (ctx: C, keys: readonly K[]) => Promise<ReadonlyMap<K, V>>

interface Pending<K, V> {
  waiting: Map<K, Array<{ resolve(v: V | undefined): void; reject(e: unknown): void }>>
}

/** Batches by request context (any object) and loader (the `loadMany` function itself). */
const batches = new WeakMap<object, Map<LoadMany<any, any, any>, Pending<any, any>>>()

/**
 * The value `loadMany` returns for `key`, loading every key asked for with the same `ctx` and
 * `loadMany` in this turn of the event loop at once (each distinct key once). `undefined` when the map
 * has no entry for the key. `loadMany` must be a module-level function: it is the batch's identity.
 */
export function batchLoad<C extends object, K, V>(ctx: C, loadMany: LoadMany<C, K, V>, key: K): Promise<V | undefined> {
  let byLoader = batches.get(ctx)
  if (!byLoader) batches.set(ctx, (byLoader = new Map()))
  let pending = byLoader.get(loadMany) as Pending<K, V> | undefined
  if (!pending) {
    const batch: Pending<K, V> = { waiting: new Map() }
    pending = batch
    byLoader.set(loadMany, batch)
    // setImmediate runs after every pending promise callback and nextTick: resolvers that start after
    // an awaited sibling (a nested list's items) still join this batch.
    setImmediate(() => {
      byLoader!.delete(loadMany)
      void dispatch(ctx, batch, loadMany)
    })
  }
  const waiters = pending.waiting.get(key) ?? []
  pending.waiting.set(key, waiters)
  return new Promise<V | undefined>((resolve, reject) => waiters.push({ resolve, reject }))
}

async function dispatch<C, K, V>(ctx: C, batch: Pending<K, V>, loadMany: LoadMany<C, K, V>): Promise<void> {
  try {
    const values = await loadMany(ctx, [...batch.waiting.keys()])
    for (const [key, waiters] of batch.waiting) for (const w of waiters) w.resolve(values.get(key))
  } catch (e) {
    for (const waiters of batch.waiting.values()) for (const w of waiters) w.reject(e)
  }
}
