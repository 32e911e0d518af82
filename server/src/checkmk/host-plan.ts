/**
 * The one comparison `compare_devices` reports and `sync_devices` applies: for each Nautobot device, the
 * Checkmk host it should be (folder from a template, IP address, site, labels, tag groups) against the host
 * Checkmk has. Pure: devices, mapping and hosts in; per-device status with field diffs out.
 *
 * Switchyard manages only what the mapping names — `folder`, `ipaddress` (when the device has a primary
 * IP), `site` (when set), each mapped label key, each mapped tag group — plus the marker label
 * MANAGED_LABEL on every host it creates. Other attributes and labels are people's and never compared or
 * touched; EXTRA_IN_CHECKMK only ever lists hosts that carry the marker.
 */
import { renderTemplate, templateVariables } from '../util/template.ts'
import type { CheckmkHost, HostAttributes } from './checkmk-client.ts'

export const MANAGED_LABEL = 'switchyard/managed'
export const MANAGED_VALUE = 'true'
/** The variables folder/label/tag templates may use: `{{ location }}` etc. */
export const TEMPLATE_VARIABLES = ['name', 'location', 'role', 'platform', 'status', 'tags'] as const

/** What the mapping needs from a device (a NautobotDevice fits). */
export interface SourceDevice {
  name: string | null
  primaryIp: string | null
  location: string | null
  role: string | null
  platform: string | null
  status: string | null
  tags: string[]
}

export interface HostMapping {
  /** e.g. `/network/{{ location }}/{{ role }}`; each segment becomes `[-\w]` (others → `_`); empty ones drop. */
  folderTemplate: string
  /** The Checkmk site the hosts are monitored from; null: not managed. */
  site: string | null
  /** Label key → value template. */
  labels: Record<string, string>
  /** Tag group attribute (`tag_…`) → tag id template; an empty result leaves the group unmanaged. */
  tagGroups: Record<string, string>
}

export interface DesiredHost {
  name: string
  folder: string
  /** Only the managed attributes (labels: only the managed keys, marker included). */
  attributes: HostAttributes & { labels: Record<string, string> }
}

export interface FieldDiff {
  /** `folder`, `ipaddress`, `site`, `labels.<key>`, `tag_<group>`. */
  field: string
  /** What Nautobot says it should be; null: absent. */
  expected: string | null
  /** What Checkmk has; null: absent. */
  actual: string | null
}

export type ComparisonStatus = 'EQUAL' | 'DIFFERENT' | 'MISSING_IN_CHECKMK' | 'EXTRA_IN_CHECKMK' | 'SKIPPED'

export interface DeviceComparison {
  device: string
  status: ComparisonStatus
  desired: DesiredHost | null
  actual: CheckmkHost | null
  diffs: FieldDiff[]
  /** Why a device was skipped. */
  reason: string | null
}

const HOST_NAME = /^[-0-9a-zA-Z_.]+$/

/** Template problems for a config (named so the registry can point at the field). */
export function mappingProblems(m: HostMapping): Array<{ path: string[]; message: string }> {
  const problems: Array<{ path: string[]; message: string }> = []
  const check = (text: string, path: string[]) => {
    for (const v of templateVariables(text)) {
      if (!(TEMPLATE_VARIABLES as readonly string[]).includes(v)) problems.push({ path, message: `unknown variable "${v}" (use ${TEMPLATE_VARIABLES.join(', ')})` })
    }
  }
  check(m.folderTemplate, ['folderTemplate'])
  for (const [k, v] of Object.entries(m.labels)) check(v, ['labels', k])
  for (const [k, v] of Object.entries(m.tagGroups)) check(v, ['tagGroups', k])
  return problems
}

function render(text: string, d: SourceDevice): string {
  const vars = { name: d.name ?? '', location: d.location ?? '', role: d.role ?? '', platform: d.platform ?? '', status: d.status ?? '', tags: d.tags.join(',') }
  return renderTemplate(text, vars, { quote: 'none' }).trim()
}

export function folderFor(template: string, d: SourceDevice): string {
  const segments = render(template, d)
    .split('/')
    .map((s) => s.trim().replace(/[^-\w]+/g, '_').replace(/^_+|_+$/g, ''))
    .filter(Boolean)
  return `/${segments.join('/')}`
}

export function desiredHost(d: SourceDevice, m: HostMapping): DesiredHost | { skip: string } {
  const name = d.name?.trim() ?? ''
  if (!name) return { skip: 'the device has no name' }
  if (!HOST_NAME.test(name)) return { skip: 'the name is not a valid Checkmk host name (letters, digits, - _ . only)' }
  const labels: Record<string, string> = {}
  for (const [k, v] of Object.entries(m.labels)) {
    const value = render(v, d)
    if (value) labels[k] = value
  }
  labels[MANAGED_LABEL] = MANAGED_VALUE
  const attributes: DesiredHost['attributes'] = { labels }
  if (d.primaryIp) attributes.ipaddress = d.primaryIp
  if (m.site) attributes.site = m.site
  for (const [group, v] of Object.entries(m.tagGroups)) {
    const value = render(v, d)
    if (value) attributes[group] = value
  }
  return { name, folder: folderFor(m.folderTemplate, d), attributes }
}

/** Field by field, only the managed fields. */
export function diffHost(desired: DesiredHost, actual: CheckmkHost): FieldDiff[] {
  const diffs: FieldDiff[] = []
  if (desired.folder !== actual.folder) diffs.push({ field: 'folder', expected: desired.folder, actual: actual.folder })
  for (const [k, v] of Object.entries(desired.attributes)) {
    if (k === 'labels') continue
    const have = actual.attributes[k]
    const haveText = have === undefined || have === null ? null : String(have)
    if (haveText !== v) diffs.push({ field: k, expected: String(v), actual: haveText })
  }
  const haveLabels = (actual.attributes.labels ?? {}) as Record<string, string>
  for (const [k, v] of Object.entries(desired.attributes.labels)) {
    const have = haveLabels[k] ?? null
    if (have !== v) diffs.push({ field: `labels.${k}`, expected: v, actual: have })
  }
  return diffs
}

export function isManaged(host: CheckmkHost): boolean {
  return ((host.attributes.labels ?? {}) as Record<string, string>)[MANAGED_LABEL] === MANAGED_VALUE
}

/**
 * Every selected device, then every managed host no device wants (unless `only` restricts the run to some
 * devices: then extras are not looked for, since the rest of the inventory was not read as a whole).
 */
export function compareDevices(devices: readonly SourceDevice[], hosts: readonly CheckmkHost[], m: HostMapping, only: readonly string[] | null = null): DeviceComparison[] {
  const byName = new Map(hosts.map((h) => [h.name, h]))
  const wanted = new Set<string>()
  const out: DeviceComparison[] = []
  const selected = only ? new Set(only) : null
  for (const d of devices) {
    const label = d.name?.trim() || '(unnamed device)'
    if (selected && !selected.has(label)) continue
    const desired = desiredHost(d, m)
    if ('skip' in desired) {
      out.push({ device: label, status: 'SKIPPED', desired: null, actual: null, diffs: [], reason: desired.skip })
      continue
    }
    if (wanted.has(desired.name)) {
      out.push({ device: label, status: 'SKIPPED', desired: null, actual: null, diffs: [], reason: 'another device has the same name' })
      continue
    }
    wanted.add(desired.name)
    const actual = byName.get(desired.name) ?? null
    if (!actual) {
      out.push({ device: desired.name, status: 'MISSING_IN_CHECKMK', desired, actual: null, diffs: [], reason: null })
      continue
    }
    const diffs = diffHost(desired, actual)
    out.push({ device: desired.name, status: diffs.length ? 'DIFFERENT' : 'EQUAL', desired, actual, diffs, reason: null })
  }
  if (selected) {
    // A selected name the source no longer has (or never had) is said, not silently dropped.
    const seen = new Set(out.map((c) => c.device))
    for (const name of selected) if (!seen.has(name)) out.push({ device: name, status: 'SKIPPED', desired: null, actual: null, diffs: [], reason: "not among the inventory source's devices" })
  } else {
    for (const h of hosts) {
      if (!wanted.has(h.name) && isManaged(h)) out.push({ device: h.name, status: 'EXTRA_IN_CHECKMK', desired: null, actual: h, diffs: [], reason: null })
    }
  }
  return out
}
