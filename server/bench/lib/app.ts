/**
 * A Switchyard app for one scenario, on its own database: started with the product's `startApp`
 * (roles as asked), a bearer token for the admin, an HTTP GraphQL client and graphql-ws clients.
 * Warnings and errors the app logs are collected, so the report can show that a run was clean.
 */
import { createClient, type Client as WsClient } from 'graphql-ws'
import WebSocket from 'ws'
import { startApp, type App } from '../../src/app.ts'
import type { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import type { Actor } from '../../src/modules/actor.ts'
import { createLogger } from '../../src/util/logger.ts'
import type { TestDatabase } from '../../test/harness/database.ts'
import { BENCH_ADMIN_PASSWORD, benchConfig } from './config.ts'
import { track } from './resources.ts'

/** Warnings and errors logged by apps during the benchmark (reported at the end). */
export const appProblems: string[] = []
const logger = createLogger('warn', {}, (line) => {
  if (appProblems.length < 200) appProblems.push(line)
})

export interface GraphQLResult<T> {
  data?: T
  errors?: Array<{ message: string }>
}

export interface BenchApp {
  app: App
  endpoint: string
  token: string
  /** The admin as the services see a caller of the API (for service-level triggers). */
  actor: Actor
  gql<T>(query: string, variables?: Record<string, unknown>): Promise<T>
  /** A graphql-ws client, closed when the app stops. */
  ws(): WsClient
}

export async function withApp<T>(db: TestDatabase, options: { roles: string; registry?: ExecutorRegistry; env?: Record<string, string> }, fn: (a: BenchApp) => Promise<T>): Promise<T> {
  const app = await startApp(benchConfig(db.url, options.roles, options.env), { logger, registry: options.registry })
  const sockets: WsClient[] = []
  const stop = track('app', async () => {
    for (const s of sockets) await s.dispose()
    await app.stop({ graceMs: 2000 })
  })
  try {
    if (!app.url) throw new Error('the benchmark needs the api role in-process')
    const endpoint = `${app.url}/graphql`
    let token = ''
    const gql = async <R,>(query: string, variables?: Record<string, unknown>): Promise<R> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (token) headers.authorization = `Bearer ${token}`
      const res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify({ query, variables }) })
      const body = (await res.json()) as GraphQLResult<R>
      if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors ?? body)}`)
      return body.data
    }
    const login = await gql<{ login: { token: string } }>('mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token } }', { u: 'admin', p: BENCH_ADMIN_PASSWORD })
    token = login.login.token
    const admin = await app.db.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } })
    const actor: Actor = { userId: admin.id, username: admin.username, role: admin.role, via: 'API' }
    return await fn({
      app,
      endpoint,
      token,
      actor,
      gql,
      ws() {
        const client = createClient({
          url: endpoint.replace(/^http/, 'ws'),
          webSocketImpl: WebSocket,
          lazy: false,
          retryAttempts: 0,
          connectionParams: { authorization: `Bearer ${token}` },
        })
        sockets.push(client)
        return client
      },
    })
  } finally {
    await stop()
  }
}

/** The uuid inside a Relay global id (`base64("JobRun:<uuid>")`). */
export function rawId(globalId: string): string {
  const decoded = Buffer.from(globalId, 'base64').toString('utf8')
  return decoded.slice(decoded.indexOf(':') + 1)
}

export async function createTemplate(a: BenchApp, input: Record<string, unknown>): Promise<{ globalId: string; id: string }> {
  const d = await a.gql<{ createJobTemplate: { id: string } }>(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
    i: { visibility: 'GLOBAL', ...input },
  })
  return { globalId: d.createJobTemplate.id, id: rawId(d.createJobTemplate.id) }
}

export const TRIGGER_MUTATION = `mutation($id: ID!) { triggerJobRun(templateId: $id) { id status } }`

/** Triggers a run through the HTTP GraphQL API; returns the run's uuid. */
export async function triggerHttp(a: BenchApp, templateGlobalId: string): Promise<string> {
  const d = await a.gql<{ triggerJobRun: { id: string; status: string } }>(TRIGGER_MUTATION, { id: templateGlobalId })
  return rawId(d.triggerJobRun.id)
}

/** Triggers a run by calling the runs service directly (no HTTP, no GraphQL); returns its uuid. */
export async function triggerService(a: BenchApp, templateId: string): Promise<string> {
  const run = await a.app.services.runs.trigger(a.actor, { templateId })
  return run.id
}
