/** Warnings Postgres raises on the app's pool reach the app's log (they are otherwise dropped by pg). */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, type Database } from './database.ts'
import { createTestDatabase, type TestDatabase } from '../../test/harness/database.ts'
import type { Logger } from '../util/logger.ts'

let tdb: TestDatabase
let db: Database
const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = []
const logger = {
  debug: (message: string, fields?: Record<string, unknown>) => lines.push({ level: 'debug', message, fields }),
  info: (message: string, fields?: Record<string, unknown>) => lines.push({ level: 'info', message, fields }),
  warn: (message: string, fields?: Record<string, unknown>) => lines.push({ level: 'warn', message, fields }),
  error: (message: string, fields?: Record<string, unknown>) => lines.push({ level: 'error', message, fields }),
  child: () => logger,
} as unknown as Logger

beforeAll(async () => {
  tdb = await createTestDatabase('pgwarn')
  db = createDatabase(tdb.url, { max: 2, logger })
})
afterAll(async () => {
  await db?.close()
  await tdb?.drop()
})

it('logs a RAISE WARNING as a warning, and leaves plain notices out', async () => {
  await db.pool.query(`DO $$ BEGIN RAISE NOTICE 'routine'; RAISE WARNING 'workflow advance after job run x failed: boom'; END $$`)
  expect(lines.filter((l) => l.message === 'postgres warning')).toEqual([
    { level: 'warn', message: 'postgres warning', fields: { message: 'workflow advance after job run x failed: boom' } },
  ])
})
