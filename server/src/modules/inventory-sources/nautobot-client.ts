/**
 * Reads devices from a Nautobot through its GraphQL API (`POST /api/graphql/`), paged with limit/offset.
 * Every failure — unreachable, TLS, a rejected token, an HTTP error, a GraphQL error, an answer that is
 * not the expected shape, pages that repeat devices — is a SourceError with a message that says which,
 * and nothing is returned: a caller never sees a partial device list (which could delete targets).
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { z } from 'zod'
import { isOutboundDenied, OutboundDeniedError, type OutboundPolicy } from '../../net/outbound-policy.ts'
import { excerpt } from '../../util/excerpt.ts'

export class SourceError extends Error {
  constructor(
    message: string,
    /** Network trouble and 5xx may pass; a rejected token or a bad answer will not by retrying. */
    readonly transient: boolean,
    /** The HTTP status Nautobot answered, when it answered at all (404: the object is gone). */
    readonly status?: number,
  ) {
    super(message)
    this.name = 'SourceError'
  }
}

export interface DeviceFilter {
  locations?: string[]
  roles?: string[]
  platforms?: string[]
  statuses?: string[]
  tags?: string[]
}

export interface NautobotConnection {
  url: string
  token: string
  tlsVerify: boolean
  caCertificate: string | null
  /** Per request. */
  timeoutMs?: number
  signal?: AbortSignal
  /** The SSRF guard: the address Nautobot's name resolves to is checked when connecting. */
  outbound?: OutboundPolicy
}

export interface NautobotDevice {
  id: string
  name: string | null
  primaryIp: string | null
  platform: string | null
  role: string | null
  location: string | null
  status: string | null
  tags: string[]
  /** Custom field key → value (only when the query asked for them). */
  customFields?: Record<string, unknown>
}

const named = z.object({ name: z.string() }).nullable().optional()
const deviceSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  primary_ip4: z.object({ address: z.string() }).nullable().optional(),
  primary_ip6: z.object({ address: z.string() }).nullable().optional(),
  platform: named,
  role: named,
  location: named,
  status: named,
  tags: z.array(z.object({ name: z.string() })).default([]),
  // Nautobot's GraphQL answers a JSON field as a JSON string (graphene's JSONString); accept an object too.
  _custom_field_data: z.union([z.string(), z.record(z.string(), z.unknown())]).nullable().optional(),
})
const answerSchema = z.object({
  data: z.object({ devices: z.array(deviceSchema) }).nullable().optional(),
  errors: z.array(z.object({ message: z.string() })).optional(),
})

/** Filter key → the Nautobot DeviceFilterSet argument it becomes (names or ids both work there). */
const FILTER_ARGS: Record<keyof DeviceFilter, string> = { locations: 'location', roles: 'role', platforms: 'platform', statuses: 'status', tags: 'tags' }

export function devicesQuery(filter: DeviceFilter, customFields = false): { query: string; variables: Record<string, unknown> } {
  const used = (Object.keys(FILTER_ARGS) as Array<keyof DeviceFilter>).filter((k) => filter[k]?.length)
  const decl = ['$limit: Int', '$offset: Int', ...used.map((k) => `$${k}: [String]`)].join(', ')
  const args = ['limit: $limit', 'offset: $offset', ...used.map((k) => `${FILTER_ARGS[k]}: $${k}`)].join(', ')
  const query = `query SwitchyardDevices(${decl}) { devices(${args}) { id name primary_ip4 { address } primary_ip6 { address } platform { name } role { name } location { name } status { name } tags { name }${customFields ? ' _custom_field_data' : ''} } }`
  return { query, variables: Object.fromEntries(used.map((k) => [k, filter[k]])) }
}

/** Every device the filter selects, all pages, or a SourceError. */
export async function fetchNautobotDevices(
  conn: NautobotConnection,
  filter: DeviceFilter,
  pageSize = 500,
  maxDevices = 200_000,
  /** Ask for the devices' custom fields (a mapping uses them). */
  customFields = false,
): Promise<{ devices: NautobotDevice[]; pages: number }> {
  const { query, variables } = devicesQuery(filter, customFields)
  const devices: NautobotDevice[] = []
  const seen = new Set<string>()
  for (let page = 0; ; page++) {
    const body = await postJson(conn, '/api/graphql/', { query, variables: { ...variables, limit: pageSize, offset: page * pageSize } })
    const parsed = answerSchema.safeParse(body)
    if (!parsed.success) throw new SourceError(`Nautobot at ${conn.url} returned an unexpected GraphQL answer (${excerpt(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), 200)})`, false)
    if (parsed.data.errors?.length) throw new SourceError(`Nautobot's GraphQL API refused the device query: ${excerpt(parsed.data.errors.map((e) => e.message).join('; '), 300)}`, false)
    if (!parsed.data.data) throw new SourceError(`Nautobot at ${conn.url} returned no data for the device query`, false)
    const rows = parsed.data.data.devices
    for (const d of rows) {
      // Pages that overlap mean the ordering moved under us (or the server pages oddly): the list cannot be trusted.
      if (seen.has(d.id)) throw new SourceError(`Nautobot returned device ${d.id} on two pages; the device list changed during the sync or paging is broken — nothing was changed`, true)
      seen.add(d.id)
      devices.push({
        id: d.id,
        name: d.name,
        primaryIp: stripPrefixLength(d.primary_ip4?.address ?? d.primary_ip6?.address ?? null),
        platform: d.platform?.name ?? null,
        role: d.role?.name ?? null,
        location: d.location?.name ?? null,
        status: d.status?.name ?? null,
        tags: d.tags.map((t) => t.name),
        ...(customFields ? { customFields: customFieldData(d._custom_field_data, d.id) } : {}),
      })
    }
    if (rows.length > pageSize) throw new SourceError(`Nautobot returned ${rows.length} devices for a page of ${pageSize}: it ignores paging — nothing was changed`, false)
    if (rows.length < pageSize) return { devices, pages: page + 1 }
    if (devices.length >= maxDevices) throw new SourceError(`the source selects more than ${maxDevices} devices; narrow its filter`, false)
  }
}

function customFieldData(raw: string | Record<string, unknown> | null | undefined, deviceId: string): Record<string, unknown> {
  if (raw === null || raw === undefined) return {}
  if (typeof raw !== 'string') return raw
  try {
    const parsed = JSON.parse(raw) as unknown
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {
    /* reported below */
  }
  throw new SourceError(`Nautobot returned custom field data for device ${deviceId} that is not a JSON object — nothing was changed`, false)
}

/** Nautobot's version (GET /api/status/): proves the URL and the token. */
export async function nautobotVersion(conn: NautobotConnection): Promise<string | null> {
  const body = (await request(conn, 'GET', '/api/status/', null)) as { 'nautobot-version'?: unknown }
  return typeof body?.['nautobot-version'] === 'string' ? body['nautobot-version'] : null
}

/** The keys of the custom fields Nautobot has for devices (GET /api/extras/custom-fields/, every page). */
export async function deviceCustomFieldKeys(conn: NautobotConnection): Promise<string[]> {
  const keys: string[] = []
  for (let offset = 0; offset < 100_000; offset += 1000) {
    const body = (await request(conn, 'GET', `/api/extras/custom-fields/?content_types=dcim.device&limit=1000&offset=${offset}`, null)) as { results?: Array<{ key?: unknown }>; next?: unknown }
    if (!Array.isArray(body?.results)) throw new SourceError(`Nautobot at ${conn.url} answered the custom field list with something else`, false)
    for (const r of body.results) if (typeof r.key === 'string') keys.push(r.key)
    if (!body.next) break
  }
  return keys
}

/** `10.0.0.1/24` → `10.0.0.1`; `2001:db8::1/64` → `2001:db8::1`. */
export function stripPrefixLength(address: string | null): string | null {
  if (!address) return null
  const i = address.indexOf('/')
  return i >= 0 ? address.slice(0, i) : address
}

function postJson(conn: NautobotConnection, path: string, payload: unknown): Promise<unknown> {
  return request(conn, 'POST', path, JSON.stringify(payload))
}

const MAX_BODY_BYTES = 64 * 1024 * 1024

/** One REST call: JSON in and out, every failure a SourceError (the token goes only into the header). */
export function request(conn: NautobotConnection, method: string, path: string, body: string | null): Promise<unknown> {
  const url = new URL(path.replace(/^\//, ''), conn.url.endsWith('/') ? conn.url : `${conn.url}/`)
  const where = `Nautobot at ${conn.url}`
  const isHttps = url.protocol === 'https:'
  const options: https.RequestOptions = {
    method,
    headers: {
      Authorization: `Token ${conn.token}`,
      Accept: 'application/json',
      ...(body !== null ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
    },
    timeout: conn.timeoutMs ?? 30_000,
    signal: conn.signal,
    ...(conn.outbound ? { lookup: conn.outbound.lookup } : {}),
    ...(isHttps ? { rejectUnauthorized: conn.tlsVerify, ...(conn.caCertificate ? { ca: conn.caCertificate } : {}) } : {}),
  }
  return new Promise((resolve, reject) => {
    // A literal IP skips the lookup: checked here.
    const literal = url.hostname.replace(/^\[|\]$/g, '')
    if (conn.outbound && net.isIP(literal) && conn.outbound.denies(literal)) return reject(new SourceError(`cannot reach ${where} (${new OutboundDeniedError(literal, literal).message})`, false))
    const req = (isHttps ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_BODY_BYTES) {
          req.destroy(new SourceError(`${where} sent more than ${MAX_BODY_BYTES / 1024 / 1024} MiB for one page`, false))
          return
        }
        chunks.push(c)
      })
      res.on('error', (e) => reject(new SourceError(`${where}: the answer broke off (${e.message})`, true)))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const status = res.statusCode ?? 0
        if (status === 401 || status === 403) return reject(new SourceError(`${where} rejected the API token (HTTP ${status}${detailOf(text)})`, false, status))
        if (status >= 300) return reject(new SourceError(`${where} answered HTTP ${status}${detailOf(text)}`, status >= 500 || status === 429 || status === 408, status))
        try {
          resolve(JSON.parse(text))
        } catch {
          reject(new SourceError(`${where} answered with something that is not JSON (${excerpt(text.replace(/\s+/g, ' '), 120)})`, false))
        }
      })
    })
    req.on('timeout', () => req.destroy(new SourceError(`${where} did not answer within ${Math.round((conn.timeoutMs ?? 30_000) / 1000)} s`, true)))
    req.on('error', (e: Error & { code?: string }) => {
      if (e instanceof SourceError) return reject(e)
      if (e.name === 'AbortError') return reject(new SourceError(`request to ${where} aborted`, true))
      if (isOutboundDenied(e)) return reject(new SourceError(`cannot reach ${where} (${e.message})`, false))
      const tls = /CERT|SSL|TLS|self.signed|unable to verify/i.test(`${e.code ?? ''} ${e.message}`)
      reject(new SourceError(tls ? `${where}: TLS verification failed (${e.message}); set a CA certificate or turn TLS verification off` : `cannot reach ${where} (${e.code ?? e.message})`, !tls))
    })
    if (body !== null) req.write(body)
    req.end()
  })
}

function detailOf(text: string): string {
  try {
    const j = JSON.parse(text) as { detail?: unknown }
    if (typeof j.detail === 'string') return `: ${excerpt(j.detail, 200)}`
    // A refused write answers field → messages ({"custom_fields": ["…"]}): worth showing as it is.
    if (j && typeof j === 'object') return `: ${excerpt(JSON.stringify(j), 300)}`
  } catch {
    /* not JSON: say nothing more than the status */
  }
  return ''
}
