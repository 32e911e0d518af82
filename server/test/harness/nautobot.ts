/**
 * A real Nautobot for tests. scripts/test-peers/nautobot.sh installs it once per machine (a virtualenv in
 * ~/.cache/switchyard-test-peers/nautobot-<version>, a migrated template database, a superuser and API token;
 * `.ci/run` calls it). Each `startNautobot()` clones that template database, starts `nautobot-server runserver`
 * on a free loopback port in a process group of its own, waits until the API answers with the token, and on
 * `stop()` kills the group and drops the clone. Tests load their data through Nautobot's REST API (`rest`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import crypto from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { homedir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { withAdmin } from './database.ts'

/** Keep in step with NAUTOBOT_VERSION in scripts/test-peers/nautobot.sh. */
export const NAUTOBOT_VERSION = process.env.NAUTOBOT_VERSION ?? '3.2.7'
const DIR = join(process.env.SWITCHYARD_TEST_PEERS_DIR ?? join(homedir(), '.cache', 'switchyard-test-peers'), `nautobot-${NAUTOBOT_VERSION}`)
const TEMPLATE_DB = `nautobot_template_${NAUTOBOT_VERSION.replaceAll('.', '_')}`
const START_TIMEOUT_MS = 180_000

export interface TestNautobot {
  url: string
  /** The superuser's API token (write-enabled). */
  token: string
  /** A REST call with the token; throws with Nautobot's answer on a non-2xx status. */
  rest<T = any>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>
  /** Everything the server printed so far (for a failing test's message). */
  output(): string
  stop(): Promise<void>
}

export function nautobotInstalled(): boolean {
  return existsSync(join(DIR, `template-${TEMPLATE_DB}.ok`))
}

export async function startNautobot(): Promise<TestNautobot> {
  if (!nautobotInstalled()) {
    throw new Error(`no Nautobot ${NAUTOBOT_VERSION} test install in ${DIR}: run scripts/test-peers/nautobot.sh (from the repository root) first`)
  }
  const token = readFileSync(join(DIR, 'token'), 'utf8').trim()
  const dbName = `nautobot_test_${crypto.randomBytes(5).toString('hex')}`
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
    child = spawn(join(DIR, 'venv', 'bin', 'nautobot-server'), ['runserver', `127.0.0.1:${port}`, '--noreload', '--skip-checks'], {
      detached: true, // its own process group: stop() ends the server and anything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        LANG: 'C.UTF-8',
        NAUTOBOT_CONFIG: join(DIR, 'nautobot_config.py'),
        NAUTOBOT_ROOT: join(DIR, 'root'),
        NAUTOBOT_DB_NAME: dbName,
        NAUTOBOT_TEST_CACHE_PREFIX: dbName,
      },
    })
    const append = (b: Buffer) => {
      out = (out + b.toString('utf8')).slice(-20_000)
    }
    child.stdout!.on('data', append)
    child.stderr!.on('data', append)
    const exited = new Promise<never>((_, reject) => child!.once('exit', (code, signal) => reject(new Error(`nautobot-server exited (${code ?? signal}) before it was ready:\n${out.slice(-3000)}`))))
    exited.catch(() => {})
    await Promise.race([waitReady(url, token), exited])
  } catch (e) {
    await stop()
    throw e
  }
  const rest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { Authorization: `Token ${token}`, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`Nautobot ${method} ${path} → HTTP ${res.status}: ${text.slice(0, 1000)}`)
    return text ? JSON.parse(text) : null
  }
  return { url, token, rest, output: () => out, stop }
}

/** The template may be in use for a moment (another file cloning it): retry briefly. */
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

/** Readiness: the API answers an authenticated request (the database and the token both work). */
async function waitReady(url: string, token: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    try {
      const res = await fetch(`${url}/api/status/`, { headers: { Authorization: `Token ${token}`, Accept: 'application/json' } })
      if (res.ok) return
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`Nautobot did not answer ${url}/api/status/ within ${START_TIMEOUT_MS / 1000} s`)
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
