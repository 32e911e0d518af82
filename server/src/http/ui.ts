/**
 * Serves the web UI (the Next.js app in client/) on the API's own origin, for every path that is not
 * the API. The Next request handler is created on the first UI request, so processes that never serve
 * a page (workers, API tests) never load Next. `next` is resolved from the client package, and when
 * the client has not been built the handler answers with a short page saying how to build it.
 */
import { existsSync } from 'node:fs'
import type http from 'node:http'
import { createRequire } from 'node:module'
import path from 'node:path'
import { REPO_ROOT } from '../config.ts'
import { coerceError } from '../util/errors.ts'
import type { Logger } from '../util/logger.ts'

export const CLIENT_DIR = path.join(REPO_ROOT, 'client')

type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>
interface NextServer {
  prepare(): Promise<void>
  getRequestHandler(): RequestHandler
  close?(): Promise<void>
}

export interface UiHandler {
  handle(req: http.IncomingMessage, res: http.ServerResponse): void
  close(): Promise<void>
}

export function createUiHandler(options: { logger: Logger; clientDir?: string }): UiHandler {
  const { logger } = options
  const clientDir = options.clientDir ?? CLIENT_DIR
  let server: NextServer | null = null
  let ready: Promise<RequestHandler> | null = null

  const start = (): Promise<RequestHandler> => {
    ready ??= (async () => {
      const started = Date.now()
      const required = createRequire(path.join(clientDir, 'package.json'))('next') as { default?: unknown }
      const createNext = (typeof required === 'function' ? required : required.default) as (o: object) => NextServer
      server = createNext({ dir: clientDir, dev: false, quiet: true })
      await server.prepare()
      logger.info('web UI ready', { ms: Date.now() - started })
      return server.getRequestHandler()
    })().catch((e) => {
      ready = null // try again on the next request
      throw e
    })
    return ready
  }

  return {
    handle(req, res) {
      if (!existsSync(path.join(clientDir, '.next', 'BUILD_ID'))) return notBuilt(res)
      start()
        .then((handle) => handle(req, res))
        .catch((e) => {
          logger.error('web UI request failed', { url: req.url, error: coerceError(e).message })
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
          res.end('The web UI failed to load; see the server log. The API is at /graphql.\n')
        })
    },
    async close() {
      const s = server
      server = null
      ready = null
      await s?.close?.()
    },
  }
}

function notBuilt(res: http.ServerResponse): void {
  res.writeHead(503, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<meta charset="utf-8"><title>Switchyard</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>Switchyard</h1>
<p>The web UI has not been built yet. From the repository root run</p>
<pre>npm run build --workspace @switchyard/client</pre>
<p>(<code>npm start</code> builds it before starting the server), then reload this page.</p>
<p>The GraphQL API is available now at <a href="/graphql">/graphql</a>.</p>
</body>`)
}
