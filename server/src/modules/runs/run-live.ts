/**
 * Live views of runs for subscriptions, fed by Postgres NOTIFY (ids and sequence numbers only) and
 * read back from the tables, which stay the source of truth:
 *  - logBatches: replays stored lines after a cursor, then follows new ones, in order, with no gap
 *    and no duplicate (it only ever reads `seq > cursor`), coalesced into batches;
 *  - runUpdates: the run each time it changes, ending after its final state;
 *  - runsChanged: runs created or changed that match a filter, for dashboards.
 * A missed notification (listener reconnect) only delays delivery: every wake-up re-reads from the
 * cursor, and a slow safety poll covers the rest. A subscription holds nothing between wake-ups but
 * its registration and one timer, and releases both as soon as the client goes away.
 */
import { Repeater } from 'graphql-yoga'
import type pg from 'pg'
import type { JobRun, PrismaClient } from '../../generated/prisma/client.ts'
import { markShared } from '../../util/shared-event.ts'
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
  /** Text per message (lines can be 64 KiB each: 2000 of them must not become one 128 MB frame). */
  maxCharsPerBatch: number
  /** Re-check even without notifications (covers notifications lost during a reconnect). */
  safetyPollMs: number
  /** Consecutive failed reads (database unreachable) a subscription rides out before it fails. */
  maxReadFailures: number
}

/** What live subscriptions hold right now (all zero when nobody subscribes), and notifications seen. */
export interface LiveStats {
  logWakeups: number
  runWakeups: number
  changeListeners: number
  timers: number
  /** Log and run notifications this process has received since start (never decreases). */
  notificationsReceived: number
}

const DEFAULTS: LiveOptions = { batchWindowMs: 50, maxLinesPerBatch: 2000, maxCharsPerBatch: 1 << 20, safetyPollMs: 5000, maxReadFailures: 5 }

/** Remembers the last state pushed per run for the run feed, bounded (oldest forgotten first). */
const FEED_MEMORY = 1000

/** Fan-out of one NOTIFY channel to in-process waiters keyed by run id ('*' for all runs). */
class Wakeups {
  readonly #waiters = new Map<string, Set<() => void>>()
  add(key: string, fn: () => void): () => void {
    let set = this.#waiters.get(key)
    if (!set) this.#waiters.set(key, (set = new Set()))
    set.add(fn)
    return () => {
      set.delete(fn)
      if (!set.size && this.#waiters.get(key) === set) this.#waiters.delete(key)
    }
  }
  fire(key: string): void {
    this.#waiters.get(key)?.forEach((fn) => fn())
    this.#waiters.get('*')?.forEach((fn) => fn())
  }
  fireAll(): void {
    for (const set of this.#waiters.values()) set.forEach((fn) => fn())
  }
  count(): number {
    let n = 0
    for (const set of this.#waiters.values()) n += set.size
    return n
  }
}

/**
 * The control state of one subscription loop. `poke()` records a wake-up even while the loop is busy
 * reading or pushing (so one arriving between a read and the wait is never lost); `sleep()` always
 * clears its timer, and returns at once when the subscription stops.
 */
class LoopControl {
  stopped = false
  #pending = false
  #interrupt: (() => void) | null = null

  constructor(
    stop: PromiseLike<unknown>,
    private readonly timers: { count: number },
  ) {
    void stop.then(() => {
      this.stopped = true
      this.#interrupt?.()
    })
  }

  readonly poke = (): void => {
    this.#pending = true
    this.#interrupt?.()
  }

  /** Whether a wake-up arrived since the last call; clears it. */
  takePending(): boolean {
    const p = this.#pending
    this.#pending = false
    return p
  }

  /** Sleeps up to `ms`: until stopped, or (with `untilPoked`) until a wake-up, which may already be pending. */
  sleep(ms: number, untilPoked: boolean): Promise<void> {
    if (this.stopped || (untilPoked && this.#pending)) return Promise.resolve()
    return new Promise<void>((resolve) => {
      let settled = false
      const done = () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.timers.count--
        this.#interrupt = null
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.timers.count++
      this.#interrupt = untilPoked ? done : () => this.stopped && done()
    })
  }
}

/**
 * Reads shared between log subscriptions of the same run. A notification wakes every subscription of
 * the run at once; without sharing, 1,000 subscribers each read the run's status and the same new
 * lines (2,000 queries per batch). A subscription may take the result of a read already under way
 * only if that read started after everything it has been woken for — after the run's last
 * notification and after the subscription registered — so it can never miss a line a notification
 * announced. Ticks order those events strictly (one thread); only reads in flight are kept.
 */
class SharedReads {
  #tick = 0
  /** Per run with subscribers: the tick of its latest notification, and how many subscribe. */
  readonly #runs = new Map<string, { notified: number; subscribers: number }>()
  readonly #inflight = new Map<string, { started: number; promise: Promise<unknown> }>()

  /** Registers a subscription of the run; returns its registration tick and the unregister function. */
  register(runId: string): { registered: number; off: () => void } {
    let r = this.#runs.get(runId)
    if (!r) this.#runs.set(runId, (r = { notified: 0, subscribers: 0 }))
    r.subscribers++
    const entry = r
    return {
      registered: ++this.#tick,
      off: () => {
        if (--entry.subscribers === 0 && this.#runs.get(runId) === entry) this.#runs.delete(runId)
      },
    }
  }

  reconnected(): void {
    const tick = ++this.#tick
    for (const r of this.#runs.values()) r.notified = tick
  }

  notified(runId: string): void {
    const r = this.#runs.get(runId)
    if (r) r.notified = ++this.#tick
  }

  read<T>(runId: string, key: string, registered: number, fn: () => Promise<T>): Promise<T> {
    const k = `${runId}\0${key}`
    const since = Math.max(registered, this.#runs.get(runId)?.notified ?? 0)
    const current = this.#inflight.get(k)
    if (current && current.started > since) return current.promise as Promise<T>
    const started = ++this.#tick
    const promise = fn()
    const entry = { started, promise }
    this.#inflight.set(k, entry)
    const forget = () => {
      if (this.#inflight.get(k) === entry) this.#inflight.delete(k)
    }
    promise.then(forget, forget)
    return promise
  }
}

export class RunLive {
  readonly #shared = new SharedReads()
  readonly #logWake = new Wakeups()
  readonly #runWake = new Wakeups()
  readonly #changed = new Set<(runId: string) => void>()
  readonly #timers = { count: 0 }
  #notificationsReceived = 0
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
        this.#notificationsReceived++
        const e = decodeLogAppended(payload)
        if (e) {
          this.#shared.notified(e.runId)
          this.#logWake.fire(e.runId)
        }
      }),
      await this.listener.on(CHANNELS.run, (runId) => {
        this.#notificationsReceived++
        this.#shared.notified(runId)
        this.#runWake.fire(runId)
        this.#changed.forEach((fn) => fn(runId))
      }),
      this.listener.onReconnect(() => {
        // Notifications may have been missed: no read under way may be shared any more.
        this.#shared.reconnected()
        this.#logWake.fireAll()
        this.#runWake.fireAll()
        // Dashboards cannot re-read "everything that changed": they refetch their lists on reconnect.
      }),
    )
  }

  async stop(): Promise<void> {
    this.#started = false
    for (const fn of this.#stopFns.splice(0)) await fn()
  }

  stats(): LiveStats {
    return {
      logWakeups: this.#logWake.count(),
      runWakeups: this.#runWake.count(),
      changeListeners: this.#changed.size,
      timers: this.#timers.count,
      notificationsReceived: this.#notificationsReceived,
    }
  }

  /** Checks visibility first, so a forbidden or unknown run fails the subscription up front. */
  async logBatches(actor: Actor | null, runId: string, afterSeq: number, filter: { minLevel?: LogLevel | null; targetId?: string | null } = {}): Promise<AsyncIterable<LogBatch>> {
    await this.runs.get(actor, runId)
    const { batchWindowMs, maxLinesPerBatch, maxCharsPerBatch, safetyPollMs } = this.#options
    return new Repeater<LogBatch>(async (push, stop) => {
      const loop = new LoopControl(stop, this.#timers)
      const shared = this.#shared.register(runId)
      const offLog = this.#logWake.add(runId, loop.poke)
      const offRun = this.#runWake.add(runId, loop.poke)
      const filterKey = `${filter.minLevel ?? ''}|${filter.targetId ?? ''}`
      let cursor = afterSeq
      let failures = 0
      try {
        while (!loop.stopped) {
          // From here on, any notification means "read again": it cannot fall between read and wait.
          loop.takePending()
          try {
            // Read the run's state before the lines: if it is final here, every line it will ever have
            // is already committed (the last one commits with the status), so draining then ending is safe.
            const run = await this.#shared.read(runId, 'status', shared.registered, () => this.prisma.jobRun.findUnique({ where: { id: runId }, select: { status: true } }))
            const final = !run || isFinalStatus(run.status)
            while (!loop.stopped) {
              const from = cursor
              const lines = await this.#shared.read(runId, `lines|${from}|${filterKey}`, shared.registered, () =>
                readLogLines(this.pool, { runId, afterSeq: from, limit: maxLinesPerBatch, minLevel: filter.minLevel, targetId: filter.targetId }),
              )
              if (!lines.length || loop.stopped) break
              const batch = withinChars(lines, maxCharsPerBatch)
              cursor = batch.at(-1)!.seq
              // Shared whether or not it was cut: a shared read's cut is one array for all (withinChars).
              await push(sharedBatch(runId, batch))
              if (lines.length < maxLinesPerBatch && batch.length === lines.length) break
            }
            failures = 0
            if (final) break
          } catch (e) {
            if (++failures >= this.#options.maxReadFailures) throw e
            this.logger.warn('log subscription read failed; retrying', { runId, failures, error: coerceError(e).message })
            await loop.sleep(Math.min(safetyPollMs, 100 * 2 ** failures), false)
            continue
          }
          await loop.sleep(safetyPollMs, true)
          await loop.sleep(batchWindowMs, false)
        }
        stop()
      } catch (e) {
        this.logger.warn('log subscription failed', { runId, error: coerceError(e).message })
        stop(new Error(`the log of this run is not available right now; subscribe again with after: ${cursor}`))
      } finally {
        offLog()
        offRun()
        shared.off()
      }
    })
  }

  /** The run now, then each time it changes; ends after it reaches a final state. */
  async runUpdates(actor: Actor | null, runId: string): Promise<AsyncIterable<JobRun>> {
    await this.runs.get(actor, runId)
    const { safetyPollMs } = this.#options
    return new Repeater<JobRun>(async (push, stop) => {
      const loop = new LoopControl(stop, this.#timers)
      const off = this.#runWake.add(runId, loop.poke)
      let failures = 0
      try {
        let last = ''
        while (!loop.stopped) {
          loop.takePending()
          let run: JobRun | null
          try {
            run = await this.prisma.jobRun.findUnique({ where: { id: runId } })
            failures = 0
          } catch (e) {
            if (++failures >= this.#options.maxReadFailures) throw e
            this.logger.warn('run subscription read failed; retrying', { runId, failures, error: coerceError(e).message })
            await loop.sleep(Math.min(safetyPollMs, 100 * 2 ** failures), false)
            continue
          }
          if (!run || loop.stopped) break
          const key = runStateKey(run)
          if (key !== last) {
            last = key
            await push(run)
          }
          if (isFinalStatus(run.status)) break
          await loop.sleep(safetyPollMs, true)
        }
        stop()
      } catch (e) {
        this.logger.warn('run subscription failed', { runId, error: coerceError(e).message })
        stop(new Error('updates of this run are not available right now; subscribe again'))
      } finally {
        off()
      }
    })
  }

  /** Runs created or changed that match the filter (and that the actor may see), as they happen. */
  runsChanged(actor: Actor | null, filter: RunFilter): AsyncIterable<JobRun> {
    const where = this.runs.whereFor(actor, filter)
    const { batchWindowMs } = this.#options
    return new Repeater<JobRun>(async (push, stop) => {
      const loop = new LoopControl(stop, this.#timers)
      const dirty = new Set<string>()
      const lastPushed = new Map<string, string>()
      const onChange = (runId: string) => {
        dirty.add(runId)
        loop.poke()
      }
      this.#changed.add(onChange)
      try {
        // One read at a time, in notification order: a slow read can never deliver an older state
        // of a run after a newer one.
        while (!loop.stopped) {
          await loop.sleep(3_600_000, true)
          await loop.sleep(batchWindowMs * 2, false)
          loop.takePending()
          if (loop.stopped || !dirty.size) continue
          const ids = [...dirty]
          dirty.clear()
          let rows: JobRun[]
          try {
            rows = await this.prisma.jobRun.findMany({ where: { AND: [where, { id: { in: ids } }] }, orderBy: { number: 'asc' } })
          } catch (e) {
            // Keep the changes for the next try rather than losing them.
            this.logger.warn('runsChanged read failed; retrying', { error: coerceError(e).message })
            for (const id of ids) dirty.add(id)
            await loop.sleep(1000, false)
            loop.poke()
            continue
          }
          for (const r of rows) {
            if (loop.stopped) break
            if (!RunsService.matches(r, filter)) continue
            const key = runStateKey(r)
            if (lastPushed.get(r.id) === key) continue
            lastPushed.delete(r.id)
            lastPushed.set(r.id, key)
            if (lastPushed.size > FEED_MEMORY) lastPushed.delete(lastPushed.keys().next().value!)
            await push(r)
          }
        }
      } finally {
        this.#changed.delete(onChange)
      }
    })
  }
}

const sharedBatches = new WeakMap<StoredLogLine[], LogBatch>()

/**
 * The one batch object for lines of a shared read, so every subscriber that took the read pushes the
 * same event and GraphQL executes it once for all of them (graphql/shared-events.ts): nothing under
 * LogBatch depends on who is asking (visibility was checked when the subscription started).
 */
function sharedBatch(runId: string, lines: StoredLogLine[]): LogBatch {
  let batch = sharedBatches.get(lines)
  if (!batch) sharedBatches.set(lines, (batch = markShared({ runId, lines, lastSeq: lines.at(-1)!.seq })))
  return batch
}

/**
 * Per shared read: its cut. Every subscriber of a run takes the same lines array; counting its
 * characters once, not once per subscriber (1,000 × 2,000 lines per batch showed in profiles).
 */
const cuts = new WeakMap<StoredLogLine[], { maxChars: number; lines: StoredLogLine[] }>()

/** The first lines whose text fits in `maxChars` (always at least one). */
function withinChars(lines: StoredLogLine[], maxChars: number): StoredLogLine[] {
  const cut = cuts.get(lines)
  if (cut?.maxChars === maxChars) return cut.lines
  const result = cutAtChars(lines, maxChars)
  cuts.set(lines, { maxChars, lines: result })
  return result
}

function cutAtChars(lines: StoredLogLine[], maxChars: number): StoredLogLine[] {
  let chars = 0
  for (let i = 0; i < lines.length; i++) {
    chars += lines[i]!.text.length
    if (chars > maxChars && i > 0) return lines.slice(0, i)
  }
  return lines
}

/**
 * Identifies what a subscriber can see of a run. updated_at alone is not enough: it has millisecond
 * precision, and two transactions in the same millisecond (created, then claimed) would look alike.
 */
function runStateKey(r: JobRun): string {
  return [r.status, r.attempt, r.updatedAt.getTime(), r.targetsDone, r.targetsFailed, r.cancelRequestedAt?.getTime() ?? '', r.finishedAt?.getTime() ?? '', r.error ?? ''].join('|')
}
