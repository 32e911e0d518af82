/**
 * The SSRF guard against real HTTP listeners on loopback: 127.0.0.2 stands in for a denied address (the
 * machine has no metadata service), a resolver seam makes a name resolve to it (as DNS rebinding would),
 * and redirects to it are refused at connect time too.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CheckmkClient, CheckmkError } from '../checkmk/checkmk-client.ts'
import { request as nautobotRequest } from '../modules/inventory-sources/nautobot-client.ts'
import { DEFAULT_DENY_CIDRS, isOutboundDenied, OutboundPolicy, parseCidrList } from './outbound-policy.ts'

describe('policy rules', () => {
  it('denies metadata and link-local by default, keeps loopback and private ranges open', () => {
    const p = new OutboundPolicy()
    for (const a of ['169.254.169.254', '169.254.0.1', '::ffff:169.254.169.254', 'fe80::1', 'fd00:ec2::254', '100.100.100.200']) expect(p.denies(a), a).toBe(true)
    for (const a of ['127.0.0.1', '::1', '10.1.2.3', '192.168.1.1', '172.16.0.1', '8.8.8.8', 'fd00:ec2::253']) expect(p.denies(a), a).toBe(false)
  })

  it('the allow list punches holes in the deny list', () => {
    const p = new OutboundPolicy([...DEFAULT_DENY_CIDRS, '10.0.0.0/8'], ['10.9.0.0/16'])
    expect(p.denies('10.1.2.3')).toBe(true)
    expect(p.denies('10.9.1.1')).toBe(false)
  })

  it('parses CIDR lists and names what is wrong', () => {
    expect(parseCidrList(' 169.254.0.0/16, fe80::/10 ,127.0.0.2')).toEqual({ cidrs: ['169.254.0.0/16', 'fe80::/10', '127.0.0.2/32'], problems: [] })
    expect(parseCidrList('10.0.0.0/33,nope,::/x').problems).toHaveLength(3)
  })

  it('save-time check: literal and resolved addresses; a name DNS says does not exist is refused, a temporary DNS failure passes (checked again at connect)', async () => {
    const p = new OutboundPolicy(DEFAULT_DENY_CIDRS, [], async (h) =>
      h === 'metadata.test' ? [{ address: '169.254.169.254', family: 4 }] : Promise.reject(Object.assign(new Error(h), { code: h === 'dns-down.test' ? 'EAI_AGAIN' : 'ENOTFOUND' })),
    )
    expect(await p.problemWith('http://169.254.169.254/latest/meta-data/')).toMatch(/169\.254\.169\.254/)
    expect(await p.problemWith('http://[fd00:ec2::254]/')).toMatch(/fd00:ec2::254/)
    expect(await p.problemWith('https://metadata.test/x')).toMatch(/metadata\.test resolves to 169\.254\.169\.254/)
    expect(await p.problemWith('smtp.nowhere.test')).toMatch(/"smtp\.nowhere\.test" does not resolve/)
    expect(await p.problemWith('https://hooks.nowhere.test/x')).toMatch(/"hooks\.nowhere\.test" does not resolve/)
    expect(await p.problemWith('dns-down.test')).toBeNull()
    expect(await p.problemWith('http://127.0.0.1:8080/')).toBeNull()
  })
})

describe('connect-time enforcement against real listeners', () => {
  const hits: string[] = []
  let allowed: http.Server
  let denied: http.Server
  let allowedBase = ''
  let deniedBase = ''
  // good.test → 127.0.0.1; rebind.test → 127.0.0.2 (the denied one), as a rebinding DNS server would answer.
  const policy = new OutboundPolicy(['127.0.0.2/32'], [], async (h) => {
    if (h === 'good.test') return [{ address: '127.0.0.1', family: 4 }]
    if (h === 'rebind.test') return [{ address: '127.0.0.2', family: 4 }]
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: 'ENOTFOUND' })
  })

  beforeAll(async () => {
    denied = http.createServer((req, res) => {
      hits.push(`denied ${req.url}`)
      res.end('should never be reached')
    })
    await new Promise<void>((r) => denied.listen(0, '127.0.0.2', r))
    deniedBase = `http://127.0.0.2:${(denied.address() as AddressInfo).port}`
    allowed = http.createServer((req, res) => {
      hits.push(`allowed ${req.url}`)
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `${deniedBase}/after-redirect` })
        return res.end()
      }
      if (req.url === '/redirect-name') {
        res.writeHead(302, { location: `http://rebind.test:${(denied.address() as AddressInfo).port}/after-redirect` })
        return res.end()
      }
      res.end(JSON.stringify({ ok: true }))
    })
    await new Promise<void>((r) => allowed.listen(0, '127.0.0.1', r))
    allowedBase = `http://127.0.0.1:${(allowed.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await policy.close()
    await new Promise((r) => allowed.close(r))
    await new Promise((r) => denied.close(r))
  })

  const get = (url: string) => fetch(url, { dispatcher: policy.dispatcher } as RequestInit)
  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(() => null, (x: unknown) => x)
    expect(isOutboundDenied(e), String(e)).toBe(true)
    return e as Error
  }

  it('the denied listener is really there (reached without the policy)', async () => {
    expect(await (await fetch(`${deniedBase}/direct`)).text()).toBe('should never be reached')
    expect(hits).toContain('denied /direct')
    hits.length = 0
  })

  it('a name resolving to an allowed address goes through; to a denied one it is refused', async () => {
    const port = (allowed.address() as AddressInfo).port
    expect(await (await get(`http://good.test:${port}/ok`)).json()).toEqual({ ok: true })
    await refusal(get(`http://rebind.test:${(denied.address() as AddressInfo).port}/x`))
    expect(hits).toEqual(['allowed /ok'])
  })

  it('a literal denied IP, and redirects to a denied IP or name, are refused at connect', async () => {
    await refusal(get(`${deniedBase}/literal`))
    await refusal(get(`${allowedBase}/redirect`))
    await refusal(get(`${allowedBase}/redirect-name`))
    expect(hits.filter((h) => h.startsWith('denied'))).toEqual([])
  })

  it('the Nautobot client (node:http) is guarded the same way', async () => {
    const conn = { token: 't', tlsVerify: true, caCertificate: null, outbound: policy }
    const port = (denied.address() as AddressInfo).port
    await expect(nautobotRequest({ ...conn, url: `http://rebind.test:${port}` }, 'GET', '/api/status/', null)).rejects.toThrow(/rebind\.test resolves to 127\.0\.0\.2/)
    await expect(nautobotRequest({ ...conn, url: deniedBase }, 'GET', '/api/status/', null)).rejects.toThrow(/127\.0\.0\.2 is an address outbound connections may not reach/)
    expect(hits.filter((h) => h.startsWith('denied'))).toEqual([])
  })

  it('the Checkmk client (node:http) is guarded the same way, and the refusal is not retried', async () => {
    const port = (denied.address() as AddressInfo).port
    const conn = { username: 'automation', secret: 's', tlsVerify: true, outbound: policy }
    for (const url of [`http://rebind.test:${port}/site`, `${deniedBase}/site`]) {
      const e = (await new CheckmkClient({ ...conn, url }).listHosts().then(() => null, (x: unknown) => x)) as CheckmkError
      expect(e).toBeInstanceOf(CheckmkError)
      expect(e.message).toMatch(/outbound connections may not reach/)
      expect(e.transient).toBe(false)
    }
    expect(hits.filter((h) => h.startsWith('denied'))).toEqual([])
  })

  it('resolve() gives SMTP an address, or the refusal', async () => {
    expect(await policy.resolve('good.test')).toBe('127.0.0.1')
    expect(await policy.resolve('[::1]')).toBe('::1')
    await refusal(policy.resolve('rebind.test'))
  })
})
