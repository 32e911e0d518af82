/** Connection-level database failures, which pass once Postgres is reachable again, and retrying them. */
import pg from 'pg'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'

export function isTransient(e: unknown): boolean {
  if (!(e instanceof pg.DatabaseError)) return true // socket errors, "Connection terminated", timeouts
  const code = e.code ?? ''
  // 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown, restart),
  // 40 transaction rollback (deadlock, serialization), 55P03 lock not available.
  return /^(08|53|57|40)/.test(code) || code === '55P03'
}

const MAX_BACKOFF_MS = 5000

/**
 * Runs `fn` again after transient failures, with exponential backoff (capped at 5 s), up to
 * `attempts` times (Infinity: for as long as this process lives — for writes that must not be lost,
 * like a run's final status; if the process dies instead, the reaper takes over). Other errors throw.
 */
export async function retryTransient<T>(fn: () => Promise<T>, o: { logger: Logger; what: string; attempts: number }): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (e) {
      if (!isTransient(e) || attempt >= o.attempts) throw e
      const delay = Math.min(MAX_BACKOFF_MS, 50 * 2 ** attempt)
      o.logger.warn(`${o.what} failed; retrying`, { attempt, delayMs: delay, error: coerceError(e).message })
      await new Promise((r) => setTimeout(r, delay))
    }
  }
}
