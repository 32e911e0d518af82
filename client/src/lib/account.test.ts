import { describe, expect, it } from 'vitest'
import { parseExpiryDays, passwordFormErrors, roleDescription, roleLabel, sortTokens, tokenStatus, tokenSummary, userActions, userPatch } from './account'

const NOW = Date.parse('2026-03-01T12:00:00Z')

describe('roles', () => {
  it('labels and describes the three roles', () => {
    expect(roleLabel('ADMIN')).toBe('Admin')
    expect(roleLabel('OPERATOR')).toBe('Operator')
    expect(roleLabel('VIEWER')).toBe('Viewer')
    expect(roleLabel('AUDITOR')).toBe('Auditor')
    expect(roleDescription('VIEWER')).toMatch(/changes nothing/)
    expect(roleDescription('AUDITOR')).toBe('')
  })
})

describe('tokenStatus', () => {
  it('is active without revocation or with a future expiry', () => {
    expect(tokenStatus({ revokedAt: null, expiresAt: null }, NOW)).toBe('active')
    expect(tokenStatus({ expiresAt: '2026-03-02T00:00:00Z' }, NOW)).toBe('active')
  })
  it('is expired from the expiry on', () => {
    expect(tokenStatus({ expiresAt: '2026-03-01T12:00:00Z' }, NOW)).toBe('expired')
    expect(tokenStatus({ expiresAt: '2026-02-01T00:00:00Z' }, NOW)).toBe('expired')
  })
  it('is revoked whatever the expiry', () => {
    expect(tokenStatus({ revokedAt: '2026-02-01T00:00:00Z', expiresAt: '2026-02-01T00:00:00Z' }, NOW)).toBe('revoked')
    expect(tokenStatus({ revokedAt: '2026-02-01T00:00:00Z', expiresAt: null }, NOW)).toBe('revoked')
  })
  it('sorts active tokens first, keeping the API order within a group', () => {
    const tokens = [
      { name: 'r1', revokedAt: '2026-02-01T00:00:00Z' },
      { name: 'a1', expiresAt: null },
      { name: 'e1', expiresAt: '2026-01-01T00:00:00Z' },
      { name: 'a2' },
      { name: 'r2', revokedAt: '2026-01-01T00:00:00Z' },
    ]
    expect(sortTokens(tokens, NOW).map((t) => t.name)).toEqual(['a1', 'a2', 'e1', 'r1', 'r2'])
    expect(tokens[0]!.name).toBe('r1') // not sorted in place
  })
})

describe('tokenSummary', () => {
  it('counts the tokens that still work', () => {
    expect(tokenSummary([], NOW)).toBe('None')
    expect(tokenSummary([{ revokedAt: '2026-02-01T00:00:00Z' }, { expiresAt: '2026-01-01T00:00:00Z' }], NOW)).toBe('None active')
    expect(tokenSummary([{ expiresAt: null }, { expiresAt: '2026-03-02T00:00:00Z' }, { revokedAt: '2026-02-01T00:00:00Z' }], NOW)).toBe('2 active')
  })
})

describe('parseExpiryDays', () => {
  it('treats an empty field as "never expires"', () => {
    expect(parseExpiryDays('')).toEqual({ value: null })
    expect(parseExpiryDays('   ')).toEqual({ value: null })
  })
  it('passes whole numbers on, leaving the range to the API', () => {
    expect(parseExpiryDays('30')).toEqual({ value: 30 })
    expect(parseExpiryDays(' 7 ')).toEqual({ value: 7 })
    expect(parseExpiryDays('0')).toEqual({ value: 0 })
    expect(parseExpiryDays('-1')).toEqual({ value: -1 })
  })
  it('rejects what is not an Int', () => {
    expect(parseExpiryDays('1.5').error).toMatch(/whole number/)
    expect(parseExpiryDays('a week').error).toMatch(/whole number/)
    expect(parseExpiryDays('1e3').error).toMatch(/whole number/)
    expect(parseExpiryDays('99999999999').error).toMatch(/too large/)
  })
})

describe('passwordFormErrors', () => {
  it('accepts a complete form with matching passwords', () => {
    expect(passwordFormErrors({ currentPassword: 'old', newPassword: 'new-password', confirmPassword: 'new-password' })).toEqual({})
  })
  it('names the missing fields and a confirmation that does not match', () => {
    expect(passwordFormErrors({ currentPassword: '', newPassword: '', confirmPassword: '' })).toEqual({ currentPassword: 'required', newPassword: 'required' })
    expect(passwordFormErrors({ currentPassword: 'old', newPassword: 'new-password', confirmPassword: 'new-passwort' })).toEqual({ confirmPassword: 'does not match the new password' })
  })
  it('leaves the new password rules to the API', () => {
    expect(passwordFormErrors({ currentPassword: 'old', newPassword: 'short', confirmPassword: 'short' })).toEqual({})
  })
})

describe('users', () => {
  it('sends only what changed', () => {
    expect(userPatch({ role: 'OPERATOR' }, { role: 'OPERATOR', password: '' })).toEqual({})
    expect(userPatch({ role: 'OPERATOR' }, { role: 'VIEWER', password: '' })).toEqual({ role: 'VIEWER' })
    expect(userPatch({ role: 'OPERATOR' }, { role: 'OPERATOR', password: 'a-new-password' })).toEqual({ password: 'a-new-password' })
  })
  it('offers nothing on your own row, and tokens, edit and disable or enable on the others', () => {
    expect(userActions({ id: 'me', disabled: false }, 'me')).toEqual({ tokens: false, edit: false, disable: false, enable: false })
    expect(userActions({ id: 'bob', disabled: false }, 'me')).toEqual({ tokens: true, edit: true, disable: true, enable: false })
    expect(userActions({ id: 'bob', disabled: true }, 'me')).toEqual({ tokens: true, edit: true, disable: false, enable: true })
  })
})
