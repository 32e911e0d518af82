/**
 * Serves the web UI on the API's own origin, for every path that is not the API: the static export of
 * the Next.js app in client/ (client/out, written by `next build`). Every page is a client component
 * talking to /graphql, so serving files is all it takes — no Next.js server in this process, which
 * kept ~40 MiB resident once the first page had been served (server/bench/README.md, idle-rss).
 *
 * - Files resolve through ui-files.ts (no way out of the export; /runs/<id> is the placeholder page).
 * - /_next/static/ assets have content-hashed names: cached for a year, immutable. Everything else
 *   (pages, RSC payloads) revalidates with ETag / Last-Modified, so a rebuild shows up on reload.
 * - Pages get a Content-Security-Policy listing the sha256 of each of their inline scripts (Next's
 *   payload and bootstrap scripts, the theme boot script): they are fixed at build time, so no
 *   'unsafe-inline' for scripts. Hashes are computed once per file version.
 * - Unknown paths answer the export's 404 page with status 404; when the export is missing, a short
 *   page says how to build it.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import type http from 'node:http'
import path from 'node:path'
import { REPO_ROOT } from '../config.ts'
import { coerceError } from '../util/errors.ts'
import type { Logger } from '../util/logger.ts'
import { uiCsp } from './security-headers.ts'
import { resolveUiFile } from './ui-files.ts'

export const CLIENT_DIR = path.join(REPO_ROOT, 'client')
/** Where `next build` writes the static export (client/next.config.mjs: output 'export'). */
export const UI_EXPORT_DIR = path.join(CLIENT_DIR, 'out')

export interface UiHandler {
  handle(req: http.IncomingMessage, res: http.ServerResponse): void
  close(): Promise<void>
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  // React Server Components payloads; Next's router accepts text/plain for an exported app.
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.webmanifest': 'application/manifest+json',
}

export function createUiHandler(options: { logger: Logger; exportDir?: string }): UiHandler {
  const { logger } = options
  const root = path.resolve(options.exportDir ?? UI_EXPORT_DIR)
  // Per page file: its CSP, valid while the file's version (size, mtime) is unchanged. Pages only.
  const cspCache = new Map<string, { version: string; csp: string }>()

  const pageCsp = async (file: string, version: string): Promise<string> => {
    const cached = cspCache.get(file)
    if (cached?.version === version) return cached.csp
    const csp = uiCsp(inlineScriptHashes(await readFile(file, 'utf8')))
    cspCache.set(file, { version, csp })
    return csp
  }

  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n')
      return
    }
    const found = await resolveUiFile(root, req.url ?? '/')
    if (found.kind === 'bad') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request path\n')
      return
    }
    let status = 200
    let file: { file: string; size: number; mtimeMs: number }
    if (found.kind === 'file') file = found
    else {
      // Only a path that names nothing asks whether the UI was built at all (no syscall on every request).
      if (!(await stat(path.join(root, 'index.html')).catch(() => null))) return notBuilt(req, res)
      const notFound = await resolveUiFile(root, '/404')
      if (notFound.kind !== 'file') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
        return
      }
      status = 404
      file = notFound
    }

    const ext = path.extname(file.file).toLowerCase()
    const version = `${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}`
    const etag = `W/"${version}"`
    const lastModified = new Date(Math.floor(file.mtimeMs / 1000) * 1000)
    res.setHeader('content-type', CONTENT_TYPES[ext] ?? 'application/octet-stream')
    if (ext === '.html') res.setHeader('content-security-policy', await pageCsp(file.file, version))
    if (status === 200) {
      const immutable = file.file.startsWith(path.join(root, '_next', 'static') + path.sep)
      res.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      res.setHeader('etag', etag)
      res.setHeader('last-modified', lastModified.toUTCString())
      if (notModified(req, etag, lastModified)) {
        res.removeHeader('content-type')
        res.writeHead(304).end()
        return
      }
    } else {
      res.setHeader('cache-control', 'no-cache')
    }
    res.setHeader('content-length', file.size)
    res.writeHead(status)
    if (req.method === 'HEAD') return void res.end()
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(file.file)
      stream.once('error', reject)
      res.once('close', () => {
        stream.destroy()
        resolve()
      })
      stream.pipe(res)
    })
  }

  return {
    handle(req, res) {
      serve(req, res).catch((e) => {
        logger.error('web UI request failed', { url: req.url, error: coerceError(e).message })
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('The web UI failed to load; see the server log. The API is at /graphql.\n')
        else res.destroy()
      })
    },
    async close() {
      cspCache.clear()
    },
  }
}

/** If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2). */
function notModified(req: http.IncomingMessage, etag: string, lastModified: Date): boolean {
  const ifNoneMatch = req.headers['if-none-match']
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => {
      const t = tag.trim()
      return t === '*' || t.replace(/^W\//, '') === etag.replace(/^W\//, '')
    })
  }
  const since = Date.parse(req.headers['if-modified-since'] ?? '')
  return Number.isFinite(since) && lastModified.getTime() <= since
}

/** sha256 hashes (CSP source expressions) of every inline <script> in an HTML page. */
export function inlineScriptHashes(html: string): string[] {
  const hashes = new Set<string>()
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
    if (/\ssrc\s*=/i.test(m[1] ?? '')) continue
    hashes.add(`'sha256-${createHash('sha256').update(m[2] ?? '', 'utf8').digest('base64')}'`)
  }
  return [...hashes]
}

function notBuilt(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
  if (req.method === 'HEAD') return void res.end()
  res.end(`<!doctype html>
<meta charset="utf-8"><title>Switchyard</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>Switchyard</h1>
<p>The web UI has not been built yet. From the repository root run</p>
<pre>npm run build --workspace @switchyard/client</pre>
<p>(<code>npm start</code> builds it before starting the server), then reload this page.</p>
<p>The GraphQL API is available now at <a href="/graphql">/graphql</a>.</p>
</body>`)
}
