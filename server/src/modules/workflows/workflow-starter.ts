/**
 * Runs in every worker process: starts the nodes that workflow_advance() made READY. Woken by the
 * NOTIFY that commits with the advance; a periodic sweep covers notifications lost while the listener
 * reconnected (or a process that died between commit and start). Any number of processes may run it:
 * startReadyNodes works under the workflow run's row lock.
 */
import type { PrismaClient } from '../../generated/prisma/client.ts'
import { retryConflicts } from '../../db/transient.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import { coerceError } from '../../util/errors.ts'
import type { Logger } from '../../util/logger.ts'
import { expireApprovals } from './node-approvals.ts'
import { startReadyNodes, type StarterDeps } from './node-starter.ts'

const SLICE = 50

export class WorkflowStarter {
  #off: (() => Promise<void>) | null = null
  #timer: NodeJS.Timeout | null = null
  #pending = new Set<string>()
  #draining: Promise<void> | null = null
  #stopped = false

  constructor(
    private readonly prisma: PrismaClient,
    private readonly listener: PgListener,
    private readonly deps: StarterDeps,
    private readonly logger: Logger,
    private readonly sweepMs: number,
  ) {}

  async start(): Promise<void> {
    this.#off = await this.listener.on(CHANNELS.workflowReady, (payload) => this.#wake([payload]))
    this.#timer = setInterval(() => void this.sweep(), this.sweepMs)
    this.#timer.unref()
    await this.sweep()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearInterval(this.#timer)
    await this.#off?.()
    await this.#draining
  }

  /**
   * Catches up nodes still RUNNING behind a JobRun that ended (the advance in the run's final
   * transaction failed and was isolated, see workflow_job_run_ended), then starts READY nodes of every
   * workflow run that has some (those left behind by a lost wake-up).
   */
  async sweep(): Promise<void> {
    try {
      await this.prisma.$queryRawUnsafe(
        `SELECT workflow_node_run_ended(n.job_run_id)::text AS id
           FROM workflow_node_run n JOIN job_run j ON j.id = n.job_run_id
          WHERE n.status = 'RUNNING' AND j.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED')
          LIMIT 100`,
      )
      const rows = await this.prisma.workflowNodeRun.findMany({ where: { status: 'READY' }, distinct: ['workflowRunId'], select: { workflowRunId: true }, take: 500 })
      this.#wake(rows.map((r) => r.workflowRunId))
      await this.#draining
      await expireApprovals(this.prisma)
    } catch (e) {
      this.logger.warn('workflow sweep failed', { error: coerceError(e).message })
    }
  }

  #wake(ids: string[]): void {
    for (const id of ids) this.#pending.add(id)
    if (!this.#draining && this.#pending.size) {
      this.#draining = this.#drain().finally(() => {
        this.#draining = null
        if (this.#pending.size && !this.#stopped) this.#wake([])
      })
    }
  }

  async #drain(): Promise<void> {
    while (this.#pending.size && !this.#stopped) {
      const id = this.#pending.values().next().value!
      this.#pending.delete(id)
      try {
        // A slice per transaction: a fan-out's first runs start while the rest are still being created.
        // Waiting for the run's lock, not skipping it: the first slice's runs end while the next slice is
        // due, and each of their settles holds the lock at commit (workflow_advance), one after another —
        // a starter that skipped a locked run found it locked at every wake-up until all those settles
        // were through (bench: a fan-out of 100 at 100 worker slots, its second slice 200–300 ms late).
        // A starter in another process woken for the same run waits too, then finds nothing READY.
        for (let more = true; more && !this.#stopped; ) {
          more = (await retryConflicts(() => this.prisma.$transaction((tx) => startReadyNodes(tx, id, this.deps, { limit: SLICE }), { timeout: 60_000 }))).more
        }
      } catch (e) {
        // Left READY: the next sweep retries it.
        this.logger.error('starting workflow nodes failed', { workflowRunId: id, error: coerceError(e).message })
      }
    }
  }
}
