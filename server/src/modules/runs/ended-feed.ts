/**
 * The feed behind "my runs ended" (job runs and workflow runs alike): each row once, as it reaches its
 * final state, read by a cursor on finished_at rather than trusting each NOTIFY — a notification on
 * `channel` (from any process) only wakes it, and a slow poll covers notifications lost while the
 * listener reconnected. Transactions commit out of finished_at order, so each read looks back OVERLAP_MS
 * behind the newest end it has seen and drops rows it already sent (ids remembered, bounded).
 */
import { Repeater } from 'graphql-yoga'
import type { PrismaClient } from '../../generated/prisma/client.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import { coerceError } from '../../util/errors.ts'
import type { Logger } from '../../util/logger.ts'

/** How far behind the newest end seen a read looks (commits land out of finished_at order). */
const OVERLAP_MS = 60_000
/** A resuming client may ask for ends this far back at most. */
const MAX_SINCE_MS = 15 * 60_000
/** Without `since`: a row that ended a moment before the subscription (a page load racing it) still counts. */
const JUST_BEFORE_MS = 5_000
const SENT_MEMORY = 2000
/**
 * Rows one read returns at most (newest first). More of one user's runs than this ending within OVERLAP_MS
 * are not all sent (the oldest are not): a burst that size is for the runs page, not for toasts.
 */
export const PAGE = 200

export interface FeedOptions {
  /** Coalesces wake-ups: one read per window at most. */
  windowMs: number
  /** Reads even without a wake-up (notifications lost during a listener reconnect). */
  pollMs: number
}

export interface EndedFeedSpec<T extends { id: string; finishedAt: Date | null }> {
  prisma: PrismaClient
  listener: PgListener
  channel: string
  logger: Logger
  options: FeedOptions
  since: Date | null
  /** For log lines. */
  what: string
  /** The rows that ended after `after` (at most PAGE, newest first). */
  read(after: Date): Promise<T[]>
}

export function endedFeed<T extends { id: string; finishedAt: Date | null }>(spec: EndedFeedSpec<T>): AsyncIterable<T> {
  const { prisma, listener, channel, logger, since, what, read } = spec
  const { windowMs, pollMs } = spec.options
  return new Repeater<T>(async (push, stop) => {
    // The database's clock, which finished_at is written by.
    const clock = await prisma.$queryRaw<Array<{ now: Date }>>`SELECT now() AS now`
    const dbNow = clock[0]?.now.getTime() ?? Date.now()
    const from = since ? Math.min(dbNow, Math.max(since.getTime(), dbNow - MAX_SINCE_MS)) : dbNow - JUST_BEFORE_MS
    let stopped = false
    let woken = true
    // Set while sleeping: a wake-up ends the sleep only when `interruptible` (the idle wait, not the
    // coalescing window); stopping always does.
    let wake: ((byStop: boolean) => void) | null = null
    const poke = () => {
      woken = true
      wake?.(false)
    }
    const sleep = (ms: number, interruptible: boolean) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          wake = null
          resolve()
        }
        const timer = setTimeout(done, ms)
        wake = (byStop) => (byStop || interruptible) && done()
      })
    void stop.then(() => {
      stopped = true
      wake?.(true)
    })
    const off = await listener.on(channel, poke)
    const offReconnect = listener.onReconnect(poke)
    const sent = new Set<string>()
    // The newest end seen; reads look back OVERLAP_MS from it (never before `from`).
    let newest = from
    try {
      while (!stopped) {
        if (!woken) await sleep(pollMs, true)
        if (stopped) break
        woken = false
        let rows: T[]
        try {
          rows = (await read(new Date(Math.max(from, newest - OVERLAP_MS)))).reverse()
        } catch (e) {
          logger.warn(`${what} read failed; retrying`, { error: coerceError(e).message })
          woken = true
          await sleep(1000, false)
          continue
        }
        for (const r of rows) {
          if (stopped) break
          if (r.finishedAt) newest = Math.max(newest, r.finishedAt.getTime())
          if (sent.has(r.id)) continue
          sent.add(r.id)
          if (sent.size > SENT_MEMORY) sent.delete(sent.values().next().value!)
          await push(r)
        }
        if (!stopped) await sleep(windowMs, false)
      }
    } finally {
      await off()
      offReconnect()
    }
  })
}
