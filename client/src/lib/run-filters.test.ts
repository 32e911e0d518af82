import { describe, expect, it } from 'vitest'
import { EMPTY_FILTERS, hasFilters, matchesFilters, parseRunFilters, serializeRunFilters, toApiFilter, updateFilters } from './run-filters'

const q = (s: string) => new URLSearchParams(s)

describe('run filter URL codec', () => {
  it('parses lists, drops unknown values and duplicates', () => {
    const f = parseRunFilters(q('status=failed,TIMED_OUT,NOPE,FAILED&type=command&trigger=MANUAL,x&template=VGVtcGxhdGU6MQ==&schedule=s1&after=abc'))
    expect(f).toEqual({
      ...EMPTY_FILTERS,
      statuses: ['FAILED', 'TIMED_OUT'],
      jobTypes: ['command'],
      triggers: ['MANUAL'],
      templateIds: ['VGVtcGxhdGU6MQ=='],
      scheduleIds: ['s1'],
      after: 'abc',
    })
  })

  it('round-trips through the query string', () => {
    const f = { ...EMPTY_FILTERS, statuses: ['RUNNING' as const], range: '24h' as const, templateIds: ['a=', 'b'] }
    const s = serializeRunFilters(f)
    expect(s).toBe('status=RUNNING&template=a%3D%2Cb&range=24h')
    expect(parseRunFilters(q(s))).toEqual(f)
    expect(serializeRunFilters(EMPTY_FILTERS)).toBe('')
  })

  it('prefers a range preset over from/to and ignores bad instants', () => {
    expect(parseRunFilters(q('range=7d&from=2026-01-01T00:00:00Z'))).toMatchObject({ range: '7d', from: null })
    expect(parseRunFilters(q('range=2y&from=2026-01-01T00:00:00Z&to=garbage'))).toMatchObject({ range: null, from: '2026-01-01T00:00:00.000Z', to: null })
  })

  it('goes back to the first page when a filter changes', () => {
    const f = updateFilters({ ...EMPTY_FILTERS, after: 'cursor' }, { statuses: ['FAILED'] })
    expect(f.after).toBeNull()
    expect(hasFilters({ ...EMPTY_FILTERS, after: 'x' })).toBe(false)
    expect(hasFilters(f)).toBe(true)
  })
})

describe('toApiFilter / matchesFilters', () => {
  const now = Date.parse('2026-11-23T12:00:00Z')

  it('turns a preset into createdAfter relative to now', () => {
    expect(toApiFilter({ ...EMPTY_FILTERS, range: '1h', statuses: ['FAILED'] }, now)).toEqual({ statuses: ['FAILED'], createdAfter: '2026-11-23T11:00:00.000Z' })
    expect(toApiFilter({ ...EMPTY_FILTERS, from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' }, now)).toEqual({
      createdAfter: '2026-11-01T00:00:00.000Z',
      createdBefore: '2026-11-02T00:00:00.000Z',
    })
    expect(toApiFilter(EMPTY_FILTERS)).toEqual({})
  })

  it('decides whether a live run belongs in the view', () => {
    const run = { status: 'RUNNING', jobType: 'command', trigger: 'MANUAL', createdAt: '2026-11-23T11:30:00Z', template: { id: 't1' } }
    expect(matchesFilters(run, EMPTY_FILTERS, now)).toBe(true)
    expect(matchesFilters(run, { ...EMPTY_FILTERS, statuses: ['FAILED'] }, now)).toBe(false)
    expect(matchesFilters(run, { ...EMPTY_FILTERS, templateIds: ['t1'], range: '1h' }, now)).toBe(true)
    expect(matchesFilters(run, { ...EMPTY_FILTERS, range: '1h' }, now + 3600e3)).toBe(false)
    expect(matchesFilters(run, { ...EMPTY_FILTERS, scheduleIds: ['s'] }, now)).toBe(false)
  })
})
