/**
 * Validation of schedule input and conversion between stored rows and fire-time specs. Every
 * problem names its field; an expression that does not parse or a timezone that does not exist is
 * never stored.
 */
import { z } from 'zod'
import type { JobSchedule } from '../../generated/prisma/client.ts'
import { CronSyntaxError, parseCron } from '../../schedules/cron.ts'
import { nextFireTime, type ScheduleSpec } from '../../schedules/fire-times.ts'
import { isValidTimeZone, parseLocalDateTime } from '../../schedules/timezone.ts'

export const INTERVAL_UNITS = { SECONDS: 1, MINUTES: 60, HOURS: 3600 } as const

const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00-23:59)')
const weekday = z.number().int().min(0, '0 (Sunday) to 6 (Saturday)').max(6, '0 (Sunday) to 6 (Saturday)')

export const scheduleFields = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  description: z.string().max(5000).default(''),
  // Exactly one of the two (checked with the stored row on update, see schedules.service.ts).
  templateId: z.uuid().nullish(),
  workflowId: z.uuid().nullish(),
  kind: z.enum(['CRON', 'INTERVAL', 'DAILY_AT', 'ONCE']),
  cronExpression: z.string().trim().nullish(),
  intervalEvery: z.number().int().min(1, 'must be at least 1').nullish(),
  intervalUnit: z.enum(['SECONDS', 'MINUTES', 'HOURS']).nullish(),
  dailyTime: time.nullish(),
  daysOfWeek: z.array(weekday).max(7).default([]),
  onceAt: z.string().nullish(),
  timezone: z.string().trim().min(1).optional(),
  startAt: z.date().nullish(),
  endAt: z.date().nullish(),
  active: z.boolean().default(true),
  parameters: z.record(z.string(), z.unknown()).default({}),
  misfirePolicy: z.enum(['SKIP', 'RUN_ONCE', 'RUN_ALL']).default('SKIP'),
  misfireGraceSeconds: z.number().int().min(1).max(86400).default(60),
  misfireMaxRuns: z.number().int().min(1).max(1000).default(10),
  overlapPolicy: z.enum(['ALLOW', 'SKIP', 'QUEUE', 'CANCEL_PREVIOUS']).nullish(),
  visibility: z.enum(['GLOBAL', 'PRIVATE']).default('PRIVATE'),
  blackoutIds: z.array(z.uuid()).max(50).default([]),
})
export type ScheduleFields = z.output<typeof scheduleFields>

export interface TimingFields {
  kind: 'CRON' | 'INTERVAL' | 'DAILY_AT' | 'ONCE'
  cronExpression?: string | null
  intervalSeconds?: number | null
  dailyTime?: string | null
  daysOfWeek: number[]
  onceAt?: string | null
  timezone: string
  startAt?: Date | null
  endAt?: Date | null
}

/** Checks the timing fields of a (merged) schedule; returns problems keyed by input field. */
export function timingProblems(f: TimingFields): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = []
  if (!isValidTimeZone(f.timezone)) problems.push({ field: 'input.timezone', message: `unknown IANA timezone "${f.timezone}"` })
  const need = (field: keyof TimingFields, label: string) => {
    if (f[field] === null || f[field] === undefined || f[field] === '') problems.push({ field: `input.${field}`, message: `required for a ${label} schedule` })
  }
  switch (f.kind) {
    case 'CRON':
      need('cronExpression', 'CRON')
      if (f.cronExpression) {
        try {
          parseCron(f.cronExpression)
        } catch (e) {
          problems.push({ field: 'input.cronExpression', message: e instanceof CronSyntaxError ? e.message : 'not a valid cron expression' })
        }
      }
      break
    case 'INTERVAL':
      if (!f.intervalSeconds) problems.push({ field: 'input.intervalEvery', message: 'required for an INTERVAL schedule' })
      else if (f.intervalSeconds > 366 * 86400) problems.push({ field: 'input.intervalEvery', message: 'at most one year' })
      break
    case 'DAILY_AT':
      need('dailyTime', 'DAILY_AT')
      break
    case 'ONCE':
      need('onceAt', 'ONCE')
      if (f.onceAt && parseLocalDateTime(f.onceAt) === null) problems.push({ field: 'input.onceAt', message: 'must be a local date-time YYYY-MM-DDTHH:MM[:SS] (in the schedule\'s timezone)' })
      break
  }
  if (f.startAt && f.endAt && f.endAt <= f.startAt) problems.push({ field: 'input.endAt', message: 'must be after startAt' })
  return problems
}

export function specOf(f: TimingFields & { createdAt?: Date }): ScheduleSpec {
  const base = { timezone: f.timezone, startAt: f.startAt ?? null, endAt: f.endAt ?? null }
  switch (f.kind) {
    case 'CRON':
      return { ...base, timing: { kind: 'CRON', expression: f.cronExpression! } }
    case 'DAILY_AT':
      return { ...base, timing: { kind: 'DAILY_AT', time: f.dailyTime!, daysOfWeek: f.daysOfWeek } }
    case 'INTERVAL':
      // Anchored to the start time (set to the creation time when none was given).
      return { ...base, timing: { kind: 'INTERVAL', everySeconds: f.intervalSeconds!, anchor: f.startAt ?? f.createdAt ?? new Date(0) } }
    case 'ONCE':
      return { ...base, timing: { kind: 'ONCE', at: f.onceAt! } }
  }
}

export function scheduleSpec(row: JobSchedule): ScheduleSpec {
  return specOf(row)
}

export function firstSlotAfter(row: TimingFields, after: Date): Date | null {
  return nextFireTime(specOf(row), after)
}
