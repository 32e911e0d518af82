/**
 * Pieces every executor that works on targets over SSH needs: a session to a target (host key trusted on
 * first contact), the report for a target cut short by cancel/timeout/shutdown, the bounded output tail
 * and the per-target runner.
 */
import { createLineSplitter } from '../../logs/line-splitter.ts'
import { withSshConnection, type ExecResult, type HostKey, type SshConnection } from '../../ssh/connection.ts'
import { SshError } from '../../ssh/ssh-error.ts'
import { coerceError } from '../../util/errors.ts'
import { Semaphore } from '../../util/semaphore.ts'
import type { AbortReason, ExecutionContext, LogLevel, OutputStream, RunTargetHandle, TargetReport } from './types.ts'

export type TargetLog = (text: string, level?: LogLevel) => void

export async function recordHostKey(ctx: Pick<ExecutionContext<unknown>, 'recordHostKey'>, target: RunTargetHandle, key: HostKey, log: TargetLog): Promise<void> {
  try {
    await ctx.recordHostKey(target.id, key)
    log(`host key ${key.fingerprint} (${key.algorithm}) recorded on first contact`)
  } catch (err) {
    // Not fatal for this run; the next run will simply trust on first use again.
    log(`could not record the host key ${key.fingerprint}: ${coerceError(err).message}`, 'WARNING')
  }
}

/**
 * Connects to a target with its credential (the host key checked against the recorded one, or recorded on
 * first contact), logs the steps, runs `fn` on the session and always closes it.
 */
export function withTargetConnection<T>(
  ctx: Pick<ExecutionContext<unknown>, 'signal' | 'handshakeLimiter' | 'recordHostKey' | 'sshConnectFailed'>,
  target: RunTargetHandle,
  connectTimeoutSeconds: number,
  log: TargetLog,
  fn: (connection: SshConnection) => Promise<T>,
): Promise<T> {
  const credential = target.credential
  if (!credential) return Promise.reject(SshError.noCredential(target.name))
  log(`connecting to ${target.host}:${target.port}`)
  const endpoint = { host: target.host, port: target.port, credential, knownHostKey: target.knownHostKey, readyTimeoutMs: connectTimeoutSeconds * 1000 }
  const options = { signal: ctx.signal, handshakeLimiter: ctx.handshakeLimiter, onNewHostKey: (key: HostKey) => recordHostKey(ctx, target, key, log), onConnectFailed: ctx.sshConnectFailed }
  return withSshConnection(endpoint, options, (connection) => {
    log(`connected as ${credential.username}`)
    return fn(connection)
  })
}

/**
 * Runs one remote command and streams its output line by line into the run log (as the target's
 * stdout/stderr) and into the target's output tail; the last partial line is flushed however it ends.
 */
export async function execStreamed(
  ctx: Pick<ExecutionContext<unknown>, 'signal' | 'log'>,
  connection: SshConnection,
  target: RunTargetHandle,
  remote: string,
  tail: OutputTail,
  options: { pty?: boolean; boundToSession?: boolean } = {},
): Promise<ExecResult> {
  const line = (stream: OutputStream) => (text: string) => {
    ctx.log.output(target.id, stream, text)
    tail.add(text)
  }
  const stdout = createLineSplitter(line('STDOUT'))
  const stderr = createLineSplitter(line('STDERR'))
  try {
    return await connection.exec(remote, { signal: ctx.signal, pty: options.pty, boundToSession: options.boundToSession, onStdout: (c) => stdout.push(c), onStderr: (c) => stderr.push(c) })
  } finally {
    stdout.flush()
    stderr.flush()
  }
}

/** How a target ends when the run is aborted: timeout → TIMED_OUT, cancel/shutdown → CANCELLED. */
export function abortReport(signal: AbortSignal): TargetReport & { error: string } {
  const cause = (signal.reason as Partial<AbortReason> | undefined)?.cause
  if (cause === 'timeout') return { status: 'TIMED_OUT', error: 'run timed out', retryable: true }
  if (cause === 'shutdown') return { status: 'CANCELLED', error: 'worker shutting down', retryable: true }
  return { status: 'CANCELLED', error: 'run cancelled', retryable: false }
}

const TAIL_MAX_LINES = 50
const TAIL_MAX_BYTES = 8 * 1024

/** The last lines of a target's output (both streams, in arrival order), bounded in lines and bytes. */
export class OutputTail {
  readonly #lines: string[] = []
  #bytes = 0

  add(line: string): void {
    // One huge line keeps only its end (a cut mid-character shows as U+FFFD, acceptable in a preview).
    const kept = Buffer.byteLength(line) > TAIL_MAX_BYTES ? `…${Buffer.from(line).subarray(-(TAIL_MAX_BYTES - 4)).toString('utf8')}` : line
    this.#lines.push(kept)
    this.#bytes += Buffer.byteLength(kept) + 1
    while (this.#lines.length > TAIL_MAX_LINES || (this.#bytes > TAIL_MAX_BYTES && this.#lines.length > 1)) {
      this.#bytes -= Buffer.byteLength(this.#lines.shift()!) + 1
    }
  }

  text(): string {
    return this.#lines.join('\n')
  }
}

/**
 * Runs `runTarget` for every target, at most `maxParallelTargets` at once. Each target is reported
 * exactly once: `finish` ignores repeats, and a target still waiting for a slot when the run is aborted
 * ends like the ones in flight (CANCELLED / TIMED_OUT).
 */
export async function forEachTarget<C>(
  ctx: ExecutionContext<C>,
  runTarget: (target: RunTargetHandle, finish: (report: TargetReport) => void) => Promise<void>,
): Promise<void> {
  const slots = new Semaphore(Math.max(1, Math.floor(ctx.maxParallelTargets)))
  await Promise.all(
    ctx.targets.map(async (target) => {
      let reported = false
      const finish = (report: TargetReport) => {
        if (reported) return
        reported = true
        ctx.targetFinished(target.id, report)
      }
      try {
        await slots.use(() => runTarget(target, finish), ctx.signal)
      } catch (err) {
        // The slot wait rejects only on abort; anything else is a bug in runTarget, reported as such.
        if (ctx.signal.aborted) finish(abortReport(ctx.signal))
        else finish({ status: 'FAILED', error: coerceError(err).message, retryable: false })
      }
    }),
  )
}
