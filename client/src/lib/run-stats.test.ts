import { expect, it } from 'vitest'
import { countsByStatus, hourBars, last24HoursSince } from './run-stats'

it('starts the 24 h window at the UTC hour 23 hours before the current one', () => {
  expect(last24HoursSince(Date.parse('2026-11-23T12:34:56.789Z'))).toBe('2026-11-22T13:00:00.000Z')
  expect(last24HoursSince(Date.parse('2026-11-23T12:00:00.000Z'))).toBe('2026-11-22T13:00:00.000Z')
  // Stable within the hour, so the query's variables only change once an hour.
  expect(last24HoursSince(Date.parse('2026-11-23T12:59:59.999Z'))).toBe('2026-11-22T13:00:00.000Z')
})

it('indexes counts by status', () => {
  expect(countsByStatus([{ status: 'SUCCEEDED', count: 3 }, { status: 'FAILED', count: 0 }])).toEqual({ SUCCEEDED: 3, FAILED: 0 })
})

it('scales hourly bars to the busiest hour and describes each', () => {
  const bars = hourBars(
    [
      { start: '2026-11-23T10:00:00.000Z', total: 4, succeeded: 2, failed: 1 },
      { start: '2026-11-23T11:00:00.000Z', total: 0, succeeded: 0, failed: 0 },
      { start: '2026-11-23T12:00:00.000Z', total: 1, succeeded: 1, failed: 0 },
    ],
    (iso) => iso.slice(11, 16),
  )
  expect(bars.map((b) => [b.heightPct, b.other, b.label])).toEqual([
    [100, 1, '10:00: 4 runs, 2 succeeded, 1 failed'],
    [0, 0, '11:00: 0 runs'],
    [25, 0, '12:00: 1 run, 1 succeeded, 0 failed'],
  ])
  expect(hourBars([{ start: 'x', total: 0, succeeded: 0, failed: 0 }], (s) => s)[0]!.heightPct).toBe(0)
})
