/**
 * Triggered runs written by ONE statement, which commits on its own: the job_run rows, their targets,
 * their queue messages (pg-boss's own INSERT, embedded the way pg-boss embeds it for its flows), their
 * audit events and their change notifications, all in data-modifying CTEs. The same rows as the
 * transaction of five statements it replaces (BEGIN, runs, messages, NOTIFYs, audit, COMMIT, each a
 * round trip through Prisma), and just as atomic: one statement is one transaction. A trigger's latency
 * is mostly those round trips, and a caller waits for it, so this is what sets how fast callers can
 * create runs (bench: "end-to-end no-op runs").
 *
 * Returns null, having written nothing, when the statement cannot be built exactly (pg-boss's insert is
 * not in the expected shape, or an audit name would be clipped, which only JavaScript does the way the
 * rest of the audit trail does): the caller then uses the transaction.
 */
import { createHash } from 'node:crypto'
import type pg from 'pg'
import type { JobRun } from '../../generated/prisma/client.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import { messagesStatement, type RunQueue } from '../../jobs/run-queue.ts'
import { MAX_VALUE_CHARS } from '../audit/changes.ts'
import { JOB_RUN_COLUMNS, jobRunFromRow } from './job-run-row.ts'

export interface RunToInsert {
  id: string
  /** job_run's columns as Prisma's create data names them (runRow). */
  row: {
    templateId: string | null
    templateName: string
    jobType: string
    spec: unknown
    scheduleId: string | null
    slotAt: Date | null
    trigger: string
    triggeredById: string | null
    retryOfId: string | null
    triggeredByRunId: string | null
    webhookEndpointId: string | null
    ownerId: string | null
    visibility: string
    parameters: unknown
    secretParameters: Uint8Array | null
    maxAttempts: number
    concurrencyKey: string | null
    maxConcurrent: number | null
    targetsTotal: number
  }
  targets: ReadonlyArray<{ targetId: string | null; name: string; host: string; port: number }>
  timeoutSeconds: number | null
  /** The audit event's columns but its entity name, which needs the run's number (eventRow). */
  audit: { actorId: string | null; actorName: string | null; via: string; action: string; changes: unknown }
}

/** The longest run number: an int4. With '#', the number and a space, a name this much shorter is never clipped. */
const NUMBER_PREFIX_MAX = '#2147483647 '.length

export async function insertRunsInOneStatement(pool: pg.Pool, queue: RunQueue, runs: readonly RunToInsert[]): Promise<JobRun[] | null> {
  if (!runs.length) return []
  // The audit entity name is "#<number> <template name>", clipped like every audit text; the number is
  // only known in the statement, so names that could need clipping go the other way.
  if (runs.some((r) => r.row.templateName.length + NUMBER_PREFIX_MAX > MAX_VALUE_CHARS)) return null
  const messages = await messagesStatement(queue, runs.map((r) => ({ runId: r.id, timeoutSeconds: r.timeoutSeconds })), 3)
  if (!messages) return null
  const input = runs.map((r, ord) => ({
    ord,
    id: r.id,
    template_id: r.row.templateId,
    template_name: r.row.templateName,
    job_type: r.row.jobType,
    spec: r.row.spec,
    schedule_id: r.row.scheduleId,
    slot_at: r.row.slotAt,
    trigger: r.row.trigger,
    triggered_by_id: r.row.triggeredById,
    retry_of_id: r.row.retryOfId,
    triggered_by_run_id: r.row.triggeredByRunId,
    webhook_endpoint_id: r.row.webhookEndpointId,
    owner_id: r.row.ownerId,
    visibility: r.row.visibility,
    parameters: r.row.parameters,
    secret_parameters: r.row.secretParameters ? Buffer.from(r.row.secretParameters).toString('base64') : null,
    max_attempts: r.row.maxAttempts,
    concurrency_key: r.row.concurrencyKey,
    max_concurrent: r.row.maxConcurrent,
    targets_total: r.row.targetsTotal,
    actor_id: r.audit.actorId,
    actor_name: r.audit.actorName,
    via: r.audit.via,
    action: r.audit.action,
    changes: r.audit.changes ?? null,
  }))
  const targets = runs.flatMap((r) => r.targets.map((t, position) => ({ run_id: r.id, target_id: t.targetId, position, name: t.name, host: t.host, port: t.port })))
  const text = `
      WITH input AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
          ord int, id uuid, template_id uuid, template_name text, job_type text, spec jsonb, schedule_id uuid, slot_at timestamptz,
          trigger text, triggered_by_id uuid, retry_of_id uuid, triggered_by_run_id uuid, webhook_endpoint_id uuid, owner_id uuid,
          visibility text, parameters jsonb, secret_parameters text, max_attempts int, concurrency_key text, max_concurrent int,
          targets_total int, actor_id uuid, actor_name text, via text, action text, changes jsonb)
      ),
      runs AS (
        INSERT INTO job_run (id, template_id, template_name, job_type, spec, schedule_id, slot_at, trigger, triggered_by_id, retry_of_id,
                             triggered_by_run_id, webhook_endpoint_id, owner_id, visibility, parameters, secret_parameters, max_attempts,
                             concurrency_key, max_concurrent, targets_total)
        SELECT id, template_id, template_name, job_type, spec, schedule_id, slot_at, trigger::"RunTrigger", triggered_by_id, retry_of_id,
               triggered_by_run_id, webhook_endpoint_id, owner_id, visibility::"Visibility", parameters, decode(secret_parameters, 'base64'),
               max_attempts, concurrency_key, max_concurrent, targets_total
          FROM input ORDER BY ord
        RETURNING ${JOB_RUN_COLUMNS.join(', ')}
      ),
      targets AS (
        INSERT INTO run_target (run_id, target_id, position, name, host, port)
        SELECT run_id, target_id, position, name, host, port
          FROM jsonb_to_recordset($2::jsonb) AS t(run_id uuid, target_id uuid, position int, name text, host text, port int)
      ),
      messages AS (${messages.text}),
      audit AS (
        INSERT INTO audit_event (actor_id, actor_name, via, action, entity_type, entity_id, entity_name, changes)
        SELECT i.actor_id, i.actor_name, i.via::"AuditVia", i.action, 'JobRun', r.id, '#' || r.number || ' ' || r.template_name, i.changes
          FROM runs r JOIN input i ON i.id = r.id
      ),
      notified AS (
        SELECT pg_notify(m.channel, m.payload) FROM (SELECT $4::text AS channel, id::text AS payload FROM input UNION ALL SELECT $5::text, '') AS m
      )
      SELECT r.*, (SELECT count(*) FROM notified) AS notified FROM runs r`
  // Prepared once per connection, named for its text (pg-boss's part is the same for every call). The
  // columns are listed, not `*`: a migration adding a job_run column (another process upgraded first)
  // must not change a prepared statement's result type ("cached plan must not change result type").
  const { rows } = await pool.query({
    name: statementName(text),
    text,
    values: [JSON.stringify(input), JSON.stringify(targets), messages.value, CHANNELS.run, CHANNELS.queued],
  })
  // Committed from here on: whatever fails now must not make the caller write these runs again.
  try {
    const byId = new Map(rows.map((r: Record<string, unknown>) => [r.id as string, jobRunFromRow(r)]))
    return runs.map((r) => {
      const run = byId.get(r.id)
      // Cannot happen (every row inserted is returned).
      if (!run) throw new Error(`run ${r.id} was not returned by its insert`)
      return run
    })
  } catch (e) {
    throw new CommittedError(e)
  }
}

/**
 * The runs were committed, but reading back what the statement returned failed. Not a failure to split
 * and commit item by item (that would write every run of the batch a second time): each caller gets it.
 */
export class CommittedError extends Error {
  constructor(cause: unknown) {
    super(`the runs were created, but reading them back failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.name = 'CommittedError'
  }
}

let lastName: { text: string; name: string } | null = null

function statementName(text: string): string {
  if (lastName?.text !== text) lastName = { text, name: `switchyard-insert-runs-${createHash('sha256').update(text).digest('hex').slice(0, 16)}` }
  return lastName.name
}
