/**
 * A real Git smart-HTTP server over TLS for tests: Node's https server in front of `git http-backend`
 * (the CGI program that ships with git), with HTTP basic authentication and a fresh self-signed
 * certificate for 127.0.0.1. Bare repositories live under `root`; pushes are allowed to the
 * authenticated user (http-backend enables receive-pack when REMOTE_USER is set).
 *
 * Requires git and the openssl CLI (both in Debian's base install / `.ci/run`).
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface GitHttpsServer {
  /** `https://127.0.0.1:<port>/<name>` for a repository under `root`. */
  url(name: string): string
  /** Directory holding the served bare repositories. */
  root: string
  /** The server's self-signed certificate (PEM): the CA a client must trust. */
  caCertificate: string
  /** Every request: the user that authenticated (null: none or wrong credentials) and the path. */
  requests: Array<{ method: string; path: string; user: string | null }>
  /** Creates an empty bare repository under `root` and returns its directory. */
  createRepository(name: string): Promise<string>
  stop(): Promise<void>
}

export async function startGitHttpsServer(account: { username: string; password: string }): Promise<GitHttpsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-git-https-'))
  const root = join(dir, 'repos')
  await run('mkdir', ['-p', root])
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ])
  const cert = await readFile(join(dir, 'cert.pem'), 'utf8')
  const requests: GitHttpsServer['requests'] = []

  const server = createServer({ key: await readFile(join(dir, 'key.pem')), cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1')
    const user = authenticatedUser(req, account)
    requests.push({ method: req.method ?? '', path: url.pathname, user })
    if (!user) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="switchyard-test"', 'Content-Type': 'text/plain' })
      res.end('authentication required\n')
      return
    }
    serveCgi(req, res, url, root, user)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0

  return {
    url: (name) => `https://127.0.0.1:${port}/${name}`,
    root,
    caCertificate: cert,
    requests,
    async createRepository(name) {
      const repo = join(root, name)
      await run('git', ['init', '-q', '--bare', '-b', 'main', repo])
      return repo
    },
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function authenticatedUser(req: IncomingMessage, account: { username: string; password: string }): string | null {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')
  if (!m) return null
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const [user, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)]
  return colon > 0 && user === account.username && password === account.password ? user : null
}

/** Runs git http-backend for one request (CGI: request in environment + stdin, response headers + body on stdout). */
function serveCgi(req: IncomingMessage, res: ServerResponse, url: URL, root: string, user: string): void {
  const child = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      REMOTE_USER: user,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    },
  })
  req.pipe(child.stdin)
  let head = Buffer.alloc(0)
  let headersSent = false
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk)
      return
    }
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) return
    let status = 200
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim()
      const value = line.slice(colon + 1).trim()
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10)
      else if (name) res.setHeader(name, value)
    }
    res.writeHead(status)
    headersSent = true
    res.write(head.subarray(end + 4))
  })
  child.on('close', () => {
    if (!headersSent) res.writeHead(500)
    res.end()
  })
  child.on('error', () => {
    if (!res.headersSent) res.writeHead(500)
    res.end()
  })
}
