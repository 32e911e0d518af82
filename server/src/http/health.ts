/**
 * Liveness and readiness for load balancers and orchestrators.
 *
 * `/livez` answers from memory: the event loop runs, so the process is alive (restart it only when
 * this fails). `/readyz` says whether the process can do its work now: Postgres answers, every
 * migration this build ships is applied, the queue is started and the LISTEN connection is up —
 * one cheap query per probe, on a connection of its own with a deadline, so a probe keeps answering
 * (503, naming the failing check) while Postgres is down or stalled instead of hanging.
 *
 * Anonymous callers get the status and each check's name and result; why a check fails (error
 * text naming hosts and ports), the roles and the worker id are for signed-in users only.
 */
import type http from 'node:http'
import pg from 'pg'
import { coerceError } from '../util/errors.ts'
import { TCP_KEEPALIVE } from '../db/database.ts'

export interface ReadinessProbes {
  /** Migrations this build ships (all must be applied). */
  migrations: readonly string[]
  /** The queue is started (and not stopping). */
  queueStarted(): boolean
  /** The LISTEN connection is up (null: this process's roles do not need one). */
  listenConnected: (() => boolean) | null
  /** The process is shutting down: not ready, so balancers drain it. */
  stopping(): boolean
}

export interface CheckResult {
  ok: boolean
  /** Why it failed (signed-in callers only). */
  error?: string
}

export interface Readiness {
  ok: boolean
  checks: Record<string, CheckResult>
}

const PROBE_TIMEOUT_MS = 2000

export class HealthChecks {
  readonly #pool: pg.Pool
  readonly #probes: ReadinessProbes

  constructor(databaseUrl: string, probes: ReadinessProbes) {
    // Its own single connection with deadlines: a probe must not queue behind the work pool, nor hang
    // on a half-open connection (query_timeout) or an unreachable server (connectionTimeoutMillis).
    this.#pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 1,
      application_name: 'switchyard-health',
      connectionTimeoutMillis: PROBE_TIMEOUT_MS,
      query_timeout: PROBE_TIMEOUT_MS,
      idleTimeoutMillis: 60_000,
      ...TCP_KEEPALIVE,
    })
    this.#pool.on('error', () => {})
    this.#pool.on('connect', (client) => client.on('error', () => {}))
    this.#probes = probes
  }

  /** Runs `sql` on the probe connection (also used by the metrics scrape: one cheap query). */
  async query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    const client = await this.#pool.connect()
    try {
      const result = await client.query<R>(sql, values)
      client.release()
      return result
    } catch (e) {
      // A timed-out query leaves its connection busy (or half-open): never reuse it.
      client.release(true)
      throw e
    }
  }

  async readiness(): Promise<Readiness> {
    const checks: Record<string, CheckResult> = {}
    try {
      const { rows } = await this.query<{ name: string }>(
        'SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      )
      checks.database = { ok: true }
      const applied = new Set(rows.map((r) => r.name))
      const missing = this.#probes.migrations.filter((m) => !applied.has(m))
      checks.migrations = missing.length ? { ok: false, error: `not applied: ${missing.join(', ')}` } : { ok: true }
    } catch (e) {
      const error = coerceError(e).message
      checks.database = { ok: false, error }
      checks.migrations = { ok: false, error: 'unknown: the database did not answer' }
    }
    checks.queue = this.#probes.queueStarted() ? { ok: true } : { ok: false, error: 'the queue is not started' }
    if (this.#probes.listenConnected) {
      checks.listen = this.#probes.listenConnected() ? { ok: true } : { ok: false, error: 'the LISTEN connection is down (reconnecting)' }
    }
    if (this.#probes.stopping()) checks.shutdown = { ok: false, error: 'the process is shutting down' }
    return { ok: Object.values(checks).every((c) => c.ok), checks }
  }

  close(): Promise<void> {
    return this.#pool.end()
  }
}

/** What a caller sees: everything for a signed-in user, names and results only for anyone else. */
export function readinessBody(r: Readiness, detail: { roles: string[]; workerId: string } | null): Record<string, unknown> {
  const checks = Object.fromEntries(Object.entries(r.checks).map(([name, c]) => [name, detail ? c : { ok: c.ok }]))
  return { status: r.ok ? 'ok' : 'unavailable', checks, ...(detail ?? {}) }
}

export const LIVEZ_PATH = '/livez'
export const READYZ_PATH = '/readyz'

/** The path without its query string. */
export function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, method = 'GET'): void {
  // Probes must never be answered from a cache.
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(method === 'HEAD' ? undefined : JSON.stringify(body))
}
