/** Small, locale-stable formatting helpers for times and durations. */

export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`
  const m = Math.floor(s / 60)
  const rs = Math.round(s % 60)
  if (m < 60) return rs ? `${m}m ${rs}s` : `${m}m`
  const h = Math.floor(m / 60)
  const rm = m % 60
  if (h < 24) return rm ? `${h}h ${rm}m` : `${h}h`
  const d = Math.floor(h / 24)
  return `${d}d ${h % 24}h`
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—'
  const diff = now - new Date(iso).getTime()
  const future = diff < 0
  const s = Math.abs(diff) / 1000
  let text: string
  if (s < 5) return 'just now'
  if (s < 60) text = `${Math.floor(s)}s`
  else if (s < 3600) text = `${Math.floor(s / 60)}m`
  else if (s < 86400) text = `${Math.floor(s / 3600)}h`
  else text = `${Math.floor(s / 86400)}d`
  return future ? `in ${text}` : `${text} ago`
}

// One clock everywhere: 24-hour, with the zone named (the browser's), in the browser's language order.
const dateTime = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short' })
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
const hourMinute = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })

export function formatDateTime(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : '—'
}

/** HH:MM (24-hour), e.g. for the dashboard's hourly strip. */
export function formatHourMinute(iso: string): string {
  return hourMinute.format(new Date(iso))
}

/** HH:MM:SS.mmm, for log lines. */
export function formatLogTime(iso: string): string {
  const d = new Date(iso)
  return `${timeOnly.format(d)}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

export function formatPercent(value: number | null | undefined, digits = 0): string {
  return value == null || !Number.isFinite(value) ? '—' : `${value.toFixed(digits)}%`
}

/** Elapsed time of something that may still be going on. */
export function elapsedMs(startedAt: string | null | undefined, finishedAt: string | null | undefined, now = Date.now()): number | null {
  if (!startedAt) return null
  return (finishedAt ? new Date(finishedAt).getTime() : now) - new Date(startedAt).getTime()
}
