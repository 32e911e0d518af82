/** Schedules in words, for lists and previews ("At 02:30 AM, only on Monday (Europe/Berlin)"). */
import { lazyModule } from '../util/lazy-module.ts'
import type { ScheduleSpec } from './fire-times.ts'

/** Loaded the first time a CRON schedule is described (util/lazy-module.ts). */
const cronstrue = lazyModule<typeof import('cronstrue')>('cronstrue')

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

function duration(seconds: number): string {
  const units: Array<[number, string]> = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']]
  for (const [size, name] of units) {
    if (seconds % size === 0) {
      const n = seconds / size
      return n === 1 ? name : `${n} ${name}s`
    }
  }
  return `${seconds} seconds`
}

export function describeSchedule(spec: ScheduleSpec): string {
  const t = spec.timing
  let text: string
  switch (t.kind) {
    case 'CRON':
      text = cronstrue().toString(t.expression, { use24HourTimeFormat: true, verbose: false, throwExceptionOnParseError: false })
      if (/W/i.test(t.expression.split(/\s+/).at(-3) ?? '') && /error/i.test(text)) text = `Cron "${t.expression}"`
      break
    case 'DAILY_AT':
      text = t.daysOfWeek.length ? `At ${t.time}, only on ${[...t.daysOfWeek].sort().map((d) => DAYS[d]).join(', ')}` : `Every day at ${t.time}`
      break
    case 'INTERVAL':
      text = `Every ${duration(t.everySeconds)}, counted from ${t.anchor.toISOString()}`
      break
    case 'ONCE':
      text = `Once, at ${t.at.replace('T', ' ')}`
      break
  }
  return `${text} (${spec.timezone})`
}
