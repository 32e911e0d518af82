/**
 * The http executor against a real HTTP server on 127.0.0.1 (port 0). Only the dispatcher side (the
 * ExecutionContext) is faked, by test/harness/fake-execution-context.ts; requests, sockets and timeouts
 * are real.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { fakeExecutionContext } from '../../../test/harness/fake-execution-context.ts'
import { unusedLoopbackPort } from '../../../test/harness/sshd.ts'
import { fixedOrigin, httpExecutor } from './http.ts'
import { AbortReason, type DecryptedCredential } from './types.ts'

let server: Server
let base: string
const hanging = new Set<ServerResponse>()

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const body = await readAll(req)
    const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
    if (url.pathname === '/health') return json(200, { data: { items: [{ state: 'up' }] }, version: '1.2.3' })
    if (url.pathname.startsWith('/echo')) {
      return json(201, { method: req.method, path: url.pathname, query: url.search, authorization: req.headers.authorization ?? null, contentType: req.headers['content-type'] ?? null, custom: req.headers['x-custom'] ?? null, body })
    }
    if (url.pathname.startsWith('/status/')) return res.writeHead(Number(url.pathname.slice(8))).end('status body')
    if (url.pathname === '/big') return res.writeHead(200).end('x'.repeat(10_000))
    if (url.pathname === '/hang') {
      hanging.add(res)
      return
    }
    res.writeHead(404).end('not found')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  for (const res of hanging) res.destroy()
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

function fakeContext(config: Record<string, unknown>, options: { parameters?: Record<string, unknown>; signal?: AbortSignal; credentials?: ReadonlyMap<string, DecryptedCredential> } = {}) {
  return fakeExecutionContext(httpExecutor.configSchema.parse(config), {
    ...options,
    maxParallelTargets: 1,
    overrides: (recording) => ({
      log: { ...recording.log, output: () => expect.fail('http has no targets') },
      targetStarted: () => expect.fail('http has no targets'),
      targetFinished: () => expect.fail('http has no targets'),
    }),
  })
}

const run = (config: Record<string, unknown>, options?: Parameters<typeof fakeContext>[1]) => {
  const r = fakeContext(config, options)
  return httpExecutor.execute(r.ctx).then((outcome) => ({ outcome, system: r.system }))
}

describe('http executor', () => {
  it('validates its config and names the field', () => {
    const issues = (config: unknown) => {
      const r = httpExecutor.configSchema.safeParse(config)
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'))
    }
    expect(issues({ url: 'https://example.test/{{ host }}' })).toEqual([])
    expect(httpExecutor.configSchema.parse({ url: 'http://x' })).toMatchObject({ method: 'GET', expectedStatus: ['2xx'], timeoutSeconds: 30 })
    expect(issues({ url: 'ftp://x' })).toEqual(['url'])
    expect(issues({ url: 'http://x', method: 'FETCH' })).toEqual(['method'])
    expect(issues({ url: 'http://x', expectedStatus: ['2xy'] })).toEqual(['expectedStatus.0'])
    expect(issues({ url: 'http://x', headers: { 'bad header': 'v' } })).toEqual(['headers.bad header'])
    expect(issues({ url: 'http://x', auth: { type: 'bearer' } })).toEqual(['auth.tokenParameter'])
    expect(issues({ url: 'http://x', check: { regex: '(' } })).toEqual(['check.regex'])
    expect(issues({ url: 'http://x', check: { jsonPath: 'a.b' } })).toEqual(['check.equals'])
    expect(issues({ url: 'http://x', bogus: 1 })).toEqual([''])
    const schema = z.toJSONSchema(httpExecutor.configSchema, { io: 'input' }) as { properties: Record<string, { description?: string }> }
    expect(schema.properties.expectedStatus?.description).toContain('2xx')
  })

  it('with a stored credential, refuses a URL whose host a parameter could change (at save), and a run whose URL left it (at run)', async () => {
    const id = '0b0e5c1e-7d7a-4c47-9d3c-4b1c1a8f6a01'
    const issues = (url: string) => {
      const r = httpExecutor.configSchema.safeParse({ url, auth: { type: 'credential', credentialId: id } })
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    }
    for (const url of ['http://{{ host }}/x', '{{base}}/x', 'https://api{{ env }}.example.net/', 'http://api.example.net{{ p }}', 'http://u@{{ h }}/']) {
      expect(issues(url), url).toEqual([expect.stringMatching(/^url: with a stored credential .* placeholders only after the host$/)])
    }
    expect(issues('https://api.example.net:8443/v1/{{ path }}?q={{ q }}')).toEqual([])
    // Without a stored credential, placeholders stay allowed anywhere (the caller's own parameters are all that is sent).
    expect(httpExecutor.configSchema.safeParse({ url: 'http://{{ host }}/x', auth: { type: 'bearer', tokenParameter: 't' } }).success).toBe(true)
    expect(fixedOrigin('https://API.example.net:443/{{ p }}')).toBe('https://api.example.net')
    expect(fixedOrigin('http://{{ h }}/')).toBeNull()

    // A config that slipped past the schema (saved before the rule): the run refuses before sending anything.
    const credentials = new Map<string, DecryptedCredential>([[id, { kind: 'PASSWORD', username: 'api-bot', password: 'Owner-pw' }]])
    const r = fakeExecutionContext({ ...httpExecutor.configSchema.parse({ url: `${base}/echo` }), url: 'http://{{ host }}/echo', auth: { type: 'credential', credentialId: id } } as never, {
      parameters: { host: new URL(base).host },
      credentials,
      maxParallelTargets: 1,
    })
    const outcome = await httpExecutor.execute(r.ctx)
    expect(outcome).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/^auth\.credentialId: the stored credential is sent only to the host the template's URL writes out, not to http:\/\/127\.0\.0\.1:\d+$/) })
  })

  it('succeeds on an expected status and a passing JSON-path check, recording status, time and body', async () => {
    const { outcome, system } = await run({ url: `${base}/{{ path }}`, check: { jsonPath: 'data.items.0.state', equals: 'up' } }, { parameters: { path: 'health' } })
    expect(outcome).toMatchObject({ ok: true, result: { method: 'GET', url: `${base}/health`, status: 200, check: 'passed', bodyTruncated: false } })
    const result = outcome.result as { durationMs: number; body: string }
    expect(result.durationMs).toBeGreaterThanOrEqual(0)
    expect(JSON.parse(result.body)).toMatchObject({ version: '1.2.3' })
    expect(system.map((s) => s.text)).toContain(`GET ${base}/health`)
    expect(system.some((s) => /^HTTP 200 OK in \d+ ms/.test(s.text))).toBe(true)
    const regex = await run({ url: `${base}/health`, check: { jsonPath: 'version', regex: '^1\\.2\\.' } })
    expect(regex.outcome.ok).toBe(true)
  })

  it('sends method, templated headers, JSON body and bearer/basic auth from secret parameters', async () => {
    const parameters = { vlan: 42, token: 's3cr3t-token', password: 'pa55:word' }
    const bearer = await run(
      { method: 'POST', url: `${base}/echo?v={{ vlan }}`, headers: { 'X-Custom': 'vlan {{ vlan }}' }, body: { vlan: '{{ vlan }}', tags: ['a'] }, auth: { type: 'bearer', tokenParameter: 'token' } },
      { parameters },
    )
    expect(bearer.outcome).toMatchObject({ ok: true, result: { status: 201 } })
    const echoed = JSON.parse((bearer.outcome.result as { body: string }).body.replaceAll('***', 's3cr3t-token'))
    expect(echoed).toEqual({ method: 'POST', path: '/echo', query: '?v=42', authorization: 'Bearer s3cr3t-token', contentType: 'application/json', custom: 'vlan 42', body: '{"vlan":"42","tags":["a"]}' })
    // The secret never appears in the result (the log sink masks log lines on its own).
    expect(JSON.stringify(bearer.outcome)).not.toContain('s3cr3t-token')

    const basic = await run({ method: 'PUT', url: `${base}/echo`, body: 'raw {{ vlan }}', auth: { type: 'basic', username: 'admin', passwordParameter: 'password' } }, { parameters })
    expect(basic.outcome.ok).toBe(true)
    expect(JSON.stringify(basic.outcome)).not.toContain(Buffer.from('admin:pa55:word').toString('base64'))
    expect((basic.outcome.result as { body: string }).body).toContain('"body":"raw 42"')

    const missing = await run({ url: `${base}/echo`, auth: { type: 'bearer', tokenParameter: 'nope' } })
    expect(missing.outcome).toEqual({ ok: false, error: 'auth: parameter "nope" has no value (use a SECRET parameter)', retryable: false })
  })

  it('authenticates with a stored PASSWORD credential: basic, or bearer with the password as token', async () => {
    const id = '3c9f0e55-8f0b-4bb1-9a3e-0c4b1f2d7a10'
    const credentials = new Map<string, DecryptedCredential>([[id, { kind: 'PASSWORD', username: 'api-bot', password: 'T0ken:with-colon' }]])
    const globalId = Buffer.from(`Credential:${id}`).toString('base64')
    const body = (r: Awaited<ReturnType<typeof run>>) => JSON.parse((r.outcome.result as { body: string }).body) as { authorization: string }
    const basic = await run({ url: `${base}/echo`, method: 'POST', auth: { type: 'credential', credentialId: globalId } }, { credentials })
    expect(basic.outcome.ok).toBe(true)
    // The echo shows `Basic ***`: the header the server got was exactly the masked secret, base64(user:password).
    expect(JSON.stringify(basic.outcome)).not.toContain(Buffer.from('api-bot:T0ken:with-colon').toString('base64'))
    expect(body(basic).authorization).toBe('Basic ***')
    const bearer = await run({ url: `${base}/echo`, method: 'POST', auth: { type: 'credential', credentialId: id, scheme: 'bearer' } }, { credentials })
    expect(body(bearer).authorization).toBe('Bearer ***')
    expect(JSON.stringify(bearer.outcome)).not.toContain('T0ken:with-colon')
    const gone = await run({ url: `${base}/echo`, auth: { type: 'credential', credentialId: id } })
    expect(gone.outcome).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/^auth\.credentialId: the credential it names no longer exists/) })
    expect(httpExecutor.credentialRefs!(httpExecutor.configSchema.parse({ url: 'http://x', auth: { type: 'credential', credentialId: globalId } }))).toEqual([
      { path: ['auth', 'credentialId'], id, kinds: ['PASSWORD'], purpose: expect.any(String) },
    ])
  })

  it('fails on unexpected statuses: 5xx and 429 are retryable, 4xx are not; status lists and ranges work', async () => {
    expect((await run({ url: `${base}/status/503` })).outcome).toMatchObject({ ok: false, retryable: true, error: 'unexpected status 503 (expected 2xx)', result: { status: 503, body: 'status body' } })
    expect((await run({ url: `${base}/status/429` })).outcome).toMatchObject({ ok: false, retryable: true })
    expect((await run({ url: `${base}/status/404` })).outcome).toMatchObject({ ok: false, retryable: false })
    expect((await run({ url: `${base}/status/404`, expectedStatus: [200, '400-404'] })).outcome.ok).toBe(true)
    expect((await run({ url: `${base}/status/204`, expectedStatus: [200] })).outcome.ok).toBe(false)
  })

  it('fails permanently when the body check fails', async () => {
    const notEqual = await run({ url: `${base}/health`, check: { jsonPath: 'data.items.0.state', equals: 'down' } })
    expect(notEqual.outcome).toMatchObject({ ok: false, retryable: false, error: 'body check failed: data.items.0.state is "up", expected "down"' })
    expect((await run({ url: `${base}/health`, check: { jsonPath: 'data.nothing', regex: '.' } })).outcome.error).toBe('body check failed: no value at data.nothing')
    expect((await run({ url: `${base}/big`, check: { jsonPath: 'a', equals: 1 } })).outcome.error).toBe('body check failed: the body is not JSON')
    expect((await run({ url: `${base}/big`, check: { regex: '^x+$' } })).outcome.ok).toBe(true)
  })

  it('truncates the recorded body', async () => {
    const { outcome } = await run({ url: `${base}/big`, maxBodyBytes: 100 })
    expect(outcome).toMatchObject({ ok: true, result: { body: 'x'.repeat(100), bodyTruncated: true } })
  })

  it('network errors and request timeouts are retryable', async () => {
    const refused = await run({ url: `http://127.0.0.1:${await unusedLoopbackPort()}/` })
    expect(refused.outcome).toMatchObject({ ok: false, retryable: true })
    expect(refused.outcome.error).toContain('ECONNREFUSED')
    const slow = await run({ url: `${base}/hang`, timeoutSeconds: 1 })
    expect(slow.outcome).toMatchObject({ ok: false, retryable: true, error: 'request timed out after 1s' })
  })

  it('stops the request on cancel', async () => {
    const controller = new AbortController()
    const before = hanging.size
    const pending = run({ url: `${base}/hang`, timeoutSeconds: 600 }, { signal: controller.signal })
    await vi.waitFor(() => expect(hanging.size).toBeGreaterThan(before), { timeout: 10_000 })
    controller.abort(new AbortReason('cancelled'))
    expect((await pending).outcome).toMatchObject({ ok: false, error: 'run cancelled' })
  })
})
