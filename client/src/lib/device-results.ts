/**
 * The Checkmk comparison dashboard's logic (no React): what each comparison status and sync action is
 * called and coloured, the count tiles, the filter → query variables, which devices "Sync selected"
 * may take, and what a sync_devices run's result says (activation id, the safety valve's refusal).
 */

export type ComparisonStatus = 'EQUAL' | 'DIFFERENT' | 'MISSING_IN_CHECKMK' | 'EXTRA_IN_CHECKMK' | 'SKIPPED'
export type SyncAction = 'CREATED' | 'UPDATED' | 'UNCHANGED' | 'REMOVED' | 'FAILED' | 'SKIPPED'

/** The job types whose runs have per-device results. */
export const DEVICE_JOB_TYPES = ['compare_devices', 'sync_devices'] as const
export const isDeviceJobType = (t: string): boolean => (DEVICE_JOB_TYPES as readonly string[]).includes(t)

export const STATUSES: readonly ComparisonStatus[] = ['EQUAL', 'DIFFERENT', 'MISSING_IN_CHECKMK', 'EXTRA_IN_CHECKMK', 'SKIPPED']
export const ACTIONS: readonly SyncAction[] = ['CREATED', 'UPDATED', 'UNCHANGED', 'REMOVED', 'FAILED', 'SKIPPED']

/** Words, and a badge class (ok / warn / err / info / none). */
export const STATUS_INFO: Record<ComparisonStatus, { label: string; tone: string; hint: string }> = {
  EQUAL: { label: 'In sync', tone: 'ok', hint: 'The host matches the device.' },
  DIFFERENT: { label: 'Different', tone: 'warn', hint: 'The host exists but some managed fields differ.' },
  MISSING_IN_CHECKMK: { label: 'Missing', tone: 'err', hint: 'The device has no host in Checkmk.' },
  EXTRA_IN_CHECKMK: { label: 'Extra', tone: 'info', hint: 'A host Switchyard manages whose device is gone from Nautobot.' },
  SKIPPED: { label: 'Skipped', tone: '', hint: 'The device cannot be a Checkmk host (see why).' },
}

export const ACTION_INFO: Record<SyncAction, { label: string; tone: string }> = {
  CREATED: { label: 'Created', tone: 'ok' },
  UPDATED: { label: 'Updated', tone: 'info' },
  UNCHANGED: { label: 'Unchanged', tone: '' },
  REMOVED: { label: 'Removed', tone: 'warn' },
  FAILED: { label: 'Failed', tone: 'err' },
  SKIPPED: { label: 'Skipped', tone: '' },
}

export interface DeviceCounts {
  total: number
  equal: number
  different: number
  missingInCheckmk: number
  extraInCheckmk: number
  skipped: number
  created: number
  updated: number
  unchanged: number
  removed: number
  failed: number
  actionSkipped: number
}

export interface CountTile<K extends string> {
  key: K
  label: string
  count: number
  tone: string
}

/** The comparison's tiles, in the order people read them: in sync first, then what needs doing. */
export function statusTiles(c: DeviceCounts): Array<CountTile<ComparisonStatus>> {
  const n: Record<ComparisonStatus, number> = { EQUAL: c.equal, DIFFERENT: c.different, MISSING_IN_CHECKMK: c.missingInCheckmk, EXTRA_IN_CHECKMK: c.extraInCheckmk, SKIPPED: c.skipped }
  return STATUSES.map((s) => ({ key: s, label: STATUS_INFO[s].label, count: n[s], tone: STATUS_INFO[s].tone }))
}

/** A sync run's tiles (what it did, or in a dry run would do). */
export function actionTiles(c: DeviceCounts): Array<CountTile<SyncAction>> {
  const n: Record<SyncAction, number> = { CREATED: c.created, UPDATED: c.updated, UNCHANGED: c.unchanged, REMOVED: c.removed, FAILED: c.failed, SKIPPED: c.actionSkipped }
  return ACTIONS.map((a) => ({ key: a, label: ACTION_INFO[a].label, count: n[a], tone: ACTION_INFO[a].tone }))
}

/** One sentence for the whole comparison. */
export function comparisonSummary(c: DeviceCounts): string {
  if (c.total === 0) return 'No devices were compared.'
  const todo = c.different + c.missingInCheckmk + c.extraInCheckmk
  if (todo === 0) return `All ${c.total} ${c.total === 1 ? 'device is' : 'devices are'} in sync${c.skipped ? ` (${c.skipped} skipped)` : ''}.`
  const parts = [c.missingInCheckmk ? `${c.missingInCheckmk} missing in Checkmk` : '', c.different ? `${c.different} different` : '', c.extraInCheckmk ? `${c.extraInCheckmk} extra in Checkmk` : ''].filter(Boolean)
  return `${c.equal} of ${c.total} in sync; ${parts.join(', ')}${c.skipped ? `; ${c.skipped} skipped` : ''}.`
}

export const PAGE_SIZE = 25

export interface DeviceFilter {
  statuses: ComparisonStatus[]
  actions: SyncAction[]
  search: string
  page: number
}
export const EMPTY_FILTER: DeviceFilter = { statuses: [], actions: [], search: '', page: 0 }

/** The deviceResults arguments for a filter (empty lists mean "all", so they are left out). */
export function filterVariables(f: DeviceFilter, pageSize = PAGE_SIZE): { statuses?: ComparisonStatus[]; actions?: SyncAction[]; search?: string; first: number; offset: number } {
  return {
    ...(f.statuses.length ? { statuses: f.statuses } : {}),
    ...(f.actions.length ? { actions: f.actions } : {}),
    ...(f.search.trim() ? { search: f.search.trim() } : {}),
    first: pageSize,
    offset: Math.max(0, f.page) * pageSize,
  }
}

/** Turns one value of a multi-choice filter on or off; any change of filter goes back to the first page. */
export function toggleIn<T>(list: readonly T[], value: T): T[] {
  return list.includes(value) ? list.filter((x) => x !== value) : [...list, value]
}

/** "26–50 of 120" for a page; "No devices" when the filter matches none. */
export function pageLabel(page: number, pageSize: number, total: number): string {
  if (total === 0) return 'No devices'
  const from = page * pageSize + 1
  return `${from}–${Math.min(total, from + pageSize - 1)} of ${total}`
}

export const lastPage = (total: number, pageSize = PAGE_SIZE): number => Math.max(0, Math.ceil(total / pageSize) - 1)

/**
 * Whether "Sync selected" can do anything for a device: a missing host is created and a different one
 * updated. An extra host has no device to sync from (selected syncs never remove), an equal one has
 * nothing to change, a skipped one cannot be a host.
 */
export const isSyncable = (status: ComparisonStatus): boolean => status === 'MISSING_IN_CHECKMK' || status === 'DIFFERENT'

/** The selection after ticking "all on this page": all the page's syncable devices, or none of them if they all were. */
export function togglePage(selected: ReadonlySet<string>, page: ReadonlyArray<{ device: string; status: ComparisonStatus }>): Set<string> {
  const names = page.filter((d) => isSyncable(d.status)).map((d) => d.device)
  const next = new Set(selected)
  if (names.length && names.every((n) => next.has(n))) for (const n of names) next.delete(n)
  else for (const n of names) next.add(n)
  return next
}

/** The header checkbox: ticked, half-ticked (some) or not. */
export function pageSelection(selected: ReadonlySet<string>, page: ReadonlyArray<{ device: string; status: ComparisonStatus }>): 'all' | 'some' | 'none' {
  const names = page.filter((d) => isSyncable(d.status)).map((d) => d.device)
  const n = names.filter((x) => selected.has(x)).length
  return n === 0 ? 'none' : n === names.length ? 'all' : 'some'
}

/** A field diff's value in words: null (absent) reads "(none)". */
export const diffValue = (v: string | null | undefined): string => (v == null ? '(none)' : v === '' ? '(empty)' : v)

/** What a sync_devices run's result says beyond the per-device rows. */
export function syncResultFacts(result: unknown): { activationId: string | null; refusal: string | null; dryRun: boolean } {
  const r = result && typeof result === 'object' && !Array.isArray(result) ? (result as Record<string, unknown>) : {}
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null)
  return { activationId: str(r.activationId), refusal: str(r.refusal), dryRun: r.dryRun === true }
}
