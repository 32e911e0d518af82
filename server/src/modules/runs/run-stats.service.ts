/**
 * Run statistics computed in Postgres: counts by status, success rate, duration percentiles and a
 * bucketed time series over a range, plus the templates that failed most. Each is one statement,
 * and each applies the same visibility rule as run listings (GLOBAL runs and the actor's own; all for admins), so
 * statistics never reveal anything about runs the actor could not list.
 *
 * Runs retention deleted still count: their statistics live on in hourly roll-ups (run_stats_hourly,
 * written in the statement that deletes them), which every query here adds to the live runs. With
 * roll-ups in the range, p50/p95 are read from a duration histogram (within about 9 %); otherwise they
 * are exact.
 *
 * A run belongs to the range by its creation time. Buckets are fixed UTC hours or days; the range
 * starts at the bucket containing `since` and ends (exclusive) at `until`.
 */
import type pg from 'pg'
import { ValidationError } from '../../errors.ts'
import { requireActor, type Actor } from '../actor.ts'
import { RunStatus as RunStatusValues } from '../../generated/prisma/enums.ts'
import type { RunStatus, RunTrigger } from './runs.service.ts'
import { RUN_DURATION_MS } from './run-retention.ts'

export type StatsBucketSize = 'HOUR' | 'DAY'

/** Every status, in the schema's order (byStatus lists each, zeros included). */
export const RUN_STATUSES: readonly RunStatus[] = Object.values(RunStatusValues)
export const MAX_RANGE_DAYS = 366
export const MAX_BUCKETS = 2000
export const MAX_FAILING_TEMPLATES = 50
const BUCKET_MS: Record<StatsBucketSize, number> = { HOUR: 3_600_000, DAY: 86_400_000 }
const DAY_MS = 86_400_000

export interface RunStatsFilter {
  since: Date
  /** Exclusive; defaults to now. */
  until?: Date | null
  templateIds?: string[] | null
  scheduleIds?: string[] | null
  triggers?: RunTrigger[] | null
  bucket?: StatsBucketSize | null
}

/** A validated filter: `since` truncated to its bucket, `until` resolved, the bucket count known. */
export interface RunStatsRange {
  /** null: an admin, who sees every run. */
  actorId: string | null
  since: Date
  until: Date
  bucket: StatsBucketSize
  bucketCount: number
  templateIds: string[] | null
  scheduleIds: string[] | null
  triggers: RunTrigger[] | null
}

export interface DurationStats {
  count: number
  avgMs: number | null
  p50Ms: number | null
  p95Ms: number | null
  maxMs: number | null
}

export interface StatsBucket {
  start: Date
  total: number
  succeeded: number
  failed: number
  avgDurationMs: number | null
}

export interface RunStats {
  range: RunStatsRange
  total: number
  byStatus: Array<{ status: RunStatus; count: number }>
  succeeded: number
  /** FAILED + TIMED_OUT. */
  failed: number
  successRate: number | null
  duration: DurationStats
  buckets: StatsBucket[]
}

export interface FailingTemplate {
  templateId: string | null
  templateName: string
  failed: number
  total: number
}

// Runs of the range the actor may see ($1 since, $2 until, $3 actor — NULL for an admin, who sees all —, $4 templates, $5 schedules, $6 triggers).
const RANGE_RUNS = `
  SELECT status, created_at, template_id, template_name,
         ${RUN_DURATION_MS} AS duration_ms
    FROM job_run
   WHERE created_at >= $1 AND created_at < $2
     AND ($3::uuid IS NULL OR visibility = 'GLOBAL' OR owner_id = $3::uuid)
     AND ($4::uuid[] IS NULL OR template_id = ANY($4::uuid[]))
     AND ($5::uuid[] IS NULL OR schedule_id = ANY($5::uuid[]))
     AND ($6::text[] IS NULL OR trigger::text = ANY($6::text[]))`

// The roll-ups of runs retention deleted, under the same filter (a roll-up counts at its hour's start).
// A roll-up of a template deleted since has no template id, like the template's surviving runs.
const RANGE_ROLLUPS = `
  SELECT h.status, h.hour AS created_at, CASE WHEN t.id IS NULL THEN NULL ELSE h.template_id END AS template_id, h.template_name,
         h.runs, h.timed_runs, h.duration_ms_sum, h.duration_ms_max, h.duration_hist
    FROM run_stats_hourly h LEFT JOIN job_template t ON t.id = h.template_id
   WHERE h.hour >= $1 AND h.hour < $2
     AND ($3::uuid IS NULL OR h.visibility = 'GLOBAL' OR h.owner_id = $3::uuid)
     AND ($4::uuid[] IS NULL OR h.template_id = ANY($4::uuid[]))
     AND ($5::uuid[] IS NULL OR h.schedule_id = ANY($5::uuid[]))
     AND ($6::text[] IS NULL OR h.trigger::text = ANY($6::text[]))`

// Live runs and roll-ups as one set of facts: a live run is one run. A run is either live or in a
// roll-up, never both (retention moves it in one statement), so nothing is counted twice.
const FACTS = `
  runs AS (${RANGE_RUNS}),
  rolled AS (${RANGE_ROLLUPS}),
  facts AS (
    SELECT status, created_at, template_id, template_name, 1 AS n, (duration_ms IS NOT NULL)::int AS timed,
           coalesce(duration_ms, 0) AS dsum, duration_ms AS dmax FROM runs
    UNION ALL
    SELECT status, created_at, template_id, template_name, runs, timed_runs, duration_ms_sum, duration_ms_max FROM rolled)`

// Nearest-rank percentile $p over the duration histogram of live runs and roll-ups (used only when
// roll-ups are in the range; live runs alone get exact interpolated percentiles).
const HIST_PERCENTILE = (p: number) => `(SELECT run_duration_bucket_ms(i) FROM cum WHERE cum >= ceil(${p} * total) ORDER BY i LIMIT 1)`

// $7 bucket width in seconds, $8 bucket count. Widths are absolute seconds (never '1 day', which
// follows the session time zone's DST), and bucket starts are offsets from the UTC-aligned `since`.
const SUMMARY_SQL = `
  WITH ${FACTS},
  by_status AS (SELECT status::text AS status, sum(n)::int AS n FROM facts GROUP BY status),
  per_bucket AS (
    SELECT floor(extract(epoch FROM created_at - $1::timestamptz)::float8 / $7::float8)::int AS i,
           sum(n)::int AS total,
           (coalesce(sum(n) FILTER (WHERE status = 'SUCCEEDED'), 0))::int AS succeeded,
           (coalesce(sum(n) FILTER (WHERE status IN ('FAILED', 'TIMED_OUT')), 0))::int AS failed,
           sum(dsum) / nullif(sum(timed), 0) AS avg_ms
      FROM facts GROUP BY 1
  ),
  hist AS (
    SELECT i, sum(c) AS c FROM (
      SELECT run_duration_bucket(duration_ms) AS i, count(*) AS c FROM runs WHERE duration_ms IS NOT NULL GROUP BY 1
      UNION ALL
      SELECT u.i::int, u.c FROM rolled, unnest(rolled.duration_hist) WITH ORDINALITY AS u(c, i) WHERE u.c > 0
    ) x GROUP BY i),
  cum AS (SELECT i, sum(c) OVER (ORDER BY i) AS cum, sum(c) OVER () AS total FROM hist),
  exact AS (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
      FROM runs),
  d AS (SELECT coalesce(sum(timed), 0)::int AS count, sum(dsum) / nullif(sum(timed), 0) AS avg_ms, max(dmax) AS max_ms FROM facts),
  rolled_timed AS (SELECT coalesce(sum(timed_runs), 0) AS n FROM rolled)
  SELECT (SELECT coalesce(json_object_agg(status, n), '{}'::json) FROM by_status) AS by_status,
         d.count, d.avg_ms,
         CASE WHEN rolled_timed.n = 0 THEN exact.p50_ms ELSE least(d.max_ms, ${HIST_PERCENTILE(0.5)}) END AS p50_ms,
         CASE WHEN rolled_timed.n = 0 THEN exact.p95_ms ELSE least(d.max_ms, ${HIST_PERCENTILE(0.95)}) END AS p95_ms,
         d.max_ms,
         (SELECT json_agg(json_build_array(s.i, b.total, b.succeeded, b.failed, b.avg_ms) ORDER BY s.i)
            FROM generate_series(0, $8::int - 1) AS s(i) LEFT JOIN per_bucket b ON b.i = s.i) AS buckets
    FROM d, exact, rolled_timed`

// $7 limit. Runs of deleted templates group by their recorded name.
const FAILING_SQL = `
  WITH ${FACTS}
  SELECT template_id, (array_agg(template_name ORDER BY created_at DESC))[1] AS template_name,
         (coalesce(sum(n) FILTER (WHERE status IN ('FAILED', 'TIMED_OUT')), 0))::int AS failed, sum(n)::int AS total
    FROM facts
   GROUP BY template_id, CASE WHEN template_id IS NULL THEN template_name END
  HAVING sum(n) FILTER (WHERE status IN ('FAILED', 'TIMED_OUT')) > 0
   ORDER BY failed DESC, total DESC, template_name
   LIMIT $7`

/** Durations are whole milliseconds; means and interpolated percentiles keep three decimals (µs). */
function roundMs(ms: number | null): number | null {
  return ms == null ? null : Math.round(ms * 1000) / 1000
}

export class RunStatsService {
  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Validates a filter (field paths under `filter.`) and resolves its range for the actor. */
  range(actor: Actor | null, f: RunStatsFilter): RunStatsRange {
    const a = requireActor(actor)
    const bucket = f.bucket ?? 'HOUR'
    const width = BUCKET_MS[bucket]
    const until = f.until ?? this.now()
    if (until.getTime() <= f.since.getTime()) {
      throw ValidationError.field(f.until ? 'filter.until' : 'filter.since', f.until ? 'must be after since' : 'must be in the past (or pass until)')
    }
    // Epoch milliseconds have no leap seconds, so flooring to a multiple of the width is UTC-aligned.
    const since = new Date(Math.floor(f.since.getTime() / width) * width)
    const span = until.getTime() - since.getTime()
    if (span > MAX_RANGE_DAYS * DAY_MS) throw ValidationError.field('filter.since', `the range may span at most ${MAX_RANGE_DAYS} days`)
    const bucketCount = Math.ceil(span / width)
    if (bucketCount > MAX_BUCKETS) {
      throw ValidationError.field('filter.bucket', `${bucketCount} ${bucket} buckets is more than ${MAX_BUCKETS}; use DAY buckets or a shorter range`)
    }
    return {
      actorId: a.role === 'ADMIN' ? null : a.userId,
      since,
      until,
      bucket,
      bucketCount,
      templateIds: f.templateIds?.length ? f.templateIds : null,
      scheduleIds: f.scheduleIds?.length ? f.scheduleIds : null,
      triggers: f.triggers?.length ? f.triggers : null,
    }
  }

  async summary(range: RunStatsRange): Promise<RunStats> {
    type Row = {
      by_status: Record<string, number>
      count: number
      avg_ms: number | null
      p50_ms: number | null
      p95_ms: number | null
      max_ms: number | null
      buckets: Array<[number, number | null, number | null, number | null, number | null]>
    }
    const { rows } = await this.pool.query<Row>(SUMMARY_SQL, [...this.rangeParams(range), BUCKET_MS[range.bucket] / 1000, range.bucketCount])
    const row = rows[0]!
    const byStatus = RUN_STATUSES.map((status) => ({ status, count: row.by_status[status] ?? 0 }))
    const count = (s: RunStatus) => row.by_status[s] ?? 0
    const succeeded = count('SUCCEEDED')
    const failed = count('FAILED') + count('TIMED_OUT')
    const width = BUCKET_MS[range.bucket]
    return {
      range,
      total: byStatus.reduce((n, s) => n + s.count, 0),
      byStatus,
      succeeded,
      failed,
      successRate: succeeded + failed ? succeeded / (succeeded + failed) : null,
      duration: { count: row.count, avgMs: roundMs(row.avg_ms), p50Ms: roundMs(row.p50_ms), p95Ms: roundMs(row.p95_ms), maxMs: row.max_ms },
      buckets: row.buckets.map(([i, total, ok, bad, avg]) => ({
        start: new Date(range.since.getTime() + i * width),
        total: total ?? 0,
        succeeded: ok ?? 0,
        failed: bad ?? 0,
        avgDurationMs: roundMs(avg),
      })),
    }
  }

  /** Templates with failed (FAILED or TIMED_OUT) runs in the range, most failures first. */
  async failingTemplates(range: RunStatsRange, limit: number): Promise<FailingTemplate[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FAILING_TEMPLATES) throw ValidationError.field('limit', `must be 1-${MAX_FAILING_TEMPLATES}`)
    const { rows } = await this.pool.query<{ template_id: string | null; template_name: string; failed: number; total: number }>(FAILING_SQL, [...this.rangeParams(range), limit])
    return rows.map((r) => ({ templateId: r.template_id, templateName: r.template_name, failed: r.failed, total: r.total }))
  }

  private rangeParams(r: RunStatsRange): unknown[] {
    return [r.since, r.until, r.actorId, r.templateIds, r.scheduleIds, r.triggers]
  }
}
