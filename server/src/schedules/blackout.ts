/**
 * Blackout windows: periods during which linked schedules do not fire (their slots are recorded
 * SKIPPED with the window's name). ABSOLUTE windows are [startAt, endAt); RECURRING ones start at a
 * local time on some days of the week (every day if none) in their own timezone and last
 * `durationMinutes` (possibly past midnight). A start time that falls in a DST gap starts the window
 * at the end of the gap, as fixed-time schedules do.
 */
import { dailyAtCron } from './fire-times.ts'
import { resolveWall, wallOf } from './timezone.ts'

export type Blackout =
  | { name: string; kind: 'ABSOLUTE'; startAt: Date; endAt: Date }
  | { name: string; kind: 'RECURRING'; timezone: string; daysOfWeek: number[]; startTime: string; durationMinutes: number }

const DAY = 86_400_000

function recurringCovers(b: Extract<Blackout, { kind: 'RECURRING' }>, instant: number): boolean {
  dailyAtCron(b.startTime, b.daysOfWeek) // validates startTime
  const [h, m] = b.startTime.split(':').map(Number) as [number, number]
  const wall = wallOf(b.timezone, instant)
  const today = wall - (wall % DAY)
  // A window that started on one of the previous days may still be open (long durations).
  const spanDays = Math.ceil((b.durationMinutes * 60_000) / DAY)
  for (let back = 0; back <= spanDays; back++) {
    const day = today - back * DAY
    const weekday = new Date(day).getUTCDay()
    if (b.daysOfWeek.length && !b.daysOfWeek.includes(weekday)) continue
    const r = resolveWall(b.timezone, day + (h * 60 + m) * 60_000)
    const start = r.instants[0] ?? r.gapEnd!
    if (instant >= start && instant < start + b.durationMinutes * 60_000) return true
  }
  return false
}

/** The first window covering the instant, or null. */
export function blackoutAt(windows: readonly Blackout[], at: Date): Blackout | null {
  const t = at.getTime()
  for (const b of windows) {
    if (b.kind === 'ABSOLUTE' ? t >= b.startAt.getTime() && t < b.endAt.getTime() : recurringCovers(b, t)) return b
  }
  return null
}
