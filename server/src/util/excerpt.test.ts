import { describe, expect, it } from 'vitest'
import { excerpt, shortenEchoes } from './excerpt.ts'

describe('excerpt', () => {
  it('keeps short text and cuts long text on a character boundary', () => {
    expect(excerpt('abc', 5)).toBe('abc')
    expect(excerpt('abcdef', 3)).toBe('abc…')
    expect(excerpt('ab😀', 3)).toBe('ab…')
  })
  it('shortens every quoted echo in a message and bounds the message', () => {
    const m = shortenEchoes(`Variable "$s" got invalid value "${'x'.repeat(1_000_000)}"; String cannot represent "${'y'.repeat(500)}"`)
    expect(m).toContain(`"${'x'.repeat(100)}…"`)
    expect(m).toContain(`"${'y'.repeat(100)}…"`)
    expect(m.length).toBeLessThan(400)
    expect(shortenEchoes('z'.repeat(10_000)).length).toBe(601)
  })
})
