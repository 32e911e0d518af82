import { expect, it } from 'vitest'
import { formatDuration, formatRelative } from './format'

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
