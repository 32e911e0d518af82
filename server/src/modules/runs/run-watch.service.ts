/**
 * Watching runs, and the feed of "my runs ended" behind the console's toasts: runs the user started
 * (triggeredBy) or watches (the "Watch" toggle, a job_run_watch row, so every tab and device agrees),
 * each once when it reaches its final status, only while the user may see it (ended-feed.ts).
 */
import type { JobRun, PrismaClient } from '../../generated/prisma/client.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import type { PgListener } from '../../pubsub/pg-listener.ts'
import type { Logger } from '../../util/logger.ts'
import { requireActor, type Actor } from '../actor.ts'
import { endedFeed, PAGE, type FeedOptions } from './ended-feed.ts'
import type { RunsService } from './runs.service.ts'

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const

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
    return endedFeed<JobRun>({
      prisma: this.prisma,
      listener: this.listener,
      channel: CHANNELS.run,
      logger: this.logger,
      options: this.options,
      since,
      what: 'myJobRunsEnded',
      read: (after) =>
        this.prisma.jobRun.findMany({
          where: {
            AND: [
              visible,
              { status: { in: [...FINAL] } },
              { finishedAt: { gt: after } },
              // A workflow's node runs act as whoever started it: the workflow run's own end tells them
              // (myWorkflowRunsEnded); its nodes only when watched one by one.
              { OR: [{ triggeredById: a.userId, trigger: { not: 'WORKFLOW' } }, { watches: { some: { userId: a.userId } } }] },
            ],
          },
          // Newest first, so a burst bigger than a page drops its oldest ends, never the new ones.
          orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }],
          take: PAGE,
        }),
    })
  }
}
