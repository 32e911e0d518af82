/**
 * A real Redmine for tests (Debian's `redmine` package). scripts/test-peers/redmine.sh prepares it once per
 * machine (a Gemfile adding WEBrick, an admin API key, a migrated template database with the REST API on and
 * a project `switchyard`; `.ci/run` calls it). Each `startRedmine()` clones the template database, starts
 * `bin/rails server -u webrick` on a free loopback port in a process group of its own, waits until the API
 * answers with the key, and on `stop()` kills the group (by its PID) and drops the clone.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import crypto from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { withAdmin } from './database.ts'

/** Keep in step with Debian's package (scripts/test-peers/redmine.sh names the directory after it). */
export const REDMINE_VERSION = process.env.REDMINE_VERSION ?? '5.0.4'
const REDMINE_ROOT = process.env.REDMINE_ROOT ?? '/usr/share/redmine'
const DIR = join(process.env.SWITCHYARD_TEST_PEERS_DIR ?? join(homedir(), '.cache', 'switchyard-test-peers'), `redmine-${REDMINE_VERSION}`)
const TEMPLATE_DB = `redmine_template_${REDMINE_VERSION.replaceAll(/[.-]/g, '_')}`
const START_TIMEOUT_MS = 120_000
/** The project redmine.sh creates. */
export const REDMINE_PROJECT = 'switchyard'

export interface TestRedmine {
  url: string
  /** The admin's API key. */
  apiKey: string
  /** A REST call with the key; throws with Redmine's answer on a non-2xx status. */
  rest<T = any>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T>
  output(): string
  stop(): Promise<void>
}

export function redmineInstalled(): boolean {
  return existsSync(join(DIR, `template-${TEMPLATE_DB}.ok`))
}

export async function startRedmine(): Promise<TestRedmine> {
  if (!redmineInstalled()) throw new Error(`no Redmine ${REDMINE_VERSION} test setup in ${DIR}: run scripts/test-peers/redmine.sh (from the repository root) first`)
  const apiKey = readFileSync(join(DIR, 'api_key'), 'utf8').trim()
  const dbName = `redmine_test_${crypto.randomBytes(5).toString('hex')}`
  await cloneTemplate(dbName)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  let out = ''
  let child: ChildProcess | null = null
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve))
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {
        /* already gone */
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child!.pid!, 'SIGKILL')
        } catch {
          /* already gone */
        }
      }, 10_000)
      await exited
      clearTimeout(killer)
    }
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(dbName)} WITH (FORCE)`))
  }
  try {
    child = spawn(join(REDMINE_ROOT, 'bin', 'rails'), ['server', '-u', 'webrick', '-b', '127.0.0.1', '-p', String(port), '-P', join(tmpdir(), `${dbName}.pid`)], {
      cwd: REDMINE_ROOT,
      detached: true, // its own process group: stop() ends the server and anything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        LANG: 'C.UTF-8',
        RAILS_ENV: 'production',
        BUNDLE_GEMFILE: join(DIR, 'Gemfile'),
        DATABASE_URL: `postgresql://${process.env.REDMINE_TEST_PGUSER ?? 'postgres'}@127.0.0.1:5432/${dbName}`,
      },
    })
    const append = (b: Buffer) => {
      out = (out + b.toString('utf8')).slice(-20_000)
    }
    child.stdout!.on('data', append)
    child.stderr!.on('data', append)
    const exited = new Promise<never>((_, reject) => child!.once('exit', (code, signal) => reject(new Error(`redmine exited (${code ?? signal}) before it was ready:\n${out.slice(-3000)}`))))
    exited.catch(() => {})
    await Promise.race([waitReady(url, apiKey), exited])
  } catch (e) {
    await stop()
    throw e
  }
  const rest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'X-Redmine-API-Key': apiKey, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`Redmine ${method} ${path} → HTTP ${res.status}: ${text.slice(0, 1000)}`)
    return text.trim() ? JSON.parse(text) : null
  }
  return { url, apiKey, rest, output: () => out, stop }
}

async function cloneTemplate(name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdmin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(TEMPLATE_DB)}`))
      return
    } catch (e) {
      if (attempt >= 20 || !/being accessed by other users/.test((e as Error).message)) throw e
      await new Promise((r) => setTimeout(r, 250 * attempt))
    }
  }
}

/** Readiness: an authenticated request about the current user answers (database, REST API and key all work). */
async function waitReady(url: string, apiKey: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    try {
      const res = await fetch(`${url}/users/current.json`, { headers: { 'X-Redmine-API-Key': apiKey, Accept: 'application/json' } })
      if (res.ok) return
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`Redmine did not answer ${url}/users/current.json within ${START_TIMEOUT_MS / 1000} s`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}
