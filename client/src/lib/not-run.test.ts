import { describe, expect, it } from 'vitest'
import { notRunReason } from './not-run'

describe('runs that never ran', () => {
  it('give their reason in words, and none for runs that ran', () => {
    expect(notRunReason({ status: 'SKIPPED', error: 'blackout window "freeze"' })).toBe('blackout window "freeze"')
    expect(notRunReason({ status: 'MISSED', error: null })).toBe('Missed schedule slot')
    expect(notRunReason({ status: 'SKIPPED' })).toBe('Skipped schedule slot')
    expect(notRunReason({ status: 'FAILED', error: 'boom' })).toBeNull()
  })
})
