import { describe, expect, it } from 'vitest'
import { compileUserRegex, userRegexProblem } from './safe-regex.ts'
import { globToRegExp } from '../modules/targets/target-selector.ts'

describe('user regexes run in linear time', () => {
  it('matches ordinary patterns as the default engine does', () => {
    expect(compileUserRegex('^uptime: \\d+ (days|hours)$').test('uptime: 12 days')).toBe(true)
    expect(compileUserRegex('^\\s*#', 'm').test('x\n  # comment')).toBe(true)
    expect(compileUserRegex('"state":\\s*"up"').test('{"state": "down"}')).toBe(false)
  })

  it('answers the catastrophic-backtracking classics on large inputs (they would not return on the default engine)', () => {
    const evil = 'a'.repeat(100_000) + 'b'
    expect(compileUserRegex('^(a+)+$').test(evil)).toBe(false)
    expect(compileUserRegex('^(a|a)*$').test(evil)).toBe(false)
    expect(compileUserRegex('^(a|aa)+$').test('a'.repeat(100_000))).toBe(true)
    expect(globToRegExp('*a*a*a*a*a*a*a*a*a*a*a*a*c').test(evil)).toBe(false)
  })

  it('refuses what the linear engine cannot run, and invalid patterns, with a message for users', () => {
    for (const p of ['(a)\\1', '(?=a)b', '(?!a)b', 'a{1,1000}']) expect(userRegexProblem(p), p).toMatch(/cannot be evaluated in linear time \(backreferences, lookaheads/)
    expect(userRegexProblem('[unclosed')).toMatch(/^not a valid regular expression/)
    expect(userRegexProblem('ok|fine')).toBeNull()
  })

  it('globs stay literal apart from * and ?', () => {
    expect(globToRegExp('web-?.example.(com)').test('web-1.example.(com)')).toBe(true)
    expect(globToRegExp('web-?.example.(com)').test('web-1xexample.(com)')).toBe(false)
    expect(globToRegExp('core-*').test('core-sw-01')).toBe(true)
  })
})
