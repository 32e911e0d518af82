/**
 * A Switchyard process for tests that need a real separate OS process (SIGKILL, cross-process):
 * `tsx test/harness/worker-main.ts` with DATABASE_URL and SWITCHYARD_ROLES in the environment.
 * SWITCHYARD_TEST_CONFIG (JSON) adds settings on top of the test defaults; SWITCHYARD_TEST_EXECUTORS=1 adds the
 * test job types (test-executors.ts) to the registry.
 * Prints `ready <workerId> <apiUrl or -> <opsUrl or ->` once started; exits on SIGTERM after a graceful stop.
 */
import { startApp } from '../../src/app.ts'
import { createLogger, silentLogger } from '../../src/util/logger.ts'
import { testConfig } from './app.ts'
import { createTestRegistry } from './test-executors.ts'

// Spawned by spawn-worker.ts with an IPC channel: when the test process dies (a failed test, a fork
// vitest terminates), die with it, abruptly, rather than run on as an orphan.
if (process.send) process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'))

// Installed before the app starts, like main.ts: a SIGTERM that arrived between the ready line and a
// handler installed after it killed the process with Node's default action, without its graceful stop.
let stop: (() => void) | null = null
let stopRequested = false
process.on('SIGTERM', () => {
  stopRequested = true
  stop?.()
})

const extra = JSON.parse(process.env.SWITCHYARD_TEST_CONFIG ?? '{}') as Record<string, string>
const config = testConfig(process.env.DATABASE_URL!, extra, process.env.SWITCHYARD_ROLES ?? 'worker')
const app = await startApp(config, {
  logger: process.env.SWITCHYARD_TEST_LOGS ? createLogger(process.env.SWITCHYARD_TEST_LOGS === 'debug' ? 'debug' : 'info') : silentLogger,
  registry: process.env.SWITCHYARD_TEST_EXECUTORS ? createTestRegistry() : undefined,
})
stop = () => {
  stop = null
  void app.stop({ graceMs: 1000 }).then(() => process.exit(0))
}
if (stopRequested) stop()
else process.stdout.write(`ready ${app.workerId} ${app.url ?? '-'} ${app.opsUrl ?? '-'}
`)
