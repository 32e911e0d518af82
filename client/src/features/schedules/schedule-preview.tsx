'use client'
/** The schedule form's live preview: the timing in words and the next fire times in its timezone. */
import { Panel, Spinner } from '@/components/ui'
import type { FormErrors } from '@/lib/errors'
import { formatRelative } from '@/lib/format'
import { formatInZone } from '@/lib/schedule-form'

export function SchedulePreview({
  fetching,
  result,
  errors,
  timezone,
}: {
  fetching: boolean
  result: { description: string; upcoming: readonly string[] } | null
  errors: FormErrors
  timezone: string
}) {
  return (
    <Panel title="Next runs" actions={fetching ? <Spinner /> : null}>
      <div className="stack" data-testid="schedule-preview" style={{ gap: 10 }}>
        {result ? (
          <>
            <div style={{ fontWeight: 550 }} data-testid="schedule-description">
              {result.description}
            </div>
            {result.upcoming.length ? (
              <ol className="stack small" style={{ gap: 6, margin: 0, paddingLeft: 18 }}>
                {result.upcoming.map((t) => (
                  <li key={t} data-testid="upcoming">
                    <div className="mono">{formatInZone(t, timezone || 'UTC')}</div>
                    <div className="faint">{formatRelative(t)}</div>
                  </li>
                ))}
              </ol>
            ) : (
              <span className="muted small">No upcoming runs.</span>
            )}
          </>
        ) : errors.form || Object.keys(errors.fields).length ? (
          <span className="small" style={{ color: 'var(--err)' }}>
            {errors.form ?? 'Fix the highlighted fields to see the next runs.'}
          </span>
        ) : (
          <Spinner label="Computing…" />
        )}
      </div>
    </Panel>
  )
}
