import { describe, expect, it } from 'vitest'
import { idFromPathname, placeholderParams, PLACEHOLDER_ID } from './route-id'

describe('route ids of detail pages', () => {
  it('reads the id from the last path segment, decoded', () => {
    expect(idFromPathname('/runs/6f1c2a4e-9b7d-4c1e-8f00-123456789abc')).toBe('6f1c2a4e-9b7d-4c1e-8f00-123456789abc')
    expect(idFromPathname('/notifications/channels/abc/')).toBe('abc')
    expect(idFromPathname('/templates/a%2Fb%20c')).toBe('a/b c')
    expect(idFromPathname('/runs/%E0%A4%A')).toBe('%E0%A4%A')
    expect(idFromPathname(null)).toBe('')
  })

  it('exports each detail route for the placeholder only (the server maps ids onto it)', () => {
    expect(placeholderParams()).toEqual([{ id: PLACEHOLDER_ID }])
    // server/src/http/ui-files.ts holds the same value.
    expect(PLACEHOLDER_ID).toBe('_')
  })
})
