/**
 * The migrations the server applies produce exactly the schema schema.prisma describes, and they
 * are recorded the way Prisma records them (Prisma's own `migrate status` and `migrate diff` agree).
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate, listMigrations } from '../../src/db/migrate.ts'
import { databaseUrl, withAdmin } from '../harness/database.ts'
import { prismaCli } from '../harness/prisma-cli.ts'

const name = `switchyard_migrations_${process.pid}`
const url = databaseUrl(name)

beforeAll(async () => {
  await withAdmin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await c.query(`CREATE DATABASE ${name}`)
  })
})
afterAll(async () => {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
})

describe('database migrations', () => {
  it('apply on an empty database, record like Prisma, and are idempotent', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 })
    pool.on('error', () => {}) // a closing connection terminated by the DROP below is not a failure
    try {
      const first = await migrate(pool)
      expect(first.applied).toEqual(listMigrations())
      const again = await migrate(pool)
      expect(again.applied).toEqual([])
      const { rows } = await pool.query('SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name')
      expect(rows.map((r) => r.migration_name)).toEqual(listMigrations())
      for (const r of rows) {
        expect(r.checksum).toMatch(/^[0-9a-f]{64}$/)
        expect(r.finished_at).not.toBeNull()
        expect(r.applied_steps_count).toBe(1)
      }
    } finally {
      await pool.end()
    }
  })

  it('concurrent starters apply each migration once', async () => {
    await withAdmin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${name}_race WITH (FORCE)`)
      await c.query(`CREATE DATABASE ${name}_race`)
    })
    const pools = [0, 1, 2].map(() => new pg.Pool({ connectionString: databaseUrl(`${name}_race`), max: 1 }))
    for (const p of pools) p.on('error', () => {}) // connections closing while the DROP below terminates them
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)))
      expect(results.flatMap((r) => r.applied).sort()).toEqual(listMigrations().sort())
    } finally {
      await Promise.all(pools.map((p) => p.end()))
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name}_race WITH (FORCE)`))
    }
  })

  it("Prisma's migrate status agrees that the database is up to date", () => {
    const r = prismaCli(['migrate', 'status'], url)
    expect(r.stdout + r.stderr).toMatch(/Database schema is up to date/)
    expect(r.status).toBe(0)
  })

  it('the migrated database matches schema.prisma exactly (empty diff)', () => {
    const r = prismaCli(['migrate', 'diff', '--from-config-datasource', '--to-schema', 'prisma/schema.prisma', '--script', '--exit-code'], url)
    // Exit code 0 means empty diff, 2 means the schema and the migrations disagree.
    expect(r.status, `exit ${r.status}\n${r.stdout.trim()}\n${r.stderr.trim().slice(0, 2000)}`).toBe(0)
  })
})
