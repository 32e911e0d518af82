/**
 * Job templates read with one prepared statement on the pg pool, as the JobTemplate Prisma would have
 * returned: every trigger reads its template first, and Prisma's query engine cost more CPU than the
 * rest of the read. Every column is named: one-statement-insert.test.ts fails when the table gains a
 * column this does not map, and compares the result with Prisma's own read.
 */
import type pg from 'pg'
import type { JobTemplate } from '../../generated/prisma/client.ts'
import { isUuid } from '../../util/uuid.ts'

export const JOB_TEMPLATE_COLUMNS = [
  'id', 'name', 'description', 'job_type', 'config', 'target_selector', 'parameters', 'outputs', 'timeout_seconds',
  'retry_max_attempts', 'retry_delay_seconds', 'retry_backoff', 'max_parallel_targets', 'success_threshold', 'overlap_policy',
  'max_concurrent_runs', 'log_limit_lines', 'log_limit_bytes', 'tags', 'owner_id', 'visibility', 'created_at', 'updated_at',
] as const

/**
 * Reads templates by id. Reads asked for in the same tick go as one statement (as Prisma batches its
 * findUnique calls): concurrent triggers then also reach the trigger group commit together.
 */
export class JobTemplateReader {
  #batch: Map<string, Array<{ resolve: (t: JobTemplate | null) => void; reject: (e: unknown) => void }>> | null = null

  constructor(private readonly pool: pg.Pool) {}

  /** The template, or null when there is none with this id (or the id is no UUID at all). */
  find(id: string): Promise<JobTemplate | null> {
    if (!isUuid(id)) return Promise.resolve(null)
    return new Promise((resolve, reject) => {
      if (!this.#batch) {
        this.#batch = new Map()
        process.nextTick(() => void this.#flush())
      }
      const waiting = this.#batch.get(id.toLowerCase()) ?? []
      waiting.push({ resolve, reject })
      this.#batch.set(id.toLowerCase(), waiting)
    })
  }

  async #flush(): Promise<void> {
    const batch = this.#batch!
    this.#batch = null
    try {
      const { rows } = await this.pool.query({
        name: 'switchyard-job-templates',
        text: `SELECT ${JOB_TEMPLATE_COLUMNS.join(', ')} FROM job_template WHERE id = ANY($1::uuid[])`,
        values: [[...batch.keys()]],
      })
      const byId = new Map(rows.map((r: Record<string, unknown>) => [r.id as string, jobTemplateFromRow(r)]))
      for (const [id, waiting] of batch) for (const w of waiting) w.resolve(byId.get(id) ?? null)
    } catch (e) {
      for (const waiting of batch.values()) for (const w of waiting) w.reject(e)
    }
  }
}

export function jobTemplateFromRow(r: Record<string, unknown>): JobTemplate {
  return {
    id: r.id as string,
    name: r.name as string,
    description: r.description as string,
    jobType: r.job_type as string,
    config: r.config as JobTemplate['config'],
    targetSelector: r.target_selector as JobTemplate['targetSelector'],
    parameters: r.parameters as JobTemplate['parameters'],
    outputs: r.outputs as JobTemplate['outputs'],
    timeoutSeconds: r.timeout_seconds as number | null,
    retryMaxAttempts: r.retry_max_attempts as number,
    retryDelaySeconds: r.retry_delay_seconds as number,
    retryBackoff: r.retry_backoff as JobTemplate['retryBackoff'],
    maxParallelTargets: r.max_parallel_targets as number,
    successThreshold: r.success_threshold as number | null,
    overlapPolicy: r.overlap_policy as JobTemplate['overlapPolicy'],
    maxConcurrentRuns: r.max_concurrent_runs as number | null,
    logLimitLines: r.log_limit_lines as number | null,
    logLimitBytes: r.log_limit_bytes as number | null,
    tags: r.tags as string[],
    ownerId: r.owner_id as string,
    visibility: r.visibility as JobTemplate['visibility'],
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  }
}
