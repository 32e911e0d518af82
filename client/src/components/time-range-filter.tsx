'use client'
/**
 * The time range picker of the list filters (runs, audit log): a preset ("Last 24h"), a custom
 * from/to range in local time, or any time. The state lives in the caller's URL-backed filters.
 */
import { RANGES, type RangeKey } from '@/lib/run-filters'

export interface TimeRange {
  range: RangeKey | null
  from: string | null
  to: string | null
}

const toLocal = (iso: string | null) => (iso ? new Date(new Date(iso).getTime() - new Date().getTimezoneOffset() * 60e3).toISOString().slice(0, 16) : '')
const fromLocal = (v: string) => (v ? new Date(v).toISOString() : null)

export function TimeRangeFilter({ value, onChange }: { value: TimeRange; onChange(patch: Partial<TimeRange>): void }) {
  const selected = value.range ?? (value.from || value.to ? 'custom' : '')
  return (
    <>
      <select
        aria-label="Time range"
        value={selected}
        onChange={(e) => {
          const v = e.target.value
          if (v === 'custom') onChange({ range: null, from: value.from ?? new Date(Date.now() - 86400e3).toISOString(), to: value.to })
          else onChange({ range: (v || null) as RangeKey | null, from: null, to: null })
        }}
      >
        <option value="">Any time</option>
        {Object.keys(RANGES).map((k) => (
          <option key={k} value={k}>
            Last {k}
          </option>
        ))}
        <option value="custom">Custom range…</option>
      </select>
      {selected === 'custom' ? (
        <>
          <input type="datetime-local" aria-label="From" value={toLocal(value.from)} onChange={(e) => onChange({ from: fromLocal(e.target.value) })} />
          <input type="datetime-local" aria-label="To" value={toLocal(value.to)} onChange={(e) => onChange({ to: fromLocal(e.target.value) })} />
        </>
      ) : null}
    </>
  )
}
