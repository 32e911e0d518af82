/**
 * A fake ExecutionContext for executor unit tests: the dispatcher side of the executor contract
 * (src/jobs/executors/types.ts), recording everything an executor tells the dispatcher — log lines, target
 * starts and reports, host keys, attributes, artifacts, discovered targets — so the test can assert on it.
 *
 * Only the dispatcher is faked: whatever the executor reaches out to (SSH, git, ansible, HTTP, sockets)
 * stays real. Each test file keeps a small wrapper that parses its executor's config and adds its own
 * helpers; `overrides` replaces members where a test needs other behaviour (e.g. a hook that must never
 * be called).
 */
import { expect } from 'vitest'
import type { DecryptedCredential, DiscoveredTarget, ExecutionContext, LogLevel, OutputStream, RunTargetHandle, TargetReport } from '../../src/jobs/executors/types.ts'
import { ProcessSandbox } from '../../src/sandbox/process-sandbox.ts'
import { Semaphore } from '../../src/util/semaphore.ts'
import type { TestSshd } from './sshd.ts'

export interface FakeExecutionContextOptions<Config> {
  targets?: RunTargetHandle[]
  parameters?: Record<string, unknown>
  signal?: AbortSignal
  /** 10 unless given. */
  maxParallelTargets?: number
  credentials?: ReadonlyMap<string, DecryptedCredential>
  /** 'run-1' unless given. */
  runId?: string
  attempt?: number
  /** Where the executor's local processes run: the server's own user (clean environment) unless given. */
  sandbox?: ProcessSandbox
  /**
   * Replace individual members (e.g. a targetStarted that must never be called). As a function it gets the
   * recording context, to delegate to (and the run, for its recordings), and returns the replacements.
   */
  overrides?: Partial<ExecutionContext<Config>> | ((recording: ExecutionContext<Config>, run: FakeRun<Config>) => Partial<ExecutionContext<Config>>)
}

export interface FakeRun<Config> {
  /** The context to hand to the executor. */
  ctx: ExecutionContext<Config>
  output: Array<{ runTargetId: string; stream: OutputStream; text: string }>
  system: Array<{ text: string; level?: LogLevel; runTargetId?: string }>
  /** Every log line in order as text; output lines are prefixed with their stream (`STDOUT text`). */
  transcript: string[]
  /** Final report per run target id; a second report for a target fails the test. */
  reports: Map<string, TargetReport>
  /** Run target ids, in the order they were started. */
  started: string[]
  hostKeys: Array<{ runTargetId: string; fingerprint: string; algorithm: string }>
  attributes: Array<{ runTargetId: string; attributes: Record<string, string | number | boolean | null> }>
  /** Stored artifacts with the ids handed out: `artifact-1`, `artifact-2`, … */
  artifacts: Array<{ id: string; runTargetId: string | null; name: string; content: Buffer; sha256: string }>
  /** One entry per upsertTargets call (which returns `target-0`, `target-1`, … for the batch). */
  upserts: DiscoveredTarget[][]
  /** The most targets started and not yet reported at one time. */
  readonly maxActive: number
  /** Output lines of one target, of one stream or both. */
  lines(runTargetId: string, stream?: OutputStream): string[]
  /** System lines of one target. */
  systemLines(runTargetId: string): string[]
}

export function fakeExecutionContext<Config>(config: Config, options: FakeExecutionContextOptions<Config> = {}): FakeRun<Config> {
  const output: FakeRun<Config>['output'] = []
  const system: FakeRun<Config>['system'] = []
  const transcript: string[] = []
  const reports = new Map<string, TargetReport>()
  const started: string[] = []
  const hostKeys: FakeRun<Config>['hostKeys'] = []
  const attributes: FakeRun<Config>['attributes'] = []
  const artifacts: FakeRun<Config>['artifacts'] = []
  const upserts: DiscoveredTarget[][] = []
  let active = 0
  let maxActive = 0
  const recording: ExecutionContext<Config> = {
    runId: options.runId ?? 'run-1',
    attempt: options.attempt ?? 1,
    config,
    parameters: options.parameters ?? {},
    credentials: options.credentials ?? new Map(),
    targets: options.targets ?? [],
    maxParallelTargets: options.maxParallelTargets ?? 10,
    signal: options.signal ?? new AbortController().signal,
    handshakeLimiter: new Semaphore(8),
    sandbox: options.sandbox ?? new ProcessSandbox(null),
    log: {
      output(runTargetId, stream, text) {
        output.push({ runTargetId, stream, text })
        transcript.push(`${stream} ${text}`)
      },
      system(text, opts) {
        system.push({ text, level: opts?.level, runTargetId: opts?.runTargetId })
        transcript.push(text)
      },
    },
    targetStarted(runTargetId) {
      started.push(runTargetId)
      maxActive = Math.max(maxActive, ++active)
    },
    targetFinished(runTargetId, report) {
      expect(reports.has(runTargetId), `${runTargetId} reported twice`).toBe(false)
      if (started.includes(runTargetId)) active--
      reports.set(runTargetId, report)
    },
    async recordHostKey(runTargetId, key) {
      hostKeys.push({ runTargetId, ...key })
    },
    async upsertTargets(targets) {
      upserts.push([...targets])
      return targets.map((_, i) => `target-${i}`)
    },
    async setTargetAttributes(runTargetId, attrs) {
      attributes.push({ runTargetId, attributes: { ...attrs } })
    },
    async storeArtifact(artifact) {
      const id = `artifact-${artifacts.length + 1}`
      artifacts.push({ id, ...artifact })
      return id
    },
  }
  const run: FakeRun<Config> = {
    ctx: recording,
    output,
    system,
    transcript,
    reports,
    started,
    hostKeys,
    attributes,
    artifacts,
    upserts,
    get maxActive() {
      return maxActive
    },
    lines: (runTargetId, stream) => output.filter((o) => o.runTargetId === runTargetId && (!stream || o.stream === stream)).map((o) => o.text),
    systemLines: (runTargetId) => system.filter((s) => s.runTargetId === runTargetId).map((s) => s.text),
  }
  const { overrides } = options
  if (overrides) run.ctx = { ...recording, ...(typeof overrides === 'function' ? overrides(recording, run) : overrides) }
  return run
}

/**
 * A run target on the test sshd (its first host), logging in with the test user's password: what most
 * executor tests work on. `overrides` changes any part (another host, a key credential, a dead port).
 */
export function sshdTarget(sshd: TestSshd, name: string, overrides: Partial<RunTargetHandle> = {}): RunTargetHandle {
  return {
    id: `rt-${name}`,
    targetId: `t-${name}`,
    name,
    host: sshd.hosts[0]!,
    port: sshd.port,
    tags: ['lab'],
    attributes: { location: 'rack 7' },
    credential: { kind: 'PASSWORD', username: sshd.user, password: sshd.password },
    knownHostKey: null,
    ...overrides,
  }
}
