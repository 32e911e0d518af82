/**
 * Job types for the benchmark only (the product's `noop` is used as is for throughput):
 *  - `bench-probe`: succeeds at once, like noop, and stamps the moment the dispatcher handed it the run
 *    (so start latency can be split into "claimed" and "executor entered");
 *  - `bench-emit`: writes `lines` output lines for each target as fast as the event loop allows,
 *    yielding every `chunk` lines, like a chatty command whose output arrives in chunks.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { z } from 'zod'
import { noopExecutor } from '../src/jobs/executors/noop.ts'
import { ExecutorRegistry } from '../src/jobs/executors/registry.ts'
import type { JobExecutor } from '../src/jobs/executors/types.ts'
import { now } from './lib/stats.ts'

/** performance.now() stamps by run id, written by the executors of this process. */
export const stamps = {
  entered: new Map<string, number>(),
  emitted: new Map<string, number>(),
  clear() {
    this.entered.clear()
    this.emitted.clear()
  },
}

const probeConfig = z.object({}).strict()

export const probeExecutor: JobExecutor<typeof probeConfig> = {
  type: 'bench-probe',
  label: 'Benchmark probe',
  description: 'Succeeds at once and records when it was started (benchmark only).',
  configSchema: probeConfig,
  usesTargets: false,
  async execute(ctx) {
    stamps.entered.set(ctx.runId, now())
    return { ok: true }
  },
}

const emitConfig = z
  .object({
    lines: z.number().int().min(1).max(10_000_000),
    chunk: z.number().int().min(1).max(100_000).default(500),
  })
  .strict()

/** The text of output line `i` (1-based): about 80 characters, like typical command output. */
export function emittedLine(i: number): string {
  return `${String(i).padStart(7, '0')} INFO  worker[42] processed item ${i} in 3.1 ms (queue depth 17, batch ok)`
}

export const emitExecutor: JobExecutor<typeof emitConfig> = {
  type: 'bench-emit',
  label: 'Benchmark log emitter',
  description: 'Writes many output lines per target as fast as possible (benchmark only).',
  configSchema: emitConfig,
  usesTargets: true,
  async execute(ctx) {
    stamps.entered.set(ctx.runId, now())
    for (const t of ctx.targets) ctx.targetStarted(t.id)
    for (let i = 1; i <= ctx.config.lines; i++) {
      for (const t of ctx.targets) ctx.log.output(t.id, 'STDOUT', emittedLine(i))
      if (i % ctx.config.chunk === 0) {
        ctx.signal.throwIfAborted()
        await yieldToLoop()
      }
    }
    stamps.emitted.set(ctx.runId, now())
    for (const t of ctx.targets) ctx.targetFinished(t.id, { status: 'SUCCEEDED', exitCode: 0 })
    return {}
  },
}

/** `bench-fail`: fails at once (no targets), for the notification benchmark's failing runs. */
export const failExecutor: JobExecutor<typeof probeConfig> = {
  type: 'bench-fail',
  label: 'Benchmark failure',
  description: 'Fails at once (benchmark only).',
  configSchema: probeConfig,
  usesTargets: false,
  async execute() {
    return { ok: false, error: 'bench failure', retryable: false }
  },
}

export function createBenchRegistry(): ExecutorRegistry {
  return new ExecutorRegistry([noopExecutor as JobExecutor, probeExecutor as JobExecutor, emitExecutor as JobExecutor, failExecutor as JobExecutor])
}
