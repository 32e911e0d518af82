/**
 * The operations endpoints every process can serve: /livez, /readyz (http/health.ts) and /metrics
 * (metrics/metrics.ts). The API listener routes them first; a process without the api role serves
 * them alone on SWITCHYARD_OPS_PORT.
 */
import type http from 'node:http'
import { tokenFromHeader } from '../auth/tokens.ts'
import { METRICS_PATH, sameSecret, type Metrics } from '../metrics/metrics.ts'
import type { Logger } from '../util/logger.ts'
import { LIVEZ_PATH, pathOf, READYZ_PATH, readinessBody, sendJson, type HealthChecks } from './health.ts'

export interface OpsEndpointsDeps {
  health: HealthChecks
  metrics: Metrics
  /** SWITCHYARD_METRICS_TOKEN; null: /metrics answers anyone who reaches the listener. */
  metricsToken: string | null
  /** Whether the request carries a valid user token (readiness details are for signed-in users). */
  signedIn(req: http.IncomingMessage): Promise<boolean>
  roles: string[]
  workerId: string
  logger: Logger
}

const OPS_PATHS = new Set([LIVEZ_PATH, READYZ_PATH, METRICS_PATH])

/** Whether the request is for an ops endpoint (GET or HEAD of one of their paths). */
export function isOpsRequest(req: http.IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && OPS_PATHS.has(pathOf(req))
}

/** Returns a handler that answers the ops paths and returns true, or returns false for any other path. */
export function createOpsEndpoints(d: OpsEndpointsDeps): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const readyz = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const [r, detailed] = await Promise.all([d.health.readiness(), d.signedIn(req)])
    sendJson(res, r.ok ? 200 : 503, readinessBody(r, detailed ? { roles: d.roles, workerId: d.workerId } : null), req.method)
  }
  const metrics = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (d.metricsToken && !sameSecret(tokenFromHeader(req.headers.authorization ?? null), d.metricsToken)) {
      return void res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('unauthorized\n')
    }
    const body = await d.metrics.render()
    res.writeHead(200, { 'content-type': d.metrics.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body)
  }
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    const path = pathOf(req)
    if (path === LIVEZ_PATH) {
      sendJson(res, 200, { status: 'ok' }, req.method)
      return true
    }
    if (path === READYZ_PATH) {
      readyz(req, res).catch((e) => {
        d.logger.error('readiness check failed', { error: (e as Error).message })
        if (!res.headersSent) sendJson(res, 503, { status: 'unavailable' })
      })
      return true
    }
    if (path === METRICS_PATH) {
      metrics(req, res).catch((e) => {
        d.logger.error('metrics scrape failed', { error: (e as Error).message })
        if (!res.headersSent) res.writeHead(500).end()
      })
      return true
    }
    return false
  }
}
