/**
 * The one diff an inventory sync computes — shown by the dry run (`previewInventorySync`) and applied by
 * the `inventory_sync` run, which recomputes it inside its transaction. Pure: devices and targets in, plan out.
 *
 * A source manages, on the targets it created: host, port, tags, and the attributes in MANAGED_ATTRIBUTES.
 * Other attributes and the credential (set from the source's default on creation) are left as people set them.
 * Custom-field mappings add attributes (managed like the fixed ones) and `<prefix>:<value>` tags.
 */
import net from 'node:net'
import type { NautobotDevice } from './nautobot-client.ts'

export const MANAGED_ATTRIBUTES = ['nautobot_id', 'platform', 'role', 'location', 'status'] as const

/** A Nautobot device custom field (its key) → a target attribute, a tag prefix, or both. */
export interface CustomFieldMapping {
  customField: string
  attribute?: string | null
  tagPrefix?: string | null
}

export type AttributeValue = string | number | boolean | null

export interface SourceMapping {
  id: string
  customFieldMappings?: readonly CustomFieldMapping[]
  syncMode: 'ADDITIVE' | 'AUTHORITATIVE'
  defaultPort: number
  extraTags: readonly string[]
  maxDeleteFraction: number
}

export interface DesiredTarget {
  name: string
  host: string
  port: number
  tags: string[]
  attributes: Record<string, AttributeValue>
}

export interface ExistingTarget {
  id: string
  name: string
  host: string
  port: number
  tags: string[]
  attributes: unknown
  sourceId: string | null
}

export interface FieldChange {
  field: string
  old: unknown
  new: unknown
}

export interface SyncPlan {
  deviceCount: number
  create: DesiredTarget[]
  update: Array<{ id: string; name: string; changes: FieldChange[]; next: DesiredTarget }>
  remove: Array<{ id: string; name: string; host: string }>
  unchanged: string[]
  skipped: Array<{ name: string; reason: string }>
  /** The source's targets before the sync (what the deletion share is measured against). */
  ownedBefore: number
  /** Why an authoritative sync of this plan is refused without `force`; null when it is not. */
  refusal: string | null
}

const TARGET_NAME = /^[^\s]+$/

/** Tag values must fit the target tag rule (letters, digits and _ . : / = -): other characters become `-`. */
export function tagValue(s: string): string {
  return s.trim().replace(/[^a-zA-Z0-9_.:/=-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100)
}

export function desiredTarget(device: NautobotDevice, m: SourceMapping): DesiredTarget | { skip: string } {
  if (!device.name) return { skip: 'the device has no name' }
  const name = device.name.trim()
  if (!TARGET_NAME.test(name) || name.length > 200) return { skip: 'the name is not a valid target name (no spaces, at most 200 characters)' }
  if (!device.primaryIp) return { skip: 'the device has no primary IP address' }
  if (net.isIP(device.primaryIp) === 0) return { skip: `the primary IP "${device.primaryIp.slice(0, 60)}" is not an IP address` }
  const tags = new Set<string>(m.extraTags)
  for (const t of device.tags) if (tagValue(t)) tags.add(tagValue(t))
  if (device.role && tagValue(device.role)) tags.add(`role:${tagValue(device.role)}`)
  if (device.location && tagValue(device.location)) tags.add(`location:${tagValue(device.location)}`)
  if (device.platform && tagValue(device.platform)) tags.add(`platform:${tagValue(device.platform)}`)
  const attributes: Record<string, AttributeValue> = { nautobot_id: device.id, platform: device.platform, role: device.role, location: device.location, status: device.status }
  for (const cf of m.customFieldMappings ?? []) {
    const raw = device.customFields?.[cf.customField]
    if (cf.attribute) attributes[cf.attribute] = attributeValue(raw)
    if (cf.tagPrefix) {
      // A multi-select field gives one tag per value; an unset field gives none.
      for (const v of Array.isArray(raw) ? raw : [raw]) {
        const text = v === null || v === undefined || v === '' ? '' : tagValue(typeof v === 'object' ? JSON.stringify(v) : String(v))
        if (text) tags.add(`${cf.tagPrefix}:${text}`.slice(0, 100))
      }
    }
  }
  return { name, host: device.primaryIp, port: m.defaultPort, tags: [...tags].sort(), attributes }
}

/** A custom field's value as a target attribute: scalars as they are, a list joined, anything else as JSON. */
export function attributeValue(v: unknown): AttributeValue {
  if (v === undefined || v === null) return null
  if (typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(', ').slice(0, 2000)
  return JSON.stringify(v).slice(0, 2000)
}

/** A source row's stored mappings (validated when saved). */
export function customFieldMappingsOf(s: { customFieldMappings: unknown }): CustomFieldMapping[] {
  return Array.isArray(s.customFieldMappings) ? (s.customFieldMappings as CustomFieldMapping[]) : []
}

/** The attributes a source manages on its targets: the fixed ones and those its custom-field mappings name. */
export function managedAttributes(m: SourceMapping): string[] {
  return [...MANAGED_ATTRIBUTES, ...(m.customFieldMappings ?? []).flatMap((c) => (c.attribute ? [c.attribute] : []))]
}

export function planSync(devices: readonly NautobotDevice[], targets: readonly ExistingTarget[], m: SourceMapping): SyncPlan {
  const plan: SyncPlan = { deviceCount: devices.length, create: [], update: [], remove: [], unchanged: [], skipped: [], ownedBefore: 0, refusal: null }
  const byName = new Map(targets.map((t) => [t.name, t]))
  const wanted = new Set<string>()
  const managed = managedAttributes(m)
  for (const device of devices) {
    const d = desiredTarget(device, m)
    if ('skip' in d) {
      plan.skipped.push({ name: device.name ?? device.id, reason: d.skip })
      continue
    }
    if (wanted.has(d.name)) {
      plan.skipped.push({ name: d.name, reason: 'another device of the source has the same name' })
      continue
    }
    wanted.add(d.name)
    const existing = byName.get(d.name)
    if (!existing) {
      plan.create.push(d)
      continue
    }
    if (existing.sourceId !== m.id) {
      plan.skipped.push({ name: d.name, reason: existing.sourceId ? 'a target with this name belongs to another inventory source' : 'a target with this name was made by hand; the source leaves it alone' })
      continue
    }
    const changes = fieldChanges(existing, d, managed)
    if (changes.length) plan.update.push({ id: existing.id, name: d.name, changes, next: d })
    else plan.unchanged.push(d.name)
  }
  const owned = targets.filter((t) => t.sourceId === m.id)
  plan.ownedBefore = owned.length
  if (m.syncMode === 'AUTHORITATIVE') {
    for (const t of owned) if (!wanted.has(t.name)) plan.remove.push({ id: t.id, name: t.name, host: t.host })
    if (plan.remove.length && devices.length === 0) {
      plan.refusal = `the source returned no devices; an authoritative sync would remove all ${owned.length} of its targets`
    } else if (plan.remove.length && plan.remove.length / owned.length > m.maxDeleteFraction) {
      plan.refusal = `it would remove ${plan.remove.length} of the source's ${owned.length} targets (${Math.round((plan.remove.length / owned.length) * 100)}%), more than the allowed ${Math.round(m.maxDeleteFraction * 100)}%`
    }
  }
  return plan
}

function fieldChanges(t: ExistingTarget, d: DesiredTarget, managed: readonly string[]): FieldChange[] {
  const changes: FieldChange[] = []
  if (t.host !== d.host) changes.push({ field: 'host', old: t.host, new: d.host })
  if (t.port !== d.port) changes.push({ field: 'port', old: t.port, new: d.port })
  const oldTags = [...t.tags].sort()
  if (oldTags.join('\u0000') !== d.tags.join('\u0000')) changes.push({ field: 'tags', old: oldTags, new: d.tags })
  const attrs = (t.attributes && typeof t.attributes === 'object' ? t.attributes : {}) as Record<string, unknown>
  for (const k of managed) {
    if ((attrs[k] ?? null) !== (d.attributes[k] ?? null)) changes.push({ field: `attributes.${k}`, old: attrs[k] ?? null, new: d.attributes[k] ?? null })
  }
  return changes
}
