import { expect, it } from 'vitest'
import { formatDateTime, formatDuration, formatHourMinute, formatRelative } from './format'

it('formats durations compactly', () => {
  expect(formatDuration(null)).toBe('—')
  expect(formatDuration(420)).toBe('420 ms')
  expect(formatDuration(4200)).toBe('4.2 s')
  expect(formatDuration(42_000)).toBe('42 s')
  expect(formatDuration(125_000)).toBe('2m 5s')
  expect(formatDuration(3 * 3600e3 + 60e3)).toBe('3h 1m')
  expect(formatDuration(50 * 3600e3)).toBe('2d 2h')
})

it('formats relative times', () => {
  const now = Date.parse('2026-11-23T12:00:00Z')
  expect(formatRelative('2026-11-23T11:59:58Z', now)).toBe('just now')
  expect(formatRelative('2026-11-23T11:58:00Z', now)).toBe('2m ago')
  expect(formatRelative('2026-11-23T14:00:00Z', now)).toBe('in 2h')
})

it('shows date-times on a 24-hour clock with the zone named, even in a 12-hour locale', () => {
  // vitest runs with the process locale; en-US would otherwise say "02:30:00 PM".
  const text = formatDateTime('2026-11-23T14:30:00Z')
  expect(text).not.toMatch(/AM|PM/)
  expect(text).toMatch(/\d{2}:30:00/)
  expect(text).toMatch(/UTC|GMT|[A-Z]{2,5}/)
  expect(formatHourMinute('2026-11-23T15:00:00Z')).toMatch(/^\d{2}:00$/)
})
