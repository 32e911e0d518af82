import { describe, expect, it } from 'vitest'
import { parseCron } from './cron.ts'
import { fireTimesBetween, nextFireTime, upcomingFireTimes, type ScheduleSpec } from './fire-times.ts'

const cron = (expression: string, timezone: string): ScheduleSpec => ({ timing: { kind: 'CRON', expression }, timezone })
const iso = (d: Date | null) => d?.toISOString().replace('.000Z', 'Z') ?? null
const next = (spec: ScheduleSpec, after: string, count = 1) => upcomingFireTimes(spec, new Date(after), count).map(iso)

interface Case {
  name: string
  spec: ScheduleSpec
  after: string
  expect: string[]
}

const NY = 'America/New_York'
const BERLIN = 'Europe/Berlin'
const LHI = 'Australia/Lord_Howe'
const KTM = 'Asia/Kathmandu'

// Transitions used below (2026): New York 8 Mar 02:00 EST→03:00 EDT (07:00Z), 1 Nov 02:00 EDT→01:00 EST
// (06:00Z); Berlin 29 Mar 02:00 CET→03:00 CEST (01:00Z), 25 Oct 03:00 CEST→02:00 CET (01:00Z);
// Lord Howe 4 Oct 02:00 +10:30→02:30 +11 (3 Oct 15:30Z), 5 Apr 02:00 +11→01:30 +10:30 (4 Apr 15:00Z).
const cases: Case[] = [
  // Spring forward, fixed time inside the gap: once, at the first instant after the gap.
  { name: 'NY 02:30 daily on spring-forward day', spec: cron('30 2 * * *', NY), after: '2026-03-07T12:00:00Z', expect: ['2026-03-08T07:00:00Z', '2026-03-09T06:30:00Z'] },
  { name: 'NY 02:00 and 02:30 collapse into one fire', spec: cron('0,30 2 * * *', NY), after: '2026-03-07T12:00:00Z', expect: ['2026-03-08T07:00:00Z', '2026-03-09T06:00:00Z', '2026-03-09T06:30:00Z'] },
  { name: 'NY 02:30 and 03:00 are the same instant that day', spec: cron('0 2,3 * * *', NY), after: '2026-03-07T12:00:00Z', expect: ['2026-03-08T07:00:00Z', '2026-03-09T06:00:00Z', '2026-03-09T07:00:00Z'] },
  // Fall back, fixed time in the repeated hour: once, first occurrence.
  { name: 'NY 01:30 daily on fall-back day', spec: cron('30 1 * * *', NY), after: '2026-10-31T12:00:00Z', expect: ['2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z'] },
  // Real-time expressions: both passes of the repeated hour, nothing in the gap.
  { name: 'NY every 30 min through fall-back', spec: cron('*/30 * * * *', NY), after: '2026-11-01T05:00:00Z', expect: ['2026-11-01T05:30:00Z', '2026-11-01T06:00:00Z', '2026-11-01T06:30:00Z', '2026-11-01T07:00:00Z'] },
  { name: 'NY every 30 min through spring-forward', spec: cron('*/30 * * * *', NY), after: '2026-03-08T06:00:00Z', expect: ['2026-03-08T06:30:00Z', '2026-03-08T07:00:00Z', '2026-03-08T07:30:00Z'] },
  { name: 'NY hourly range over fall-back', spec: cron('0 0-3 * * *', NY), after: '2026-11-01T03:00:00Z', expect: ['2026-11-01T04:00:00Z', '2026-11-01T05:00:00Z', '2026-11-01T06:00:00Z', '2026-11-01T07:00:00Z', '2026-11-01T08:00:00Z'] },
  { name: 'Berlin 02:30 on spring-forward day', spec: cron('30 2 * * *', BERLIN), after: '2026-03-28T12:00:00Z', expect: ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'] },
  { name: 'Berlin 02:30 on fall-back day (first occurrence)', spec: cron('30 2 * * *', BERLIN), after: '2026-10-24T12:00:00Z', expect: ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'] },
  { name: 'Berlin hourly through fall-back', spec: cron('0 * * * *', BERLIN), after: '2026-10-24T23:30:00Z', expect: ['2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z', '2026-10-25T02:00:00Z'] },
  // Lord Howe: 30-minute shifts.
  { name: 'Lord Howe 02:15 inside the 30-min gap', spec: cron('15 2 * * *', LHI), after: '2026-10-03T00:00:00Z', expect: ['2026-10-03T15:30:00Z', '2026-10-04T15:15:00Z'] },
  { name: 'Lord Howe 01:45 in the repeated half hour', spec: cron('45 1 * * *', LHI), after: '2026-04-04T00:00:00Z', expect: ['2026-04-04T14:45:00Z', '2026-04-05T15:15:00Z'] },
  { name: 'Lord Howe every 15 min through fall-back', spec: cron('*/15 * * * *', LHI), after: '2026-04-04T14:40:00Z', expect: ['2026-04-04T14:45:00Z', '2026-04-04T15:00:00Z', '2026-04-04T15:15:00Z', '2026-04-04T15:30:00Z'] },
  // Kathmandu: +05:45, no DST.
  { name: 'Kathmandu 09:00', spec: cron('0 9 * * *', KTM), after: '2026-06-01T00:00:00Z', expect: ['2026-06-01T03:15:00Z', '2026-06-02T03:15:00Z'] },
  { name: 'Kathmandu every 20 s (6 fields)', spec: cron('*/20 * * * * *', KTM), after: '2026-06-01T00:00:05Z', expect: ['2026-06-01T00:00:20Z', '2026-06-01T00:00:40Z', '2026-06-01T00:01:00Z'] },
  // Month ends, leap day, L, #, W.
  { name: 'last day of month (L) over February of a leap year', spec: cron('0 0 L * *', 'UTC'), after: '2028-01-31T00:00:00Z', expect: ['2028-02-29T00:00:00Z', '2028-03-31T00:00:00Z'] },
  { name: 'day 31 skips short months', spec: cron('0 0 31 * *', 'UTC'), after: '2026-03-31T00:00:00Z', expect: ['2026-05-31T00:00:00Z', '2026-07-31T00:00:00Z'] },
  { name: 'leap day in New York', spec: cron('0 12 29 2 *', NY), after: '2026-01-01T00:00:00Z', expect: ['2028-02-29T17:00:00Z', '2032-02-29T17:00:00Z'] },
  { name: 'second Friday (5#2)', spec: cron('0 9 * * 5#2', BERLIN), after: '2026-02-01T00:00:00Z', expect: ['2026-02-13T08:00:00Z', '2026-03-13T08:00:00Z'] },
  { name: 'last Friday (5L)', spec: cron('0 9 * * 5L', 'UTC'), after: '2026-02-01T00:00:00Z', expect: ['2026-02-27T09:00:00Z', '2026-03-27T09:00:00Z'] },
  { name: 'nearest weekday to the 15th (15W; 15 Aug 2026 is a Saturday)', spec: cron('0 9 15W * *', 'UTC'), after: '2026-08-01T00:00:00Z', expect: ['2026-08-14T09:00:00Z', '2026-09-15T09:00:00Z'] },
  { name: '1W never leaves the month (1 Aug 2026 is a Saturday)', spec: cron('0 9 1W * *', 'UTC'), after: '2026-07-15T00:00:00Z', expect: ['2026-08-03T09:00:00Z', '2026-09-01T09:00:00Z'] },
  { name: 'last weekday (LW; 31 Jan 2027 is a Sunday)', spec: cron('0 18 LW * *', NY), after: '2027-01-01T00:00:00Z', expect: ['2027-01-29T23:00:00Z', '2027-02-26T23:00:00Z'] },
  { name: 'day-of-month OR day-of-week when both restricted', spec: cron('0 0 13 * FRI', 'UTC'), after: '2026-02-10T00:00:00Z', expect: ['2026-02-13T00:00:00Z', '2026-02-20T00:00:00Z', '2026-02-27T00:00:00Z', '2026-03-06T00:00:00Z', '2026-03-13T00:00:00Z'] },
  { name: 'names, ranges and steps', spec: cron('0 8-18/5 * JAN-MAR MON-FRI', 'UTC'), after: '2026-03-31T12:00:00Z', expect: ['2026-03-31T13:00:00Z', '2026-03-31T18:00:00Z', '2027-01-01T08:00:00Z'] },
  // DAILY_AT equals its fixed-time cron; INTERVAL keeps real time; ONCE resolves like a fixed time.
  { name: 'DAILY_AT 02:30 weekdays across spring-forward', spec: { timing: { kind: 'DAILY_AT', time: '02:30', daysOfWeek: [0, 1] }, timezone: NY }, after: '2026-03-07T00:00:00Z', expect: ['2026-03-08T07:00:00Z', '2026-03-09T06:30:00Z', '2026-03-15T06:30:00Z'] },
  { name: 'INTERVAL 1 h keeps its period across spring-forward', spec: { timing: { kind: 'INTERVAL', everySeconds: 3600, anchor: new Date('2026-03-08T04:15:00Z') }, timezone: NY }, after: '2026-03-08T05:00:00Z', expect: ['2026-03-08T05:15:00Z', '2026-03-08T06:15:00Z', '2026-03-08T07:15:00Z'] },
  { name: 'INTERVAL before its anchor fires at the anchor', spec: { timing: { kind: 'INTERVAL', everySeconds: 90, anchor: new Date('2026-01-01T00:00:00Z') }, timezone: 'UTC' }, after: '2025-12-31T00:00:00Z', expect: ['2026-01-01T00:00:00Z', '2026-01-01T00:01:30Z'] },
  { name: 'ONCE in a gap fires after it, then never', spec: { timing: { kind: 'ONCE', at: '2026-03-08T02:30' }, timezone: NY }, after: '2026-01-01T00:00:00Z', expect: ['2026-03-08T07:00:00Z'] },
]

describe('fire times', () => {
  it.each(cases)('$name', (c) => {
    expect(next(c.spec, c.after, c.expect.length + (c.spec.timing.kind === 'ONCE' ? 1 : 0))).toEqual(c.expect)
  })

  it('respects start and end', () => {
    const spec: ScheduleSpec = { ...cron('0 * * * *', 'UTC'), startAt: new Date('2026-05-01T10:00:00Z'), endAt: new Date('2026-05-01T12:00:00Z') }
    expect(next(spec, '2026-04-01T00:00:00Z', 5)).toEqual(['2026-05-01T10:00:00Z', '2026-05-01T11:00:00Z', '2026-05-01T12:00:00Z'])
    expect(nextFireTime(spec, new Date('2026-05-01T12:00:00Z'))).toBeNull()
  })

  it('counts slots in a window with a cap', () => {
    const r = fireTimesBetween(cron('* * * * *', 'UTC'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T01:00:00Z'), 10)
    expect(r.times).toHaveLength(10)
    expect(r.more).toBe(50)
  })

  it('classifies fixed-time expressions', () => {
    expect(parseCron('30 2 * * *').fixedTime).toBe(true)
    expect(parseCron('0 0,12 * * 1-5').fixedTime).toBe(true)
    expect(parseCron('*/15 * * * *').fixedTime).toBe(false)
    expect(parseCron('0 8-18 * * *').fixedTime).toBe(false)
    expect(parseCron('*/10 30 2 * * *').fixedTime).toBe(false)
  })

  it('rejects bad expressions with a useful message', () => {
    expect(() => parseCron('* * *')).toThrow(/expected 5 fields/)
    expect(() => parseCron('61 * * * *')).toThrow()
    expect(() => parseCron('0 0 32W * *')).toThrow(/out of range/)
    expect(() => parseCron('0 0 XW * *')).toThrow(/not valid/)
  })

})
