/**
 * The pg-boss queue that carries "execute run X" messages. A message only says which run to start;
 * the run row is the truth (status, attempt), so a duplicate or stale message is harmless: the
 * dispatcher's claim (QUEUED → RUNNING, one UPDATE) lets exactly one delivery through.
 */
import { PgBoss, fromPrisma, type Db } from 'pg-boss'

export const RUN_QUEUE = 'switchyard-run'

export interface RunMessage {
  runId: string
}

/** Anything Prisma-transaction-like (`$queryRawUnsafe`), so a run and its message commit together. */
export type TransactionLike = Parameters<typeof fromPrisma>[0]

export class RunQueue {
  constructor(readonly boss: PgBoss) {}

  async ensure(): Promise<void> {
    // Retries belong to the run (its template's policy, reaped runs), never to the message.
    await this.boss.createQueue(RUN_QUEUE, { retryLimit: 0, notify: true, deleteAfterSeconds: 3 * 86400 })
  }

  async enqueue(runId: string, options: { tx?: TransactionLike; db?: Db; startAfter?: Date; expireInSeconds?: number } = {}): Promise<void> {
    const db = options.db ?? (options.tx ? fromPrisma(options.tx) : undefined)
    await this.boss.send(RUN_QUEUE, { runId } satisfies RunMessage, {
      db,
      startAfter: options.startAfter,
      // The message is "active" while the run executes; its expiry only has to outlast the run.
      expireInSeconds: options.expireInSeconds,
      retryLimit: 0,
    })
  }
}

export function createBoss(connectionString: string, schema: string): PgBoss {
  return new PgBoss({
    connectionString,
    schema,
    max: 6,
    useListenNotify: true,
    application_name: 'switchyard-boss',
  })
}
