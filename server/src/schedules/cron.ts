/**
 * Cron expressions with Vixie/Debian cron(8) semantics, evaluated on wall-clock time.
 * cron-parser parses and validates the fields (5 or 6 with seconds; ranges, steps, lists, names,
 * `L`, `5L`, `5#2`, `?`); this module adds `W` (nearest weekday: `15W`, `LW`), which cron-parser
 * lacks, and walks wall-clock dates itself so the DST rules in fire-times.ts can be applied on top.
 * Day of month and day of week are OR-ed when both are restricted, as in cron(8).
 */
import { CronExpressionParser } from 'cron-parser'
import { daysInMonth, wallFields } from './timezone.ts'

export class CronSyntaxError extends Error {}

interface DayOfMonthRule {
  days: Set<number>
  last: boolean
  /** Nearest weekday to these days (`15W`). */
  nearestWeekday: Set<number>
  lastWeekday: boolean
}

export interface CronSpec {
  expression: string
  seconds: number[]
  minutes: number[]
  hours: number[]
  months: Set<number>
  dom: DayOfMonthRule
  domRestricted: boolean
  dow: { days: Set<number>; lastOfMonth: Set<number>; nth: number }
  dowRestricted: boolean
  /**
   * Seconds, minutes and hours are each a number or a list of numbers: the expression names fixed
   * wall-clock times, which get the "fire once" DST treatment (see fire-times.ts).
   */
  fixedTime: boolean
}

const FIXED_FIELD = /^\d+(,\d+)*$/

export function parseCron(expression: string): CronSpec {
  const text = expression.trim().replace(/\s+/g, ' ')
  const parts = text.split(' ')
  if (parts.length !== 5 && parts.length !== 6) throw new CronSyntaxError(`expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got ${parts.length}`)
  const withSeconds = parts.length === 6
  const domIndex = withSeconds ? 3 : 2
  // Split W tokens out of the day-of-month field; cron-parser validates the rest.
  const domTokens = parts[domIndex]!.split(',')
  const wTokens = domTokens.filter((t) => /W$/i.test(t))
  const plain = domTokens.filter((t) => !/W$/i.test(t))
  const nearestWeekday = new Set<number>()
  let lastWeekday = false
  for (const t of wTokens) {
    const m = /^(\d{1,2}|L)W$/i.exec(t)
    if (!m) throw new CronSyntaxError(`day-of-month: "${t}" is not valid (use nW for the weekday nearest day n, or LW)`)
    if (m[1]!.toUpperCase() === 'L') lastWeekday = true
    else {
      const n = Number(m[1])
      if (n < 1 || n > 31) throw new CronSyntaxError(`day-of-month: ${n}W is out of range 1-31`)
      nearestWeekday.add(n)
    }
  }
  const forParser = [...parts]
  // Only W tokens: give cron-parser a restricted placeholder and keep the W rule ourselves.
  forParser[domIndex] = plain.length ? plain.join(',') : wTokens.length ? '1' : parts[domIndex]!
  let fields: Record<string, { values: Array<number | string>; isWildcard?: boolean; nthDay?: number }>
  try {
    fields = (CronExpressionParser.parse(forParser.join(' '), { tz: 'UTC' }) as unknown as { fields: typeof fields }).fields
  } catch (e) {
    throw new CronSyntaxError((e as Error).message)
  }
  const nums = (vs: Array<number | string>) => vs.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b)
  const domValues = plain.length ? fields.dayOfMonth!.values : []
  const dom: DayOfMonthRule = {
    days: new Set(nums(domValues)),
    last: domValues.includes('L'),
    nearestWeekday,
    lastWeekday,
  }
  const dowValues = fields.dayOfWeek!.values
  const dowDays = new Set(nums(dowValues).map((d) => d % 7))
  const lastOfMonth = new Set(dowValues.filter((v): v is string => typeof v === 'string' && /L$/i.test(v)).map((v) => Number(v.slice(0, -1)) % 7))
  const domField = parts[domIndex]!
  const dowField = parts[withSeconds ? 5 : 4]!
  return {
    expression: text,
    seconds: withSeconds ? nums(fields.second!.values) : [0],
    minutes: nums(fields.minute!.values),
    hours: nums(fields.hour!.values),
    months: new Set(nums(fields.month!.values)),
    dom,
    // cron(8): a field starting with `*` (or `?`) is unrestricted.
    domRestricted: !/^[*?]/.test(domField),
    dow: { days: dowDays, lastOfMonth, nth: fields.dayOfWeek!.nthDay ?? 0 },
    dowRestricted: !/^[*?]/.test(dowField),
    fixedTime: (!withSeconds || FIXED_FIELD.test(parts[0]!)) && FIXED_FIELD.test(parts[withSeconds ? 1 : 0]!) && FIXED_FIELD.test(parts[withSeconds ? 2 : 1]!),
  }
}

function nearestWeekdayOf(year: number, month: number, day: number): number {
  const last = daysInMonth(year, month)
  const d = Math.min(day, last)
  const weekday = new Date(Date.UTC(year, month - 1, d)).getUTCDay()
  if (weekday === 6) return d === 1 ? 3 : d - 1 // Saturday: Friday before, unless that leaves the month
  if (weekday === 0) return d === last ? d - 2 : d + 1 // Sunday: Monday after, unless that leaves the month
  return d
}

function lastWeekdayOf(year: number, month: number): number {
  const last = daysInMonth(year, month)
  const weekday = new Date(Date.UTC(year, month - 1, last)).getUTCDay()
  return weekday === 6 ? last - 1 : weekday === 0 ? last - 2 : last
}

export function dayMatches(spec: CronSpec, year: number, month: number, day: number): boolean {
  if (!spec.months.has(month)) return false
  const last = daysInMonth(year, month)
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay()
  const domMatch = () =>
    spec.dom.days.has(day) ||
    (spec.dom.last && day === last) ||
    (spec.dom.lastWeekday && day === lastWeekdayOf(year, month)) ||
    [...spec.dom.nearestWeekday].some((n) => n <= last && nearestWeekdayOf(year, month, n) === day)
  const dowMatch = () => {
    if (spec.dow.lastOfMonth.has(weekday) && day + 7 > last) return true
    if (!spec.dow.days.has(weekday)) return false
    return spec.dow.nth ? Math.ceil(day / 7) === spec.dow.nth : true
  }
  if (spec.domRestricted && spec.dowRestricted) return domMatch() || dowMatch()
  if (spec.domRestricted) return domMatch()
  if (spec.dowRestricted) return dowMatch()
  return true
}

const DAY = 86_400_000
/** Far enough for "29 February on a Monday" (28 years) and then some. */
const MAX_DAYS = 366 * 40

/** The first wall time strictly after `wall` that the expression matches, or null if none within 40 years. */
export function nextWallMatch(spec: CronSpec, wall: number): number | null {
  const start = wallFields(Math.floor(wall / 1000) * 1000 + 1000)
  let dayStart = Date.UTC(start.year, start.month - 1, start.day)
  let firstDay = true
  for (let i = 0; i < MAX_DAYS; i++, dayStart += DAY, firstDay = false) {
    const f = wallFields(dayStart)
    if (!spec.months.has(f.month)) {
      // Jump to the first day of the next month.
      dayStart = Date.UTC(f.year, f.month, 1) - DAY
      continue
    }
    if (!dayMatches(spec, f.year, f.month, f.day)) continue
    for (const h of spec.hours) {
      if (firstDay && h < start.hour) continue
      for (const m of spec.minutes) {
        if (firstDay && h === start.hour && m < start.minute) continue
        for (const s of spec.seconds) {
          if (firstDay && h === start.hour && m === start.minute && s < start.second) continue
          return dayStart + ((h * 60 + m) * 60 + s) * 1000
        }
      }
    }
  }
  return null
}
