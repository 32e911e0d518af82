/**
 * Test databases on the machine's Postgres (TEST_ADMIN_DATABASE_URL, default the local trust
 * superuser). One template is migrated and has pg-boss installed once per test session; every test
 * file gets its own clone, so files run in parallel without seeing each other's rows.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { MIGRATIONS_DIR, listMigrations } from '../../src/db/migrate.ts'

export const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

export function databaseUrl(name: string): string {
  const u = new URL(ADMIN_URL)
  u.pathname = `/${name}`
  return u.toString()
}

/** The template's name changes whenever a migration does, so a stale template is never reused. */
export function templateName(): string {
  const h = crypto.createHash('sha256')
  for (const m of listMigrations()) h.update(m).update(fs.readFileSync(path.join(MIGRATIONS_DIR, m, 'migration.sql')))
  return `switchyard_tpl_${h.digest('hex').slice(0, 12)}`
}

export async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

export interface TestDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `switchyard_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${crypto.randomBytes(4).toString('hex')}`
  const template = process.env.SWITCHYARD_TEST_TEMPLATE ?? templateName()
  await withAdmin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`))
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  }
}
