/**
 * Wall-clock arithmetic in IANA timezones, from Intl alone (no tz database of our own). A "wall time"
 * is the local date and time as a number: Date.UTC(y, m, d, h, mi, s) of the local fields, so wall
 * times compare and add like instants while instants stay real Dates.
 */
const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(zone, f)
  }
  return f
}

export function isValidTimeZone(zone: string): boolean {
  try {
    formatter(zone)
    return true
  } catch {
    return false
  }
}

/** The local wall time of an instant (whole seconds; sub-second part carried over). */
export function wallOf(zone: string, instantMs: number): number {
  const seconds = Math.floor(instantMs / 1000) * 1000
  const parts = formatter(zone).formatToParts(new Date(seconds))
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value)
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) + (instantMs - seconds)
}

/** UTC offset in ms at an instant (wall - instant). */
export function offsetAt(zone: string, instantMs: number): number {
  return wallOf(zone, instantMs) - instantMs
}

const DAY = 86_400_000

export interface WallResolution {
  /** The instants showing this wall time: none (in a spring-forward gap), one, or two (fall-back). */
  instants: number[]
  /** For a wall time in a gap: the first instant after the gap (the transition). */
  gapEnd?: number
}

/**
 * The instants at which the zone's clocks show `wall`. Assumes at most one offset change within a
 * day either side, true of every zone's rules in use.
 */
export function resolveWall(zone: string, wall: number): WallResolution {
  const before = offsetAt(zone, wall - DAY)
  const after = offsetAt(zone, wall + DAY)
  const instants = [...new Set([wall - before, wall - after])].filter((i) => wallOf(zone, i) === wall).sort((a, b) => a - b)
  if (instants.length) return { instants }
  // In a gap: clocks jumped from (wall - something) straight past it. The transition instant lies
  // between the two candidate mappings; find the first instant with the new offset.
  let lo = Math.min(wall - before, wall - after)
  let hi = Math.max(wall - before, wall - after)
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000
    if (offsetAt(zone, mid) === before) lo = mid
    else hi = mid
  }
  return { instants: [], gapEnd: hi }
}

export interface WallFields {
  year: number
  month: number // 1-12
  day: number
  hour: number
  minute: number
  second: number
  /** 0 = Sunday */
  weekday: number
}

export function wallFields(wall: number): WallFields {
  const d = new Date(wall)
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), weekday: d.getUTCDay() }
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** Parses a local date-time `YYYY-MM-DDTHH:MM[:SS]` (no offset) into a wall time, or null. */
export function parseLocalDateTime(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim())
  if (!m) return null
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number]
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return null
  // Not Date.UTC: it reads years 0-99 as 1900-1999.
  const wall = new Date(0)
  wall.setUTCFullYear(y, mo - 1, d)
  wall.setUTCHours(h, mi, s, 0)
  return wall.getTime()
}
