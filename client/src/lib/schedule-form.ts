/**
 * The timing part of the schedule form: what the inputs hold, how a stored schedule fills them, and
 * the API input they produce (also used for the live next-fire-time preview).
 */
export type ScheduleKind = 'CRON' | 'INTERVAL' | 'DAILY_AT' | 'ONCE'
export type IntervalUnit = 'SECONDS' | 'MINUTES' | 'HOURS'
export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const

export interface TimingDraft {
  kind: ScheduleKind
  cronExpression: string
  intervalEvery: string
  intervalUnit: IntervalUnit
  dailyTime: string
  daysOfWeek: number[]
  /** YYYY-MM-DDTHH:MM[:SS], in the schedule's timezone. */
  onceAt: string
  timezone: string
  /** datetime-local values in the browser's time zone ('' for none). */
  startAt: string
  endAt: string
}

export interface TimingInput {
  kind: ScheduleKind
  timezone: string
  cronExpression?: string
  intervalEvery?: number
  intervalUnit?: IntervalUnit
  dailyTime?: string
  daysOfWeek?: number[]
  onceAt?: string
  startAt?: string | null
  endAt?: string | null
}

export function defaultTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  } catch {
    return 'UTC'
  }
}

export function newTiming(timezone = defaultTimezone()): TimingDraft {
  return { kind: 'CRON', cronExpression: '0 * * * *', intervalEvery: '15', intervalUnit: 'MINUTES', dailyTime: '02:00', daysOfWeek: [], onceAt: '', timezone, startAt: '', endAt: '' }
}

/** ISO instant → value for <input type="datetime-local"> in the browser's zone. */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  return new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16)
}

export function localInputToIso(value: string): string | null {
  if (!value) return null
  const t = new Date(value).getTime()
  return Number.isNaN(t) ? null : new Date(t).toISOString()
}

export function splitInterval(seconds: number | null | undefined): { every: string; unit: IntervalUnit } {
  if (!seconds) return { every: '15', unit: 'MINUTES' }
  if (seconds % 3600 === 0) return { every: String(seconds / 3600), unit: 'HOURS' }
  if (seconds % 60 === 0) return { every: String(seconds / 60), unit: 'MINUTES' }
  return { every: String(seconds), unit: 'SECONDS' }
}

export function timingFromSchedule(s: {
  kind: ScheduleKind
  cronExpression?: string | null
  intervalSeconds?: number | null
  dailyTime?: string | null
  daysOfWeek: readonly number[]
  onceAt?: string | null
  timezone: string
  startAt?: string | null
  endAt?: string | null
}): TimingDraft {
  const { every, unit } = splitInterval(s.intervalSeconds)
  return {
    kind: s.kind,
    cronExpression: s.cronExpression ?? '',
    intervalEvery: every,
    intervalUnit: unit,
    dailyTime: s.dailyTime ?? '02:00',
    daysOfWeek: [...s.daysOfWeek],
    onceAt: (s.onceAt ?? '').slice(0, 16),
    timezone: s.timezone,
    startAt: isoToLocalInput(s.startAt),
    endAt: isoToLocalInput(s.endAt),
  }
}

/** Only the fields of the chosen kind; an unparsable interval is left out so the API names it. */
export function timingInput(d: TimingDraft): TimingInput {
  const input: TimingInput = { kind: d.kind, timezone: d.timezone.trim(), startAt: localInputToIso(d.startAt), endAt: localInputToIso(d.endAt) }
  switch (d.kind) {
    case 'CRON':
      input.cronExpression = d.cronExpression.trim()
      break
    case 'INTERVAL': {
      const n = Number(d.intervalEvery)
      if (d.intervalEvery.trim() !== '' && Number.isInteger(n)) input.intervalEvery = n
      input.intervalUnit = d.intervalUnit
      break
    }
    case 'DAILY_AT':
      input.dailyTime = d.dailyTime
      input.daysOfWeek = [...d.daysOfWeek].sort((a, b) => a - b)
      break
    case 'ONCE':
      input.onceAt = d.onceAt
      break
  }
  return input
}

/** A fire time shown in the schedule's zone, with the offset, e.g. "Mon 23 Nov 2026, 14:00 (UTC+01:00)". */
export function formatInZone(iso: string, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', day: '2-digit', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZoneName: 'shortOffset' }).format(new Date(iso))
  } catch {
    return new Date(iso).toISOString()
  }
}

/** What a schedule runs: a job template or a workflow (exactly one; the API names `templateId`/`workflowId`). */
export type TargetKind = 'TEMPLATE' | 'WORKFLOW'

export function targetInput(kind: TargetKind, id: string): { templateId: string } | { workflowId: string } {
  return kind === 'TEMPLATE' ? { templateId: id } : { workflowId: id }
}

export type OverlapChoice = '' | 'ALLOW' | 'SKIP' | 'QUEUE' | 'CANCEL_PREVIOUS'

/**
 * The overlap choices for the target. A workflow has no policy of its own (none means run anyway) and
 * cannot queue a slot behind a running run, so QUEUE is not offered (the API refuses it as well).
 */
export function overlapOptions(kind: TargetKind): Array<{ value: OverlapChoice; label: string }> {
  return [
    { value: '', label: kind === 'TEMPLATE' ? 'Template’s policy' : 'Run anyway (default)' },
    { value: 'ALLOW', label: 'Run anyway' },
    { value: 'SKIP', label: 'Skip the slot' },
    ...(kind === 'TEMPLATE' ? [{ value: 'QUEUE' as const, label: 'Queue behind it' }] : []),
    { value: 'CANCEL_PREVIOUS', label: kind === 'TEMPLATE' ? 'Cancel the earlier run' : 'Cancel the running workflow runs' },
  ]
}
