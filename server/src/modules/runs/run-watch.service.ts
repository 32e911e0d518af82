/**
 * Watching runs, and the feed of "my runs ended" behind the console's toasts: runs the user started
 * (triggeredBy) or watches (the "Watch" toggle, a job_run_watch row, so every tab and device agrees),
 * each once when it reaches its final status, only while the user may see it.
 *
 * The feed reads by a cursor on finished_at rather than trusting each NOTIFY: a run notification (any
 * process, switchyard_run) only wakes it, and a slow poll covers notifications lost while the listener
 * reconnected. Transactions commit out of finished_at order, so each read looks back OVERLAP_MS behind
 * the newest end it has seen and drops runs it already sent (ids remembered, bounded).
 */
import { Repeater } from 'graphql-yoga'
import type { JobRun, PrismaClient } from '../../generated/prisma/client.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import { coerceError } from '../../util/errors.ts'
import type { Logger } from '../../util/logger.ts'
import { requireActor, type Actor } from '../actor.ts'
import type { RunsService } from './runs.service.ts'

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const
/** How far behind the newest end seen a read looks (commits land out of finished_at order). */
const OVERLAP_MS = 60_000
/** A resuming client may ask for ends this far back at most. */
const MAX_SINCE_MS = 15 * 60_000
const SENT_MEMORY = 2000
const JUST_BEFORE_MS = 5_000
/**
 * Ends read at once. More of one user's runs than this ending within OVERLAP_MS are not all toasted (the
 * oldest are): a burst that size is for the runs page, not for toasts.
 */
const PAGE = 200

export interface FeedOptions {
  /** Coalesces wake-ups: one read per window at most. */
  windowMs: number
  /** Reads even without a wake-up (notifications lost during a listener reconnect). */
  pollMs: number
}

export class RunWatchService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly runs: RunsService,
    private readonly listener: PgListener,
    private readonly logger: Logger,
    private readonly options: FeedOptions = { windowMs: 200, pollMs: 10_000 },
  ) {}

  /** Starts watching a run the actor may see (idempotent). Watching is personal: not audited. */
  async watch(actor: Actor | null, runId: string): Promise<JobRun> {
    const run = await this.runs.get(actor, runId)
    const userId = requireActor(actor).userId
    await this.prisma.jobRunWatch.upsert({ where: { userId_jobRunId: { userId, jobRunId: run.id } }, create: { userId, jobRunId: run.id }, update: {} })
    return run
  }

  async unwatch(actor: Actor | null, runId: string): Promise<JobRun> {
    const run = await this.runs.get(actor, runId)
    await this.prisma.jobRunWatch.deleteMany({ where: { userId: requireActor(actor).userId, jobRunId: run.id } })
    return run
  }

  async isWatching(actor: Actor | null, runId: string): Promise<boolean> {
    if (!actor) return false
    return (await this.prisma.jobRunWatch.count({ where: { userId: actor.userId, jobRunId: runId } })) > 0
  }

  /**
   * Runs of the actor's (started or watched) that end from now on — or since `since` (at most 15 minutes
   * back), so a client that reconnects gets what ended meanwhile; it drops ids it has shown already.
   */
  myRunsEnded(actor: Actor | null, since: Date | null): AsyncIterable<JobRun> {
    const a = requireActor(actor)
    const visible = this.runs.whereFor(a, {})
    const { windowMs, pollMs } = this.options
    return new Repeater<JobRun>(async (push, stop) => {
      // The database's clock, which finished_at is written by. Without `since`, a run that ended a moment
      // before the subscription (a page load racing the run's end) is still shown.
      const clock = await this.prisma.$queryRaw<Array<{ now: Date }>>`SELECT now() AS now`
      const dbNow = clock[0]?.now.getTime() ?? Date.now()
      const from = new Date(since ? Math.min(dbNow, Math.max(since.getTime(), dbNow - MAX_SINCE_MS)) : dbNow - JUST_BEFORE_MS)
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
      const off = await this.listener.on(CHANNELS.run, poke)
      const offReconnect = this.listener.onReconnect(poke)
      const sent = new Set<string>()
      // The newest end seen; reads look back OVERLAP_MS from it (never before `from`).
      let newest = from.getTime()
      try {
        while (!stopped) {
          if (!woken) await sleep(pollMs, true)
          if (stopped) break
          woken = false
          let rows: JobRun[]
          try {
            rows = await this.prisma.jobRun.findMany({
              where: {
                AND: [
                  visible,
                  { status: { in: [...FINAL] } },
                  { finishedAt: { gt: new Date(Math.max(from.getTime(), newest - OVERLAP_MS)) } },
                  { OR: [{ triggeredById: a.userId }, { watches: { some: { userId: a.userId } } }] },
                ],
              },
              // Newest first, so a burst bigger than a page drops its oldest ends, never the new ones.
              orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }],
              take: PAGE,
            })
            rows.reverse()
          } catch (e) {
            this.logger.warn('myJobRunsEnded read failed; retrying', { error: coerceError(e).message })
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
}
