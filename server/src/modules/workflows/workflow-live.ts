/**
 * `workflowRunUpdated`: the workflow run now, then again each time it or one of its nodes changes
 * (woken by the NOTIFY every advance and every node start sends), ending after its final state. The
 * tables are the truth: a wake-up re-reads, so a lost notification only delays (a safety poll covers it).
 */
import { Repeater } from 'graphql-yoga'
import type { PrismaClient, WorkflowRun, WorkflowRunEvent } from '../../generated/prisma/client.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import { coerceError } from '../../util/errors.ts'
import type { Logger } from '../../util/logger.ts'
import type { Actor } from '../actor.ts'
import type { WorkflowRunsService } from './workflow-runs.service.ts'

const FINAL_RUN = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED'])

/**
 * How a subscription loop sleeps: until a NOTIFY for its run pokes it, the subscriber leaves, or the safety
 * poll passes. A poke that comes while the loop is reading is remembered (`pending`), so it reads again.
 */
export class Wakeup {
  pending = false
  stopped = false
  #wake: (() => void) | null = null

  poke(): void {
    this.pending = true
    this.#wake?.()
  }

  stop(): void {
    this.stopped = true
    this.#wake?.()
  }

  async sleep(ms: number): Promise<void> {
    // Stopped before this sleep began (the subscriber left while the loop was reading): no wait at all,
    // or the departed subscriber's listener would live on for up to `ms`.
    if (this.stopped) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.#wake = null
  }
}

export class WorkflowLive {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly runs: WorkflowRunsService,
    private readonly listener: PgListener,
    private readonly logger: Logger,
    private readonly safetyPollMs = 5000,
  ) {}

  async runUpdates(actor: Actor | null, id: string): Promise<AsyncIterable<WorkflowRun>> {
    await this.runs.get(actor, id)
    return new Repeater<WorkflowRun>(async (push, stop) => {
      const wakeup = new Wakeup()
      // Listening before the first read: a change between the read and LISTEN cannot be missed.
      const off = await this.listener.on(CHANNELS.workflowRun, (payload) => payload === id && wakeup.poke())
      void stop.then(() => wakeup.stop())
      try {
        let last = ''
        while (!wakeup.stopped) {
          wakeup.pending = false
          const run = await this.prisma.workflowRun.findUnique({ where: { id } })
          if (!run) break
          const nodes = await this.prisma.workflowNodeRun.findMany({ where: { workflowRunId: id }, select: { key: true, status: true, jobRunId: true }, orderBy: { position: 'asc' } })
          const key = `${run.status}|${run.updatedAt.toISOString()}|${nodes.map((n) => `${n.key}:${n.status}:${n.jobRunId ?? ''}`).join(',')}`
          if (key !== last) {
            last = key
            await push(run)
          }
          if (run.status !== 'RUNNING') break
          if (!wakeup.pending) await wakeup.sleep(this.safetyPollMs)
        }
        stop()
      } catch (e) {
        this.logger.warn('workflow run subscription failed', { workflowRunId: id, error: coerceError(e).message })
        stop(new Error('updates of this workflow run are not available right now; subscribe again'))
      } finally {
        await off()
      }
    })
  }

  /**
   * The run's events after `after` (a seq; 0 for all), then new ones as they commit, in order, with no
   * gap and no duplicate (it only ever reads `seq > cursor`); completes after the run's final event.
   */
  async events(actor: Actor | null, id: string, after: number): Promise<AsyncIterable<WorkflowRunEvent>> {
    await this.runs.get(actor, id)
    return new Repeater<WorkflowRunEvent>(async (push, stop) => {
      const wakeup = new Wakeup()
      const off = await this.listener.on(CHANNELS.workflowRun, (payload) => payload === id && wakeup.poke())
      void stop.then(() => wakeup.stop())
      try {
        let cursor = after
        let ended = false
        while (!wakeup.stopped && !ended) {
          wakeup.pending = false
          const rows = await this.prisma.workflowRunEvent.findMany({ where: { workflowRunId: id, seq: { gt: cursor } }, orderBy: { seq: 'asc' }, take: 500 })
          for (const e of rows) {
            await push(e)
            cursor = e.seq
            if (e.nodeKey === null && FINAL_RUN.has(e.status)) ended = true
          }
          if (ended || rows.length === 500 || wakeup.pending) continue
          await wakeup.sleep(this.safetyPollMs)
        }
        stop()
      } catch (e) {
        this.logger.warn('workflow run event subscription failed', { workflowRunId: id, error: coerceError(e).message })
        stop(new Error('events of this workflow run are not available right now; subscribe again with `after`'))
      } finally {
        await off()
      }
    })
  }
}
