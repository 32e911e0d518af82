/**
 * Which addresses Switchyard's own outbound HTTP/SMTP may connect to (notification channels, the http job
 * type, inventory sources): a guard against server-side request forgery — a URL an admin or template
 * author typed that points at the cloud metadata service (169.254.169.254 hands out the machine's cloud
 * credentials) or another link-local address.
 *
 * The rule is checked on the RESOLVED address, when the connection is made (a DNS lookup wrapper and an
 * undici connector), so a name that resolves to an allowed address at save time and to a denied one later
 * (DNS rebinding), or a redirect to a literal IP, cannot get through. Saving checks it too, to say so early.
 *
 * Denied: an address in SWITCHYARD_OUTBOUND_DENY_CIDRS that is not in SWITCHYARD_OUTBOUND_ALLOW_CIDRS (the
 * allow list punches holes in the deny list). Loopback and private ranges are allowed by default: ops tools
 * call internal systems, and the product's own tests use loopback receivers. Operators who want them
 * blocked add them to the deny list.
 */
import dns from 'node:dns'
import net from 'node:net'
import { Agent, buildConnector } from 'undici'

/** Cloud metadata services and link-local ranges (AWS/GCP/Azure 169.254.169.254, AWS IPv6 IMDS, Alibaba). */
export const DEFAULT_DENY_CIDRS = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128', '100.100.100.200/32']

export const DENIED_CODE = 'ESWITCHYARD_OUTBOUND_DENIED'

/** A connection the policy refused; permanent (retrying reaches the same address). */
export class OutboundDeniedError extends Error {
  readonly code = DENIED_CODE
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(host === address ? `${address} is an address outbound connections may not reach (SWITCHYARD_OUTBOUND_DENY_CIDRS)` : `${host} resolves to ${address}, an address outbound connections may not reach (SWITCHYARD_OUTBOUND_DENY_CIDRS)`)
    this.name = 'OutboundDeniedError'
  }
}

/** True when an error (or its cause chain, as fetch wraps it) is the policy's refusal. */
export function isOutboundDenied(e: unknown): e is OutboundDeniedError {
  for (let x = e, i = 0; x && i < 5; x = (x as { cause?: unknown }).cause, i++) {
    if ((x as { code?: unknown }).code === DENIED_CODE) return true
  }
  return false
}

/** Parses `a/n, b/m, c` (a bare address is a /32 or /128); returns problems in words, for config.ts. */
export function parseCidrList(text: string): { cidrs: string[]; problems: string[] } {
  const cidrs: string[] = []
  const problems: string[] = []
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [addr, bits, extra] = raw.split('/')
    const family = net.isIP(addr ?? '')
    const max = family === 6 ? 128 : 32
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
    if (!family || extra !== undefined || !(prefix >= 0 && prefix <= max)) problems.push(`"${raw}" is not an address or CIDR (e.g. 169.254.0.0/16, fe80::/10)`)
    else cidrs.push(`${addr}/${prefix}`)
  }
  return { cidrs, problems }
}

function blockList(cidrs: readonly string[]): net.BlockList {
  const list = new net.BlockList()
  for (const c of cidrs) {
    const [addr, bits] = c.split('/') as [string, string]
    list.addSubnet(addr, Number(bits), net.isIP(addr) === 6 ? 'ipv6' : 'ipv4')
  }
  return list
}

/** ::ffff:169.254.169.254 is 169.254.169.254 on the wire: checked as IPv4. */
function normalize(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const bare = address.replace(/^\[|\]$/g, '')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
  if (mapped) return { address: mapped[1]!, type: 'ipv4' }
  return { address: bare, type: net.isIP(bare) === 6 ? 'ipv6' : 'ipv4' }
}

type LookupAll = (hostname: string, options: { all: true; family?: number }, cb: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void) => void
/** The name resolution the policy checks (a seam: tests resolve a name to an address of their choosing). */
export type Resolver = (hostname: string) => Promise<dns.LookupAddress[]>
const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true })

export class OutboundPolicy {
  readonly #deny: net.BlockList
  readonly #allow: net.BlockList
  readonly #agent: Agent

  constructor(
    readonly denyCidrs: readonly string[] = DEFAULT_DENY_CIDRS,
    readonly allowCidrs: readonly string[] = [],
    private readonly resolver: Resolver = systemResolver,
  ) {
    this.#deny = blockList(denyCidrs)
    this.#allow = blockList(allowCidrs)
    const connect = buildConnector({ lookup: this.lookup as never })
    // A literal IP (in the URL or in a redirect's Location) never goes through lookup: checked here.
    this.#agent = new Agent({
      connect: (opts, cb) => {
        const host = opts.hostname.replace(/^\[|\]$/g, '')
        if (net.isIP(host) && this.denies(host)) return cb(new OutboundDeniedError(host, host), null)
        return connect(opts, cb)
      },
    })
  }

  denies(address: string): boolean {
    const a = normalize(address)
    return this.#deny.check(a.address, a.type) && !this.#allow.check(a.address, a.type)
  }

  /**
   * A `net.connect` lookup: resolves, then refuses the connection when any address the name has is denied
   * (a name that mixes a metadata address with others is not one to trust).
   */
  readonly lookup = ((hostname: string, options: dns.LookupOptions | number | ((...a: unknown[]) => void), cb?: (...a: unknown[]) => void) => {
    const callback = (typeof options === 'function' ? options : cb) as (err: Error | null, address?: string | dns.LookupAddress[], family?: number) => void
    const opts = typeof options === 'object' && options ? options : {}
    this.resolver(hostname).then(
      (all) => {
        const wanted = opts.family === 4 || opts.family === 6 ? all.filter((a) => a.family === opts.family) : all
        const bad = wanted.find((a) => this.denies(a.address))
        if (bad) return callback(new OutboundDeniedError(hostname, bad.address))
        if (!wanted.length) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }))
        if (opts.all) return callback(null, wanted)
        callback(null, wanted[0]!.address, wanted[0]!.family)
      },
      (e: unknown) => callback(e as Error),
    )
  }) as unknown as LookupAll & typeof dns.lookup

  /** For fetch(): `fetch(url, { dispatcher: policy.dispatcher })`. */
  get dispatcher(): Agent {
    return this.#agent
  }

  /**
   * The address a host resolves to and may be connected to (literal IPs as they are), or the refusal. For
   * clients that take an address rather than a lookup function (SMTP).
   */
  async resolve(host: string): Promise<string> {
    const bare = host.replace(/^\[|\]$/g, '')
    if (net.isIP(bare)) {
      if (this.denies(bare)) throw new OutboundDeniedError(bare, bare)
      return bare
    }
    const all = await this.resolver(bare)
    const bad = all.find((a) => this.denies(a.address))
    if (bad) throw new OutboundDeniedError(bare, bad.address)
    if (!all[0]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${bare}`), { code: 'ENOTFOUND' })
    return all[0].address
  }

  /**
   * The check made when a URL or host is saved: null when fine, else why not. A name DNS says does not
   * exist (ENOTFOUND) is refused — almost always a typo, better named now than at the first failed
   * delivery; a temporary DNS failure (EAI_AGAIN) or a receiver that is down is let through, since the
   * thing may well be reachable when it is used. The connection is checked again when it is made.
   */
  async problemWith(urlOrHost: string): Promise<string | null> {
    let host = urlOrHost
    try {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(urlOrHost)) host = new URL(urlOrHost).hostname
    } catch {
      return null
    }
    try {
      await this.resolve(host)
      return null
    } catch (e) {
      if (isOutboundDenied(e)) return (e as Error).message
      if ((e as { code?: string }).code === 'ENOTFOUND') return `the host "${host}" does not resolve from here (check the name)`
      return null
    }
  }

  async close(): Promise<void> {
    await this.#agent.close()
  }
}
