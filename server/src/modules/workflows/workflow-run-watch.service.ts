/**
 * Watching workflow runs, and "my workflow runs ended" (the console's toasts): as run-watch.service.ts
 * for job runs — workflow runs the user started or watches (workflow_run_watch), each once when it
 * reaches its final status, while the user may see it.
 */
import type { PrismaClient, WorkflowRun } from '../../generated/prisma/client.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import type { Logger } from '../../util/logger.ts'
import { requireActor, type Actor } from '../actor.ts'
import { endedFeed, PAGE, type FeedOptions } from '../runs/ended-feed.ts'
import type { WorkflowRunsService } from './workflow-runs.service.ts'

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'] as const

export class WorkflowRunWatchService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly workflowRuns: WorkflowRunsService,
    private readonly listener: PgListener,
    private readonly logger: Logger,
    private readonly options: FeedOptions = { windowMs: 200, pollMs: 10_000 },
  ) {}

  /** Idempotent; personal, so not audited. */
  async watch(actor: Actor | null, id: string): Promise<WorkflowRun> {
    const run = await this.workflowRuns.get(actor, id)
    const userId = requireActor(actor).userId
    await this.prisma.workflowRunWatch.upsert({ where: { userId_workflowRunId: { userId, workflowRunId: run.id } }, create: { userId, workflowRunId: run.id }, update: {} })
    return run
  }

  async unwatch(actor: Actor | null, id: string): Promise<WorkflowRun> {
    const run = await this.workflowRuns.get(actor, id)
    await this.prisma.workflowRunWatch.deleteMany({ where: { userId: requireActor(actor).userId, workflowRunId: run.id } })
    return run
  }

  async isWatching(actor: Actor | null, id: string): Promise<boolean> {
    if (!actor) return false
    return (await this.prisma.workflowRunWatch.count({ where: { userId: actor.userId, workflowRunId: id } })) > 0
  }

  myWorkflowRunsEnded(actor: Actor | null, since: Date | null): AsyncIterable<WorkflowRun> {
    const a = requireActor(actor)
    const visible = this.workflowRuns.whereFor(a, {})
    return endedFeed<WorkflowRun>({
      prisma: this.prisma,
      listener: this.listener,
      channel: CHANNELS.workflowRun,
      logger: this.logger,
      options: this.options,
      since,
      what: 'myWorkflowRunsEnded',
      read: (after) =>
        this.prisma.workflowRun.findMany({
          where: {
            AND: [
              visible,
              { status: { in: [...FINAL] } },
              { finishedAt: { gt: after } },
              { OR: [{ triggeredById: a.userId }, { watches: { some: { userId: a.userId } } }] },
            ],
          },
          orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }],
          take: PAGE,
        }),
    })
  }
}
