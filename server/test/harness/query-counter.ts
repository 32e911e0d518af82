/**
 * Counts the SQL statements the app sends through its pool (Prisma's pg adapter and the hand-written
 * queries share it) whose text matches a pattern — how tests prove a list field is batched: the number
 * of statements must not grow with the number of rows.
 */
import type pg from 'pg'

export interface QueryCounter {
  /** Statements seen since the counter started (or was reset) whose text matches. */
  readonly count: number
  /** Their texts, for the failure message. */
  readonly texts: string[]
  reset(): void
  stop(): void
}

export function countQueries(pool: pg.Pool, pattern: RegExp): QueryCounter {
  const original = pool.query
  const texts: string[] = []
  // Every query of the pool's own `query` (Prisma outside transactions, the app's SQL) passes here.
  pool.query = function (this: pg.Pool, ...args: unknown[]) {
    const first = args[0]
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '')
    if (pattern.test(text)) texts.push(text)
    return (original as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof pool.query
  return {
    get count() {
      return texts.length
    },
    texts,
    reset() {
      texts.length = 0
    },
    stop() {
      pool.query = original
    },
  }
}
