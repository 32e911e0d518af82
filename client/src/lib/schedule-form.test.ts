import { describe, expect, it } from 'vitest'
import { formatInZone, newTiming, overlapOptions, splitInterval, targetInput, timingFromSchedule, timingInput } from './schedule-form'

describe('schedule timing form', () => {
  it('sends only the fields of the chosen kind', () => {
    const d = { ...newTiming('Europe/Berlin'), cronExpression: ' 30 2 * * * ' }
    expect(timingInput(d)).toEqual({ kind: 'CRON', timezone: 'Europe/Berlin', cronExpression: '30 2 * * *', startAt: null, endAt: null })
    expect(timingInput({ ...d, kind: 'INTERVAL', intervalEvery: '90', intervalUnit: 'SECONDS' })).toMatchObject({ kind: 'INTERVAL', intervalEvery: 90, intervalUnit: 'SECONDS' })
    expect(timingInput({ ...d, kind: 'INTERVAL', intervalEvery: 'x' })).not.toHaveProperty('intervalEvery')
    expect(timingInput({ ...d, kind: 'DAILY_AT', dailyTime: '07:30', daysOfWeek: [5, 1] })).toMatchObject({ dailyTime: '07:30', daysOfWeek: [1, 5] })
    expect(timingInput({ ...d, kind: 'ONCE', onceAt: '2026-12-24T18:00' })).toMatchObject({ kind: 'ONCE', onceAt: '2026-12-24T18:00' })
  })

  it('fills the form from a stored schedule, picking the largest whole interval unit', () => {
    expect(splitInterval(7200)).toEqual({ every: '2', unit: 'HOURS' })
    expect(splitInterval(900)).toEqual({ every: '15', unit: 'MINUTES' })
    expect(splitInterval(45)).toEqual({ every: '45', unit: 'SECONDS' })
    const d = timingFromSchedule({ kind: 'INTERVAL', intervalSeconds: 300, daysOfWeek: [], timezone: 'UTC', onceAt: '2026-12-24T18:00:00' })
    expect(d).toMatchObject({ kind: 'INTERVAL', intervalEvery: '5', intervalUnit: 'MINUTES', onceAt: '2026-12-24T18:00', startAt: '' })
  })

  it('shows fire times in the schedule zone with its offset', () => {
    expect(formatInZone('2026-07-01T00:30:00Z', 'Europe/Berlin')).toMatch(/02:30:00 GMT\+2/)
    expect(formatInZone('2026-01-01T00:30:00Z', 'Asia/Kathmandu')).toMatch(/06:15:00 GMT\+5:45/)
  })
})

describe('schedule target', () => {
  it('sends the template or the workflow, never both', () => {
    expect(targetInput('TEMPLATE', 't1')).toEqual({ templateId: 't1' })
    expect(targetInput('WORKFLOW', 'w1')).toEqual({ workflowId: 'w1' })
  })

  it('offers QUEUE only for templates (a workflow slot cannot wait)', () => {
    expect(overlapOptions('TEMPLATE').map((o) => o.value)).toEqual(['', 'ALLOW', 'SKIP', 'QUEUE', 'CANCEL_PREVIOUS'])
    expect(overlapOptions('WORKFLOW').map((o) => o.value)).toEqual(['', 'ALLOW', 'SKIP', 'CANCEL_PREVIOUS'])
    expect(overlapOptions('WORKFLOW')[0]!.label).toMatch(/Run anyway/)
  })
})
