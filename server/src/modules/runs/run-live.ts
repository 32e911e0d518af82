/**
 * Live views of runs for subscriptions, fed by Postgres NOTIFY (ids and sequence numbers only) and
 * read back from the tables, which stay the source of truth:
 *  - logBatches: replays stored lines after a cursor, then follows new ones, in order, with no gap
 *    and no duplicate (it only ever reads `seq > cursor`), coalesced into batches;
 *  - runUpdates: the run each time it changes, ending after its final state;
 *  - runsChanged: runs created or changed that match a filter, for dashboards.
 * A missed notification (listener reconnect) only delays delivery: every wake-up re-reads from the
 * cursor, and a slow safety poll covers the rest.
 */
import { Repeater } from 'graphql-yoga'
import type pg from 'pg'
import type { JobRun, PrismaClient } from '../../generated/prisma/client.ts'
import { readLogLines, type StoredLogLine } from '../../logs/log-reader.ts'
import { CHANNELS, decodeLogAppended } from '../../pubsub/channels.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import type { LogLevel } from '../../jobs/executors/types.ts'
import { isFinalStatus } from '../../jobs/run-spec.ts'
import type { Logger } from '../../util/logger.ts'
import { coerceError } from '../../util/errors.ts'
import type { Actor } from '../actor.ts'
import { RunsService, type RunFilter } from './runs.service.ts'

export interface LogBatch {
  runId: string
  lines: StoredLogLine[]
  /** Cursor to resume from (the last line's seq). */
  lastSeq: number
}

export interface LiveOptions {
  /** Wait this long after a wake-up so many notifications become one message. */
  batchWindowMs: number
  maxLinesPerBatch: number
  /** Re-check even without notifications (covers notifications lost during a reconnect). */
  safetyPollMs: number
}

const DEFAULTS: LiveOptions = { batchWindowMs: 50, maxLinesPerBatch: 2000, safetyPollMs: 5000 }

/** Fan-out of one NOTIFY channel to in-process waiters keyed by run id ('*' for all runs). */
class Wakeups {
  readonly #waiters = new Map<string, Set<() => void>>()
  add(key: string, fn: () => void): () => void {
    let set = this.#waiters.get(key)
    if (!set) this.#waiters.set(key, (set = new Set()))
    set.add(fn)
    return () => {
      set!.delete(fn)
      if (!set!.size) this.#waiters.delete(key)
    }
  }
  fire(key: string): void {
    this.#waiters.get(key)?.forEach((fn) => fn())
    this.#waiters.get('*')?.forEach((fn) => fn())
  }
  fireAll(): void {
    for (const set of this.#waiters.values()) set.forEach((fn) => fn())
  }
}

export class RunLive {
  readonly #logWake = new Wakeups()
  readonly #runWake = new Wakeups()
  readonly #changed = new Set<(runId: string) => void>()
  readonly #options: LiveOptions
  #started = false
  #stopFns: Array<() => unknown> = []

  constructor(
    private readonly pool: pg.Pool,
    private readonly prisma: PrismaClient,
    private readonly runs: RunsService,
    private readonly listener: PgListener,
    private readonly logger: Logger,
    options: Partial<LiveOptions> = {},
  ) {
    this.#options = { ...DEFAULTS, ...options }
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#stopFns.push(
      await this.listener.on(CHANNELS.log, (payload) => {
        const e = decodeLogAppended(payload)
        if (e) this.#logWake.fire(e.runId)
      }),
      await this.listener.on(CHANNELS.run, (runId) => {
        this.#runWake.fire(runId)
        this.#changed.forEach((fn) => fn(runId))
      }),
      this.listener.onReconnect(() => {
        this.#logWake.fireAll()
        this.#runWake.fireAll()
      }),
    )
  }

  async stop(): Promise<void> {
    for (const fn of this.#stopFns.splice(0)) await fn()
  }

  /** Checks visibility first, so a forbidden or unknown run fails the subscription up front. */
  async logBatches(actor: Actor | null, runId: string, afterSeq: number, filter: { minLevel?: LogLevel | null; targetId?: string | null } = {}): Promise<AsyncIterable<LogBatch>> {
    await this.runs.get(actor, runId)
    const { batchWindowMs, maxLinesPerBatch, safetyPollMs } = this.#options
    return new Repeater<LogBatch>(async (push, stop) => {
      let stopped = false
      let wake: (() => void) | null = null
      let pending = false
      const poke = () => {
        pending = true
        wake?.()
      }
      const offLog = this.#logWake.add(runId, poke)
      const offRun = this.#runWake.add(runId, poke)
      void stop.then(() => {
        stopped = true
        wake?.()
      })
      let cursor = afterSeq
      try {
        while (!stopped) {
          pending = false
          // Read the run's state before the lines: if it is final here, every line it will ever have
          // is already committed (the last one commits with the status), so draining then ending is safe.
          const run = await this.prisma.jobRun.findUnique({ where: { id: runId }, select: { status: true } })
          const final = !run || isFinalStatus(run.status)
          for (;;) {
            const lines = await readLogLines(this.pool, { runId, afterSeq: cursor, limit: maxLinesPerBatch, minLevel: filter.minLevel, targetId: filter.targetId })
            if (!lines.length || stopped) break
            cursor = lines.at(-1)!.seq
            await push({ runId, lines, lastSeq: cursor })
            if (lines.length < maxLinesPerBatch) break
          }
          if (final || stopped) break
          if (!pending) {
            await new Promise<void>((resolve) => {
              wake = resolve
              setTimeout(resolve, safetyPollMs).unref()
            })
            wake = null
          }
          if (!stopped) await new Promise((r) => setTimeout(r, batchWindowMs))
        }
        stop()
      } catch (e) {
        this.logger.warn('log subscription failed', { runId, error: coerceError(e).message })
        stop(coerceError(e))
      } finally {
        offLog()
        offRun()
      }
    })
  }

  /** The run now, then each time it changes; ends after it reaches a final state. */
  async runUpdates(actor: Actor | null, runId: string): Promise<AsyncIterable<JobRun>> {
    await this.runs.get(actor, runId)
    return new Repeater<JobRun>(async (push, stop) => {
      let stopped = false
      let wake: (() => void) | null = null
      let pending = true
      const off = this.#runWake.add(runId, () => {
        pending = true
        wake?.()
      })
      void stop.then(() => {
        stopped = true
        wake?.()
      })
      try {
        let lastUpdated = 0
        while (!stopped) {
          if (!pending) {
            await new Promise<void>((resolve) => {
              wake = resolve
              setTimeout(resolve, this.#options.safetyPollMs).unref()
            })
            wake = null
            if (stopped) break
          }
          pending = false
          const run = await this.prisma.jobRun.findUnique({ where: { id: runId } })
          if (!run) break
          const stamp = run.updatedAt.getTime() * 1000 + run.targetsDone
          if (stamp !== lastUpdated || isFinalStatus(run.status)) {
            lastUpdated = stamp
            await push(run)
          }
          if (isFinalStatus(run.status)) break
        }
        stop()
      } catch (e) {
        stop(coerceError(e))
      } finally {
        off()
      }
    })
  }

  /** Runs created or changed that match the filter (and that the actor may see), as they happen. */
  runsChanged(actor: Actor | null, filter: RunFilter): AsyncIterable<JobRun> {
    const where = this.runs.whereFor(actor, filter)
    return new Repeater<JobRun>(async (push, stop) => {
      const dirty = new Set<string>()
      let timer: NodeJS.Timeout | null = null
      const flush = async () => {
        timer = null
        const ids = [...dirty]
        dirty.clear()
        try {
          const rows = await this.prisma.jobRun.findMany({ where: { AND: [where, { id: { in: ids } }] }, orderBy: { number: 'asc' } })
          for (const r of rows) if (RunsService.matches(r, filter)) await push(r)
        } catch (e) {
          this.logger.warn('runsChanged read failed', { error: coerceError(e).message })
        }
      }
      const onChange = (runId: string) => {
        dirty.add(runId)
        timer ??= setTimeout(() => void flush(), this.#options.batchWindowMs * 2)
      }
      this.#changed.add(onChange)
      await stop
      this.#changed.delete(onChange)
      if (timer) clearTimeout(timer)
    })
  }
}
