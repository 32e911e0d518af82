/**
 * The NautobotWriteBackPort: sessions that write to a Nautobot through its REST API (GraphQL there is
 * read-only). Every write reads first and changes only what differs, so a re-run changes nothing twice:
 * a custom field already holding the value is `unchanged`, an address is looked up in its namespace
 * before one is created (Nautobot keeps one address per parent prefix and host).
 *
 * REST shapes (Nautobot 3.x, checked against the real server in test/integration/nautobot-writeback.test.ts):
 * `PATCH /api/dcim/devices/{id}/ {"custom_fields": {key: value}}`; a GET with `depth=0` lists every custom
 * field defined for the content type in `custom_fields` (value null when unset), so a missing key means the
 * field does not exist there. `POST /api/ipam/ip-addresses/` takes `address` (host/mask), `namespace`,
 * `status` (id) and `dns_name`, and files the address under its most specific parent prefix itself;
 * `GET /api/ipam/ip-addresses/?address=<host>&namespace=<id>` finds it again.
 */
import type { AddressWriteRequest, FieldWrite, NautobotPrefix, NautobotSession, NautobotWriteBackPort } from '../../jobs/executors/nautobot-port.ts'
import { request, SourceError, type NautobotConnection } from './nautobot-client.ts'
import type { InventorySync } from './inventory-sync.ts'

const PAGE = 500
const MAX_PREFIXES = 10_000

interface Page<T> {
  count?: number
  results: T[]
}
interface WithFields {
  id: string
  custom_fields?: Record<string, unknown>
}
interface PrefixRow extends WithFields {
  prefix: string
  namespace: { id: string; name?: string } | string | null
}
interface AddressRow {
  id: string
  address: string
  dns_name?: string
  status: { id: string } | string | null
}

export class NautobotWriteBack implements NautobotWriteBackPort {
  constructor(private readonly inventory: InventorySync) {}

  async open(req: { runId: string; sourceId: string; signal: AbortSignal }): Promise<NautobotSession> {
    const { source, conn } = await this.inventory.connectionForRun(req.runId, req.sourceId, req.signal)
    return new RestSession(source.name, conn)
  }
}

function idOf(ref: { id: string } | string | null | undefined): string | null {
  if (!ref) return null
  return typeof ref === 'string' ? (/([0-9a-f-]{36})\/?$/.exec(ref)?.[1] ?? ref) : ref.id
}

export class RestSession implements NautobotSession {
  readonly #statusIds = new Map<string, string>()

  constructor(
    readonly sourceName: string,
    private readonly conn: NautobotConnection,
  ) {}

  /** Every call's error without the token (it is only ever in a header, but an echo must not leak it). */
  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return (await request(this.conn, method, path, body === undefined ? null : JSON.stringify(body))) as T
    } catch (e) {
      if (e instanceof SourceError) throw new SourceError(e.message.split(this.conn.token).join('••••••'), e.transient, e.status)
      throw e
    }
  }

  setDeviceField(deviceId: string, field: string, value: string): Promise<FieldWrite> {
    return this.#setField('dcim/devices', 'devices', deviceId, field, value)
  }

  setPrefixField(prefixId: string, field: string, value: string): Promise<FieldWrite> {
    return this.#setField('ipam/prefixes', 'prefixes', prefixId, field, value)
  }

  async #setField(path: string, what: string, id: string, field: string, value: string): Promise<FieldWrite> {
    let row: WithFields
    try {
      row = await this.#call<WithFields>('GET', `/api/${path}/${encodeURIComponent(id)}/?depth=0`)
    } catch (e) {
      if (e instanceof SourceError && e.status === 404) return 'missing'
      throw e
    }
    const fields = row.custom_fields ?? {}
    if (!(field in fields)) throw new SourceError(`Nautobot has no custom field "${field}" on ${what}: create it (Extensibility → Custom Fields) with content type ${path.replace('/', '.').replace(/s$/, '')}`, false)
    if (fields[field] === value) return 'unchanged'
    await this.#call('PATCH', `/api/${path}/${encodeURIComponent(id)}/`, { custom_fields: { [field]: value } })
    return 'written'
  }

  async prefixesWithField(field: string): Promise<NautobotPrefix[]> {
    const out: NautobotPrefix[] = []
    let sawField = false
    let total = 0
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.#call<Page<PrefixRow>>('GET', `/api/ipam/prefixes/?depth=1&limit=${PAGE}&offset=${offset}`)
      if (!Array.isArray(page?.results)) throw new SourceError(`Nautobot at ${this.conn.url} answered the prefix list with something that is not a page of prefixes`, false)
      for (const p of page.results) {
        const fields = p.custom_fields ?? {}
        if (field in fields) sawField = true
        const v = fields[field]
        if (v === null || v === undefined || v === '' || v === false) continue
        const namespaceId = idOf(p.namespace)
        if (!namespaceId) throw new SourceError(`Nautobot prefix ${p.prefix} has no namespace`, false)
        out.push({ id: p.id, prefix: p.prefix, namespaceId, namespace: typeof p.namespace === 'object' && p.namespace ? (p.namespace.name ?? null) : null })
      }
      total += page.results.length
      if (out.length > MAX_PREFIXES) throw new SourceError(`more than ${MAX_PREFIXES} Nautobot prefixes have "${field}" set`, false)
      if (page.results.length < PAGE || (page.count !== undefined && total >= page.count)) break
    }
    if (total > 0 && !sawField) throw new SourceError(`Nautobot has no custom field "${field}" on prefixes: create it with content type ipam.prefix`, false)
    return out
  }

  async upsertAddress(req: AddressWriteRequest): Promise<{ action: 'created' | 'updated' | 'unchanged'; id: string }> {
    const status = await this.#statusId(req.status)
    const q = new URLSearchParams({ address: req.host, namespace: req.namespaceId, depth: '0' })
    const found = await this.#call<Page<AddressRow>>('GET', `/api/ipam/ip-addresses/?${q}`)
    const existing = found.results.find((a) => a.address.split('/')[0] === req.host)
    if (!existing) {
      const created = await this.#call<AddressRow>('POST', '/api/ipam/ip-addresses/', {
        address: `${req.host}/${req.maskLength}`,
        namespace: req.namespaceId,
        status,
        ...(req.dnsName ? { dns_name: req.dnsName } : {}),
      })
      return { action: 'created', id: created.id }
    }
    const patch: Record<string, unknown> = {}
    if (idOf(existing.status) !== status) patch.status = status
    if (req.dnsName && existing.dns_name !== req.dnsName) patch.dns_name = req.dnsName
    if (!Object.keys(patch).length) return { action: 'unchanged', id: existing.id }
    await this.#call('PATCH', `/api/ipam/ip-addresses/${existing.id}/`, patch)
    return { action: 'updated', id: existing.id }
  }

  /** A status by name, as IP addresses may have it (content type ipam.ipaddress); looked up once per session. */
  async #statusId(name: string): Promise<string> {
    const known = this.#statusIds.get(name)
    if (known) return known
    const q = new URLSearchParams({ name, content_types: 'ipam.ipaddress', depth: '0' })
    const page = await this.#call<Page<{ id: string; name: string }>>('GET', `/api/extras/statuses/?${q}`)
    const row = page.results.find((s) => s.name === name)
    if (!row) throw new SourceError(`Nautobot has no status "${name}" for IP addresses`, false)
    this.#statusIds.set(name, row.id)
    return row.id
  }
}
