/**
 * When a schedule fires. The rules (README "Schedules and DST"):
 *  - CRON in the schedule's IANA timezone, cron(8) semantics (cron.ts). A fixed-time expression
 *    (seconds, minutes and hours each a number or list) fires at a wall time skipped by a
 *    spring-forward once, at the first instant after the gap (several skipped times collapse into that
 *    one fire), and at a wall time repeated by a fall-back once, at its first occurrence. Any other
 *    expression follows real time: every instant whose wall time matches, through both passes of a
 *    repeated hour, none inside a gap.
 *  - DAILY_AT behaves as the fixed-time cron it equals.
 *  - INTERVAL keeps its real-time period from its anchor, whatever the clocks do.
 *  - ONCE is one wall time in the zone (resolved like a fixed time).
 * Everything is a pure function of (spec, instant), so tests inject time freely.
 */
import { nextWallMatch, parseCron, type CronSpec } from './cron.ts'
import { offsetAt, parseLocalDateTime, resolveWall, wallOf } from './timezone.ts'

export type ScheduleTiming =
  | { kind: 'CRON'; expression: string }
  | { kind: 'DAILY_AT'; time: string; daysOfWeek: number[] }
  | { kind: 'INTERVAL'; everySeconds: number; anchor: Date }
  | { kind: 'ONCE'; at: string }

export interface ScheduleSpec {
  timing: ScheduleTiming
  timezone: string
  startAt?: Date | null
  endAt?: Date | null
}

const DAY = 86_400_000
const HOUR = 3_600_000

/** The cron spec a DAILY_AT timing equals. */
export function dailyAtCron(time: string, daysOfWeek: number[]): string {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time)
  if (!m) throw new Error(`time must be HH:MM (00:00-23:59), got "${time}"`)
  const days = daysOfWeek.length ? [...new Set(daysOfWeek)].sort((a, b) => a - b).join(',') : '*'
  return `${Number(m[2])} ${Number(m[1])} * * ${days}`
}

const cronCache = new Map<string, CronSpec>()
function cronOf(expression: string): CronSpec {
  let spec = cronCache.get(expression)
  if (!spec) {
    spec = parseCron(expression)
    if (cronCache.size > 10_000) cronCache.clear()
    cronCache.set(expression, spec)
  }
  return spec
}

/** Candidate instants for one wall-clock match under the DST rules. */
function instantsFor(zone: string, wall: number, fixedTime: boolean): number[] {
  const r = resolveWall(zone, wall)
  if (fixedTime) return r.instants.length ? [r.instants[0]!] : [r.gapEnd!]
  return r.instants
}

function nextCron(spec: CronSpec, zone: string, after: number): number | null {
  // Fast path, almost always taken: with one offset from a few hours before `after` to the candidate,
  // and the candidate's wall time shown exactly once, wall and real time are a plain shift apart.
  const offset = offsetAt(zone, after)
  if (offsetAt(zone, after - 3 * HOUR) === offset) {
    const wall = nextWallMatch(spec, after + offset)
    if (wall === null) return null
    const candidate = wall - offset
    if (offsetAt(zone, candidate) === offset && offsetAt(zone, candidate + 3 * HOUR) === offset) {
      const r = resolveWall(zone, wall)
      if (r.instants.length === 1 && r.instants[0] === candidate) return candidate
    }
  }
  return nextCronAcrossTransitions(spec, zone, after)
}

function nextCronAcrossTransitions(spec: CronSpec, zone: string, after: number): number | null {
  // Start a few hours of wall time back: after a fall-back, wall times already passed once come
  // round again, and the first instant after `after` may belong to an earlier wall time.
  let wall: number | null = wallOf(zone, after) - 3 * HOUR
  let best: number | null = null
  for (let guard = 0; guard < 100_000; guard++) {
    wall = nextWallMatch(spec, wall)
    if (wall === null) return best
    for (const instant of instantsFor(zone, wall, spec.fixedTime)) {
      if (instant > after && (best === null || instant < best)) best = instant
    }
    if (best !== null) {
      // No later wall time can map before `best` once it is past best + the largest offset near it.
      const maxOffset = Math.max(offsetAt(zone, best - DAY), offsetAt(zone, best), offsetAt(zone, best + DAY))
      if (wall - maxOffset > best) return best
    }
  }
  return best
}

function resolveLocal(zone: string, text: string): number {
  const wall = parseLocalDateTime(text)
  if (wall === null) throw new Error(`"${text}" is not a local date-time (YYYY-MM-DDTHH:MM[:SS])`)
  return instantsFor(zone, wall, true)[0]!
}

function nextUnbounded(spec: ScheduleSpec, after: number): number | null {
  const t = spec.timing
  switch (t.kind) {
    case 'CRON':
      return nextCron(cronOf(t.expression), spec.timezone, after)
    case 'DAILY_AT':
      return nextCron(cronOf(dailyAtCron(t.time, t.daysOfWeek)), spec.timezone, after)
    case 'INTERVAL': {
      const period = t.everySeconds * 1000
      const anchor = t.anchor.getTime()
      if (after < anchor) return anchor
      return anchor + (Math.floor((after - anchor) / period) + 1) * period
    }
    case 'ONCE': {
      const at = resolveLocal(spec.timezone, t.at)
      return at > after ? at : null
    }
  }
}

/** The first fire time strictly after `after`, within the schedule's start/end, or null. */
export function nextFireTime(spec: ScheduleSpec, after: Date): Date | null {
  const startAt = spec.startAt?.getTime()
  const from = startAt !== undefined && startAt - 1 > after.getTime() ? startAt - 1 : after.getTime()
  const next = nextUnbounded(spec, from)
  if (next === null) return null
  if (spec.endAt && next > spec.endAt.getTime()) return null
  return new Date(next)
}

/** The next `count` fire times after `after`. */
export function upcomingFireTimes(spec: ScheduleSpec, after: Date, count: number): Date[] {
  const out: Date[] = []
  let cursor = after
  while (out.length < count) {
    const next = nextFireTime(spec, cursor)
    if (!next) break
    out.push(next)
    cursor = next
  }
  return out
}

/** Fire times in (from, to], at most `limit` (the rest are counted). */
export function fireTimesBetween(spec: ScheduleSpec, from: Date, to: Date, limit: number): { times: Date[]; more: number } {
  const times: Date[] = []
  let more = 0
  let cursor = from
  for (;;) {
    const next = nextFireTime(spec, cursor)
    if (!next || next > to) break
    if (times.length < limit) times.push(next)
    else if (++more > 100_000) break
    cursor = next
  }
  return { times, more }
}
