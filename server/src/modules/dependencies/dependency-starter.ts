/**
 * Runs in every worker process: turns PENDING template dependency triggers (written by the trigger on
 * job_run when an upstream run became final, see the template_dependencies migration) into runs of the
 * downstream template. Woken by the NOTIFY that commits with the trigger rows; a periodic sweep covers
 * notifications lost while the listener reconnected. Any number of processes may run it: rows are taken
 * FOR UPDATE SKIP LOCKED and marked in the transaction that creates the run, so each becomes at most one
 * run, and exactly one once some worker gets to it.
 *
 * The run goes through triggerJobRun's checks and row (RunsService.planRun + createRunIn: parameter
 * validation, target selection, the queue and the template's concurrency limit) with the template's
 * overlap policy applied, and acts as the dependency's owner, checked now: a disabled owner, one who may
 * no longer see the template, a viewer, or a chain over MAX_CHAIN links ends the trigger FAILED with the
 * reason (shown on the dependency), never a run.
 */
import type { Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import { DomainError } from '../../errors.ts'
import { retryConflicts } from '../../db/transient.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import { coerceError } from '../../util/errors.ts'
import type { Logger } from '../../util/logger.ts'
import { canSee, type Actor } from '../actor.ts'
import { applyOverlapPolicy } from '../runs/overlap.ts'
import type { RunsService } from '../runs/runs.service.ts'
import { MAX_CHAIN } from './dependency-graph.ts'

const BATCH = 16

export class DependencyStarter {
  #off: (() => Promise<void>) | null = null
  #timer: NodeJS.Timeout | null = null
  #draining: Promise<void> | null = null
  #again = false
  #stopped = false

  constructor(
    private readonly prisma: PrismaClient,
    private readonly runs: RunsService,
    private readonly listener: PgListener,
    private readonly logger: Logger,
    private readonly sweepMs: number,
  ) {}

  async start(): Promise<void> {
    this.#off = await this.listener.on(CHANNELS.dependency, () => this.wake())
    this.#timer = setInterval(() => this.wake(), this.sweepMs)
    this.#timer.unref()
    this.wake()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearInterval(this.#timer)
    await this.#off?.()
    await this.#draining
  }

  /** Handles pending triggers until none is left (a wake-up during a pass makes another pass). */
  wake(): void {
    if (this.#draining) {
      this.#again = true
      return
    }
    this.#draining = (async () => {
      do {
        this.#again = false
        try {
          while (!this.#stopped && (await this.startPending()) === BATCH) {
            /* a full batch: there may be more */
          }
        } catch (e) {
          // Left PENDING: the next wake-up or sweep retries them.
          this.logger.error('starting dependent runs failed', { error: coerceError(e).message })
        }
      } while (this.#again && !this.#stopped)
    })().finally(() => {
      this.#draining = null
    })
  }

  /** One batch in one transaction (one savepoint per trigger). Returns how many it took. */
  async startPending(): Promise<number> {
    return retryConflicts(() =>
      this.prisma.$transaction(
        async (tx) => {
          const rows = await tx.$queryRaw<Array<{ id: string }>>`
            SELECT id FROM template_dependency_trigger WHERE status = 'PENDING'
             ORDER BY created_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`
          for (const { id } of rows) {
            await tx.$executeRawUnsafe('SAVEPOINT dependency_trigger')
            try {
              const outcome = await this.#start(tx, id)
              await tx.$executeRawUnsafe('RELEASE SAVEPOINT dependency_trigger')
              await tx.templateDependencyTrigger.update({ where: { id }, data: { ...outcome, handledAt: new Date() } })
            } catch (e) {
              await tx.$executeRawUnsafe('ROLLBACK TO SAVEPOINT dependency_trigger')
              if (!(e instanceof DomainError)) throw e
              await tx.templateDependencyTrigger.update({ where: { id }, data: { status: 'FAILED', reason: `could not start: ${e.message}`, handledAt: new Date() } })
            }
          }
          return rows.length
        },
        { timeout: 60_000 },
      ),
    )
  }

  async #start(tx: Prisma.TransactionClient, triggerId: string): Promise<{ status: 'STARTED' | 'SKIPPED' | 'FAILED'; runId?: string; reason?: string }> {
    const t = await tx.templateDependencyTrigger.findUniqueOrThrow({
      where: { id: triggerId },
      include: { dependency: { include: { downstream: true, upstream: { select: { name: true } }, owner: { select: { id: true, username: true, role: true, disabled: true } } } }, upstreamRun: { select: { id: true, number: true, status: true } } },
    })
    const { dependency: dep, upstreamRun } = t
    const failed = (why: string) => ({ status: 'FAILED' as const, reason: `could not start: ${why}` })
    // Disabled after A's run ended but before a worker got here: the dependency's current state decides.
    if (!dep.enabled) return { status: 'SKIPPED', reason: 'skipped: the dependency was disabled' }
    const owner = dep.owner
    if (owner.disabled) return failed(`the dependency's owner ${owner.username} is disabled`)
    if (owner.role === 'VIEWER') return failed(`the dependency's owner ${owner.username} is a viewer and may not run templates`)
    // `via` unset: the run records its owner as who triggered it (a SYSTEM actor would leave it empty).
    const actor: Actor = { userId: owner.id, username: owner.username, role: owner.role }
    const template = dep.downstream
    if (!canSee(actor, template)) return failed(`template "${template.name}" is not visible to the dependency's owner ${owner.username}`)
    const depth = await chainLength(tx, upstreamRun.id)
    if (depth >= MAX_CHAIN) return failed(`run #${upstreamRun.number} ends a chain of ${depth} dependent runs; at most ${MAX_CHAIN} follow one another`)
    const overlap = await applyOverlapPolicy(tx, this.runs, template, template.overlapPolicy, `a dependency on "${dep.upstream.name}"`)
    if ('skip' in overlap) return { status: 'SKIPPED', reason: overlap.skip }
    const plan = await this.runs.planRun(tx, template, dep.parameters, null, null)
    const run = await this.runs.createRunIn(tx, { ...plan, maxConcurrent: overlap.maxConcurrent, actor, trigger: 'DEPENDENCY', scheduleId: null, retryOfId: null, triggeredByRunId: upstreamRun.id })
    return { status: 'STARTED', runId: run.id }
  }
}

/** How many dependency links led to this run (0 for a run nobody's dependency started). */
async function chainLength(tx: Prisma.TransactionClient, runId: string): Promise<number> {
  const [row] = await tx.$queryRaw<Array<{ n: number }>>`
    WITH RECURSIVE chain(id, n) AS (
      SELECT triggered_by_run_id, 0 FROM job_run WHERE id = ${runId}::uuid
      UNION ALL
      SELECT j.triggered_by_run_id, c.n + 1 FROM chain c JOIN job_run j ON j.id = c.id WHERE c.n <= ${MAX_CHAIN}
    )
    SELECT max(n)::int AS n FROM chain WHERE id IS NOT NULL`
  return row?.n === null || row?.n === undefined ? 0 : row.n + 1
}
