/**
 * A graphql-ws subscription a test can watch while it runs: every payload is kept in `items`,
 * `waitFor` resolves as soon as a condition holds (without sleeping), `done` settles when the server
 * completes or fails the subscription.
 */
import type { Client } from 'graphql-ws'

export interface GraphQLErrorShape {
  message: string
  extensions?: { code?: string; field?: string }
}

export class SubscriptionError extends Error {
  constructor(readonly errors: GraphQLErrorShape[] | unknown) {
    super(`subscription failed: ${JSON.stringify(errors)}`)
  }
}

export interface LiveSubscription<T> {
  readonly items: T[]
  /** Payloads received so far; settles when the server completes (resolves) or fails (rejects). */
  readonly done: Promise<T[]>
  /** Resolves once `test(items)` holds; rejects if the subscription ends first or after `timeoutMs`. */
  waitFor(test: (items: T[]) => boolean, what?: string, timeoutMs?: number): Promise<T[]>
  /** Unsubscribes (the server sees `complete` from the client). */
  dispose(): void
}

export function subscribe<T>(client: Client, query: string, variables: Record<string, unknown>): LiveSubscription<T> {
  const items: T[] = []
  const watchers = new Set<() => void>()
  let ended: { error?: unknown } | null = null
  let resolveDone!: (v: T[]) => void
  let rejectDone!: (e: unknown) => void
  const done = new Promise<T[]>((res, rej) => {
    resolveDone = res
    rejectDone = rej
  })
  done.catch(() => {}) // a test that never looks at `done` must not see an unhandled rejection
  const end = (error?: unknown) => {
    if (ended) return
    ended = error === undefined ? {} : { error }
    if (error === undefined) resolveDone(items)
    else rejectDone(error)
    for (const w of [...watchers]) w()
  }
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (msg) => {
        if (msg.errors?.length) return end(new SubscriptionError(msg.errors))
        items.push(msg.data as T)
        for (const w of [...watchers]) w()
      },
      error: (e) => end(Array.isArray(e) ? new SubscriptionError(e) : e instanceof Error ? e : new SubscriptionError(e)),
      complete: () => end(),
    },
  )
  return {
    items,
    done,
    dispose,
    waitFor(test, what = 'condition', timeoutMs = 20_000) {
      return new Promise<T[]>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined
        const check = () => {
          if (test(items)) {
            finish()
            resolve(items)
          } else if (ended) {
            finish()
            reject(ended.error ?? new Error(`subscription completed before ${what}; ${items.length} item(s), last: ${JSON.stringify(items.at(-1))?.slice(0, 300)}`))
          }
        }
        const finish = () => {
          watchers.delete(check)
          clearTimeout(timer)
        }
        timer = setTimeout(() => {
          finish()
          reject(new Error(`gave up waiting for ${what} after ${timeoutMs} ms; ${items.length} item(s): ${JSON.stringify(items).slice(0, 1500)}`))
        }, timeoutMs)
        watchers.add(check)
        check()
      })
    },
  }
}
