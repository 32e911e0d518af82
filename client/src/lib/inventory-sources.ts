/**
 * Inventory sources in the console, the parts worth testing without a browser: the form's state from a
 * source and back to the API's input (with the checks the API would only make after a round trip: whole
 * port, a share between 0 and 100 %), a sync result and a dry run in words, and a field change's values.
 */

export const FILTER_KEYS = ['locations', 'roles', 'platforms', 'statuses', 'tags'] as const
export type FilterKey = (typeof FILTER_KEYS)[number]
export type SourceFilter = Record<FilterKey, string[]>

export const FILTER_LABELS: Record<FilterKey, string> = {
  locations: 'Locations',
  roles: 'Roles',
  platforms: 'Platforms',
  statuses: 'Statuses',
  tags: 'Tags',
}

export type SyncMode = 'ADDITIVE' | 'AUTHORITATIVE'

/** One custom-field mapping row as typed (empty attribute / prefix: not mapped there). */
export interface MappingRow {
  customField: string
  attribute: string
  tagPrefix: string
}

/** What the form edits (text as typed: the port and the share are parsed on submit). */
export interface SourceFormState {
  name: string
  description: string
  url: string
  tokenCredentialId: string
  tlsVerify: boolean
  caCertificate: string
  filter: SourceFilter
  defaultPort: string
  defaultCredentialId: string
  extraTags: string[]
  syncMode: SyncMode
  /** The safety valve as a percentage (the API takes a fraction). */
  maxDeletePercent: string
  customFieldMappings: MappingRow[]
  syncBeforeRun: boolean
  /** The TTL in minutes (the API takes seconds). */
  syncBeforeRunMinutes: string
  syncBeforeRunRequired: boolean
}

export interface SourceLike {
  name: string
  description: string
  url: string
  tokenCredential: { id: string }
  tlsVerify: boolean
  caCertificate: string | null
  filter: { readonly [K in FilterKey]: readonly string[] }
  defaultPort: number
  defaultCredential: { id: string } | null
  extraTags: readonly string[]
  syncMode: SyncMode
  maxDeleteFraction: number
  customFieldMappings: ReadonlyArray<{ customField: string; attribute: string | null; tagPrefix: string | null }>
  syncBeforeRunMaxAgeSeconds: number | null
  syncBeforeRunRequired: boolean
}

/** A share as the form shows it: 0.2 → "20", 0.125 → "12.5". */
export function fractionToPercent(fraction: number): string {
  return String(Math.round(fraction * 10000) / 100)
}

export function sourceFormState(source: SourceLike | null, defaults: { tokenCredentialId?: string } = {}): SourceFormState {
  if (!source) {
    return {
      name: '',
      description: '',
      url: '',
      tokenCredentialId: defaults.tokenCredentialId ?? '',
      tlsVerify: true,
      caCertificate: '',
      filter: { locations: [], roles: [], platforms: [], statuses: [], tags: [] },
      defaultPort: '22',
      defaultCredentialId: '',
      extraTags: [],
      syncMode: 'ADDITIVE',
      maxDeletePercent: '20',
      customFieldMappings: [],
      syncBeforeRun: false,
      syncBeforeRunMinutes: '60',
      syncBeforeRunRequired: false,
    }
  }
  return {
    name: source.name,
    description: source.description,
    url: source.url,
    tokenCredentialId: source.tokenCredential.id,
    tlsVerify: source.tlsVerify,
    caCertificate: source.caCertificate ?? '',
    filter: Object.fromEntries(FILTER_KEYS.map((k) => [k, [...source.filter[k]]])) as SourceFilter,
    defaultPort: String(source.defaultPort),
    defaultCredentialId: source.defaultCredential?.id ?? '',
    extraTags: [...source.extraTags],
    syncMode: source.syncMode,
    maxDeletePercent: fractionToPercent(source.maxDeleteFraction),
    customFieldMappings: source.customFieldMappings.map((m) => ({ customField: m.customField, attribute: m.attribute ?? '', tagPrefix: m.tagPrefix ?? '' })),
    syncBeforeRun: source.syncBeforeRunMaxAgeSeconds !== null,
    syncBeforeRunMinutes: source.syncBeforeRunMaxAgeSeconds !== null ? String(Math.round((source.syncBeforeRunMaxAgeSeconds / 60) * 100) / 100) : '60',
    syncBeforeRunRequired: source.syncBeforeRunRequired,
  }
}

export interface SourceInput {
  kind: 'NAUTOBOT'
  name: string
  description: string
  url: string
  tokenCredentialId: string
  tlsVerify: boolean
  caCertificate: string | null
  filter: SourceFilter
  defaultPort: number
  defaultCredentialId: string | null
  extraTags: string[]
  syncMode: SyncMode
  maxDeleteFraction: number
  customFieldMappings: Array<{ customField: string; attribute: string | null; tagPrefix: string | null }>
  syncBeforeRunMaxAgeSeconds: number | null
  syncBeforeRunRequired: boolean
}

/** Longest TTL the API takes: 30 days. */
const MAX_TTL_MINUTES = 30 * 24 * 60

/**
 * The API input for the form, or the problems to show first, keyed by the API's field names (so one
 * `err('defaultPort')` shows the form's message and the API's alike). Everything else (a required name,
 * the URL's shape, the token's kind) is left to the API, whose messages name the field.
 */
export function sourceInput(s: SourceFormState): { input: SourceInput; errors: Record<string, string> } {
  const errors: Record<string, string> = {}
  const port = Number(s.defaultPort.trim())
  if (!s.defaultPort.trim() || !Number.isInteger(port)) errors.defaultPort = 'Enter a whole number (1–65535).'
  const percent = Number(s.maxDeletePercent.trim().replace(/%$/, ''))
  if (!s.maxDeletePercent.trim() || !Number.isFinite(percent) || percent < 0 || percent > 100) errors.maxDeleteFraction = 'Enter a share between 0 and 100 %.'
  const trimmedList = (xs: readonly string[]) => xs.map((x) => x.trim()).filter(Boolean)
  const minutes = Number(s.syncBeforeRunMinutes.trim())
  if (s.syncBeforeRun && (!s.syncBeforeRunMinutes.trim() || !Number.isFinite(minutes) || minutes < 1 || minutes > MAX_TTL_MINUTES)) {
    errors.syncBeforeRunMaxAgeSeconds = `Enter a number of minutes between 1 and ${MAX_TTL_MINUTES} (30 days).`
  }
  // Rows left wholly empty are dropped; the API checks the rest and names the row's field.
  const mappings = s.customFieldMappings
    .map((m) => ({ customField: m.customField.trim(), attribute: m.attribute.trim() || null, tagPrefix: m.tagPrefix.trim() || null }))
    .filter((m) => m.customField || m.attribute || m.tagPrefix)
  return {
    input: {
      kind: 'NAUTOBOT',
      name: s.name.trim(),
      description: s.description,
      url: s.url.trim(),
      tokenCredentialId: s.tokenCredentialId,
      tlsVerify: s.tlsVerify,
      caCertificate: s.caCertificate.trim() ? s.caCertificate.trim() : null,
      filter: Object.fromEntries(FILTER_KEYS.map((k) => [k, trimmedList(s.filter[k])])) as SourceFilter,
      defaultPort: port,
      defaultCredentialId: s.defaultCredentialId || null,
      extraTags: trimmedList(s.extraTags),
      syncMode: s.syncMode,
      // Rounded so 12.5 % is 0.125, not 0.12500000000000003.
      maxDeleteFraction: Math.round(percent * 100) / 10000,
      customFieldMappings: mappings,
      syncBeforeRunMaxAgeSeconds: s.syncBeforeRun ? Math.round(minutes * 60) : null,
      syncBeforeRunRequired: s.syncBeforeRunRequired,
    },
    errors,
  }
}

/** The filter in words: "Locations ams1, fra2 · Roles leaf"; every device when nothing is set. */
export function filterSummary(filter: { readonly [K in FilterKey]: readonly string[] }): string {
  const parts = FILTER_KEYS.filter((k) => filter[k].length).map((k) => `${FILTER_LABELS[k]} ${filter[k].join(', ')}`)
  return parts.length ? parts.join(' · ') : 'Every device'
}

export interface SyncCounts {
  created: number
  updated: number
  removed: number
  unchanged: number
  skipped: number
}

const COUNT_KEYS = ['created', 'updated', 'removed', 'unchanged', 'skipped'] as const

/** `lastSyncResult` (free JSON from the API) as counts; null when it is not that shape. */
export function syncCounts(result: unknown): SyncCounts | null {
  if (!result || typeof result !== 'object') return null
  const r = result as Record<string, unknown>
  if (!COUNT_KEYS.some((k) => typeof r[k] === 'number')) return null
  return Object.fromEntries(COUNT_KEYS.map((k) => [k, typeof r[k] === 'number' ? r[k] : 0])) as unknown as SyncCounts
}

/** "2 created, 1 updated, 5 unchanged"; "nothing changed (5 unchanged)"; "no result" for anything else. */
export function syncResultWords(result: unknown): string {
  const c = syncCounts(result)
  if (!c) return 'no result'
  const changes = (['created', 'updated', 'removed'] as const).filter((k) => c[k]).map((k) => `${c[k]} ${k}`)
  const rest = [c.unchanged ? `${c.unchanged} unchanged` : '', c.skipped ? `${c.skipped} skipped` : ''].filter(Boolean)
  if (!changes.length) return rest.length ? `nothing changed (${rest.join(', ')})` : 'nothing changed'
  return [...changes, ...rest].join(', ')
}

export interface PreviewLike {
  deviceCount: number
  create: readonly unknown[]
  update: readonly unknown[]
  remove: readonly unknown[]
  unchanged: readonly unknown[]
  skipped: readonly unknown[]
  refusal: string | null
}

/** The dry run's counts, in the order the diff shows them. */
export function previewCounts(p: PreviewLike): Array<{ key: 'create' | 'update' | 'remove' | 'unchanged' | 'skipped'; label: string; count: number }> {
  return [
    { key: 'create', label: 'To create', count: p.create.length },
    { key: 'update', label: 'To update', count: p.update.length },
    { key: 'remove', label: 'To remove', count: p.remove.length },
    { key: 'unchanged', label: 'Unchanged', count: p.unchanged.length },
    { key: 'skipped', label: 'Skipped', count: p.skipped.length },
  ]
}

/** One sentence for the dry run: what a sync would do now, and whether the safety valve would stop it. */
export function previewSummary(p: PreviewLike): string {
  const devices = `${p.deviceCount} ${p.deviceCount === 1 ? 'device' : 'devices'}`
  const changes = [p.create.length ? `create ${p.create.length}` : '', p.update.length ? `update ${p.update.length}` : '', p.remove.length ? `remove ${p.remove.length}` : ''].filter(Boolean)
  const total = p.create.length + p.update.length + p.remove.length
  const what = changes.length ? `A sync now would ${joinWords(changes)} ${total === 1 ? 'target' : 'targets'}` : 'A sync now would change nothing'
  const refused = p.refusal ? ` — but the safety valve would refuse it unless forced (${p.refusal})` : ''
  return `The source returned ${devices}. ${what}${refused}.`
}

function joinWords(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`
}

/** A changed field's value as text: strings as they are, lists joined, nothing as "—". */
export function changeValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—'
  if (Array.isArray(value)) return value.length ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ') : '—'
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** Attributes of a planned target as "key=value" pairs, empty ones left out. */
export function attributePairs(attributes: unknown): string[] {
  if (!attributes || typeof attributes !== 'object') return []
  return Object.entries(attributes as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
}
