/**
 * The pg-boss queue that carries "execute run X" messages. A message only says which run to start;
 * the run row is the truth (status, attempt), so a duplicate or stale message is harmless: the
 * dispatcher's claim (QUEUED → RUNNING, one UPDATE) lets exactly one delivery through.
 */
import { PgBoss, fromPrisma, type Db } from 'pg-boss'
import { CHANNELS } from '../pubsub/channels.ts'
import { hasWaitingRuns, releaseWaitingRuns, type Queryable } from './run-store.ts'

export const RUN_QUEUE = 'switchyard-run'
const MAX_EXPIRY_SECONDS = 24 * 3600

export interface RunMessage {
  runId: string
}

/** Anything Prisma-transaction-like (`$queryRawUnsafe`), so a run and its message commit together. */
export type TransactionLike = Parameters<typeof fromPrisma>[0]

/** A pg client (in a transaction) as pg-boss's `db`, so a message commits with the caller's writes. */
export function inTransaction(client: { query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }): Db {
  return { executeSql: (text, values) => client.query(text, values as unknown[]) as Promise<{ rows: any[] }> }
}

export class RunQueue {
  constructor(readonly boss: PgBoss) {}

  /**
   * In the transaction that ends or requeues a run of `key`: if runs of the key wait for a slot,
   * hand the freed slot to the oldest (its message is sent in the same transaction).
   */
  async handOffSlot(client: Queryable, key: string | null): Promise<void> {
    if (!key || !(await hasWaitingRuns(client, key))) return
    for (const id of await releaseWaitingRuns(client, key)) await this.enqueue(id, { db: inTransaction(client) })
  }

  async ensure(): Promise<void> {
    // Retries belong to the run (its template's policy, reaped runs), never to the message.
    await this.boss.createQueue(RUN_QUEUE, { retryLimit: 0, deleteAfterSeconds: 3 * 86400 })
  }

  /**
   * Sends the message inside the caller's transaction (`tx` for Prisma, `db` for a pg client). `timeoutSeconds` is
   * the run's timeout: the message stays "active" while the run executes, so its expiry must outlast
   * it (pg-boss caps expiry at 24 h; a longer run is still safe, see the class comment).
   */
  async enqueue(runId: string, options: ({ tx: TransactionLike; db?: undefined } | { db: Db; tx?: undefined }) & { startAfter?: Date; timeoutSeconds?: number | null }): Promise<void> {
    const db = options.db ?? fromPrisma(options.tx!)
    const expireInSeconds = Math.min(MAX_EXPIRY_SECONDS, (options.timeoutSeconds ?? MAX_EXPIRY_SECONDS) + 300)
    // pg-boss rejects options that are present but undefined, so only set what is known.
    await this.boss.send(RUN_QUEUE, { runId } satisfies RunMessage, {
      retryLimit: 0,
      expireInSeconds,
      db,
      // A start time in the future defers the message (workers' 1 s poll picks it up when due).
      ...(options.startAfter && options.startAfter.getTime() > Date.now() ? { startAfter: options.startAfter } : {}),
    })
    // Delivered at commit when `db` is the caller's transaction, so a worker never looks too early.
    await db.executeSql(`SELECT pg_notify('${CHANNELS.queued}', '')::text`)
  }
}

export function createBoss(connectionString: string, schema: string, max: number): PgBoss {
  return new PgBoss({
    connectionString,
    schema,
    max,
    application_name: 'switchyard-boss',
  })
}
