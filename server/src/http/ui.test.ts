/**
 * The static UI server against a small export laid out the way `next build` (output: 'export') writes
 * one, over real HTTP: placeholder pages for any id, content types, caching, HEAD, 404, hostile paths.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../util/logger.ts'
import { inlineScriptHashes, createUiHandler, type UiHandler } from './ui.ts'
import { parsePath } from './ui-files.ts'

const THEME = "document.documentElement.dataset.theme='dark'"
const page = (name: string) => `<!DOCTYPE html><html><head><script>${THEME}</script><script src="/_next/static/chunks/a.js" async=""></script></head><body>${name}<script>self.__next_f.push([1,"${name}"])</script></body></html>`

let dir: string
let root: string
let ui: UiHandler
let server: http.Server
let port: number

/** A raw request: the path goes on the wire exactly as given (fetch would normalize `..`). */
function request(rawPath: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

function write(rel: string, content: string): void {
  const file = path.join(root, rel)
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, content)
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'switchyard-ui-'))
  root = path.join(dir, 'out')
  write('index.html', page('home'))
  write('404.html', page('not found page'))
  write('runs.html', page('runs list'))
  write('runs.txt', 'runs list payload')
  write('runs/_.html', page('run placeholder'))
  write('runs/_.txt', 'run payload')
  write('runs/_/__next.runs.$d$id.__PAGE__.txt', 'run segment payload')
  write('schedules/new.html', page('new schedule'))
  write('schedules/_.html', page('schedule placeholder'))
  write('_next/static/chunks/a.js', 'console.log(1)')
  write('_next/static/media/x.woff2', 'font')
  write('icon.svg', '<svg/>')
  // Outside the export: must never be served.
  writeFileSync(path.join(dir, 'secret.txt'), 'SECRET')
  mkdirSync(path.join(dir, 'out-sibling'))
  writeFileSync(path.join(dir, 'out-sibling', 'secret.txt'), 'SECRET')
  ui = createUiHandler({ logger: silentLogger, exportDir: root })
  server = http.createServer((req, res) => ui.handle(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  server?.closeAllConnections()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await ui?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('static web UI', () => {
  it('serves pages by their route, / as index.html, with the HTML content type', async () => {
    const home = await request('/')
    expect(home.status).toBe(200)
    expect(home.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(home.body).toContain('home')
    expect((await request('/runs')).body).toContain('runs list')
    expect((await request('/runs/')).body).toContain('runs list')
    expect((await request('/runs?status=FAILED')).body).toContain('runs list')
    expect((await request('/runs.txt')).body).toBe('runs list payload')
    expect((await request('/runs.txt')).headers['content-type']).toBe('text/plain; charset=utf-8')
    expect((await request('/icon.svg')).headers['content-type']).toBe('image/svg+xml')
    expect((await request('/_next/static/media/x.woff2')).headers['content-type']).toBe('font/woff2')
  })

  it('answers every id of a detail route with the placeholder page and its payloads; exact routes win', async () => {
    for (const id of ['6f1c2a4e-9b7d-4c1e-8f00-123456789abc', 'x', '%E2%9C%93', 'a.b']) {
      const res = await request(`/runs/${id}`)
      expect(res.status).toBe(200)
      expect(res.body).toContain('run placeholder')
      expect((await request(`/runs/${id}.txt`)).body).toBe('run payload')
      expect((await request(`/runs/${id}/__next.runs.$d$id.__PAGE__.txt`)).body).toBe('run segment payload')
    }
    expect((await request('/schedules/new')).body).toContain('new schedule')
    expect((await request('/schedules/abc')).body).toContain('schedule placeholder')
    // Only where a placeholder exists: other routes have no ids.
    expect((await request('/dashboard/abc')).status).toBe(404)
    expect((await request('/runs/abc/def')).status).toBe(404)
  })

  it('answers unknown paths with the 404 page and status 404', async () => {
    const res = await request('/no-such-page')
    expect(res.status).toBe(404)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body).toContain('not found page')
    expect((await request('/_next/static/chunks/missing.js')).status).toBe(404)
  })

  it('never serves a file outside the export, whatever the path encoding', async () => {
    const hostile = [
      '/../secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E%2Fsecret.txt',
      '/runs/../../secret.txt',
      '/runs/%2e%2e/%2e%2e/secret.txt',
      '/runs/x/..%2f..%2f..%2fsecret.txt',
      '/..\\secret.txt',
      '/%5c..%5csecret.txt',
      '/../out-sibling/secret.txt',
      '/%2e%2e%2fout-sibling%2fsecret.txt',
      '/secret.txt%00.html',
      '/runs%00',
      '/index.html%00',
      '/%00',
      '/%',
      '/%zz',
      '//etc/passwd',
      '/./index.html',
      '/' + encodeURIComponent(path.join(dir, 'secret.txt')),
    ]
    for (const p of hostile) {
      const res = await request(p)
      expect(res.body, p).not.toContain('SECRET')
      expect([400, 404], p).toContain(res.status)
    }
    expect(parsePath('/..%2fsecret')).toBeNull()
    expect(parsePath('/a%00b')).toBeNull()
    expect(parsePath('/runs/abc')).toEqual(['runs', 'abc'])
  })

  it('caches hashed assets for good and revalidates pages with ETag and Last-Modified', async () => {
    const asset = await request('/_next/static/chunks/a.js')
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    const pageRes = await request('/runs/abc')
    expect(pageRes.headers['cache-control']).toBe('no-cache')
    const etag = pageRes.headers.etag!
    expect(etag).toMatch(/^W\/".+"$/)
    expect((await request('/runs/abc', { headers: { 'if-none-match': etag } })).status).toBe(304)
    expect((await request('/runs/other', { headers: { 'if-none-match': etag } })).status).toBe(304) // the same file
    expect((await request('/runs', { headers: { 'if-none-match': etag } })).status).toBe(200)
    const lastModified = pageRes.headers['last-modified']!
    expect((await request('/runs/abc', { headers: { 'if-modified-since': lastModified } })).status).toBe(304)
    expect((await request('/runs/abc', { headers: { 'if-modified-since': new Date(Date.parse(lastModified) - 60_000).toUTCString() } })).status).toBe(200)
  })

  it('answers HEAD with the headers and no body; other methods with 405', async () => {
    const get = await request('/runs/abc')
    const head = await request('/runs/abc', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.body)))
    expect(head.headers.etag).toBe(get.headers.etag)
    const post = await request('/runs/abc', { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
  })

  it("lists each page's inline scripts by hash in its CSP, without 'unsafe-inline' for scripts", async () => {
    const res = await request('/runs/abc')
    const csp = String(res.headers['content-security-policy'])
    const scriptSrc = csp.split('; ').find((d) => d.startsWith('script-src'))!
    const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`
    expect(scriptSrc).toBe(`script-src 'self' ${sha(THEME)} ${sha('self.__next_f.push([1,"run placeholder"])')}`)
    expect(csp).toContain("frame-ancestors 'none'")
    expect(inlineScriptHashes('<script src="/a.js"></script><SCRIPT type="x">a</SCRIPT >')).toEqual([sha('a')])
  })

  it('says how to build the UI when the export is missing', async () => {
    const missing = createUiHandler({ logger: silentLogger, exportDir: path.join(dir, 'nothing-here') })
    const s = http.createServer((req, res) => missing.handle(req, res))
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
    try {
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/runs/abc`)
      expect(res.status).toBe(503)
      expect(await res.text()).toContain('npm run build --workspace @switchyard/client')
    } finally {
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    }
  })
})
