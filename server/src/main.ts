/**
 * `switchyard` server entry point. Runs every role by default (api, worker, scheduler);
 * `--role api` / `--role worker,scheduler` splits them across processes sharing one Postgres.
 */
import { ConfigError, loadConfig } from './config.ts'
import { startApp } from './app.ts'
import { createLogger, type Logger } from './util/logger.ts'

/** Set once the configuration is read, so a start-up failure is logged in the configured format. */
let startupLogger: Logger | null = null

/** The started app once startApp resolves; a signal before that is kept in `pendingSignal`. */
let app: Awaited<ReturnType<typeof startApp>> | null = null
let pendingSignal: string | null = null
let stopping = false

/**
 * Signal handlers are installed before anything starts: a SIGTERM during start-up (a supervisor
 * stopping a process it just started, a rolling restart) would otherwise kill the process with Node's
 * default action — no graceful stop, so its worker row is left unmarked and taken for a crashed worker
 * (WORKER_DOWN), and an embedded Postgres is orphaned. A signal while starting stops the process as
 * soon as it has started; a second one exits at once.
 */
function shutdown(signal: string): void {
  const logger = startupLogger
  if (stopping || pendingSignal) {
    logger?.warn('forced exit', { signal })
    process.exit(1)
  }
  if (!app) {
    pendingSignal = signal
    logger?.info('stop requested while starting; stopping once started', { signal })
    return
  }
  stopping = true
  logger?.info('shutting down', { signal })
  app.stop().then(
    () => process.exit(0),
    (e) => {
      logger?.error('shutdown failed', { error: (e as Error).message })
      process.exit(1)
    },
  )
}
process.on('SIGINT', () => shutdown('SIGINT'))
process.on('SIGTERM', () => shutdown('SIGTERM'))

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n')
      process.exit(2)
    }
    throw e
  }
  const logger = createLogger(config.logLevel, {}, undefined, config.logFormat)
  startupLogger = logger
  app = await startApp(config, {
    logger,
    onInitialAdmin: (username, password) => {
      const lines = password
        ? [`Created the first admin user.`, `  username: ${username}`, `  password: ${password}`, `This password is shown once; change it after signing in (changePassword mutation).`]
        : [`Created the first admin user "${username}" with the password from SWITCHYARD_ADMIN_PASSWORD.`]
      process.stdout.write('\n' + lines.join('\n') + '\n\n')
    },
  })
  logger.info('switchyard started', { roles: [...config.roles].join(','), api: app.url ? `${app.url}/graphql` : undefined, database: config.databaseUrl ? 'external' : 'embedded' })
  if (pendingSignal) {
    const signal = pendingSignal
    pendingSignal = null
    shutdown(signal)
  }
}

main().catch((e) => {
  // With the stack: `npm start` runs with source maps, so its frames name src/*.ts lines.
  const error = e instanceof Error ? e : new Error(String(e))
  if (startupLogger) startupLogger.error('switchyard failed to start', { error: error.message, stack: error.stack })
  else process.stderr.write(`switchyard failed to start: ${error.stack ?? error.message}\n`)
  process.exit(1)
})
