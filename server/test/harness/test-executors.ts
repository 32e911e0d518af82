/**
 * Job types for tests only. `test-script` runs a small script over its targets: emit N output lines
 * per target as fast as the event loop allows, wait at a named gate until the test releases it, finish
 * a target, echo a parameter (for secret masking). Gates are in-process: a test (or the worker-process
 * script, driven over stdin) releases them and can wait until an executor has reached one.
 */
import { setImmediate as nextTick } from 'node:timers/promises'
import { z } from 'zod'
import { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import { noopExecutor } from '../../src/jobs/executors/noop.ts'
import type { JobExecutor, OutputStream } from '../../src/jobs/executors/types.ts'

/** Named one-shot gates shared by the executors and the test of one process. */
export class Gates {
  readonly #open = new Set<string>()
  readonly #waiting = new Map<string, Set<() => void>>()
  readonly #reached = new Map<string, Array<() => void>>()
  readonly #reachedNames = new Set<string>()
  /** Called whenever an executor arrives at a gate (the worker-process script reports it on stdout). */
  onReached: ((name: string) => void) | null = null

  release(name: string): void {
    this.#open.add(name)
    for (const fn of this.#waiting.get(name) ?? []) fn()
    this.#waiting.delete(name)
  }

  /** Resolves once an executor has arrived at the gate (now or earlier). */
  reached(name: string): Promise<void> {
    if (this.#reachedNames.has(name)) return Promise.resolve()
    return new Promise((resolve) => {
      const list = this.#reached.get(name) ?? []
      list.push(resolve)
      this.#reached.set(name, list)
    })
  }

  /** Waits until the gate is released, or the signal aborts (then rejects with its reason). */
  async wait(name: string, signal: AbortSignal): Promise<void> {
    this.#reachedNames.add(name)
    for (const fn of this.#reached.get(name) ?? []) fn()
    this.#reached.delete(name)
    this.onReached?.(name)
    if (this.#open.has(name)) return
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiting.get(name)?.delete(done)
        reject(signal.reason)
      }
      const done = () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      let set = this.#waiting.get(name)
      if (!set) this.#waiting.set(name, (set = new Set()))
      set.add(done)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

export const gates = new Gates()

const step = z.union([
  /** `pad` makes every line that many characters longer. */
  z.object({ emit: z.number().int().min(0).max(1_000_000), pad: z.number().int().min(0).max(100_000).optional() }).strict(),
  z.object({ wait: z.string().min(1) }).strict(),
  z.object({ finish: z.number().int().min(0) }).strict(),
  z.object({ echo: z.string().min(1) }).strict(),
])

const scriptConfig = z
  .object({
    steps: z.array(step).max(100),
    /** Lines emitted between two yields to the event loop. */
    chunk: z.number().int().min(1).max(100_000).default(500),
  })
  .strict()

/**
 * Line `i` (1-based, counted per target over the whole run) of a target: every 100th mentions an
 * error (level ERROR), every 10th other one goes to stderr (level WARNING), the rest to stdout (INFO).
 */
export function scriptLine(targetName: string, i: number): { stream: OutputStream; text: string; level: 'ERROR' | 'WARNING' | 'INFO' } {
  if (i % 100 === 0) return { stream: 'STDERR', text: `${targetName} line ${i}: simulated error`, level: 'ERROR' }
  if (i % 10 === 0) return { stream: 'STDERR', text: `${targetName} line ${i} on stderr`, level: 'WARNING' }
  return { stream: 'STDOUT', text: `${targetName} line ${i}`, level: 'INFO' }
}

export const scriptExecutor: JobExecutor<typeof scriptConfig> = {
  type: 'test-script',
  label: 'Test script',
  description: 'Emits output lines, waits at gates and finishes targets as its config says (tests only).',
  configSchema: scriptConfig,
  usesTargets: true,
  async execute(ctx) {
    const emitted = new Map(ctx.targets.map((t) => [t.id, 0]))
    const finished = new Set<string>()
    // No ctx.targetStarted(): the dispatcher writes "started" and "finished" concurrently, and a
    // started write that lands last turns a finished target back to RUNNING (then FAILED at settle).
    // Reported; targets of this executor go PENDING → SUCCEEDED directly.
    for (const s of ctx.config.steps) {
      ctx.signal.throwIfAborted()
      if ('emit' in s) {
        // Targets interleave, as parallel output does.
        for (let n = 0; n < s.emit; n++) {
          for (const t of ctx.targets) {
            if (finished.has(t.id)) continue
            const i = emitted.get(t.id)! + 1
            emitted.set(t.id, i)
            const line = scriptLine(t.name, i)
            ctx.log.output(t.id, line.stream, s.pad ? `${line.text} ${'x'.repeat(s.pad)}` : line.text)
          }
          if ((n + 1) % ctx.config.chunk === 0) await nextTick()
        }
      } else if ('wait' in s) {
        await gates.wait(s.wait, ctx.signal)
      } else if ('finish' in s) {
        const t = ctx.targets[s.finish]
        if (t && !finished.has(t.id)) {
          finished.add(t.id)
          ctx.targetFinished(t.id, { status: 'SUCCEEDED', exitCode: 0 })
        }
      } else {
        const t = ctx.targets[0]
        if (t) ctx.log.output(t.id, 'STDOUT', `echo ${s.echo}=${String(ctx.parameters[s.echo])} (done)`)
      }
    }
    for (const t of ctx.targets) if (!finished.has(t.id)) ctx.targetFinished(t.id, { status: 'SUCCEEDED', exitCode: 0 })
    return {}
  },
}

const outcomeConfig = z
  .object({
    /** Fail the run with this error (else it succeeds). */
    fail: z.string().optional(),
    /** Wait at this gate first (a test releases it, or cancels the run meanwhile). */
    wait: z.string().optional(),
    /** The failure is transient: the template's retry policy applies. */
    retryable: z.boolean().optional(),
    /** Stored as the run's result, with the run's parameters under `parameters`. */
    result: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()

/** `test-outcome`: succeeds or fails as configured, with a result that echoes its parameters (no targets). */
export const outcomeExecutor: JobExecutor<typeof outcomeConfig> = {
  type: 'test-outcome',
  label: 'Test outcome',
  description: 'Succeeds or fails as its config says, returning a result with its parameters (tests only).',
  configSchema: outcomeConfig,
  usesTargets: false,
  async execute(ctx) {
    if (ctx.config.wait) await gates.wait(ctx.config.wait, ctx.signal)
    const result = { ...ctx.config.result, parameters: ctx.parameters }
    return ctx.config.fail ? { ok: false, error: ctx.config.fail, retryable: ctx.config.retryable, result } : { ok: true, result }
  },
}

/** The noop job type plus the test ones. */
export function createTestRegistry(): ExecutorRegistry {
  return new ExecutorRegistry([noopExecutor as JobExecutor, scriptExecutor as JobExecutor, outcomeExecutor as JobExecutor])
}
