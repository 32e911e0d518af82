/** `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database). */
import { loadConfig } from '../config.ts'
import { createDatabase } from '../db/database.ts'
import { startEmbeddedPostgres } from '../db/embedded-postgres.ts'
import { migrate } from '../db/migrate.ts'
import { createLogger } from '../util/logger.ts'

const config = loadConfig()
const logger = createLogger(config.logLevel, {}, undefined, config.logFormat)
const embedded = config.databaseUrl ? null : await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, logger)
const db = createDatabase(config.databaseUrl ?? embedded!.url, { max: 1 })
try {
  const { applied } = await migrate(db.pool)
  process.stdout.write(applied.length ? `Applied ${applied.length} migration(s):\n${applied.map((a) => `  ${a}`).join('\n')}\n` : 'Database is up to date.\n')
} finally {
  await db.close()
  await embedded?.stop()
}
