/**
 * The pg-boss queue that carries "execute run X" messages. A message only says which run to start;
 * the run row is the truth (status, attempt), so a duplicate or stale message is harmless: the
 * dispatcher's claim (QUEUED → RUNNING, one UPDATE) lets exactly one delivery through.
 */
import { PgBoss, fromPrisma, type Db } from 'pg-boss'
import { CHANNELS } from '../pubsub/channels.ts'
import { hasWaitingRuns, releaseWaitingRuns, type Queryable } from './run-store.ts'
import { TCP_KEEPALIVE } from '../db/database.ts'

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
  constructor(
    readonly boss: PgBoss,
    /** pg-boss's schema: `lockOrphanedRuns` reads its job table. */
    private readonly schema: string,
  ) {}

  /**
   * In the transaction that ends or requeues a run of `key`: if runs of the key wait for a slot,
   * hand the freed slot to the oldest (its message is sent in the same transaction).
   */
  async handOffSlot(client: Queryable, key: string | null): Promise<void> {
    if (!key || !(await hasWaitingRuns(client, key))) return
    for (const id of await releaseWaitingRuns(client, key)) await this.enqueue(id, { db: inTransaction(client) })
  }

  /**
   * QUEUED runs that nothing will start any more, locked (SKIP LOCKED) in the caller's transaction: not
   * waiting for a concurrency slot, unchanged for `graceSeconds`, and without a message that can still
   * deliver them — none created or retrying, none fetched in the last `graceSeconds`. That happens when a
   * claim failed for a reason other than a lost connection (the message is then failed), or when the
   * process that fetched the message died before claiming (pg-boss would keep it "active" until its
   * expiry, up to a day). A second message for a run is harmless: the claim lets one delivery through.
   */
  async lockOrphanedRuns(client: Queryable, graceSeconds: number, limit = 100): Promise<Array<{ id: string; timeoutSeconds: number | null }>> {
    const { rows } = await client.query<{ id: string; timeout_seconds: number | null }>(
      `SELECT r.id, (r.spec->>'timeoutSeconds')::int AS timeout_seconds
         FROM job_run r
        WHERE r.status = 'QUEUED' AND r.waiting_since IS NULL AND r.updated_at < now() - make_interval(secs => $1)
          AND NOT EXISTS (
                SELECT 1 FROM ${this.schema}.job j
                 WHERE j.name = $2 AND j.data->>'runId' = r.id::text
                   AND (j.state IN ('created', 'retry') OR (j.state = 'active' AND j.started_on > now() - make_interval(secs => $1))))
        ORDER BY r.number
        LIMIT $3
        FOR UPDATE OF r SKIP LOCKED`,
      [graceSeconds, RUN_QUEUE, limit],
    )
    return rows.map((r) => ({ id: r.id, timeoutSeconds: r.timeout_seconds }))
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
  async enqueue(
    runId: string,
    options: ({ tx: TransactionLike; db?: undefined } | { db: Db; tx?: undefined }) & { startAfter?: Date; timeoutSeconds?: number | null; wake?: boolean },
  ): Promise<void> {
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
    // `wake: false`: the caller sends CHANNELS.queued with its own notifications (one statement fewer).
    if (options.wake !== false) await db.executeSql(`SELECT pg_notify('${CHANNELS.queued}', '')::text`)
  }
}

/**
 * Messages for many new runs in one statement (a workflow's fan-out), in the caller's transaction, and
 * one wake-up for the workers (unless `wake: false`: then the caller sends CHANNELS.queued). The same message options as `enqueue` (no deferral: new runs start now).
 */
export async function enqueueMany(queue: RunQueue, tx: TransactionLike, runs: ReadonlyArray<{ runId: string; timeoutSeconds: number | null }>, options: { wake?: boolean } = {}): Promise<void> {
  if (!runs.length) return
  const db = fromPrisma(tx)
  await queue.boss.insert(RUN_QUEUE, runs.map(messageOf), { db })
  // The caller may send the workers' wake-up with its own notifications (one statement fewer).
  if (options.wake !== false) await db.executeSql(`SELECT pg_notify('${CHANNELS.queued}', '')::text`)
}

/**
 * pg-boss's own statement inserting the messages of these new runs, for embedding in a larger statement
 * (as pg-boss embeds it for its flows): its text with its one parameter renumbered to `$<param>`, and that
 * parameter's value. pg-boss builds it (nothing is sent: the `db` only records it). Null when the text is
 * not the plain `INSERT … ON CONFLICT DO NOTHING` with one parameter this expects (a pg-boss upgrade, a
 * queue with its own NOTIFY): the caller then inserts them through pg-boss as usual.
 */
export async function messagesStatement(queue: RunQueue, runs: ReadonlyArray<{ runId: string; timeoutSeconds: number | null }>, param: number): Promise<{ text: string; value: unknown } | null> {
  let captured: { text: string; values: unknown[] } | null = null
  await queue.boss.insert(RUN_QUEUE, runs.map(messageOf), {
    db: {
      executeSql: async (text, values) => {
        captured = { text, values: values ?? [] }
        return { rows: [] }
      },
    },
  })
  const c = captured as { text: string; values: unknown[] } | null
  if (!c || c.values.length !== 1) return null
  const text = c.text.trim()
  if (!/^INSERT INTO\b/.test(text) || /\bRETURNING\b/.test(text) || (text.match(/\$\d+/g) ?? []).join() !== '$1') return null
  return { text: text.replace('$1', `$${param}`), value: c.values[0] }
}

function messageOf(r: { runId: string; timeoutSeconds: number | null }) {
  return { data: { runId: r.runId } satisfies RunMessage, retryLimit: 0, expireInSeconds: Math.min(MAX_EXPIRY_SECONDS, (r.timeoutSeconds ?? MAX_EXPIRY_SECONDS) + 300) }
}

export function createBoss(connectionString: string, schema: string, max: number): PgBoss {
  return new PgBoss({
    connectionString,
    schema,
    max,
    application_name: 'switchyard-boss',
    ...TCP_KEEPALIVE,
  })
}
