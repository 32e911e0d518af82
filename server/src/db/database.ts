/**
 * One pg pool per process, shared by Prisma (through its pg driver adapter) and by the hand-written
 * SQL on hot paths (log batches, run claims). pg-boss and the LISTEN connection hold their own.
 */
import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../generated/prisma/client.ts'
import type { Logger } from '../util/logger.ts'
import { serialTransactions } from './serial-transactions.ts'

export type Prisma = PrismaClient
export { PrismaClient }

export interface Database {
  pool: pg.Pool
  prisma: PrismaClient
  close(): Promise<void>
}

// Postgres BIGINT (int8) as JS number for our counters (log seq stays far below 2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v))

/**
 * Every pool the process opens must hear its clients' errors: an idle client's (e.g. Postgres restarting)
 * reaches the pool, which replaces it; a checked-out client whose connection dies emits 'error' on the
 * client itself — unheard, either would end the process. The query in flight fails on its own, which is
 * how callers learn about it.
 */
export function survivePostgresRestarts(pool: pg.Pool): pg.Pool {
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  return pool
}

/**
 * Logs the warnings Postgres sends the pool's clients, which pg otherwise drops. The triggers that act
 * when a run or worker changes (workflow advance, notification and ticket outboxes, template
 * dependencies) catch their own failure, so that it cannot undo the run's own write, and report it only
 * as a RAISE WARNING. Notices below WARNING (an IF NOT EXISTS that skipped) are routine and stay out.
 */
export function logPostgresWarnings(pool: pg.Pool, logger: Logger): pg.Pool {
  pool.on('connect', (client) =>
    client.on('notice', (n) => {
      if (n.severity === 'WARNING') logger.warn('postgres warning', { message: n.message })
    }),
  )
  return pool
}

/**
 * TCP keepalive on the app's connections: one the network dropped silently (a firewall's idle timeout, a
 * failed-over address, a peer that vanished) fails within seconds of the first probe instead of leaving a
 * query waiting for an answer that cannot come (Linux otherwise never probes). Node's libuv sends the
 * probes a second apart, ten of them, after the idle delay.
 */
export const TCP_KEEPALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const

export function createDatabase(url: string, options: { max?: number; applicationName?: string; logger?: Logger } = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 20, application_name: options.applicationName ?? 'switchyard', ...TCP_KEEPALIVE })
  // An idle client's error (e.g. Postgres restarting) must not crash the process; the pool replaces it.
  survivePostgresRestarts(pool)
  // Prisma's defaults (2 s to get a connection for a transaction, 5 s to finish it) turn a briefly busy
  // pool into INTERNAL errors on ordinary mutations; waiting a little longer is the better failure mode.
  // Prisma would print its own errors and warnings to the console (multi-line, outside the structured
  // log, and once more besides the caller's report): they are events, kept as debug detail. Whoever
  // catches the error reports it, once.
  const prisma = new PrismaClient({
    // One statement at a time on a transaction's single client (Prisma would overlap them): see serial-transactions.ts.
    adapter: serialTransactions(new PrismaPg(pool)),
    transactionOptions: { maxWait: 10_000, timeout: 20_000 },
    errorFormat: 'minimal',
    log: [
      { emit: 'event', level: 'error' },
      { emit: 'event', level: 'warn' },
    ],
  })
  const logger = options.logger
  if (logger) logPostgresWarnings(pool, logger)
  prisma.$on('error', (e) => logger?.debug('prisma error', { error: e.message, target: e.target }))
  prisma.$on('warn', (e) => logger?.warn('prisma warning', { message: e.message, target: e.target }))
  return {
    pool,
    prisma,
    async close() {
      await prisma.$disconnect()
      await pool.end()
    },
  }
}
