/**
 * Which config fields apply, per job type, given the other values. The job types' JSON Schemas have no
 * conditionals, so this small map says what their executors do with a field; the form hides (and does
 * not send) a field that does not apply. A job type without an entry shows every field. Fields inside
 * an object field are named by dotted keys (`check.equals`).
 */
import type { FieldValue, FormField, FormValues } from './json-schema-form'

export type RemoteKind = 'local' | 'ssh' | 'https' | 'unknown'

/** The kind of a Git remote as config_backup reads it (server: git/remote.ts). */
export function remoteKind(url: string): RemoteKind {
  const u = url.trim()
  if (!u) return 'unknown'
  if (u.startsWith('/') || u.startsWith('file://')) return 'local'
  if (u.startsWith('ssh://') || /^[^\s/@:]+@[^\s/:]+:/.test(u)) return 'ssh'
  if (u.startsWith('https://')) return 'https'
  return 'unknown'
}

const str = (v: FieldValue | undefined) => (typeof v === 'string' ? v : '')
/** The values of object field `key`. */
const sub = (v: FormValues, key: string): FormValues => {
  const x = v[key]
  return x && typeof x === 'object' && !Array.isArray(x) ? (x as FormValues) : {}
}

/** Given the whole form's values (also for a field inside an object field). */
type FieldRule = (values: FormValues) => boolean
/** For a list of objects: whether an item's field applies, given the whole form's values. */
type ItemRule = (field: FormField, values: FormValues) => boolean

interface Rules {
  fields?: Record<string, FieldRule>
  items?: Record<string, ItemRule>
}

const repo = (v: FormValues) => remoteKind(str(v.repository))

const RULES: Record<string, Rules> = {
  config_backup: {
    fields: {
      repositoryCredentialId: (v) => repo(v) === 'ssh' || repo(v) === 'https',
      repositoryKeyParameter: (v) => repo(v) === 'ssh',
      repositoryHostKeys: (v) => repo(v) === 'ssh',
      repositoryCaCertificate: (v) => repo(v) === 'https',
    },
  },
  http: {
    fields: {
      // fetch() sends no body with GET or HEAD (the server refuses one at save).
      body: (v) => !['', 'GET', 'HEAD'].includes(str(v.method)),
      // `equals` compares the value at `jsonPath`; without a path only `regex` (on the body text) applies.
      'check.equals': (v) => str(sub(v, 'check').jsonPath).trim() !== '',
    },
  },
  script: {
    fields: { shebang: (v) => str(v.interpreter) === 'custom' },
  },
  // sync_devices ignores the removal safety valve without removeExtra, and activation in a dry run.
  sync_devices: {
    fields: {
      maxRemoveFraction: (v) => v.removeExtra === true,
      force: (v) => v.removeExtra === true,
      activate: (v) => v.dryRun !== true,
      activationTimeoutSeconds: (v) => v.activate === true && v.dryRun !== true,
    },
  },
  file_transfer: {
    // Item fields say which direction they belong to ("Upload: …", "Download: …").
    items: {
      files: (f, v) => {
        const m = /^(Upload|Download):/.exec(f.description ?? '')
        return !m || m[1]!.toLowerCase() === (str(v.direction) || 'upload')
      },
    },
  },
}

/** Fields that do not apply to these values: top-level keys, and dotted keys for fields inside objects. */
export function hiddenFields(jobType: string, values: FormValues): Set<string> {
  const rules = RULES[jobType]?.fields ?? {}
  return new Set(Object.entries(rules).filter(([, applies]) => !applies(values)).map(([key]) => key))
}

/** Fields of the items of list `listKey` that do not apply to these values. */
export function hiddenItemFields(jobType: string, listKey: string, itemFields: readonly FormField[], values: FormValues): Set<string> {
  const rule = RULES[jobType]?.items?.[listKey]
  if (!rule) return new Set()
  return new Set(itemFields.filter((f) => !rule(f, values)).map((f) => f.key))
}

/** The values with every hidden item field blanked, so it is not sent. */
export function withoutHiddenItems(jobType: string, fields: readonly FormField[], values: FormValues): FormValues {
  const out: FormValues = { ...values }
  for (const f of fields) {
    if (f.kind !== 'object-list' || !Array.isArray(values[f.key])) continue
    const hidden = hiddenItemFields(jobType, f.key, f.itemFields ?? [], values)
    if (!hidden.size) continue
    out[f.key] = (values[f.key] as FormValues[]).map((row) => Object.fromEntries(Object.entries(row).map(([k, x]) => [k, hidden.has(k) ? (typeof x === 'boolean' ? false : '') : x])))
  }
  return out
}

/**
 * Whether an inventory source's global id (base64 of `InventorySource:<uuid>`) and a config's value name
 * the same source — the server also takes the bare UUID (checkmk/config.ts).
 */
export function sameSource(globalId: string, value: string): boolean {
  if (globalId === value) return true
  try {
    return atob(globalId) === `InventorySource:${value.trim().toLowerCase()}`
  } catch {
    return false
  }
}
