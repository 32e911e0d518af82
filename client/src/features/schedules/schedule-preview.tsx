'use client'
/**
 * The schedule form's live preview: the timing in words and the next fire times in its timezone. A
 * paused schedule fires never, so it says so instead of listing times (those are shown as "when resumed").
 */
import { Panel, Spinner } from '@/components/ui'
import type { FormErrors } from '@/lib/errors'
import { formatRelative } from '@/lib/format'
import { formatInZone } from '@/lib/schedule-form'

export function SchedulePreview({
  fetching,
  result,
  errors,
  timezone,
  paused,
}: {
  fetching: boolean
  result: { description: string; upcoming: readonly string[] } | null
  errors: FormErrors
  timezone: string
  paused?: boolean
}) {
  return (
    <Panel title="Next runs" actions={fetching ? <Spinner /> : null}>
      {paused ? (
        <div className="alert neutral" data-testid="schedule-paused" style={{ marginBottom: 10 }}>
          <strong>Paused</strong> — this schedule starts no runs until it is made active again.
          {result?.upcoming.length ? ' When resumed, the next runs would be:' : ''}
        </div>
      ) : null}
      <div className="stack" data-testid="schedule-preview" style={{ gap: 10 }}>
        {result ? (
          <>
            <div style={{ fontWeight: 550 }} data-testid="schedule-description">
              {result.description}
            </div>
            {result.upcoming.length ? (
              <ol className={`stack small${paused ? ' muted' : ''}`} style={{ gap: 6, margin: 0, paddingLeft: 18 }} aria-label={paused ? 'Next runs when resumed' : 'Next runs'}>
                {result.upcoming.map((t) => (
                  <li key={t} data-testid={paused ? 'upcoming-when-resumed' : 'upcoming'}>
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
