/** Connection-level database failures, which pass once Postgres is reachable again, and retrying them. */
import pg from 'pg'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'

/** Socket-level failures (errno codes) a connection can meet while Postgres restarts or the network blips. */
const NETWORK_ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
/** What node-postgres says when a connection dies or cannot be had (errors without a SQLSTATE). */
const CONNECTION_MESSAGES = /connection terminated|connection error|not queryable|timeout exceeded when trying to connect|connection ended|server closed the connection|socket/i

/**
 * Only failures of the connection itself (and Postgres asking to try again) are transient: anything
 * else — a bug, a constraint violation, a bad value — fails at once instead of being retried forever.
 */
export function isTransient(e: unknown): boolean {
  // Prisma wraps the driver's error (its `cause`) or names the failure with its own code.
  const cause = (e as { cause?: unknown } | null)?.cause
  if (cause && cause !== e && isTransient(cause)) return true
  const prismaCode = (e as { code?: unknown } | null)?.code
  if (typeof prismaCode === 'string' && PRISMA_UNREACHABLE.has(prismaCode)) return true
  if (e instanceof pg.DatabaseError) {
    const code = e.code ?? ''
    // 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown, restart),
    // 40 transaction rollback (deadlock, serialization), 55P03 lock not available.
    return /^(08|53|57|40)/.test(code) || code === '55P03'
  }
  const errno = (e as { code?: unknown } | null)?.code
  if (typeof errno === 'string' && NETWORK_ERRNOS.has(errno)) return true
  return e instanceof Error && CONNECTION_MESSAGES.test(e.message)
}

/** Prisma's codes for a database it cannot reach: can't reach, timed out, closed the connection, no pool connection. */
const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024'])

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

/**
 * A transaction Postgres rolled back to break a deadlock or a serialization conflict (Prisma reports
 * it as P2034). Deleting a schedule, template or target sets their runs' references to NULL, which can
 * meet a worker writing the same runs in the other order; running the transaction again is the cure.
 */
export function isConflict(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  if (code === 'P2034') return true
  return e instanceof pg.DatabaseError && (e.code === '40P01' || e.code === '40001')
}

/** Runs a whole transaction again (up to `attempts` times, with a short jittered pause) after a conflict. */
export async function retryConflicts<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (e) {
      if (!isConflict(e) || attempt >= attempts) throw e
      await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30))
    }
  }
}
