/** Pure helpers for showing `jobRunStats` (the dashboard's last-24-hours figures and hourly strip). */

const HOUR_MS = 3_600_000

/**
 * Start of the dashboard window: the UTC hour 23 hours before the current one. The server truncates
 * `since` to its hour anyway; asking for this start gives exactly 24 hourly buckets, the last being the
 * current (partial) hour, and a value that only changes once an hour.
 */
export function last24HoursSince(now: number = Date.now()): string {
  return new Date(Math.floor(now / HOUR_MS) * HOUR_MS - 23 * HOUR_MS).toISOString()
}

/** Counts by status name from `byStatus` (which lists every status, with zeros). */
export function countsByStatus(byStatus: ReadonlyArray<{ status: string; count: number }>): Record<string, number> {
  return Object.fromEntries(byStatus.map((s) => [s.status, s.count]))
}

export interface HourBar {
  start: string
  total: number
  succeeded: number
  failed: number
  /** Neither succeeded nor failed: queued, running, cancelled, missed, skipped. */
  other: number
  /** Bar height as a percentage of the busiest bucket (0 when the range is empty). */
  heightPct: number
  /** Accessible description, e.g. "14:00: 5 runs, 4 succeeded, 1 failed". */
  label: string
}

export function hourBars(
  buckets: ReadonlyArray<{ start: string; total: number; succeeded: number; failed: number }>,
  formatStart: (iso: string) => string,
): HourBar[] {
  const max = Math.max(0, ...buckets.map((b) => b.total))
  return buckets.map((b) => ({
    ...b,
    other: Math.max(0, b.total - b.succeeded - b.failed),
    heightPct: max ? (b.total / max) * 100 : 0,
    label: `${formatStart(b.start)}: ${b.total} run${b.total === 1 ? '' : 's'}${b.total ? `, ${b.succeeded} succeeded, ${b.failed} failed` : ''}`,
  }))
}
