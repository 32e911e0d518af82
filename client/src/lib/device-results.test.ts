import { describe, expect, it } from 'vitest'
import {
  actionTiles,
  comparisonSummary,
  diffValue,
  EMPTY_FILTER,
  filterVariables,
  isDeviceJobType,
  isSyncable,
  lastPage,
  pageLabel,
  pageSelection,
  statusTiles,
  syncResultFacts,
  toggleIn,
  togglePage,
  type DeviceCounts,
} from './device-results'

const counts = (c: Partial<DeviceCounts>): DeviceCounts => ({ total: 0, equal: 0, different: 0, missingInCheckmk: 0, extraInCheckmk: 0, skipped: 0, created: 0, updated: 0, unchanged: 0, removed: 0, failed: 0, actionSkipped: 0, ...c })

describe('device results', () => {
  it('knows which job types have per-device results', () => {
    expect(isDeviceJobType('compare_devices')).toBe(true)
    expect(isDeviceJobType('sync_devices')).toBe(true)
    expect(isDeviceJobType('inventory_sync')).toBe(false)
  })

  it('makes a tile per status and per action, in reading order, with the counts of the whole run', () => {
    const c = counts({ total: 9, equal: 4, different: 2, missingInCheckmk: 1, extraInCheckmk: 1, skipped: 1, created: 3, failed: 1, actionSkipped: 2 })
    expect(statusTiles(c).map((t) => [t.key, t.label, t.count])).toEqual([
      ['EQUAL', 'In sync', 4],
      ['DIFFERENT', 'Different', 2],
      ['MISSING_IN_CHECKMK', 'Missing', 1],
      ['EXTRA_IN_CHECKMK', 'Extra', 1],
      ['SKIPPED', 'Skipped', 1],
    ])
    expect(actionTiles(c).map((t) => [t.key, t.count])).toEqual([
      ['CREATED', 3],
      ['UPDATED', 0],
      ['UNCHANGED', 0],
      ['REMOVED', 0],
      ['FAILED', 1],
      ['SKIPPED', 2],
    ])
  })

  it('sums a comparison up in one sentence', () => {
    expect(comparisonSummary(counts({}))).toBe('No devices were compared.')
    expect(comparisonSummary(counts({ total: 3, equal: 3 }))).toBe('All 3 devices are in sync.')
    expect(comparisonSummary(counts({ total: 1, equal: 1 }))).toBe('All 1 device is in sync.')
    expect(comparisonSummary(counts({ total: 4, equal: 2, skipped: 2 }))).toBe('All 4 devices are in sync (2 skipped).')
    expect(comparisonSummary(counts({ total: 10, equal: 5, missingInCheckmk: 2, different: 1, extraInCheckmk: 1, skipped: 1 }))).toBe('5 of 10 in sync; 2 missing in Checkmk, 1 different, 1 extra in Checkmk; 1 skipped.')
  })

  it('turns a filter into deviceResults arguments, leaving out what means "all"', () => {
    expect(filterVariables(EMPTY_FILTER, 25)).toEqual({ first: 25, offset: 0 })
    expect(filterVariables({ statuses: ['MISSING_IN_CHECKMK'], actions: [], search: '  r1 ', page: 2 }, 25)).toEqual({ statuses: ['MISSING_IN_CHECKMK'], search: 'r1', first: 25, offset: 50 })
    expect(filterVariables({ statuses: [], actions: ['FAILED', 'CREATED'], search: '', page: -1 }, 10)).toEqual({ actions: ['FAILED', 'CREATED'], first: 10, offset: 0 })
    expect(toggleIn(['EQUAL'], 'SKIPPED')).toEqual(['EQUAL', 'SKIPPED'])
    expect(toggleIn(['EQUAL', 'SKIPPED'], 'EQUAL')).toEqual(['SKIPPED'])
  })

  it('labels pages and knows the last one', () => {
    expect(pageLabel(0, 25, 0)).toBe('No devices')
    expect(pageLabel(0, 25, 7)).toBe('1–7 of 7')
    expect(pageLabel(1, 25, 120)).toBe('26–50 of 120')
    expect(pageLabel(4, 25, 120)).toBe('101–120 of 120')
    expect(lastPage(0, 25)).toBe(0)
    expect(lastPage(25, 25)).toBe(0)
    expect(lastPage(26, 25)).toBe(1)
  })

  it('lets only missing and different devices be selected, page by page', () => {
    expect(['MISSING_IN_CHECKMK', 'DIFFERENT'].every((s) => isSyncable(s as never))).toBe(true)
    expect(['EQUAL', 'EXTRA_IN_CHECKMK', 'SKIPPED'].some((s) => isSyncable(s as never))).toBe(false)
    const page = [
      { device: 'a', status: 'MISSING_IN_CHECKMK' as const },
      { device: 'b', status: 'EQUAL' as const },
      { device: 'c', status: 'DIFFERENT' as const },
    ]
    expect(pageSelection(new Set(), page)).toBe('none')
    const all = togglePage(new Set(['elsewhere']), page)
    expect([...all].sort()).toEqual(['a', 'c', 'elsewhere'])
    expect(pageSelection(all, page)).toBe('all')
    expect(pageSelection(new Set(['a']), page)).toBe('some')
    // Ticking again when all are selected clears this page only.
    expect([...togglePage(all, page)]).toEqual(['elsewhere'])
    // A half-selected page becomes fully selected.
    expect([...togglePage(new Set(['a']), page)].sort()).toEqual(['a', 'c'])
  })

  it('shows absent and empty diff values in words', () => {
    expect(diffValue(null)).toBe('(none)')
    expect(diffValue(undefined)).toBe('(none)')
    expect(diffValue('')).toBe('(empty)')
    expect(diffValue('/network/ber')).toBe('/network/ber')
  })

  it("reads a sync run's activation id, refusal and dry run from its result", () => {
    expect(syncResultFacts({ created: 2, dryRun: false, activationId: 'act-1', refusal: null })).toEqual({ activationId: 'act-1', refusal: null, dryRun: false })
    expect(syncResultFacts({ dryRun: true, activationId: null, refusal: 'would remove 3 of 4 managed hosts' })).toEqual({ activationId: null, refusal: 'would remove 3 of 4 managed hosts', dryRun: true })
    expect(syncResultFacts(null)).toEqual({ activationId: null, refusal: null, dryRun: false })
    expect(syncResultFacts([1])).toEqual({ activationId: null, refusal: null, dryRun: false })
  })
})
