/**
 * Executes runs delivered by the run queue: claim (QUEUED → RUNNING), hand the pending targets to the
 * job type's executor with an AbortSignal wired to cancel / timeout / shutdown, record per-target
 * results as they arrive, then settle the run: SUCCEEDED, FAILED, CANCELLED, TIMED_OUT, or back to
 * QUEUED for another attempt under the template's retry policy.
 */
import os from 'node:os'
import type pg from 'pg'
import type { PgBoss } from 'pg-boss'
import type { SecretBox } from '../crypto/secret-box.ts'
import { credentialSecrets, decryptCredential } from '../crypto/credential-secret.ts'
import type { LogWriter } from '../logs/log-writer.ts'
import { createRunLogSink, createSecretMasker, droppedLogMessage, LogBudget, maskDeep } from '../logs/run-log-sink.ts'
import { appendLinesInTransaction, cleanText, type PendingLine } from '../logs/log-writer.ts'
import type { PgListener } from '../pubsub/pg-listener.ts'
import { CHANNELS } from '../pubsub/channels.ts'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'
import { isTransient, retryTransient } from '../db/transient.ts'
import { GroupCommit } from '../util/group-commit.ts'
import { credentialUse, poolQuery } from '../db/credential-use.ts'
import type { Semaphore } from '../util/semaphore.ts'
import type { Metrics } from '../metrics/metrics.ts'
import type { ProcessSandbox } from '../sandbox/process-sandbox.ts'
import type { ExecutorRegistry } from './executors/registry.ts'
import { workerCodeRefusal, type WorkerCodeRoles } from './executors/worker-code.ts'
import { AbortReason, type DecryptedCredential, type ExecutionOutcome, type LogLevel, type RunLogSink, type RunTargetHandle, type TargetReport } from './executors/types.ts'
import { targetOutputs } from './target-outputs.ts'
import { inTransaction, RUN_QUEUE, type RunMessage, type RunQueue } from './run-queue.ts'

const INTAKE_POLL_MS = 1000
import { meetsSuccessRule, retryDelaySeconds, type RunSpec } from './run-spec.ts'
import * as store from './run-store.ts'
import { RunChangeNotifier } from './run-change-notifier.ts'

/** What `beforeTargets` gets: the run, its abort signal and its log. */
export interface BeforeTargetsRequest {
  runId: string
  signal: AbortSignal
  log: (text: string, level?: LogLevel) => void
}

export interface DispatcherDeps {
  pool: pg.Pool
  /** Connections for claims only (default `pool`): a claim must not queue behind the writes of runs executing. */
  claimPool?: pg.Pool
  boss: PgBoss
  queue: RunQueue
  registry: ExecutorRegistry
  box: SecretBox
  logs: LogWriter
  listener: PgListener
  logger: Logger
  workerId: string
  concurrency: number
  handshakeLimiter: Semaphore
  artifactRetentionDays: number
  artifactMaxBytes: number
  /** Local processes of runs: clean environment, unprivileged user. */
  sandbox: ProcessSandbox
  /** Roles whose templates may run job types that execute code on the worker (SWITCHYARD_WORKER_CODE_ROLES). */
  workerCodeRoles: WorkerCodeRoles
  /** Default caps on a run's stored log (SWITCHYARD_LOG_LIMIT_LINES/_BYTES); a template may set its own. */
  logLimits: { lines: number; bytes: number }
  metrics?: Metrics
  /**
   * Work before a run's targets are loaded: inventory sources older than their TTL sync first
   * (modules/inventory-sources/pre-run-sync.ts). Throwing fails the run before anything ran.
   */
  beforeTargets?: (req: BeforeTargetsRequest) => Promise<void>
  /** How long a stage of a run's ending may take before the process log says so (default 10 s; tests shorten it). */
  slowStageMs?: number
}

interface ActiveRun {
  controller: AbortController
  done: Promise<void>
}

export class Dispatcher {
  readonly #d: DispatcherDeps
  readonly #active = new Map<string, ActiveRun>()
  readonly #notifier: RunChangeNotifier
  readonly #slowStageMs: number
  readonly #unlisteners: Array<() => Promise<void>> = []
  #working = false
  #loop: Promise<void> = Promise.resolve()
  #wakeUp: (() => void) | null = null
  #wakePending = false
  /**
   * Whether a slot freeing up should wake the intake: only when its last look at the queue was cut short
   * by capacity (messages may be waiting for that slot). Otherwise the queue was empty then, and what
   * was queued since sends its own wake-up (CHANNELS.queued): a fetch per ended run would find nothing.
   */
  #wakeOnFreeSlot = true
  readonly #claiming = new Set<string>()
  /** Messages fetched whose run is not yet claimed (they count against capacity). */
  #starting = 0
  /** Messages whose run ended, to be marked completed (#complete). */
  readonly #toComplete: string[] = []
  #completing: Promise<void> | null = null
  /** Batch claims in flight (#startBatch): stop() lets them hand their runs over before it waits for runs. */
  readonly #batches = new Set<Promise<void>>()
  /**
   * Runs ending in one statement (#settle) that end together share it: the runs of a claimed batch tend
   * to end in the same turn. A batch that fails for its content is split run by run; one that fails on
   * the connection is every caller's error, and each retries its settlement, as a run ending alone did.
   * (After a commit whose answer was lost, the retry finds the ending stored — store.endedWith — and
   * writes nothing again.)
   */
  readonly #endings = new GroupCommit<store.AtOnceFinish, { finished: boolean; waiting: boolean }>({
    max: 100,
    splittable: (e) => !isTransient(e),
    one: async (run) => (await store.finishRunsAtOnce(this.#d.pool, [run]))[0]!,
    many: (runs) => store.finishRunsAtOnce(this.#d.pool, runs),
  })

  constructor(deps: DispatcherDeps) {
    this.#d = deps
    this.#notifier = new RunChangeNotifier(deps.pool, deps.logger)
    this.#slowStageMs = deps.slowStageMs ?? SLOW_STAGE_MS
  }

  /** Runs executing now and the slots this worker has (metrics). */
  slots(): { running: number; slots: number } {
    return { running: this.#active.size, slots: this.#d.concurrency }
  }

  /** Run ids this process is executing right now. */
  activeRunIds(): string[] {
    return [...this.#active.keys()]
  }

  async start(): Promise<void> {
    this.#unlisteners.push(
      await this.#d.listener.on(CHANNELS.cancel, (runId) => this.abort(runId, 'cancelled')),
      await this.#d.listener.on(CHANNELS.queued, () => this.#wake()),
    )
    this.#working = true
    this.#loop = this.#intake()
  }

  /** Stops taking runs; lets running ones finish for `graceMs`, then aborts them (they are requeued). */
  async stop(graceMs = 10_000): Promise<void> {
    this.#working = false
    this.#wake()
    await this.#loop
    // Runs a batch claim in flight takes are then in #active below. Bounded: a claim retries for as long as
    // the database is unreachable, and stopping must not wait for that (the reaper settles such runs).
    let bound: NodeJS.Timeout | undefined
    await Promise.race([Promise.allSettled([...this.#batches]), new Promise<void>((r) => (bound = setTimeout(r, graceMs)))])
    clearTimeout(bound)
    const timer = setTimeout(() => {
      for (const runId of this.#active.keys()) this.abort(runId, 'shutdown')
    }, graceMs)
    await Promise.allSettled([...this.#active.values()].map((a) => a.done))
    clearTimeout(timer)
    await this.#completing
    await this.#notifier.flush()
    for (const off of this.#unlisteners.splice(0)) await off()
  }

  /**
   * Takes queue messages while there is capacity: fetches as many as there are free slots, wakes
   * at once when a run is queued (NOTIFY) or a slot frees up while messages may be waiting for it (#slotFreed), and polls every second for deferred
   * messages (retry delays) and notifications lost during a reconnect. One loop per process, so an
   * idle worker costs one cheap query a second.
   */
  async #intake(): Promise<void> {
    const { boss, logger, concurrency } = this.#d
    while (this.#working) {
      const free = concurrency - this.#active.size - this.#starting
      let fetched = 0
      let failed = false
      if (free > 0) {
        try {
          const jobs = await boss.fetch<RunMessage>(RUN_QUEUE, { batchSize: Math.min(free, 50) })
          fetched = jobs.length
          if (jobs.length) this.#startBatch(jobs.map((j) => ({ jobId: j.id, runId: j.data.runId })))
        } catch (e) {
          failed = true
          logger.warn('fetching runs failed', { error: coerceError(e).message })
        }
      }
      if (fetched > 0 && fetched === Math.min(free, 50)) continue // there may be more waiting
      // Past here the fetch came back short (the queue had no more) unless there was no free slot to fetch for.
      this.#wakeOnFreeSlot = free <= 0 || failed
      // A wake-up that came while fetching must not be lost to the sleep below.
      if (this.#wakePending) {
        this.#wakePending = false
        continue
      }
      await new Promise<void>((resolve) => {
        this.#wakeUp = resolve
        setTimeout(resolve, INTAKE_POLL_MS).unref()
      })
      this.#wakeUp = null
      this.#wakePending = false
    }
  }

  #wake(): void {
    if (this.#wakeUp) this.#wakeUp()
    else this.#wakePending = true
  }

  #slotFreed(): void {
    if (this.#wakeOnFreeSlot) this.#wake()
  }

  /**
   * Marks messages completed, many per statement: ids finished while one completion is in flight go
   * together in the next. A completion lost to a crash is harmless — the run row is the truth, and a
   * redelivered message finds its run no longer QUEUED.
   */
  #complete(jobId: string): void {
    this.#toComplete.push(jobId)
    if (this.#completing) return
    this.#completing = (async () => {
      while (this.#toComplete.length) {
        // One tick's worth of finished runs go together.
        await new Promise<void>((r) => setImmediate(r))
        const ids = this.#toComplete.splice(0, 500)
        await this.#d.boss.complete(RUN_QUEUE, ids).catch(() => {})
      }
      this.#completing = null
    })()
  }

  /**
   * Starts a fetched batch: the runs without a concurrency limit are claimed in one statement
   * (store.claimRuns) rather than one each — a workflow's fan-out fetched 50 at a time used to send 50
   * claims in a burst, the last of them waiting behind the others for the pool and for Postgres. Every
   * other message (a run with a limit, a run no longer queued, a duplicate) takes the per-run path.
   */
  #startBatch(messages: ReadonlyArray<{ jobId: string; runId: string }>): void {
    // Runs this process already claims or executes, and a run's second message in the batch, go the
    // per-run way too: execute() drops them (it sees the run in #claiming or #active).
    const fresh = new Map<string, string>() // runId → jobId
    const others: Array<{ jobId: string; runId: string }> = []
    for (const m of messages) {
      if (fresh.has(m.runId) || this.#active.has(m.runId) || this.#claiming.has(m.runId)) others.push(m)
      else fresh.set(m.runId, m.jobId)
    }
    // Marked claiming (and counted against capacity) in the same synchronous step as the check above.
    for (const runId of fresh.keys()) this.#claiming.add(runId)
    this.#starting += fresh.size
    const batch = (async () => {
      let claimed: store.ClaimedRun[] = []
      try {
        if (fresh.size) {
          claimed = await retryTransient(() => store.claimRuns(this.#d.claimPool ?? this.#d.pool, [...fresh.keys()], this.#d.workerId), {
            logger: this.#d.logger,
            what: 'claiming runs',
            attempts: Infinity,
          })
        }
      } catch (e) {
        // Nothing was claimed (one statement): every run tries again on its own path below.
        this.#d.logger.warn('claiming a batch of runs failed; claiming them one by one', { error: coerceError(e).message })
      }
      // From here on nothing awaits until every run is in #active or #claiming again, so no duplicate
      // message can slip in between.
      for (const runId of fresh.keys()) this.#claiming.delete(runId)
      this.#starting -= fresh.size
      const byId = new Map(claimed.map((c) => [c.id, c]))
      for (const [runId, jobId] of fresh) {
        const run = byId.get(runId)
        if (run) void this.#handleClaimed(jobId, run)
      }
      // Not claimed by the batch: a concurrency limit to check under its lock, a claim whose answer was
      // lost on a retry above (RUNNING under this worker: claimRun recognises it), or a run no longer queued.
      for (const [runId, jobId] of fresh) if (!byId.has(runId)) void this.#handle(jobId, runId, { fastPathTried: true })
      for (const m of others) void this.#handle(m.jobId, m.runId)
    })()
    this.#batches.add(batch)
    void batch.finally(() => this.#batches.delete(batch))
  }

  /** A message whose run the batch claimed: executes it, then completes the message. */
  async #handleClaimed(jobId: string, run: store.ClaimedRun): Promise<void> {
    try {
      await this.#executeClaimed(run)
      this.#complete(jobId)
    } finally {
      this.#slotFreed()
    }
  }

  async #handle(jobId: string, runId: string, options: { fastPathTried?: boolean } = {}): Promise<void> {
    this.#starting++
    try {
      await this.execute(runId, () => this.#starting--, options)
      this.#complete(jobId)
    } catch (e) {
      await this.#d.boss.fail(RUN_QUEUE, jobId, { error: coerceError(e).message }).catch(() => {})
    } finally {
      this.#slotFreed()
    }
  }

  abort(runId: string, cause: 'cancelled' | 'timeout' | 'shutdown'): void {
    const active = this.#active.get(runId)
    if (active && !active.controller.signal.aborted) active.controller.abort(new AbortReason(cause))
  }

  /**
   * Claims and executes one run; returns when it is settled. Throws only when the claim itself
   * fails (the run then stays QUEUED). `onClaimed` runs once the run is (or is not) claimed.
   */
  async execute(runId: string, onClaimed: () => void = () => {}, options: { fastPathTried?: boolean } = {}): Promise<void> {
    // A duplicate message for a run this process is claiming or executing. Checked and marked in one
    // synchronous step, because a claim that finds the run RUNNING under this worker takes it as its
    // own (a retry after a lost acknowledgement) — two local claims in flight would both get it.
    if (this.#active.has(runId) || this.#claiming.has(runId)) return onClaimed()
    this.#claiming.add(runId)
    let claimed: store.ClaimedRun | null
    try {
      // A message whose claim fails is not delivered again (retries belong to the run), so a lost
      // connection must not drop it: retry until the database answers.
      claimed = (await retryTransient(() => store.claimRun(this.#d.claimPool ?? this.#d.pool, runId, this.#d.workerId, options), { logger: this.#d.logger, what: 'claiming a run', attempts: Infinity })).claimed
    } catch (e) {
      this.#d.logger.error('claim failed', { runId, error: coerceError(e).message })
      throw e
    } finally {
      // From here to #active.set below nothing awaits, so no other claim can slip in between.
      this.#claiming.delete(runId)
      onClaimed()
    }
    if (!claimed) return
    await this.#executeClaimed(claimed)
  }

  /**
   * Executes a run this worker claimed; returns when it is settled. Marks it active before its first
   * await, so a caller that just claimed it leaves no gap for a duplicate message. Never throws.
   */
  async #executeClaimed(claimed: store.ClaimedRun): Promise<void> {
    const runId = claimed.id
    const controller = new AbortController()
    let settle!: () => void
    const done = new Promise<void>((r) => (settle = r))
    this.#active.set(runId, { controller, done })
    try {
      await this.#run(claimed, controller)
    } catch (e) {
      this.#d.logger.error('run settlement failed', { runId, error: coerceError(e).message })
    } finally {
      this.#active.delete(runId)
      settle()
    }
  }

  async #run(run: store.ClaimedRun, controller: AbortController): Promise<void> {
    const { pool, registry, box, logs, logger } = this.#d
    const fence: store.RunFence = { runId: run.id, workerId: this.#d.workerId, attempt: run.attempt }
    const spec = run.spec as RunSpec
    const log = logger.child({ runId: run.id, attempt: run.attempt })
    const startedAt = performance.now()
    // Queue wait is the first attempt's: a retry's wait is mostly its deliberate delay.
    this.#d.metrics?.runStarted(run.jobType, run.attempt === 1 ? (Date.now() - run.createdAt.getTime()) / 1000 : null)
    if (run.cancelRequestedAt) controller.abort(new AbortReason('cancelled'))
    const timer = spec.timeoutSeconds ? setTimeout(() => controller.abort(new AbortReason('timeout')), spec.timeoutSeconds * 1000) : null

    let secrets: Record<string, string> = {}
    let outcome: ExecutionOutcome = {}
    let crash: Error | null = null
    const writes: Promise<unknown>[] = []
    /** Warns while the executor lingers after its last target (see watchSlow). */
    const lingering = { stop: () => {} }
    const budget = new LogBudget(spec.logLimitLines ?? this.#d.logLimits.lines, spec.logLimitBytes ?? this.#d.logLimits.bytes)
    let sink = createRunLogSink(logs, run.id, [], budget)
    let mask = (text: string) => text
    let secretValues: string[] = []
    // What the executor writes to: the sink is replaced when secrets become known (SECRET step outputs).
    const runLog: RunLogSink = { output: (...a) => sink.output(...a), system: (...a) => sink.system(...a) }
    try {
      if (run.attempt > 1) {
        // The limit is per run: a retry may store only what earlier attempts left of it.
        const stored = await retryTransient(() => store.storedLogSize(pool, run.id), { logger: log, what: 'measuring the stored log', attempts: Infinity })
        budget.lines = stored.lines
        budget.bytes = stored.bytes
      }
      if (run.secretParameters) secrets = JSON.parse(box.open(run.secretParameters)) as Record<string, string>
      // Masked from the start: an early failure's message must not carry a secret parameter either.
      mask = createSecretMasker(Object.values(secrets))
      const executor = registry.get(run.jobType)
      if (!executor) throw new Error(`job type "${run.jobType}" is not available on worker ${os.hostname()}`)
      const parsedConfig = executor.configSchema.safeParse(spec.config)
      if (!parsedConfig.success) throw new Error(`invalid ${run.jobType} config: ${parsedConfig.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
      if (executor.executesWorkerCode) {
        // Checked at save too; again here against the owner's role now, so a template whose author has
        // since lost the right (or a run queued before) never executes its code.
        const owner = await retryTransient(() => store.loadRunOwner(pool, run.id), { logger: log, what: 'loading the template owner', attempts: 8 })
        // A disabled owner has no rights at all (as for credential use): their code must not run either.
        if (owner?.disabled) throw new Error(`not started: the template's owner ${owner.username} is disabled; job type ${run.jobType} executes code on the worker`)
        const refusal = owner ? workerCodeRefusal(executor, owner.role, this.#d.workerCodeRoles) : `job type ${run.jobType} executes code on the worker and the template's owner no longer exists`
        if (refusal) throw new Error(owner ? `not started: the template's owner ${owner.username} is ${owner.role}; ${refusal}` : `not started: ${refusal}`)
      }

      // Every write on the run's path retries through an outage for as long as this process lives
      // (like log lines and the settlement): giving up early would lose an acknowledged result and end
      // the run FAILED for nothing. If the process dies instead, the reaper takes over.
      const durable = <T,>(what: string, fn: () => Promise<T>) => retryTransient(fn, { logger: log, what, attempts: Infinity })
      if (spec.usesTargets && this.#d.beforeTargets) {
        await this.#d.beforeTargets({ runId: run.id, signal: controller.signal, log: (text, level) => runLog.system(text, level ? { level } : undefined) })
      }
      const rows = spec.usesTargets ? await durable('loading the targets', () => store.loadPendingTargets(pool, run.id)) : []
      // One decrypted object per credential for the whole run: the SSH layer parses a private key once
      // per credential object (a passphrase-protected key costs ~300 ms of CPU to open), not per target.
      const opened = new Map<string, DecryptedCredential>()
      const credentialOf = (r: store.PendingTargetRow): DecryptedCredential | null => {
        if (!r.credential_kind || !r.credential_id) return null
        let c = opened.get(r.credential_id)
        if (!c) {
          c = decryptCredential(box, { kind: r.credential_kind, username: r.credential_username!, secret: r.credential_secret!, passphrase: r.credential_passphrase })
          opened.set(r.credential_id, c)
        }
        return c
      }
      const targets: RunTargetHandle[] = rows.map((r) => ({
        id: r.id,
        targetId: r.target_id,
        name: r.name,
        host: r.host,
        port: r.port,
        tags: r.tags ?? [],
        attributes: r.attributes ?? {},
        sourceId: r.source_id,
        credential: credentialOf(r),
        knownHostKey: r.host_key_fingerprint ? { fingerprint: r.host_key_fingerprint, algorithm: r.host_key_algorithm } : null,
      }))
      // Credentials the config names (a Git remote's key, an API token): opened now, so a rotated secret is used.
      const refs = executor.credentialRefs?.(parsedConfig.data) ?? []
      const refIds = [...new Set(refs.map((r) => r.id))]
      // On behalf of the template's owner, who must still be allowed to use each (a grant may have been
      // revoked since the template was saved). Checked before anything is decrypted or sent anywhere.
      const use = await retryTransient(() => credentialUse(poolQuery(pool), run.ownerId, refIds), { logger: log, what: 'checking credential use', attempts: 8 })
      const refused = refs.filter((r) => use.get(r.id)?.usable === false)
      if (refused.length) {
        const owner = run.ownerId ? await store.usernameOf(pool, run.ownerId) : null
        throw new Error(
          refused.map((r) => `config.${r.path.join('.')}: the template's owner ${owner ? `"${owner}"` : '(none)'} may no longer use credential "${use.get(r.id)!.name}"`).join('; ') +
            '; the credential was not opened',
        )
      }
      // A credential that is also a target's is already open: the same object, not a second decryption.
      const credentials = new Map(
        (await durable('loading credentials', () => store.loadCredentials(pool, refIds.filter((id) => !opened.has(id))))).map((c) => [c.id, decryptCredential(box, c)] as const),
      )
      for (const id of refIds) {
        const c = opened.get(id)
        if (c) credentials.set(id, c)
      }
      secretValues = [
        ...Object.values(secrets),
        ...[...new Set([...opened.values(), ...credentials.values()])].flatMap((c) => credentialSecrets(c)),
      ]
      sink = createRunLogSink(logs, run.id, secretValues, budget)
      mask = createSecretMasker(secretValues)
      sink.system(
        `attempt ${run.attempt} of ${run.maxAttempts} started on ${os.hostname()}` + (spec.usesTargets ? ` for ${targets.length} ${targets.length === 1 ? 'target' : 'targets'}` : ''),
      )
      const targetById = new Map(targets.map((t) => [t.id, t]))
      const finished = new Set<string>()
      const lastWrite = new Map<string, Promise<unknown>>()
      const chain = (id: string, write: () => Promise<unknown>) => {
        const next = (lastWrite.get(id) ?? Promise.resolve()).catch(() => {}).then(write)
        lastWrite.set(id, next)
        return next
      }
      /** A successful target's outputs file: SECRET values join the masker first, then what is stored is masked. */
      const publishOutputs = (id: string, file: Buffer) => {
        const published = targetOutputs(file, spec.outputs ?? [], box, (found) => {
          secretValues = [...secretValues, ...found]
          sink = createRunLogSink(logs, run.id, secretValues, budget)
          mask = createSecretMasker(secretValues)
        }, (text) => mask(text))
        for (const warning of published.warnings) sink.system(warning, { level: 'WARNING', runTargetId: id })
        if (published.summary) sink.system(published.summary, { runTargetId: id })
        return published
      }

      outcome = await executor.execute({
        runId: run.id,
        attempt: run.attempt,
        config: parsedConfig.data,
        parameters: { ...run.parameters, ...secrets },
        credentials,
        targets,
        maxParallelTargets: spec.maxParallelTargets,
        signal: controller.signal,
        log: runLog,
        handshakeLimiter: this.#d.handshakeLimiter,
        sshConnectFailed: (kind) => this.#d.metrics?.sshConnectFailed(kind),
        sandbox: this.#d.sandbox,
        // Each target's writes are chained, so a fast target's "finished" can never land before its
        // "started" (which would leave it RUNNING).
        targetStarted: (id) => {
          if (!targetById.has(id)) return
          writes.push(chain(id, () => durable('recording a target start', () => store.markTargetStarted(pool, id, run.attempt)).then(() => this.#notifier.touch(run.id))))
        },
        targetFinished: (id, report: TargetReport) => {
          if (finished.has(id) || !targetById.has(id)) return
          finished.add(id)
          if (finished.size === targets.length) lingering.stop = watchSlow(log, this.#slowStageMs, 'every target reported; the executor has not returned', () => 'executor')
          // A target cut short because this worker is shutting down was not run to its end: it stays
          // open, so the requeued attempt runs it again (recorded CANCELLED, the retry skipped it).
          if (report.status !== 'SUCCEEDED' && abortCause(controller.signal) === 'shutdown') return
          // Parsed before the report is masked: a SECRET output's value joins the masker first.
          const published = report.status === 'SUCCEEDED' && report.outputsFile ? publishOutputs(id, report.outputsFile) : null
          writes.push(
            chain(id, async () => {
              if (published?.needles.length) {
                // The step may have printed the value before publishing it: mask the lines already stored.
                await logs.flush()
                await durable('masking secret outputs in the log', () => store.maskStoredLog(pool, run.id, published.needles, mask))
              }
              await durable('recording a target result', () => store
                // Masked here, the one place a target's report is written: the log sink masks the log, and
                // the tail, error and result are copies of the same output.
                .markTargetFinished(pool, id, {
                  status: report.status,
                  exitCode: report.exitCode ?? null,
                  error: report.error == null ? null : mask(report.error),
                  retryable: report.retryable ?? false,
                  outputTail: mask(report.outputTail ?? ''),
                  result: maskDeep(report.result, mask),
                  outputs: published?.stored ?? null,
                })
                .then(() => store.refreshProgress(pool, run.id)))
              return this.#notifier.touch(run.id)
            }),
          )
        },
        upsertTargets: async (found) => {
          const ids = await durable('recording discovered targets', () => store.upsertTargets(pool, found, `run #${run.number} (${run.templateName})`, run.ownerId))
          if (ids.length < found.length) sink.system(`${found.length - ids.length} ${found.length - ids.length === 1 ? 'target' : 'targets'} with these names belong to someone else and were left unchanged`, { level: 'WARNING' })
          return ids
        },
        setTargetAttributes: (id, attributes) => durable('recording target attributes', () => store.setTargetAttributes(pool, id, attributes)),
        storeArtifact: async (artifact) => {
          // The name is rendered from parameters (`{{ token }}.txt`) and shown to whoever sees the run:
          // masked like every other stored string. The content is stored as is (see README).
          const name = mask(artifact.name)
          if (artifact.content.length > this.#d.artifactMaxBytes) {
            throw new Error(`artifact ${name} is ${artifact.content.length} bytes; the limit is ${this.#d.artifactMaxBytes} (SWITCHYARD_ARTIFACT_MAX_BYTES)`)
          }
          return durable('storing an artifact', () => store.storeArtifact(pool, run.id, { ...artifact, name }, this.#d.artifactRetentionDays))
        },
        recordHostKey: async (id, key) => {
          const t = targetById.get(id)
          if (t?.targetId) await durable('recording a host key', () => store.recordHostKey(pool, t.targetId!, key.fingerprint, key.algorithm, `run #${run.number} (${run.templateName})`))
        },
      })
    } catch (e) {
      crash = coerceError(e)
      crash.message = mask(crash.message)
      log.warn('run failed', { error: crash.message })
    } finally {
      if (timer) clearTimeout(timer)
      lingering.stop()
    }
    // From here the run only ends; a stage that takes long is said in the process log, with its name.
    let stage = 'target writes'
    const slowEnding = watchSlow(log, this.#slowStageMs, 'the run is still ending', () => stage)
    try {
      // The run's own result and error are stored like the targets' reports: masked.
      outcome = { ...outcome, result: maskDeep(outcome.result, mask), ...(outcome.error !== undefined ? { error: mask(outcome.error) } : {}) }
      // Per-target writes and every log line land before the final status, so a client that sees the
      // run end can read its complete log and results.
      await Promise.allSettled(writes)
      // A run that will end in one statement takes its unflushed lines along in it (one flush fewer per
      // run); otherwise, or when some of its lines are already being flushed, everything is flushed first.
      stage = 'log flush'
      const carried = this.#verdictWithoutTargets(run, spec, abortCause(controller.signal), outcome, crash, budget) ? logs.takePending(run.id) : null
      if (!carried) await logs.flush()
      stage = 'final status'
      // The final status must land: retried for as long as this process lives (if it dies, the reaper
      // settles the run). The settlement transaction is all-or-nothing, so a retry redoes it whole.
      const status = await retryTransient(() => this.#settle(run, spec, fence, controller.signal, outcome, crash, mask, budget, carried ?? []), {
        logger: log,
        what: 'settling the run',
        attempts: Infinity,
      })
      if (status) this.#d.metrics?.runFinished(run.jobType, status, (performance.now() - startedAt) / 1000)
    } finally {
      slowEnding()
    }
  }

  async #settle(
    run: store.ClaimedRun,
    spec: RunSpec,
    fence: store.RunFence,
    signal: AbortSignal,
    outcome: ExecutionOutcome,
    crash: Error | null,
    mask: (text: string) => string,
    budget: LogBudget,
    /** Lines of the run taken from the log writer unwritten (LogWriter.takePending): written first. */
    carried: PendingLine[],
  ): Promise<string | null> {
    const cause = abortCause(signal)
    const atOnce = this.#verdictWithoutTargets(run, spec, cause, outcome, crash, budget)
    if (atOnce) {
      const lastLine = cleanText(mask(atOnce.message))
      const ended = await this.#endings.submit({
        fence,
        status: atOnce.status,
        error: atOnce.error,
        result: atOnce.result,
        lines: [...carried, { level: /succeeded/.test(atOnce.message) ? 'INFO' : 'ERROR', stream: 'SYSTEM', targetId: null, text: lastLine, ts: Date.now() }],
      })
      if (ended.finished) {
        this.#d.logs.noteWritten(carried)
        // The freed slot goes to a waiting run of the same key in a transaction of its own (a crash in
        // between leaves it to the reaper's sweep of stranded runs, as for any missed hand-off).
        // Not retried here: a retry of #settle would find the run final and write its last line again.
        if (ended.waiting) {
          await this.#handOffSlot(run.concurrencyKey).catch((e) => this.#d.logger.warn('handing a freed slot over failed; the reaper will', { runId: run.id, error: coerceError(e).message }))
        }
        return atOnce.status
      }
      // A retry after a commit whose answer was lost: that commit wrote everything, carried lines included.
      if (await store.endedWith(this.#d.pool, fence, lastLine)) {
        this.#d.logs.noteWritten(carried)
        return atOnce.status
      }
      // The fence did not match (the run was reaped meanwhile): the full path below finds that out again.
    }
    let finalStatus: string | null = null
    const client = await this.#d.pool.connect()
    let message: string
    let requeueAfter: number | null = null
    try {
      await client.query('BEGIN')
      if (!(await store.lockHeldRun(client, fence))) {
        // No longer this attempt's run: the reaper took it while this worker was cut off (and another
        // worker may be running it now), or this ending already committed and its answer was lost. Its
        // targets, progress, concurrency slot and status are not this attempt's to write. Only output
        // the log writer had not written yet is kept (the log writer writes a taken run's lines too).
        if (carried.length) {
          await appendLinesInTransaction(client, run.id, carried.map((l) => ({ targetId: l.targetId, stream: l.stream, level: l.level, text: l.text })))
          await client.query('COMMIT')
          this.#d.logs.noteWritten(carried)
        } else await client.query('ROLLBACK')
        this.#d.logger.warn('run no longer held by this attempt (the reaper took it, or this ending already committed); nothing more written', { runId: run.id, attempt: run.attempt })
        return null
      }
      if (cause === 'cancelled' || cause === 'timeout') {
        const status = cause === 'cancelled' ? 'CANCELLED' : 'TIMED_OUT'
        const error = cause === 'cancelled' ? 'cancelled' : `timed out after ${spec.timeoutSeconds}s`
        await store.closeOpenTargets(client, run.id, status, error)
        await store.refreshProgress(client, run.id)
        await store.finishRun(client, fence, { status, error, result: outcome.result })
        message = `run ${status === 'CANCELLED' ? 'cancelled' : error}`
        finalStatus = status
      } else if (cause === 'shutdown') {
        message = await this.#retryOrFail(client, run, spec, fence, 'worker shut down during the run', true, (d) => (requeueAfter = d))
        finalStatus = requeueAfter === null ? 'FAILED' : null
      } else {
        const tally = spec.usesTargets ? await store.tallyTargets(client, run.id) : null
        if (tally && !crash) {
          // Targets the executor never reported (a bug in it) must not stay RUNNING.
          await store.closeOpenTargets(client, run.id, 'FAILED', 'the executor did not report a result for this target')
        }
        const t = tally && !crash ? await store.tallyTargets(client, run.id) : tally
        const ok = crash ? false : t ? meetsSuccessRule(spec, t.succeeded, t.total) : outcome.ok !== false && !outcome.error
        if (ok) {
          await store.refreshProgress(client, run.id)
          await store.finishRun(client, fence, { status: 'SUCCEEDED', error: null, result: outcome.result })
          message = t ? `run succeeded (${t.succeeded} of ${t.total} targets)` : 'run succeeded'
          finalStatus = 'SUCCEEDED'
        } else {
          const error = crash ? crash.message : t ? summariseFailures(t) : outcome.error ?? 'failed'
          const retryable = crash ? false : t ? t.retryableFailed > 0 : outcome.retryable === true
          message = await this.#retryOrFail(client, run, spec, fence, error, retryable, (d) => (requeueAfter = d), outcome.result)
          finalStatus = requeueAfter === null ? 'FAILED' : null
        }
      }
      // A run that ended (or went back to the queue) frees its concurrency slot for a waiting run.
      await this.#d.queue.handOffSlot(client, run.concurrencyKey)
      // What the log limit dropped is added up over attempts; the run's one line about it comes with
      // its final status (not with a requeue).
      let dropped = { lines: budget.droppedLines, bytes: budget.droppedBytes }
      if (budget.droppedLines > 0 || run.attempt > 1) dropped = await store.addDroppedLog(client, run.id, budget.droppedLines, budget.droppedBytes)
      // Lines taken from the log writer for the one-statement ending go with the last words here instead.
      const lastWords: Parameters<typeof appendLinesInTransaction>[2] = carried.map((l) => ({ targetId: l.targetId, stream: l.stream, level: l.level, text: l.text }))
      if (requeueAfter === null && dropped.lines > 0) {
        lastWords.push({ targetId: null, stream: 'SYSTEM', level: 'WARNING', text: droppedLogMessage(dropped.lines, dropped.bytes, { lines: budget.maxLines, bytes: budget.maxBytes }) })
      }
      lastWords.push({ targetId: null, stream: 'SYSTEM', level: /succeeded/.test(message) ? 'INFO' : 'ERROR', text: mask(message) })
      // The run's last lines commit with its final status (see appendLinesInTransaction).
      await appendLinesInTransaction(client, run.id, lastWords)
      await store.notifyRunChanged(client, run.id)
      await client.query('COMMIT')
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      client.release()
    }
    if (requeueAfter !== null) this.#d.logger.info('run requeued', { runId: run.id, delaySeconds: requeueAfter })
    return finalStatus
  }

  /**
   * The final state of a run without targets that ends at its first attempt with nothing dropped from its
   * log and no retry to schedule — the common case, settled in one statement, shared with the runs ending at the same time (store.finishRunsAtOnce, #endings).
   * Null for everything else, which takes the transactional path of #settle. The statuses and messages
   * are #settle's own for the same cases.
   */
  #verdictWithoutTargets(
    run: store.ClaimedRun,
    spec: RunSpec,
    cause: AbortReason['cause'] | null,
    outcome: ExecutionOutcome,
    crash: Error | null,
    budget: LogBudget,
  ): { status: string; error: string | null; result: unknown; message: string } | null {
    if (spec.usesTargets || run.attempt !== 1 || budget.droppedLines > 0 || cause === 'shutdown') return null
    if (cause === 'cancelled') return { status: 'CANCELLED', error: 'cancelled', result: outcome.result, message: 'run cancelled' }
    if (cause === 'timeout') {
      const error = `timed out after ${spec.timeoutSeconds}s`
      return { status: 'TIMED_OUT', error, result: outcome.result, message: `run ${error}` }
    }
    const ok = crash ? false : outcome.ok !== false && !outcome.error
    if (ok) return { status: 'SUCCEEDED', error: null, result: outcome.result, message: 'run succeeded' }
    const retryable = crash ? false : outcome.retryable === true
    if (retryable && run.attempt < run.maxAttempts) return null
    const error = crash ? crash.message : outcome.error ?? 'failed'
    return { status: 'FAILED', error, result: outcome.result, message: `run failed: ${error}` }
  }

  async #handOffSlot(key: string | null): Promise<void> {
    const client = await this.#d.pool.connect()
    try {
      await client.query('BEGIN')
      await this.#d.queue.handOffSlot(client, key)
      await client.query('COMMIT')
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      client.release()
    }
  }

  /** Requeues for another attempt when allowed (enqueue in the same transaction), else FAILED. */
  async #retryOrFail(
    client: pg.PoolClient,
    run: store.ClaimedRun,
    spec: RunSpec,
    fence: store.RunFence,
    error: string,
    retryable: boolean,
    onRequeue: (delaySeconds: number) => void,
    result?: unknown,
  ): Promise<string> {
    if (retryable && run.attempt < run.maxAttempts) {
      const delay = retryDelaySeconds(spec, run.attempt + 1)
      if (await store.requeueRun(client, fence, error)) {
        await store.refreshProgress(client, run.id)
        await this.#d.queue.enqueue(run.id, {
          db: inTransaction(client),
          startAfter: new Date(Date.now() + delay * 1000),
          timeoutSeconds: spec.timeoutSeconds,
        })
        onRequeue(delay)
        return `attempt ${run.attempt} failed: ${error}; retrying in ${delay}s (attempt ${run.attempt + 1} of ${run.maxAttempts})`
      }
    }
    await store.closeOpenTargets(client, run.id, 'FAILED', error)
    await store.refreshProgress(client, run.id)
    await store.finishRun(client, fence, { status: 'FAILED', error, result })
    return `run failed: ${error}`
  }
}

function abortCause(signal: AbortSignal): AbortReason['cause'] | null {
  return signal.aborted && signal.reason instanceof AbortReason ? signal.reason.cause : null
}

function summariseFailures(t: store.TargetTally): string {
  const shown = t.failures.slice(0, 5).map((f) => `${f.name}: ${f.error ?? f.status.toLowerCase()}`)
  const more = t.failures.length > 5 ? `; and ${t.failures.length - 5} more` : ''
  return `${t.failures.length} of ${t.total} ${t.total === 1 ? 'target' : 'targets'} failed — ${shown.join('; ')}${more}`
}

/** How long a stage of a run's ending may take before the process log says so (then again as often). */
const SLOW_STAGE_MS = 10_000

/**
 * Logs a warning every `everyMs` until the returned function is called, naming what is awaited: a run
 * that does not end is otherwise silent (its worker still beats, so no reaper steps in).
 */
function watchSlow(log: Logger, everyMs: number, message: string, stage: () => string): () => void {
  const since = Date.now()
  const timer = setInterval(() => log.warn(message, { stage: stage(), seconds: Math.round((Date.now() - since) / 1000) }), everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
