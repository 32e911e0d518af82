import { describe, expect, it } from 'vitest'
import {
  deliveryTiming,
  EMPTY_DELIVERY_FILTERS,
  eventLabel,
  hasDeliveryFilters,
  hasPendingDeliveries,
  headerRows,
  headersInput,
  matchesDeliveryFilters,
  parseDeliveryFilters,
  serializeDeliveryFilters,
  span,
  statusCodeWords,
  type DeliveryLike,
} from './notifications'

describe('events', () => {
  it('are words, including ones a newer server adds', () => {
    expect(eventLabel('RUN_FAILED')).toBe('Run failed')
    expect(eventLabel('RUN_RECOVERED')).toBe('Run recovered')
    expect(eventLabel('WORKER_DOWN')).toBe('Worker down')
  })
})

describe('channel headers', () => {
  it('become rows and back, blank rows dropped', () => {
    expect(headerRows({ 'X-Team': 'net', 'X-N': 1 })).toEqual([['X-Team', 'net'], ['X-N', '1']])
    expect(headerRows(null)).toEqual([])
    expect(headerRows(['x'])).toEqual([])
    expect(headersInput([['X-Team', 'net'], ['', ''], [' X-Env ', 'prod']])).toEqual({ headers: { 'X-Team': 'net', 'X-Env': 'prod' }, error: null })
  })

  it('refuse a value without a name and a name given twice (any case)', () => {
    expect(headersInput([['', 'orphan']]).error).toMatch(/needs a name/)
    expect(headersInput([['X-A', '1'], ['x-a', '2']]).error).toMatch(/“x-a” is given twice/)
  })
})

describe('delivery log filters', () => {
  it('round-trip through the URL and drop unknown statuses', () => {
    const f = parseDeliveryFilters(new URLSearchParams('status=FAILED,NOPE,PENDING&event=RUN_FAILED,bad-event&channel=c1&run=r1'))
    expect(f).toEqual({ statuses: ['FAILED', 'PENDING'], events: ['RUN_FAILED'], channelId: 'c1', runId: 'r1' })
    expect(parseDeliveryFilters(new URLSearchParams(serializeDeliveryFilters(f)))).toEqual(f)
    expect(serializeDeliveryFilters(EMPTY_DELIVERY_FILTERS)).toBe('')
    expect(hasDeliveryFilters(EMPTY_DELIVERY_FILTERS)).toBe(false)
    expect(hasDeliveryFilters({ ...EMPTY_DELIVERY_FILTERS, runId: 'r' })).toBe(true)
  })

  const d: DeliveryLike = {
    status: 'FAILED',
    event: 'RUN_FAILED',
    channel: { id: 'c1' },
    createdAt: '2026-12-04T10:00:00.000Z',
    deliveredAt: null,
    nextAttemptAt: null,
    updatedAt: '2026-12-04T10:05:00.000Z',
    attempts: 6,
  }

  it('match on status, event and channel', () => {
    expect(matchesDeliveryFilters(d, EMPTY_DELIVERY_FILTERS)).toBe(true)
    expect(matchesDeliveryFilters(d, { ...EMPTY_DELIVERY_FILTERS, statuses: ['DELIVERED'] })).toBe(false)
    expect(matchesDeliveryFilters(d, { ...EMPTY_DELIVERY_FILTERS, statuses: ['FAILED'], events: ['RUN_FAILED'], channelId: 'c1' })).toBe(true)
    expect(matchesDeliveryFilters(d, { ...EMPTY_DELIVERY_FILTERS, channelId: 'c2' })).toBe(false)
    expect(hasPendingDeliveries([d])).toBe(false)
    expect(hasPendingDeliveries([d, { status: 'PENDING' }])).toBe(true)
  })

  it('say how long delivery took, when the next attempt is due, or when it gave up', () => {
    const now = Date.parse('2026-12-04T10:00:30.000Z')
    expect(deliveryTiming(d, now)).toBe('gave up after 5 min')
    expect(deliveryTiming({ ...d, status: 'DELIVERED', deliveredAt: '2026-12-04T10:00:00.420Z' }, now)).toBe('delivered after 420 ms')
    expect(deliveryTiming({ ...d, status: 'PENDING', attempts: 0 }, now)).toBe('waiting for the first attempt')
    expect(deliveryTiming({ ...d, status: 'PENDING', attempts: 2, nextAttemptAt: '2026-12-04T10:00:42.000Z' }, now)).toBe('next attempt in 12 s')
    expect(deliveryTiming({ ...d, status: 'PENDING', attempts: 2, nextAttemptAt: '2026-12-04T10:00:10.000Z' }, now)).toBe('next attempt due now')
    expect(span(-5)).toBe('0 ms')
    expect(span(2 * 3_600_000)).toBe('2 h')
    expect(statusCodeWords(500, 1)).toBe('HTTP 500')
    expect(statusCodeWords(null, 3)).toBe('no answer')
    expect(statusCodeWords(null, 0)).toBe('—')
  })
})
