/**
 * A Switchyard worker in its own OS process, for cross-process tests:
 *   node --import tsx test/harness/worker-process.ts <databaseUrl>
 * Runs `--role worker` with the test job types against the given database. Talks JSON lines:
 * stdout `{"type":"ready","workerId":…,"pid":…}` once started and `{"type":"reached","gate":…}` when an
 * executor arrives at a gate; stdin `{"release":"<gate>"}` opens a gate. It stops on SIGTERM/SIGINT or
 * when stdin closes (so it never outlives the test process that spawned it).
 */
import readline from 'node:readline'
import { startApp } from '../../src/app.ts'
import { createLogger, silentLogger } from '../../src/util/logger.ts'
import { testConfig } from './app.ts'
import { createTestRegistry, gates } from './test-executors.ts'

const databaseUrl = process.argv[2]
if (!databaseUrl) {
  process.stderr.write('usage: worker-process.ts <databaseUrl>\n')
  process.exit(2)
}

const send = (msg: Record<string, unknown>) => process.stdout.write(JSON.stringify(msg) + '\n')
const logger = process.env.SWITCHYARD_TEST_LOGS ? createLogger('info', { process: 'worker' }) : silentLogger
const app = await startApp(testConfig(databaseUrl, {}, 'worker'), { logger, registry: createTestRegistry() })

let stopping: Promise<void> | null = null
const stop = () =>
  (stopping ??= app
    .stop({ graceMs: 1000 })
    .catch((e: unknown) => {
      process.stderr.write(`worker stop failed: ${(e as Error).message}\n`)
    })
    .finally(() => process.exit(0)))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

gates.onReached = (gate) => send({ type: 'reached', gate })
const input = readline.createInterface({ input: process.stdin })
input.on('line', (line) => {
  const msg = JSON.parse(line) as { release?: string }
  if (msg.release) gates.release(msg.release)
})
input.on('close', stop)

send({ type: 'ready', workerId: app.workerId, pid: process.pid })
