/**
 * Applies prisma/migrations/<name>/migration.sql in order and records each in `_prisma_migrations`
 * exactly as `prisma migrate deploy` does (same table, sha256 checksum, step count, advisory lock),
 * so Prisma's own `migrate status` agrees on a machine that has Prisma's binary. The product must
 * not depend on Prisma's CLI at run time, hence this small reimplementation.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type pg from 'pg'
import { REPO_ROOT } from '../config.ts'

export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'prisma', 'migrations')
export const PRISMA_MIGRATE_LOCK = 72707369

export class MigrationError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`)
    this.name = 'MigrationError'
  }
}

export interface MigrationResult {
  applied: string[]
}

export function listMigrations(dir = MIGRATIONS_DIR): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
}

export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const client = await pool.connect()
  const applied: string[] = []
  try {
    // Serialises concurrent starters (several processes booting at once) the way Prisma does.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK])
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS _prisma_migrations (
        id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
        migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)`)
      const { rows } = await client.query<{ migration_name: string; finished_at: Date | null; rolled_back_at: Date | null }>(
        'SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at',
      )
      const failed = rows.filter((r) => !r.finished_at && !r.rolled_back_at)
      if (failed.length) {
        throw new MigrationError('P3009', `failed migrations in the database: ${failed.map((r) => r.migration_name).join(', ')}; resolve them before starting`)
      }
      const done = new Set(rows.filter((r) => !r.rolled_back_at).map((r) => r.migration_name))
      for (const name of listMigrations(dir)) {
        if (done.has(name)) continue
        const script = fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8')
        const id = crypto.randomUUID()
        const checksum = crypto.createHash('sha256').update(script).digest('hex')
        await client.query('INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES ($1, $2, now(), $3)', [id, checksum, name])
        try {
          // One simple-protocol query runs as one implicit transaction, as with Prisma.
          await client.query(script)
        } catch (e) {
          const err = e as { message?: string; code?: string }
          await client.query('UPDATE _prisma_migrations SET logs = $2 WHERE id = $1', [id, `${err.message}\n\nDB error code: ${err.code}`])
          throw new MigrationError('P3018', `migration ${name} failed: ${err.message}`)
        }
        await client.query('UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1, finished_at = now() WHERE id = $1', [id])
        applied.push(name)
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK]).catch(() => {})
    }
  } finally {
    client.release()
  }
  return { applied }
}
