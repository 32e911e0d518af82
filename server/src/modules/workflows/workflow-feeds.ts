/**
 * Live feeds about many workflow runs at once, for lists, the dashboard and the approvals inbox:
 *  - runsChanged: workflow runs created or changed that the subscriber may see and that match a filter;
 *  - pendingApprovals: the subscriber's current approvals inbox, again each time it changes.
 * Both are woken by the `switchyard_workflow_run` NOTIFY (sent by every node start, advance and
 * decision, from any process) and read the tables back, so authorization is the same per-subscriber
 * query the HTTP API runs. Notifications within a short window become one read.
 */
import { Repeater } from 'graphql-yoga'
import type { PrismaClient, WorkflowNodeRun, WorkflowRun } from '../../generated/prisma/client.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import { coerceError } from '../../util/errors.ts'
import type { Logger } from '../../util/logger.ts'
import { requireActor, type Actor } from '../actor.ts'
import { Wakeup } from './workflow-live.ts'
import type { WorkflowRunsService } from './workflow-runs.service.ts'

export interface WorkflowRunFilter {
  workflowId?: string | null
  statuses?: WorkflowRun['status'][] | null
}

/** Remembers the last state pushed per run, bounded (oldest forgotten first). */
const FEED_MEMORY = 1000

export interface FeedOptions {
  /** After a wake-up, the run feed waits this long (not cut short by more wake-ups): a burst, one read. */
  runsBatchMs: number
  /**
   * The same for the inbox, which is open in every console tab (the menu shows its count) and woken by
   * every workflow change, so it coalesces harder and polls rarely.
   */
  inboxBatchMs: number
  /** The inbox re-reads this often even without notifications (covers ones lost in a reconnect). */
  inboxSafetyPollMs: number
}

const DEFAULTS: FeedOptions = { runsBatchMs: 50, inboxBatchMs: 250, inboxSafetyPollMs: 30_000 }

/** Consecutive failed reads (the database unreachable) a feed rides out, a second apart, before it fails. */
const MAX_READ_FAILURES = 5

/** A pause the loop's wake-ups do not cut short (the subscriber leaving still ends the loop right after). */
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export class WorkflowFeeds {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly runs: WorkflowRunsService,
    private readonly listener: PgListener,
    private readonly logger: Logger,
    private readonly options: FeedOptions = DEFAULTS,
  ) {}

  runsChanged(actor: Actor | null, filter: WorkflowRunFilter): AsyncIterable<WorkflowRun> {
    const where = this.runs.whereFor(actor, filter)
    return new Repeater<WorkflowRun>(async (push, stop) => {
      const wakeup = new Wakeup()
      const dirty = new Set<string>()
      const lastPushed = new Map<string, string>()
      const off = await this.listener.on(CHANNELS.workflowRun, (id) => {
        dirty.add(id)
        wakeup.poke()
      })
      void stop.then(() => wakeup.stop())
      let failures = 0
      try {
        while (!wakeup.stopped) {
          // Wakeup.sleep returns at once for a subscriber who left while the loop was pushing.
          if (!wakeup.pending) await wakeup.sleep(3_600_000)
          // Coalesce: a node start, its advance and the run's end often come within milliseconds.
          if (!wakeup.stopped) await pause(this.options.runsBatchMs)
          wakeup.pending = false
          if (wakeup.stopped || !dirty.size) continue
          const ids = [...dirty]
          dirty.clear()
          let rows: WorkflowRun[]
          try {
            rows = await this.prisma.workflowRun.findMany({ where: { AND: [where, { id: { in: ids } }] }, orderBy: { number: 'asc' } })
            failures = 0
          } catch (e) {
            if (++failures >= MAX_READ_FAILURES) throw e
            // Keep the changes for the next try rather than losing them.
            ids.forEach((id) => dirty.add(id))
            wakeup.pending = true
            this.logger.warn('workflowRunsChanged read failed; retrying', { error: coerceError(e).message })
            await pause(1000)
            continue
          }
          for (const run of rows) {
            // The same state twice (a decision that did not settle the node) is not news to a list.
            const key = `${run.status}|${run.eventSeq}|${run.updatedAt.toISOString()}|${run.cancelRequestedAt?.toISOString() ?? ''}`
            if (lastPushed.get(run.id) === key) continue
            lastPushed.delete(run.id)
            lastPushed.set(run.id, key)
            if (lastPushed.size > FEED_MEMORY) lastPushed.delete(lastPushed.keys().next().value!)
            await push(run)
          }
        }
        stop()
      } catch (e) {
        this.logger.warn('workflowRunsChanged failed', { error: coerceError(e).message })
        stop(new Error('workflow run changes are not available right now; subscribe again'))
      } finally {
        await off()
      }
    })
  }

  /**
   * The approvals the actor may decide now, then the whole list again whenever it changes (a new
   * approval is awaited, one is decided or expires, a run is cancelled). A safety poll re-reads it too,
   * so a notification lost in a listener reconnect only delays the update.
   */
  pendingApprovals(actor: Actor | null): AsyncIterable<WorkflowNodeRun[]> {
    const a = requireActor(actor)
    return new Repeater<WorkflowNodeRun[]>(async (push, stop) => {
      const wakeup = new Wakeup()
      const off = await this.listener.on(CHANNELS.workflowRun, () => wakeup.poke())
      void stop.then(() => wakeup.stop())
      try {
        let last: string | null = null
        let failures = 0
        while (!wakeup.stopped) {
          wakeup.pending = false
          let list: WorkflowNodeRun[]
          let decisions: number
          try {
            list = await this.runs.pendingApprovals(a)
            // A decision that does not settle the node (1 of 2 approvals) changes what the inbox shows too.
            decisions = list.length ? await this.prisma.workflowApproval.count({ where: { nodeRunId: { in: list.map((n) => n.id) } } }) : 0
            failures = 0
          } catch (e) {
            if (++failures >= MAX_READ_FAILURES) throw e
            this.logger.warn('pendingApprovalsChanged read failed; retrying', { error: coerceError(e).message })
            await pause(1000)
            continue
          }
          const key = `${list.map((n) => `${n.id}:${n.status}`).join(',')}|${decisions}`
          if (key !== last) {
            last = key
            await push(list)
          }
          if (!wakeup.pending) await wakeup.sleep(this.options.inboxSafetyPollMs)
          if (wakeup.pending && !wakeup.stopped) await pause(this.options.inboxBatchMs)
        }
        stop()
      } catch (e) {
        this.logger.warn('pendingApprovalsChanged failed', { error: coerceError(e).message })
        stop(new Error('the approvals inbox is not available right now; subscribe again'))
      } finally {
        await off()
      }
    })
  }
}
