/**
 * The runs table's filters live in the URL (?status=FAILED,TIMED_OUT&type=command&range=24h…) so a
 * view can be shared. This module is the codec between the query string, the form state and the
 * API's JobRunFilter.
 */
export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED'] as const
export const RUN_TRIGGERS = ['MANUAL', 'API', 'SCHEDULE', 'RETRY', 'WORKFLOW', 'DEPENDENCY', 'WEBHOOK'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]
export type RunTrigger = (typeof RUN_TRIGGERS)[number]

export const RANGES = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 } as const
export type RangeKey = keyof typeof RANGES

export interface RunFilterState {
  statuses: RunStatus[]
  jobTypes: string[]
  triggers: RunTrigger[]
  templateIds: string[]
  scheduleIds: string[]
  /** A preset relative to now, or a custom from/to (ISO instants). */
  range: RangeKey | null
  from: string | null
  to: string | null
  /** Relay cursor of the page being shown (null: the newest runs). */
  after: string | null
}

export const EMPTY_FILTERS: RunFilterState = {
  statuses: [],
  jobTypes: [],
  triggers: [],
  templateIds: [],
  scheduleIds: [],
  range: null,
  from: null,
  to: null,
  after: null,
}

export interface JobRunFilterInput {
  statuses?: RunStatus[]
  jobTypes?: string[]
  triggers?: RunTrigger[]
  templateIds?: string[]
  scheduleIds?: string[]
  createdAfter?: string
  createdBefore?: string
}

interface ParamsLike {
  get(name: string): string | null
}

function list(params: ParamsLike, name: string): string[] {
  const raw = params.get(name)
  if (!raw) return []
  return [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))]
}

function oneOf<T extends string>(values: string[], allowed: readonly T[]): T[] {
  return [...new Set(values.map((v) => v.toUpperCase()))].filter((v): v is T => (allowed as readonly string[]).includes(v))
}

function instant(raw: string | null): string | null {
  if (!raw) return null
  const t = Date.parse(raw)
  return Number.isNaN(t) ? null : new Date(t).toISOString()
}

export function parseRunFilters(params: ParamsLike): RunFilterState {
  const range = params.get('range')
  return {
    statuses: oneOf(list(params, 'status'), RUN_STATUSES),
    jobTypes: list(params, 'type'),
    triggers: oneOf(list(params, 'trigger'), RUN_TRIGGERS),
    templateIds: list(params, 'template'),
    scheduleIds: list(params, 'schedule'),
    range: range && range in RANGES ? (range as RangeKey) : null,
    from: range && range in RANGES ? null : instant(params.get('from')),
    to: range && range in RANGES ? null : instant(params.get('to')),
    after: params.get('after') || null,
  }
}

/** The query string for a filter state (without '?'); stable order, defaults omitted. */
export function serializeRunFilters(state: RunFilterState): string {
  const p = new URLSearchParams()
  if (state.statuses.length) p.set('status', state.statuses.join(','))
  if (state.jobTypes.length) p.set('type', state.jobTypes.join(','))
  if (state.triggers.length) p.set('trigger', state.triggers.join(','))
  if (state.templateIds.length) p.set('template', state.templateIds.join(','))
  if (state.scheduleIds.length) p.set('schedule', state.scheduleIds.join(','))
  if (state.range) p.set('range', state.range)
  else {
    if (state.from) p.set('from', state.from)
    if (state.to) p.set('to', state.to)
  }
  if (state.after) p.set('after', state.after)
  return p.toString()
}

/** Changing any filter goes back to the first page. */
export function updateFilters(state: RunFilterState, patch: Partial<RunFilterState>): RunFilterState {
  return { ...state, after: null, ...patch }
}

export function hasFilters(state: RunFilterState): boolean {
  return serializeRunFilters({ ...state, after: null }) !== ''
}

export function toApiFilter(state: RunFilterState, now = Date.now()): JobRunFilterInput {
  const f: JobRunFilterInput = {}
  if (state.statuses.length) f.statuses = state.statuses
  if (state.jobTypes.length) f.jobTypes = state.jobTypes
  if (state.triggers.length) f.triggers = state.triggers
  if (state.templateIds.length) f.templateIds = state.templateIds
  if (state.scheduleIds.length) f.scheduleIds = state.scheduleIds
  if (state.range) f.createdAfter = new Date(now - RANGES[state.range]).toISOString()
  else {
    if (state.from) f.createdAfter = state.from
    if (state.to) f.createdBefore = state.to
  }
  return f
}

/** Whether a run (as the live feed delivers it) belongs in the current view. */
export function matchesFilters(
  run: { status: string; jobType: string; trigger: string; createdAt: string; schedule?: { id: string } | null; template?: { id: string } | null },
  state: RunFilterState,
  now = Date.now(),
): boolean {
  if (state.statuses.length && !(state.statuses as string[]).includes(run.status)) return false
  if (state.jobTypes.length && !state.jobTypes.includes(run.jobType)) return false
  if (state.triggers.length && !(state.triggers as string[]).includes(run.trigger)) return false
  if (state.templateIds.length && !(run.template && state.templateIds.includes(run.template.id))) return false
  if (state.scheduleIds.length && !(run.schedule && state.scheduleIds.includes(run.schedule.id))) return false
  const api = toApiFilter(state, now)
  const created = Date.parse(run.createdAt)
  if (api.createdAfter && created < Date.parse(api.createdAfter)) return false
  if (api.createdBefore && created >= Date.parse(api.createdBefore)) return false
  return true
}
