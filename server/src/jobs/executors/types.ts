/**
 * The contract between the dispatcher and the executor of each job type.
 *
 * The dispatcher owns the run's life cycle (claim, heartbeats, cancel/timeout, final status, retries);
 * an executor only does the work for the targets it is handed and reports what happened to each.
 * Executors never touch the database directly: everything goes through the context.
 */
import type { z } from 'zod'
import type { ProcessSandbox } from '../../sandbox/process-sandbox.ts'
import type { Semaphore } from '../../util/semaphore.ts'
import type { CredentialRef } from './credential-ref.ts'

/** A host the config connects to: `path` inside the config (for the error's field), `urlOrHost` to check. */
export interface OutboundRef {
  path: ReadonlyArray<string | number>
  urlOrHost: string
}

/** An inventory source a config names: where in the config, its UUID, and the kinds the job type can read. */
export interface SourceRef {
  path: ReadonlyArray<string | number>
  id: string
  kinds?: ReadonlyArray<'NAUTOBOT'>
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR'
export type OutputStream = 'STDOUT' | 'STDERR'
export type FinalTargetStatus = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT' | 'SKIPPED'

/** Why an execution was aborted: `signal.reason` is always one of these (an AbortReason instance). */
export type AbortCause = 'cancelled' | 'timeout' | 'shutdown'
export class AbortReason extends Error {
  constructor(override readonly cause: AbortCause) {
    super(cause === 'cancelled' ? 'run cancelled' : cause === 'timeout' ? 'run timed out' : 'worker shutting down')
    this.name = 'AbortReason'
  }
}

export type DecryptedCredential =
  | { kind: 'PASSWORD'; username: string; password: string }
  | { kind: 'PRIVATE_KEY'; username: string; privateKey: string; passphrase?: string }

/** One target of the run, as the executor sees it: a snapshot plus its decrypted credential. */
export interface RunTargetHandle {
  /** run_target.id — the id used in logs and reports. */
  readonly id: string
  /** target.id, or null when the target was deleted after the run was created. */
  readonly targetId: string | null
  readonly name: string
  readonly host: string
  readonly port: number
  readonly tags: readonly string[]
  readonly attributes: Readonly<Record<string, unknown>>
  /** The inventory source the target came from (its `nautobot_id` attribute names the device there); null when made by hand. */
  readonly sourceId?: string | null
  readonly credential: DecryptedCredential | null
  /** Host key recorded at first contact (trust on first use), if any. */
  readonly knownHostKey: { fingerprint: string; algorithm: string | null } | null
}

export interface TargetReport {
  status: FinalTargetStatus
  exitCode?: number | null
  error?: string | null
  /** Transient failures (timeouts, resets) may be retried by the run's retry policy; permanent ones never. */
  retryable?: boolean
  /** Last lines of output, for the results table (bounded by the executor). */
  outputTail?: string
  result?: unknown
  /**
   * The bytes of the target's step outputs file ($SWITCHYARD_OUTPUTS), read after a successful run (at most
   * one byte over the cap, so the dispatcher can tell it was too large); absent when the step had none.
   * The dispatcher parses, masks and stores it, and only for a SUCCEEDED report (see jobs/step-outputs.ts).
   */
  outputsFile?: Buffer
}

export interface RunLogSink {
  /** One line of a target's output (no trailing newline). The level is derived from stream and content. */
  output(runTargetId: string, stream: OutputStream, text: string): void
  /** A line Switchyard itself writes: connection events, summaries, errors. */
  system(text: string, options?: { level?: LogLevel; runTargetId?: string }): void
}

export interface ExecutionContext<Config> {
  readonly runId: string
  readonly attempt: number
  readonly config: Config
  /** Parameter values with secrets in clear: never log them (the log sink masks them anyway). */
  readonly parameters: Readonly<Record<string, unknown>>
  /**
   * The stored credentials the config names (see `JobExecutor.credentialRefs`), opened, by UUID. One
   * deleted since the template was saved is absent: `requireCredential` turns that into a clear error.
   */
  readonly credentials: ReadonlyMap<string, DecryptedCredential>
  /** The targets to work on in this attempt (already finished ones are not included). */
  readonly targets: readonly RunTargetHandle[]
  readonly maxParallelTargets: number
  /** Aborted on cancel, timeout or shutdown; `signal.reason` is an AbortReason. */
  readonly signal: AbortSignal
  readonly log: RunLogSink
  /** Shared by every run in this process: bounds simultaneous SSH handshakes (CPU-heavy key exchange). */
  readonly handshakeLimiter: Semaphore
  /** Counts SSH sessions that could not be established, by kind (metrics); optional for tests. */
  readonly sshConnectFailed?: (kind: string) => void
  /** Every local process the run starts goes through it: clean environment, unprivileged user (sandbox/). */
  readonly sandbox: ProcessSandbox
  targetStarted(runTargetId: string): void
  targetFinished(runTargetId: string, report: TargetReport): void
  /** Records a host key seen for the first time on a target (trust on first use). */
  recordHostKey(runTargetId: string, key: { fingerprint: string; algorithm: string }): Promise<void>
  /**
   * Creates targets, or updates those with the same name (tags are merged, attributes merged with
   * the new values winning, host/port replaced). For discovery job types. Returns the target ids.
   */
  upsertTargets(targets: ReadonlyArray<DiscoveredTarget>): Promise<string[]>
  /** Merges attributes into a run target's Target (e.g. `lastBackupAt`); no-op if it was deleted. */
  setTargetAttributes(runTargetId: string, attributes: Readonly<Record<string, string | number | boolean | null>>): Promise<void>
  /**
   * Keeps a file produced by the run (e.g. a downloaded file) as a run artifact, listed on the run and
   * fetchable through the API until the retention period ends. Returns the artifact id.
   */
  storeArtifact(artifact: { runTargetId: string | null; name: string; content: Buffer; sha256: string }): Promise<string>
}

export interface DiscoveredTarget {
  name: string
  host: string
  port?: number
  tags?: readonly string[]
  attributes?: Readonly<Record<string, string | number | boolean | null>>
}

/** What an executor returns; the run's status is derived from the target reports and the success rule. */
export interface ExecutionOutcome {
  /** Type-specific summary stored on the run (e.g. a commit id). */
  result?: unknown
  /** For executors without targets: the run's own success. */
  ok?: boolean
  error?: string
  retryable?: boolean
}

export interface JobExecutor<Schema extends z.ZodType = z.ZodType> {
  readonly type: string
  readonly label: string
  readonly description: string
  /** Validates the template's config; its JSON Schema is what `jobTypes` exposes. */
  readonly configSchema: Schema
  /** Whether the job type works on targets (and so needs a target selector). */
  readonly usesTargets: boolean
  /**
   * The config carries code that runs on the worker itself, not only on the targets (an Ansible playbook
   * runs lookups, `delegate_to: localhost` and `connection: local` tasks on the controller). Templates of
   * such a type may be saved and run only by the roles in SWITCHYARD_WORKER_CODE_ROLES.
   */
  readonly executesWorkerCode?: boolean
  /**
   * The stored credentials a (valid) config refers to. The template service checks them at save (exists,
   * right kind); the dispatcher opens them for the run and masks their secrets in the log.
   */
  credentialRefs?(config: z.output<Schema>): CredentialRef[]
  /**
   * The inventory sources a (valid) config uses (their URL and API token). The template service checks at
   * save that each exists and that the one saving (and the template's owner) may use it — own it or be an
   * admin, and be allowed to use its token credential; the run checks again before the token is opened.
   */
  sourceRefs?(config: z.output<Schema>): SourceRef[]
  /**
   * The hosts a (valid) config connects to that it writes out (not built from parameters): the template
   * service checks them against the outbound policy at save, naming the field; every connection is checked
   * again when it is made (templated hosts only then).
   */
  outboundRefs?(config: z.output<Schema>): OutboundRef[]
  /** Targets may publish step outputs ($SWITCHYARD_OUTPUTS, see jobs/step-outputs.ts); templates may declare them. */
  readonly publishesOutputs?: boolean
  execute(ctx: ExecutionContext<z.output<Schema>>): Promise<ExecutionOutcome>
}
