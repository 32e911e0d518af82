/**
 * The production start path: `npm run build` compiles the server into dist/, and the command of
 * `npm start` (read from package.json, so the test runs exactly that) starts it with plain Node — no
 * TypeScript loader. The compiled server becomes ready, runs a noop job end to end and stops cleanly;
 * no module it loads is a .ts file; with SWITCHYARD_LOG_FORMAT=json every line it logs is one JSON
 * object; and a thrown error's stack trace names the TypeScript source line (source maps).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_PASSWORD, eventually } from '../harness/app.ts'
import { apiClient } from '../harness/api-client.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { unusedLoopbackPort } from '../harness/sshd.ts'
import { serverStartScript } from '../harness/start-script.ts'
import { PRISMA_MIGRATE_LOCK } from '../../src/db/migrate.ts'

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const hook = path.join(serverDir, 'test', 'harness', 'report-typescript-imports.mjs')
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-compiled-'))


interface Started {
  url: string
  child: ChildProcess
  exit: Promise<number | null>
  stderr(): string
  stop(): Promise<number | null>
}

async function startCompiled(databaseUrl: string, waitReady: boolean): Promise<Started> {
  const port = await unusedLoopbackPort()
  const env: Record<string, string> = { ...(process.env as Record<string, string>) }
  delete env.NODE_OPTIONS // nothing from the test runner (vitest, tsx) may leak into the child
  const start = serverStartScript()
  const child = spawn(process.execPath, ['--import', hook, ...start.args], {
    cwd: serverDir,
    env: {
      ...env,
      ...start.env,
      DATABASE_URL: databaseUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      SWITCHYARD_SECRET_KEY: Buffer.alloc(32, 5).toString('base64'),
      SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SWITCHYARD_DATA_DIR: dataDir,
      SWITCHYARD_HEARTBEAT_SECONDS: '1',
      SWITCHYARD_DB_POOL_SIZE: '4',
      SWITCHYARD_LOG_LEVEL: 'debug', // every component's lines, to check each is JSON
      SWITCHYARD_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
  child.stdout!.resume()
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const code = await exit
    clearTimeout(timer)
    return code
  }
  if (waitReady) {
    try {
      await eventually(async () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err}`)
        return (await fetch(`${url}/readyz`)).status === 200
      }, { timeoutMs: 60_000, what: 'the compiled server to be ready' })
    } catch (e) {
      await stop()
      throw e
    }
  }
  return { url, child, exit, stderr: () => err, stop }
}

function jsonLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>
      } catch {
        throw new Error(`not a JSON log line: ${l}`)
      }
    })
}

let db: TestDatabase
beforeAll(() => {
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: serverDir, encoding: 'utf8' })
  expect(built.status, built.stderr).toBe(0)
}, 120_000)
beforeAll(async () => {
  db = await createTestDatabase('compiled')
})
afterAll(async () => {
  await db?.drop()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

describe('the compiled server (npm run build, npm start)', () => {
  it('is one JavaScript bundle with a source map that imports only packages and Node built-ins', () => {
    expect(serverStartScript().args).toContain('--enable-source-maps')
    const js = fs.readFileSync(path.join(serverDir, 'dist', 'main.js'), 'utf8')
    expect(js.trimEnd().endsWith('//# sourceMappingURL=main.js.map')).toBe(true)
    const map = JSON.parse(fs.readFileSync(path.join(serverDir, 'dist', 'main.js.map'), 'utf8')) as { sources: string[] }
    expect(map.sources).toContain('../src/main.ts')
    expect(map.sources).toContain('../src/generated/prisma/client.ts')
    const specifiers = [...js.matchAll(/^import\s[^'"]*?from\s*"([^"]+)"|^import\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm)].map((m) => m[1] ?? m[2] ?? m[3]!)
    expect(specifiers.length).toBeGreaterThan(10)
    // The one relative import: Prisma's runtime with its parameterisation graph's edges as Maps (build.mjs).
    for (const s of specifiers.filter((s) => s !== './prisma-runtime-client.cjs')) expect(s, s).not.toMatch(/^\.|\.tsx?$|^tsx\b/)
    expect(specifiers).toContain('./prisma-runtime-client.cjs')
    expect(specifiers).not.toContain('@prisma/client/runtime/client')
    const runtime = fs.readFileSync(path.join(serverDir, 'dist', 'prisma-runtime-client.cjs'), 'utf8')
    expect(runtime.match(/edges\.get\(i\)/g)).toHaveLength(2)
    expect(runtime).not.toMatch(/edges\[i\]/)
    // Prisma's query compiler is read from dist/ as WebAssembly, not kept in the heap as base64 (build.mjs).
    expect(fs.existsSync(path.join(serverDir, 'dist', 'prisma-query-compiler.wasm'))).toBe(true)
    expect(specifiers.filter((s) => s.includes('wasm-base64'))).toEqual([])
  })

  it('starts with plain Node, is ready, runs a noop job, logs JSON lines and stops cleanly', async () => {
    const server = await startCompiled(db.url, true)
    try {
      const readyz = (await (await fetch(`${server.url}/readyz`)).json()) as { status: string; checks: Record<string, { ok: boolean }> }
      expect(readyz.status).toBe('ok')
      expect(Object.values(readyz.checks).every((c) => c.ok)).toBe(true)

      const api = apiClient(() => server.url)
      const gql = api.gql
      await api.login()
      const tpl = (await gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'compiled noop', jobType: 'noop', config: { message: 'from dist' }, visibility: 'GLOBAL' } })).createJobTemplate
      const run = (await gql(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id status } }`, { id: tpl.id })).triggerJobRun
      await eventually(async () => (await gql(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: run.id })).jobRun.status === 'SUCCEEDED', { what: 'the run to succeed' })
      const log = (await gql(`query($id: ID!) { jobRunLog(runId: $id) { lines { text } } }`, { id: run.id })).jobRunLog.lines.map((l: { text: string }) => l.text)
      expect(log).toContain('from dist')
    } finally {
      expect(await server.stop()).toBe(0)
    }
    const stderr = server.stderr()
    expect(stderr).not.toContain('TYPESCRIPT IMPORT')
    const lines = jsonLines(stderr)
    for (const l of lines) {
      expect(Object.keys(l).slice(0, 3)).toEqual(['time', 'level', 'msg'])
      expect(new Date(l.time as string).toISOString()).toBe(l.time)
      expect(['debug', 'info', 'warn', 'error']).toContain(l.level)
    }
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', msg: 'switchyard started', roles: 'api,worker,scheduler' }))
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal: 'SIGTERM' }))
    // Component loggers carry their component as a key of their own.
    expect(lines.some((l) => typeof l.component === 'string')).toBe(true)
    // Neither the admin password nor the secret key is ever logged.
    expect(stderr).not.toContain(ADMIN_PASSWORD)
    expect(stderr).not.toContain(Buffer.alloc(32, 5).toString('base64'))
  })

  it('stops gracefully when told to while it is still starting: once started, not killed half-way', async () => {
    // Hold the migration lock, so the server is certainly still starting (waiting for it) when the SIGTERM comes.
    const holder = new pg.Client({ connectionString: db.url })
    await holder.connect()
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK])
      const server = await startCompiled(db.url, false)
      const waiting = async () =>
        (await holder.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'switchyard-%' AND wait_event_type = 'Lock'`)).rows[0].n > 0
      await eventually(waiting, { timeoutMs: 60_000, what: 'the server waiting for the migration lock' })
      const child = server.child
      child.kill('SIGTERM')
      // Node's default action would end it at once; it is still there, waiting to finish starting.
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(child.exitCode, server.stderr()).toBeNull()
      expect(child.signalCode).toBeNull()
      await holder.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK])
      // No second signal (that one would force an exit): it stops by itself once started.
      const ended = await Promise.race([server.exit, new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000))])
      if (ended === 'still running') await server.stop()
      expect(ended, server.stderr()).toBe(0)
      const lines = jsonLines(server.stderr())
      const messages = lines.map((l) => l.msg)
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'stop requested while starting; stopping once started', signal: 'SIGTERM' }))
      expect(messages.indexOf('shutting down')).toBeGreaterThan(messages.indexOf('switchyard started'))
      // Its worker row says it stopped (heartbeat_at = stopped_at), so no one takes it for a crashed worker.
      const { rows } = await holder.query('SELECT stopped_at IS NOT NULL AND heartbeat_at >= stopped_at AS graceful FROM worker WHERE pid = $1', [child.pid])
      expect(rows).toEqual([{ graceful: true }])
    } finally {
      await holder.end()
    }
  })

  it('reports a thrown error with a stack trace at the TypeScript source line', async () => {
    // A migration recorded as started but never finished: the server refuses to start (P3009),
    // thrown from src/db/migrate.ts.
    const c = new pg.Client({ connectionString: db.url })
    await c.connect()
    await c.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES (gen_random_uuid()::text, 'x', '99999999999999_interrupted', now())`)
    await c.end()
    const server = await startCompiled(db.url, false)
    expect(await server.exit).toBe(1)
    const failure = jsonLines(server.stderr()).find((l) => l.msg === 'switchyard failed to start')
    expect(failure, server.stderr()).toBeDefined()
    expect(failure!.error).toMatch(/^P3009: failed migrations in the database: 99999999999999_interrupted/)
    const source = fs.readFileSync(path.join(serverDir, 'src', 'db', 'migrate.ts'), 'utf8').split('\n')
    const line = source.findIndex((l) => l.includes(`new MigrationError('P3009'`)) + 1
    expect(line).toBeGreaterThan(0)
    expect(failure!.stack).toContain(`${path.join(serverDir, 'src', 'db', 'migrate.ts')}:${line}:`)
    expect(failure!.stack).not.toContain('dist/main.js')
  })
})
