'use client'
/** A bar per hour of the dashboard window (from jobRunStats buckets): succeeded, failed and other runs, stacked. */
import { STATUS_COLOR } from '@/components/ui'
import { formatHourMinute } from '@/lib/format'
import { hourBars } from '@/lib/run-stats'

export function HourlyStrip({ buckets }: { buckets: ReadonlyArray<{ start: string; total: number; succeeded: number; failed: number }> }) {
  const bars = hourBars(buckets, formatHourMinute)
  if (!bars.length) return null
  return (
    <figure style={{ margin: '16px 0 0' }}>
      <ol
        aria-label="Runs per hour, last 24 hours"
        data-testid="hourly-strip"
        style={{ display: 'flex', alignItems: 'flex-end', gap: 2, height: 56, listStyle: 'none', margin: 0, padding: 0 }}
      >
        {bars.map((b) => (
          <li key={b.start} title={b.label} aria-label={b.label} style={{ flex: 1, minWidth: 0, height: '100%', display: 'flex', alignItems: 'flex-end' }}>
            <span
              aria-hidden="true"
              style={{ display: 'flex', flexDirection: 'column-reverse', width: '100%', height: `${b.heightPct}%`, minHeight: 2, borderRadius: 2, overflow: 'hidden', background: 'var(--muted-soft)' }}
            >
              <span style={{ flex: b.succeeded, background: STATUS_COLOR.SUCCEEDED }} />
              <span style={{ flex: b.failed, background: STATUS_COLOR.FAILED }} />
              <span style={{ flex: b.other, background: 'var(--text-faint)' }} />
            </span>
          </li>
        ))}
      </ol>
      <figcaption className="small faint" style={{ display: 'flex', justifyContent: 'space-between', marginTop: 4 }}>
        <span>{formatHourMinute(bars[0]!.start)}</span>
        <span>Runs per hour</span>
        <span>now</span>
      </figcaption>
    </figure>
  )
}
