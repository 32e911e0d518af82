/**
 * Login throttling, per username and per source address, kept in Postgres (`login_throttle`) so every
 * API process enforces the same limits. After `maxFailures` failed sign-ins for a key (within the
 * memory window), the key is locked for `backoffSeconds`, doubling with each further failure up to
 * `backoffMaxSeconds`. While a key is locked every attempt is refused — the right password too —
 * without checking the password. A success clears the username's count; an address's count only
 * fades (after a quiet `backoffMaxSeconds`), so signing in to one's own account between guesses at
 * others does not reset it.
 */
import type { PrismaClient } from '../../generated/prisma/client.ts'

export interface LoginThrottleOptions {
  /** Failures of one username before it is locked. */
  maxFailures: number
  /** Failures from one address (any usernames) before it is locked. */
  maxFailuresPerAddress: number
  /** The first lock's length; each further failure doubles it. */
  backoffSeconds: number
  /** The longest lock; also how long a quiet key keeps its failure count. */
  backoffMaxSeconds: number
}

export type ThrottleKind = 'user' | 'address'

export interface ThrottleKey {
  kind: ThrottleKind
  key: string
}

export interface Lock {
  kind: ThrottleKind
  retryAfterSeconds: number
}

// The failure count after this failure, from the row's previous values (a quiet key starts over).
const NEXT = `(CASE WHEN last_failure_at < now() - $5 * interval '1 second' THEN 1 ELSE failures + 1 END)`

// $1 kind, $2 key, $3 threshold, $4 base seconds, $5 max seconds. The UPDATE reads the row's own
// columns, so concurrent failures each count (Postgres re-evaluates it on the newest row version).
const RECORD_FAILURE = `
  UPDATE login_throttle
     SET failures = ${NEXT},
         last_failure_at = now(),
         locked_until = CASE WHEN ${NEXT} >= $3
                             THEN now() + least($4 * power(2, ${NEXT} - $3), $5) * interval '1 second'
                        END
   WHERE kind = $1 AND key = $2`

export class LoginThrottle {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: LoginThrottleOptions,
  ) {}

  static keys(username: string, address: string | null): ThrottleKey[] {
    const keys: ThrottleKey[] = [{ kind: 'user', key: username.trim().toLowerCase() }]
    if (address) keys.push({ kind: 'address', key: address })
    return keys
  }

  /** The longest lock in force on any of the keys, or null. */
  async lockOf(keys: ThrottleKey[]): Promise<Lock | null> {
    const rows = await this.prisma.$queryRawUnsafe<Array<{ kind: ThrottleKind; wait: number }>>(
      `SELECT kind, extract(epoch FROM locked_until - now())::float8 AS wait
         FROM login_throttle
        WHERE (kind, key) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND locked_until > now()
        ORDER BY locked_until DESC LIMIT 1`,
      keys.map((k) => k.kind),
      keys.map((k) => k.key),
    )
    const row = rows[0]
    return row ? { kind: row.kind, retryAfterSeconds: Math.max(1, Math.ceil(row.wait)) } : null
  }

  async recordFailure(keys: ThrottleKey[]): Promise<void> {
    for (const k of keys) {
      const threshold = k.kind === 'user' ? this.options.maxFailures : this.options.maxFailuresPerAddress
      await this.prisma.$executeRawUnsafe(
        `INSERT INTO login_throttle (kind, key, failures, last_failure_at) VALUES ($1, $2, 0, now()) ON CONFLICT (kind, key) DO NOTHING`,
        k.kind,
        k.key,
      )
      await this.prisma.$executeRawUnsafe(RECORD_FAILURE, k.kind, k.key, threshold, this.options.backoffSeconds, this.options.backoffMaxSeconds)
    }
  }

  /**
   * Deletes the rows that no longer matter: not locked, and quiet for longer than the longest lock (the
   * next failure would start their count over anyway). Without this every username and address ever
   * tried would stay in the table; the reaper calls it each pass.
   */
  async deleteStale(): Promise<number> {
    return this.prisma.$executeRawUnsafe(
      `DELETE FROM login_throttle
        WHERE (locked_until IS NULL OR locked_until <= now())
          AND last_failure_at < now() - $1 * interval '1 second'`,
      this.options.backoffMaxSeconds,
    )
  }

  /** A successful sign-in clears the username's failures (not the address's). */
  async recordSuccess(username: string): Promise<void> {
    await this.prisma.loginThrottle.deleteMany({ where: { kind: 'user', key: username.trim().toLowerCase() } })
  }
}
