/**
 * Starts a real Switchyard app (API on port 0, worker, reaper) on a fresh clone of the template
 * database, and gives tests a small GraphQL client for it.
 */
import { createClient, type Client as WsClient } from 'graphql-ws'
import WebSocket from 'ws'
import { loadConfig, type Config } from '../../src/config.ts'
import { startApp, type App, type AppOptions } from '../../src/app.ts'
import { createLogger, silentLogger } from '../../src/util/logger.ts'
import { createTestDatabase, type TestDatabase } from './database.ts'

export const ADMIN_PASSWORD = 'admin-password-1'
const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64')

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T
  errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string; field?: string; fields?: Array<{ field: string; message: string }> } }>
}

export interface TestApp {
  app: App
  db: TestDatabase
  url: string
  adminToken: string
  /** POST a GraphQL operation; `token` defaults to the admin's. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>
  /** Like gql, but throws on errors and returns data. */
  ok<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<T>
  login(username: string, password: string): Promise<string>
  /** Creates a user with the role and returns a session token for them. */
  userToken(role: 'ADMIN' | 'OPERATOR' | 'VIEWER', username?: string): Promise<string>
  wsClient(token?: string | null, options?: { lazy?: boolean }): WsClient
  stop(): Promise<void>
}

export interface TestAppOptions {
  /** Settings on top of the test defaults; `undefined` removes a default (e.g. SWITCHYARD_SECRET_KEY). */
  env?: Record<string, string | undefined>
  roles?: string
  db?: TestDatabase
  registry?: AppOptions['registry']
  /** The WebSocket session sweep's interval (token expiry), instead of 30 s. */
  wsSweepMs?: number
  slowStageMs?: number
  verbose?: boolean
  /** Receives the app's log (e.g. to check what it writes). */
  logger?: AppOptions['logger']
}

export function testConfig(databaseUrl: string, env: Record<string, string | undefined> = {}, roles = 'api,worker,scheduler'): Config {
  return loadConfig(
    withoutUndefined({
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      SWITCHYARD_SECRET_KEY: TEST_SECRET_KEY,
      SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SWITCHYARD_DATA_DIR: '/tmp/switchyard-test-data',
      SWITCHYARD_HEARTBEAT_SECONDS: '1',
      SWITCHYARD_WORKER_DEAD_AFTER_SECONDS: '4',
      SWITCHYARD_LOG_LEVEL: 'warn',
      // Many apps share one Postgres (max_connections 100) across parallel test files.
      SWITCHYARD_DB_POOL_SIZE: '4',
      ...env,
    }),
    ['--role', roles],
  )
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.db ?? (await createTestDatabase())
  const config = testConfig(db.url, options.env, options.roles)
  const logger = options.logger ? options.logger : options.verbose ? createLogger('debug') : process.env.SWITCHYARD_TEST_LOGS ? createLogger('info') : silentLogger
  const app = await startApp(config, { logger, registry: options.registry, wsSweepMs: options.wsSweepMs, slowStageMs: options.slowStageMs })
  if (!app.url) throw new Error('test app needs the api role')
  const url = app.url
  const endpoint = `${url}/graphql`

  const gql = async <T,>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    const t = token === undefined ? adminToken : token
    if (t) headers.authorization = `Bearer ${t}`
    const res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify({ query, variables }) })
    return (await res.json()) as GraphQLResponse<T>
  }
  const ok = async <T,>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<T> => {
    const r = await gql<T>(query, variables, token)
    if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`)
    return r.data as T
  }
  const login = async (username: string, password: string) => {
    const d = await ok<{ login: { token: string } }>('mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token } }', { u: username, p: password }, null)
    return d.login.token
  }
  let adminToken = ''
  adminToken = await login('admin', ADMIN_PASSWORD)
  let userCounter = 0
  const wsClients: WsClient[] = []

  return {
    app,
    db,
    url,
    adminToken,
    gql,
    ok,
    login,
    async userToken(role, username = `${role.toLowerCase()}${++userCounter}`) {
      await ok('mutation($i:CreateUserInput!){ createUser(input:$i){ id } }', { i: { username, password: 'password-123', role } })
      return login(username, 'password-123')
    },
    wsClient(token, o = {}) {
      const t = token === undefined ? adminToken : token
      const client = createClient({
        url: endpoint.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        lazy: o.lazy ?? true,
        retryAttempts: 0,
        connectionParams: t ? { authorization: `Bearer ${t}` } : {},
      })
      wsClients.push(client)
      return client
    },
    async stop() {
      for (const c of wsClients) await c.dispose()
      await app.stop({ graceMs: 2000 })
      if (!options.db) await db.drop()
    },
  }
}

/** Collects a subscription's payloads until `until` returns true (or the subscription completes). */
export function collect<T>(client: WsClient, query: string, variables: Record<string, unknown>, until: (items: T[]) => boolean, timeoutMs = 30_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = []
    let dispose: () => void = () => {}
    const timer = setTimeout(() => {
      dispose()
      reject(new Error(`subscription timed out after ${timeoutMs}ms with ${items.length} item(s): ${JSON.stringify(items).slice(0, 500)}`))
    }, timeoutMs)
    const finish = () => {
      clearTimeout(timer)
      dispose()
      resolve(items)
    }
    dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (msg) => {
          if (msg.errors?.length) {
            clearTimeout(timer)
            dispose()
            reject(new Error(`subscription error: ${JSON.stringify(msg.errors)}`))
            return
          }
          items.push(msg.data as T)
          if (until(items)) finish()
        },
        error: (e) => {
          clearTimeout(timer)
          reject(e instanceof Error ? e : new Error(JSON.stringify(e)))
        },
        complete: finish,
      },
    )
  })
}

/** Polls `fn` until it returns a truthy value (for state that has no event to wait on). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
