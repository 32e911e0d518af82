/**
 * A real peer application (Redmine, Nautobot) as a test's server: installed once per machine by
 * scripts/test-peers/<peer>.sh with a migrated template database. `startPeerProcess` clones that template,
 * starts the server on a free loopback port in a process group of its own, waits until an authenticated
 * request answers, and `stop()` kills the group (by its PID: SIGTERM, SIGKILL after 10 s) and drops the clone.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import crypto from 'node:crypto'
import { boundedLog, unusedLoopbackPort } from './sshd.ts'
import pg from 'pg'
import { withAdmin } from './database.ts'

export interface PeerProcessOptions {
  /** The peer's name in errors ("Redmine"). */
  name: string
  /** The template database to clone, and the prefix of the clone's name. */
  templateDb: string
  dbPrefix: string
  /** How to start the server on `port` with database `dbName`. PATH, HOME and LANG are added to `env`. */
  command(port: number, dbName: string): { file: string; args: string[]; cwd?: string; env: Record<string, string> }
  /** Sent with every request: the credentials. */
  headers: Record<string, string>
  /** Answers 2xx once the server, its database and the credentials work. */
  readyPath: string
  startTimeoutMs: number
}

export interface PeerProcess {
  url: string
  /** A REST call with the credentials; throws with the peer's answer on a non-2xx status. */
  rest(method: string, path: string, body?: unknown): Promise<any>
  /** The last 20 kB the server printed (for a failing test's message). */
  output(): string
  stop(): Promise<void>
}

export async function startPeerProcess(o: PeerProcessOptions): Promise<PeerProcess> {
  const dbName = `${o.dbPrefix}_${crypto.randomBytes(5).toString('hex')}`
  await cloneTemplate(o.templateDb, dbName)
  const port = await unusedLoopbackPort()
  const url = `http://127.0.0.1:${port}`
  const out = boundedLog(20_000)
  let child: ChildProcess | null = null
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve))
      const killGroup = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child!.pid!, signal)
        } catch {
          /* already gone */
        }
      }
      killGroup('SIGTERM')
      const killer = setTimeout(() => killGroup('SIGKILL'), 10_000)
      await exited
      clearTimeout(killer)
    }
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(dbName)} WITH (FORCE)`))
  }
  try {
    const { file, args, cwd, env } = o.command(port, dbName)
    child = spawn(file, args, {
      cwd,
      detached: true, // its own process group: stop() ends the server and anything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', ...env },
    })
    const append = (b: Buffer) => out.add(b.toString('utf8'))
    child.stdout!.on('data', append)
    child.stderr!.on('data', append)
    const exited = new Promise<never>((_, reject) => child!.once('exit', (code, signal) => reject(new Error(`${o.name} exited (${code ?? signal}) before it was ready:\n${out.text().slice(-3000)}`))))
    exited.catch(() => {})
    await Promise.race([waitReady(o, url), exited])
  } catch (e) {
    await stop()
    throw e
  }
  const rest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...o.headers, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${o.name} ${method} ${path} → HTTP ${res.status}: ${text.slice(0, 1000)}`)
    return text.trim() ? JSON.parse(text) : null
  }
  return { url, rest, output: () => out.text(), stop }
}

/** The template may be in use for a moment (another file cloning it): retry briefly. */
async function cloneTemplate(template: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdmin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`))
      return
    } catch (e) {
      if (attempt >= 20 || !/being accessed by other users/.test((e as Error).message)) throw e
      await new Promise((r) => setTimeout(r, 250 * attempt))
    }
  }
}

async function waitReady(o: PeerProcessOptions, url: string): Promise<void> {
  const deadline = Date.now() + o.startTimeoutMs
  for (;;) {
    try {
      const res = await fetch(`${url}${o.readyPath}`, { headers: { ...o.headers, Accept: 'application/json' } })
      if (res.ok) return
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${o.name} did not answer ${url}${o.readyPath} within ${o.startTimeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 250))
  }
}
