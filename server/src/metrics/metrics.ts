/**
 * Prometheus metrics of one process (prom-client, its own registry: nothing global). Labels are
 * bounded sets only — run status, job type (the registry's types), SSH failure kind — never run,
 * target or user ids. Gauges that describe the database (queue depth, oldest queued run) are computed
 * on scrape with one cheap indexed query; if it fails (Postgres down) the scrape still answers, with
 * `switchyard_database_up 0` and those gauges left out.
 */
import crypto from 'node:crypto'
import type pg from 'pg'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** What the scrape reads from the running parts (each null when the role is not in this process). */
export interface MetricSources {
  /** Runs this worker executes now, and its slots. */
  worker: (() => { running: number; slots: number }) | null
  /** Open graphql-ws connections, the operations they run, and the most bytes any one has queued. */
  subscriptions: (() => { connections: number; operations: number; maxBufferedBytes: number }) | null
  /** The process's own Postgres pool (for its queries; pg-boss and LISTEN have their own connections). */
  pool: pg.Pool
  poolMax: number
  /** One query: queued runs and the oldest one's age in seconds. */
  queueState(): Promise<{ depth: number; oldestAgeSeconds: number }>
}

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600]
const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]
/** From the event to its delivery's final outcome: retries with backoff stretch it to hours. */
const NOTIFY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600]
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** What one delivery attempt came to: delivered, will be tried again, or given up (the delivery FAILED). */
export type NotificationOutcome = 'delivered' | 'retry' | 'failed'

export class Metrics {
  readonly registry = new Registry()
  readonly #runsStarted: Counter<'job_type'>
  readonly #runsFinished: Counter<'status' | 'job_type'>
  readonly #runDuration: Histogram<'status' | 'job_type'>
  readonly #queueWait: Histogram<'job_type'>
  readonly #lateness: Histogram
  readonly #logLines: Counter
  readonly #logBytes: Counter
  readonly #sshFailures: Counter<'reason'>
  readonly #notifyAttempts: Counter<'channel_kind' | 'outcome'>
  readonly #notifyLatency: Histogram<'channel_kind' | 'outcome'>
  readonly #notifyRequest: Histogram<'channel_kind'>

  constructor() {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    this.#runsStarted = new Counter({ name: 'switchyard_runs_started_total', help: 'Run attempts this worker started, by job type.', labelNames: ['job_type'], registers })
    this.#runsFinished = new Counter({
      name: 'switchyard_runs_finished_total',
      help: 'Runs this process brought to a final status, by status and job type: its worker\'s runs, and runs of dead workers its reaper failed (attempts requeued for a retry are not counted).',
      labelNames: ['status', 'job_type'],
      registers,
    })
    this.#runDuration = new Histogram({
      name: 'switchyard_run_duration_seconds',
      help: 'Wall time of a run\'s final attempt, from claim to final status (for a run its reaper failed: from the attempt\'s start until then).',
      labelNames: ['status', 'job_type'],
      buckets: DURATION_BUCKETS,
      registers,
    })
    this.#queueWait = new Histogram({
      name: 'switchyard_run_queue_wait_seconds',
      help: 'From a run\'s creation to its first attempt starting on this worker.',
      labelNames: ['job_type'],
      buckets: WAIT_BUCKETS,
      registers,
    })
    this.#lateness = new Histogram({
      name: 'switchyard_schedule_fire_lateness_seconds',
      help: 'How long after its slot time this scheduler fired a schedule slot (on time and caught-up slots).',
      buckets: WAIT_BUCKETS,
      registers,
    })
    this.#logLines = new Counter({ name: 'switchyard_log_lines_written_total', help: 'Run log lines this process wrote to Postgres.', registers })
    this.#logBytes = new Counter({ name: 'switchyard_log_bytes_written_total', help: 'Bytes (UTF-8 text) of the run log lines this process wrote.', registers })
    this.#sshFailures = new Counter({
      name: 'switchyard_ssh_connect_failures_total',
      help: 'SSH connections this worker could not establish, by reason (refused, unreachable, timeout, auth, host_key_mismatch, protocol, reset).',
      labelNames: ['reason'],
      registers,
    })
    this.#notifyAttempts = new Counter({
      name: 'switchyard_notification_delivery_attempts_total',
      help: 'Notification delivery attempts this worker made, by channel kind and outcome (delivered; retry: will be tried again; failed: given up).',
      labelNames: ['channel_kind', 'outcome'],
      registers,
    })
    this.#notifyLatency = new Histogram({
      name: 'switchyard_notification_delivery_latency_seconds',
      help: 'From the event (the run\'s final transition) to its delivery\'s final outcome (delivered or failed), retries included.',
      labelNames: ['channel_kind', 'outcome'],
      buckets: NOTIFY_BUCKETS,
      registers,
    })
    this.#notifyRequest = new Histogram({
      name: 'switchyard_notification_request_duration_seconds',
      help: 'Duration of one delivery attempt\'s request to the receiver, whatever it answered.',
      labelNames: ['channel_kind'],
      buckets: REQUEST_BUCKETS,
      registers,
    })
  }

  runStarted(jobType: string, queueWaitSeconds: number | null): void {
    this.#runsStarted.inc({ job_type: jobType })
    if (queueWaitSeconds !== null) this.#queueWait.observe({ job_type: jobType }, Math.max(0, queueWaitSeconds))
  }

  runFinished(jobType: string, status: string, durationSeconds: number): void {
    this.#runsFinished.inc({ status, job_type: jobType })
    this.#runDuration.observe({ status, job_type: jobType }, durationSeconds)
  }

  scheduleFired(latenessSeconds: number): void {
    this.#lateness.observe(Math.max(0, latenessSeconds))
  }

  logWritten(lines: number, bytes: number): void {
    this.#logLines.inc(lines)
    this.#logBytes.inc(bytes)
  }

  /**
   * One delivery attempt: its request's duration, and for a final outcome (delivered or failed) how long
   * after the event that was.
   */
  notificationAttempt(channelKind: string, outcome: NotificationOutcome, requestSeconds: number | null, sinceEventSeconds: number): void {
    this.#notifyAttempts.inc({ channel_kind: channelKind, outcome })
    if (requestSeconds !== null) this.#notifyRequest.observe({ channel_kind: channelKind }, requestSeconds)
    if (outcome !== 'retry') this.#notifyLatency.observe({ channel_kind: channelKind, outcome }, Math.max(0, sinceEventSeconds))
  }

  sshConnectFailed(reason: string): void {
    if (reason !== 'cancelled') this.#sshFailures.inc({ reason })
  }

  /** Registers the gauges read on scrape. Called once, when the process's parts exist. */
  observe(sources: MetricSources): void {
    const registers = [this.registry]
    const { worker, subscriptions, pool } = sources
    if (worker) {
      new Gauge({ name: 'switchyard_runs_running', help: 'Runs this worker is executing now.', registers, collect() { this.set(worker().running) } })
      new Gauge({ name: 'switchyard_worker_slots_used', help: 'Worker slots in use (SWITCHYARD_WORKER_CONCURRENCY).', registers, collect() { this.set(worker().running) } })
      new Gauge({ name: 'switchyard_worker_slots_total', help: 'Worker slots (SWITCHYARD_WORKER_CONCURRENCY).', registers, collect() { this.set(worker().slots) } })
    }
    if (subscriptions) {
      // One walk over the sockets per scrape, shared by the three gauges (forgotten after this turn).
      let walked: ReturnType<typeof subscriptions> | null = null
      const activity = () => {
        if (!walked) {
          walked = subscriptions()
          setImmediate(() => (walked = null))
        }
        return walked
      }
      new Gauge({ name: 'switchyard_ws_connections', help: 'Open graphql-ws connections (signed in).', registers, collect() { this.set(activity().connections) } })
      new Gauge({ name: 'switchyard_subscriptions_active', help: 'GraphQL operations running on this process\'s WebSockets (live subscriptions).', registers, collect() { this.set(activity().operations) } })
      new Gauge({ name: 'switchyard_ws_buffered_bytes_max', help: 'Bytes queued in this process for the slowest WebSocket (a slow reader holds at most about one message per subscription).', registers, collect() { this.set(activity().maxBufferedBytes) } })
    }
    new Gauge({ name: 'switchyard_db_pool_connections', help: 'Connections in this process\'s Postgres pool.', registers, collect() { this.set(pool.totalCount) } })
    new Gauge({ name: 'switchyard_db_pool_idle', help: 'Idle connections in the pool.', registers, collect() { this.set(pool.idleCount) } })
    new Gauge({ name: 'switchyard_db_pool_waiting', help: 'Queries waiting for a pool connection.', registers, collect() { this.set(pool.waitingCount) } })
    new Gauge({ name: 'switchyard_db_pool_max', help: 'Pool size (SWITCHYARD_DB_POOL_SIZE).', registers, collect() { this.set(sources.poolMax) } })

    // The queue gauges share one query per scrape (both collect() calls await the same promise).
    let pending: Promise<{ depth: number; oldestAgeSeconds: number } | null> | null = null
    const state = () => {
      pending ??= sources.queueState().then(
        (s) => s,
        () => null,
      ).finally(() => setImmediate(() => (pending = null)))
      return pending
    }
    new Gauge({
      name: 'switchyard_database_up',
      help: '1 when this scrape\'s database query succeeded.',
      registers,
      async collect() {
        this.set((await state()) ? 1 : 0)
      },
    })
    new Gauge({
      name: 'switchyard_queue_depth',
      help: 'Runs waiting to start (status QUEUED), across the deployment.',
      registers,
      async collect() {
        const s = await state()
        if (s) this.set(s.depth)
        else this.reset()
      },
    })
    new Gauge({
      name: 'switchyard_queue_oldest_age_seconds',
      help: 'Age of the oldest QUEUED run (0 when none).',
      registers,
      async collect() {
        const s = await state()
        if (s) this.set(s.oldestAgeSeconds)
        else this.reset()
      },
    })
  }

  render(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}

export const METRICS_PATH = '/metrics'

/** Constant-time comparison of a presented token with the configured one. */
export function sameSecret(presented: string | null, expected: string): boolean {
  if (!presented) return false
  const a = crypto.createHash('sha256').update(presented).digest()
  const b = crypto.createHash('sha256').update(expected).digest()
  return crypto.timingSafeEqual(a, b)
}
