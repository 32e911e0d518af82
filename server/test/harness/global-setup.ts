/** Builds the template database once per `vitest run`: migrations applied, pg-boss installed. */
import pg from 'pg'
import { PgBoss } from 'pg-boss'
import { migrate } from '../../src/db/migrate.ts'
import { RunQueue } from '../../src/jobs/run-queue.ts'
import { databaseUrl, templateName, withAdmin } from './database.ts'

export default async function setup(): Promise<void> {
  const name = templateName()
  const exists = await withAdmin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1)
  if (!exists) {
    const building = `${name}_building_${process.pid}`
    await withAdmin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(building)}`))
    const url = databaseUrl(building)
    const pool = new pg.Pool({ connectionString: url, max: 2 })
    await migrate(pool)
    await pool.end()
    const boss = new PgBoss({ connectionString: url, schema: 'pgboss', supervise: false, schedule: false })
    await boss.start()
    await new RunQueue(boss, 'pgboss').ensure()
    await boss.stop({ graceful: false, close: true })
    // Rename only when complete, so a crashed setup never leaves a half-built template behind.
    await withAdmin(async (c) => {
      await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [building])
      await c.query(`ALTER DATABASE ${pg.escapeIdentifier(building)} RENAME TO ${pg.escapeIdentifier(name)}`).catch(async (e) => {
        // Another run built it meanwhile.
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(building)} WITH (FORCE)`)
        if (!/already exists/.test((e as Error).message)) throw e
      })
    })
  }
  process.env.SWITCHYARD_TEST_TEMPLATE = name
}
