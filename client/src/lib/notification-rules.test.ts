import { describe, expect, it } from 'vitest'
import { eventBadgeClass, formatLimit, parseLimit, ruleEventLabel, thresholdDraft, thresholdInput } from './notification-rules'

describe('rule thresholds', () => {
  it('read durations with or without a unit and show whole units', () => {
    expect(parseLimit('600')).toBe(600)
    expect(parseLimit(' 90s ')).toBe(90)
    expect(parseLimit('15m')).toBe(900)
    expect(parseLimit('2H')).toBe(7200)
    expect(parseLimit('1d')).toBe(86400)
    expect(parseLimit('1.5h')).toBeNull()
    expect(parseLimit('soon')).toBeNull()
    expect(formatLimit(900)).toBe('15m')
    expect(formatLimit(7200)).toBe('2h')
    expect(formatLimit(90)).toBe('90s')
    expect(formatLimit(null)).toBe('')
    expect(thresholdDraft({ durationLimitSeconds: 600, durationP95Factor: 1.5, consecutiveFailures: null })).toEqual({ durationLimit: '10m', durationP95Factor: '1.5', consecutiveFailures: '', queueBacklog: '' })
    expect(thresholdDraft({ queueBacklogSeconds: 300 }).queueBacklog).toBe('5m')
  })

  it('become the API input for the chosen events; an event not chosen clears its thresholds', () => {
    const d = { durationLimit: '15m', durationP95Factor: '2', consecutiveFailures: '5', queueBacklog: '10m' }
    expect(thresholdInput(['DURATION_EXCEEDED', 'CONSECUTIVE_FAILURES', 'QUEUE_BACKLOG'], d)).toEqual({ input: { durationLimitSeconds: 900, durationP95Factor: 2, consecutiveFailures: 5, queueBacklogSeconds: 600 }, errors: {} })
    expect(thresholdInput(['RUN_FAILED'], d)).toEqual({ input: { durationLimitSeconds: null, durationP95Factor: null, consecutiveFailures: null, queueBacklogSeconds: null }, errors: {} })
    expect(thresholdInput(['CONSECUTIVE_FAILURES'], { ...d, consecutiveFailures: '' }).input.consecutiveFailures).toBeNull()
    expect(thresholdInput(['DURATION_EXCEEDED'], { ...d, durationLimit: '' }).input).toMatchObject({ durationLimitSeconds: null, durationP95Factor: 2 })
  })

  it('name the field to fix', () => {
    const none = { durationLimit: '', durationP95Factor: '', consecutiveFailures: '', queueBacklog: '' }
    expect(thresholdInput(['QUEUE_BACKLOG'], none).errors.queueBacklogSeconds).toMatch(/How long/)
    expect(thresholdInput(['QUEUE_BACKLOG'], { ...none, queueBacklog: '8d' }).errors.queueBacklogSeconds).toMatch(/7 days/)
    expect(thresholdInput(['DURATION_EXCEEDED'], none).errors).toEqual({ durationLimitSeconds: 'Give a limit, a multiple of the p95, or both.' })
    expect(thresholdInput(['DURATION_EXCEEDED'], { ...none, durationLimit: 'soon' }).errors.durationLimitSeconds).toMatch(/such as 600/)
    expect(thresholdInput(['DURATION_EXCEEDED'], { ...none, durationLimit: '31d' }).errors.durationLimitSeconds).toMatch(/30 days/)
    expect(thresholdInput(['DURATION_EXCEEDED'], { ...none, durationP95Factor: '0.5' }).errors.durationP95Factor).toMatch(/Between 1/)
    expect(thresholdInput(['DURATION_EXCEEDED'], { ...none, durationP95Factor: 'x2' }).errors.durationP95Factor).toMatch(/A number/)
    expect(thresholdInput(['CONSECUTIVE_FAILURES'], { ...none, consecutiveFailures: '1' }).errors.consecutiveFailures).toMatch(/Between 2/)
    expect(thresholdInput(['CONSECUTIVE_FAILURES'], { ...none, consecutiveFailures: '2.5' }).errors.consecutiveFailures).toMatch(/whole number/)
  })

  it('show a rule event with its threshold', () => {
    expect(ruleEventLabel('DURATION_EXCEEDED', { durationLimitSeconds: 600, durationP95Factor: 2 })).toBe('Ran too long (> 10 min or 2 × p95)')
    expect(ruleEventLabel('DURATION_EXCEEDED', { durationLimitSeconds: 45 })).toBe('Ran too long (> 45 s)')
    expect(ruleEventLabel('CONSECUTIVE_FAILURES', { consecutiveFailures: null })).toBe('3 failures in a row')
    expect(ruleEventLabel('CONSECUTIVE_FAILURES', { consecutiveFailures: 5 })).toBe('5 failures in a row')
    expect(ruleEventLabel('RUN_TIMED_OUT', {})).toBe('Run timed out')
    expect(ruleEventLabel('QUEUE_BACKLOG', { queueBacklogSeconds: 300 })).toBe('Queue backlog (> 5 min)')
    expect(eventBadgeClass('RUN_TIMED_OUT')).toBe('err')
    expect(eventBadgeClass('RUN_STARTED')).toBe('')
  })
})
