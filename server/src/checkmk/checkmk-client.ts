/**
 * A client for the Checkmk 2.4 REST API (`<site url>/check_mk/api/1.0/`), exactly the calls Switchyard
 * makes: list hosts, read one host with its ETag, bulk create / bulk update, edit or move one host with
 * `If-Match`, bulk delete, ensure a folder, read pending changes with their ETag, activate and wait.
 *
 * Auth is an automation user: `Authorization: Bearer <user> <secret>`. The secret never appears in an
 * error message (the caller also masks it). Every failure is a CheckmkError carrying the HTTP status, so
 * callers can tell a stale ETag (412) from a refusal; network trouble and 5xx are `transient`.
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { isOutboundDenied, OutboundDeniedError, type OutboundPolicy } from '../net/outbound-policy.ts'
import { excerpt } from '../util/excerpt.ts'

export class CheckmkError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly transient: boolean,
    /** The problem document's `ext`/`fields` (bulk calls name the failed hosts there). */
    readonly problem: Record<string, unknown> | null = null,
  ) {
    super(message)
    this.name = 'CheckmkError'
  }
}

export interface CheckmkConnection {
  /** The site's URL, e.g. `https://monitoring.example.com/mysite` (the API lives under it). */
  url: string
  username: string
  secret: string
  tlsVerify: boolean
  timeoutMs?: number
  signal?: AbortSignal
  /** The SSRF guard: the address the site's name resolves to is checked when connecting. */
  outbound?: OutboundPolicy
}

/** The attributes of a host as Checkmk stores them (only what was set on the host itself). */
export type HostAttributes = Record<string, unknown> & { ipaddress?: string; site?: string; labels?: Record<string, string> }

export interface CheckmkHost {
  name: string
  /** `/` for the root, else `/a/b`. */
  folder: string
  attributes: HostAttributes
}

export interface CreateHostEntry {
  host_name: string
  folder: string
  attributes: HostAttributes
}

export interface UpdateHostEntry {
  host_name: string
  update_attributes?: HostAttributes
  remove_attributes?: string[]
}

export interface BulkOutcome {
  succeeded: string[]
  /** Host name → Checkmk's reason. */
  failed: Record<string, string>
}

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: unknown
}

export class CheckmkClient {
  readonly #base: URL
  constructor(private readonly conn: CheckmkConnection) {
    const site = conn.url.endsWith('/') ? conn.url : `${conn.url}/`
    this.#base = new URL('check_mk/api/1.0/', site)
  }

  /** Every host with its own attributes (`effective_attributes` off: what the host itself sets). */
  async listHosts(): Promise<CheckmkHost[]> {
    const a = await this.call('GET', 'domain-types/host_config/collections/all', null, [200])
    const value = (a.body as { value?: unknown })?.value
    if (!Array.isArray(value)) throw new CheckmkError(`Checkmk at ${this.conn.url} returned a host list without "value"`, a.status, false)
    return value.map(hostOf)
  }

  /** One host and its ETag; null when Checkmk has no such host. */
  async getHost(name: string): Promise<{ host: CheckmkHost; etag: string } | null> {
    const a = await this.call('GET', `objects/host_config/${encodeURIComponent(name)}`, null, [200, 404])
    if (a.status === 404) return null
    return { host: hostOf(a.body), etag: etagOf(a) }
  }

  async bulkCreate(entries: CreateHostEntry[]): Promise<BulkOutcome> {
    return this.bulk('POST', 'domain-types/host_config/actions/bulk-create/invoke', entries, entries.map((e) => e.host_name))
  }

  /** Partial updates (`update_attributes` keeps every attribute not named). No ETag: see `editHost`. */
  async bulkUpdate(entries: UpdateHostEntry[]): Promise<BulkOutcome> {
    return this.bulk('PUT', 'domain-types/host_config/actions/bulk-update/invoke', entries, entries.map((e) => e.host_name))
  }

  /** A single-host edit guarded by the ETag it was read with; a 412 means someone changed it since. */
  async editHost(name: string, etag: string, body: { update_attributes?: HostAttributes; remove_attributes?: string[] }): Promise<CheckmkHost> {
    const a = await this.call('PUT', `objects/host_config/${encodeURIComponent(name)}`, body, [200], { 'If-Match': etag })
    return hostOf(a.body)
  }

  async moveHost(name: string, etag: string, folder: string): Promise<void> {
    await this.call('POST', `objects/host_config/${encodeURIComponent(name)}/actions/move/invoke`, { target_folder: folderParam(folder) }, [200], { 'If-Match': etag })
  }

  async bulkDelete(names: string[]): Promise<void> {
    await this.call('POST', 'domain-types/host_config/actions/bulk-delete/invoke', { entries: names }, [204])
  }

  /** Creates `folder` and any missing parent (Checkmk requires the folder before hosts go into it). */
  async ensureFolder(folder: string): Promise<void> {
    const parts = folder.split('/').filter(Boolean)
    for (let i = 1; i <= parts.length; i++) {
      const path = `/${parts.slice(0, i).join('/')}`
      const a = await this.call('GET', `objects/folder_config/${encodeURIComponent(folderParam(path))}`, null, [200, 404])
      if (a.status === 200) continue
      await this.call('POST', 'domain-types/folder_config/collections/all', { name: parts[i - 1], title: parts[i - 1], parent: folderParam(`/${parts.slice(0, i - 1).join('/')}`) }, [200])
    }
  }

  async pendingChanges(): Promise<{ etag: string; count: number }> {
    const a = await this.call('GET', 'domain-types/activation_run/collections/pending_changes', null, [200])
    const value = (a.body as { value?: unknown })?.value
    return { etag: etagOf(a), count: Array.isArray(value) ? value.length : 0 }
  }

  /**
   * Activates the pending changes the ETag stands for. `null` when there is nothing to activate (422):
   * for a sync that changed nothing that is success, not an error.
   */
  async activate(etag: string, sites: string[] = []): Promise<{ activationId: string } | null> {
    const body = { redirect: false, sites, force_foreign_changes: false }
    const a = await this.call('POST', 'domain-types/activation_run/actions/activate-changes/invoke', body, [200, 422], { 'If-Match': etag }).catch((e: unknown) => {
      // On this endpoint 401 is not about the secret (that would have failed every earlier call) but the
      // spec's "may not activate another user's changes": say so, and what would allow it.
      if (e instanceof CheckmkError && e.status === 401) {
        throw new CheckmkError(`Checkmk refused to activate: other users' changes are pending (${(e.problem?.detail as string | undefined) ?? 'HTTP 401'}); activate them in Checkmk first (Switchyard never activates foreign changes)`, 401, false, e.problem)
      }
      throw e
    })
    if (a.status === 422) return null
    const id = (a.body as { id?: unknown })?.id
    if (typeof id !== 'string') throw new CheckmkError('Checkmk started an activation but did not say its id', a.status, false)
    return { activationId: id }
  }

  /**
   * Waits until the activation completes: the endpoint answers 302 (to itself) while it runs and 204 when
   * done. Polled (redirects are not followed) so the wait has our timeout, not the HTTP client's.
   */
  async waitForActivation(activationId: string, timeoutMs: number, pollMs = 500): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const a = await this.call('GET', `objects/activation_run/${encodeURIComponent(activationId)}/actions/wait-for-completion/invoke`, null, [204, 302])
      if (a.status === 204) return
      if (Date.now() + pollMs > deadline) throw new CheckmkError(`activation ${activationId} did not complete within ${Math.round(timeoutMs / 1000)} s`, null, true)
      await sleep(pollMs, this.conn.signal)
    }
  }

  private async bulk(method: string, path: string, entries: unknown[], names: string[]): Promise<BulkOutcome> {
    if (!entries.length) return { succeeded: [], failed: {} }
    try {
      await this.call(method, path, { entries }, [200])
      return { succeeded: names, failed: {} }
    } catch (e) {
      // A 400 with `ext.failed_hosts` is a partial success: the others went through (spec: BulkHostActionWithFailedHosts).
      const failed = e instanceof CheckmkError && e.status === 400 ? (e.problem?.ext as { failed_hosts?: unknown } | undefined)?.failed_hosts : undefined
      if (!failed || typeof failed !== 'object') throw e
      const reasons = Object.fromEntries(Object.entries(failed as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
      return { succeeded: names.filter((n) => !(n in reasons)), failed: reasons }
    }
  }

  private call(method: string, path: string, payload: unknown, expected: number[], headers: Record<string, string> = {}): Promise<Answer> {
    const url = new URL(path, this.#base)
    const where = `Checkmk at ${this.conn.url}`
    const body = payload === null ? null : JSON.stringify(payload)
    const isHttps = url.protocol === 'https:'
    const timeoutMs = this.conn.timeoutMs ?? 60_000
    const options: https.RequestOptions = {
      method,
      headers: {
        Authorization: `Bearer ${this.conn.username} ${this.conn.secret}`,
        Accept: 'application/json',
        ...(body !== null ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
        ...headers,
      },
      timeout: timeoutMs,
      signal: this.conn.signal,
      ...(this.conn.outbound ? { lookup: this.conn.outbound.lookup } : {}),
      ...(isHttps ? { rejectUnauthorized: this.conn.tlsVerify } : {}),
    }
    return new Promise((resolve, reject) => {
      // A literal IP skips the lookup: checked here.
      const literal = url.hostname.replace(/^\[|\]$/g, '')
      if (this.conn.outbound && net.isIP(literal) && this.conn.outbound.denies(literal)) {
        return reject(new CheckmkError(`cannot reach ${where} (${new OutboundDeniedError(literal, literal).message})`, null, false))
      }
      const req = (isHttps ? https : http).request(url, options, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', (e) => reject(new CheckmkError(`${where}: the answer broke off (${e.message})`, null, true)))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const status = res.statusCode ?? 0
          let json: unknown = null
          try {
            json = text ? JSON.parse(text) : null
          } catch {
            if (expected.includes(status) && status !== 204 && status !== 302) {
              return reject(new CheckmkError(`${where} answered ${method} ${path} with something that is not JSON (${excerpt(text.replace(/\s+/g, ' '), 120)})`, status, false))
            }
          }
          if (expected.includes(status)) return resolve({ status, headers: res.headers, body: json })
          const problem = json && typeof json === 'object' ? (json as Record<string, unknown>) : null
          const detail = problem && typeof problem.detail === 'string' ? `: ${excerpt(problem.detail, 300)}` : ''
          const fields = problem?.fields && typeof problem.fields === 'object' ? ` ${excerpt(JSON.stringify(problem.fields), 300)}` : ''
          if (status === 401) return reject(new CheckmkError(`${where} rejected the automation user's credentials (HTTP 401${detail})`, status, false, problem))
          const message = `${where}: ${method} ${path} → HTTP ${status}${detail}${fields}`
          reject(new CheckmkError(message, status, status >= 500 || status === 429 || status === 423, problem))
        })
      })
      req.on('timeout', () => req.destroy(new CheckmkError(`${where} did not answer within ${Math.round(timeoutMs / 1000)} s`, null, true)))
      req.on('error', (e: Error & { code?: string }) => {
        if (e instanceof CheckmkError) return reject(e)
        if (e.name === 'AbortError') return reject(new CheckmkError(`request to ${where} aborted`, null, true))
        if (isOutboundDenied(e)) return reject(new CheckmkError(`cannot reach ${where} (${e.message})`, null, false))
        const tls = /CERT|SSL|TLS|self.signed|unable to verify/i.test(`${e.code ?? ''} ${e.message}`)
        reject(new CheckmkError(tls ? `${where}: TLS verification failed (${e.message})` : `cannot reach ${where} (${e.code ?? e.message})`, null, !tls))
      })
      if (body !== null) req.write(body)
      req.end()
    })
  }
}

/** `/a/b` → `~a~b` (the spec's recommended delimiter in URLs and bodies); `/` → `~`. */
export function folderParam(folder: string): string {
  const parts = folder.split('/').filter(Boolean)
  return parts.length ? `~${parts.join('~')}` : '~'
}

/** Any of Checkmk's spellings (`~a~b`, `/a/b/`, `\a\b`) → `/a/b`; the root is `/`. */
export function normalizeFolder(folder: string): string {
  const parts = folder.split(/[~/\\]/).filter(Boolean)
  return `/${parts.join('/')}`
}

function hostOf(raw: unknown): CheckmkHost {
  const o = raw as { id?: unknown; title?: unknown; extensions?: { folder?: unknown; attributes?: unknown } }
  const name = typeof o?.id === 'string' ? o.id : typeof o?.title === 'string' ? o.title : null
  if (!name) throw new CheckmkError('Checkmk returned a host without an id', null, false)
  const attributes = (o.extensions?.attributes && typeof o.extensions.attributes === 'object' ? o.extensions.attributes : {}) as HostAttributes
  return { name, folder: normalizeFolder(typeof o.extensions?.folder === 'string' ? o.extensions.folder : '/'), attributes }
}

function etagOf(a: Answer): string {
  const etag = a.headers.etag
  if (typeof etag !== 'string' || !etag) throw new CheckmkError('Checkmk answered without an ETag header', a.status, false)
  return etag
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CheckmkError('aborted', null, true))
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(new CheckmkError('aborted', null, true))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
