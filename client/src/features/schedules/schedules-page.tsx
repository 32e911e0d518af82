'use client'
/** Schedules: when templates run by themselves — timing in words, timezone, next run, pause/resume, run now. */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useEffect, useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { ConfirmDialog } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, PageHeader, Panel, RelativeTime, Skeleton, useNow } from '@/components/ui'
import { toFormErrors } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { formatInZone } from '@/lib/schedule-form'
import { BlackoutsPanel } from './blackouts-panel'
import { DeleteScheduleMutation, RunScheduleNowMutation, SchedulesQuery, SetScheduleActiveMutation, type Schedule } from './queries'

const CTX_SCHEDULE = { additionalTypenames: ['JobSchedule'] }
export const KIND_LABEL: Record<string, string> = { CRON: 'Cron', INTERVAL: 'Interval', DAILY_AT: 'Daily', ONCE: 'Once' }

export function SchedulesPage() {
  useTitle('Schedules')
  const { canWrite } = useSessionContext()
  const router = useRouter()
  const [searchInput, setSearchInput] = useState('')
  const [search, setSearch] = useState('')
  const [active, setActive] = useState<'' | 'true' | 'false'>('')
  useEffect(() => {
    const t = setTimeout(() => setSearch(searchInput.trim()), 200)
    return () => clearTimeout(t)
  }, [searchInput])
  const [result, refetch] = useQuery({ query: SchedulesQuery, variables: { search: search || null, active: active === '' ? null : active === 'true' }, context: CTX_SCHEDULE })
  // Next-run times move on by themselves: refresh once a minute and whenever one passes.
  const now = useNow(15_000)
  const list = result.data?.jobSchedules
  const due = list?.some((s) => s.nextRunAt && Date.parse(s.nextRunAt) < now)
  useEffect(() => {
    const t = setInterval(() => refetch({ requestPolicy: 'network-only' }), 60_000)
    return () => clearInterval(t)
  }, [refetch])
  useEffect(() => {
    if (due) {
      const t = setTimeout(() => refetch({ requestPolicy: 'network-only' }), 1500)
      return () => clearTimeout(t)
    }
  }, [due, now, refetch])

  const [, setActiveMutation] = useMutation(SetScheduleActiveMutation)
  const [runState, runNow] = useMutation(RunScheduleNowMutation)
  const [delState, del] = useMutation(DeleteScheduleMutation)
  const [deleting, setDeleting] = useState<Schedule | null>(null)
  const [error, setError] = useState<string | null>(null)
  // The switch flips at once; the row catches up when the mutation answers.
  const [flipping, setFlipping] = useState<Record<string, boolean>>({})

  return (
    <>
      <PageHeader
        title="Schedules"
        subtitle="Templates that run by themselves: cron, intervals, daily times or once."
        actions={
          canWrite ? (
            <Link className="btn primary" href="/schedules/new">
              <Icons.plus /> New schedule
            </Link>
          ) : null
        }
      />
      <div className="filters">
        <input type="search" placeholder="Search schedules…" aria-label="Search schedules" value={searchInput} onChange={(e) => setSearchInput(e.target.value)} style={{ minWidth: 260 }} />
        <select aria-label="State" value={active} onChange={(e) => setActive(e.target.value as '' | 'true' | 'false')}>
          <option value="">Active and paused</option>
          <option value="true">Active</option>
          <option value="false">Paused</option>
        </select>
      </div>
      <ErrorAlert message={error} />
      <Panel flush>
        {result.error && !list ? (
          <div style={{ padding: 16 }}>
            <ErrorAlert message={toFormErrors(result.error).form} />
          </div>
        ) : !list ? (
          <Skeleton />
        ) : list.length === 0 ? (
          search || active ? (
            <EmptyState title="No schedules match">Try another search or state.</EmptyState>
          ) : (
            <EmptyState
              title="No schedules yet"
              icon={<Icons.schedules />}
              action={canWrite ? <Link className="btn primary" href="/schedules/new"><Icons.plus /> Create a schedule</Link> : null}
            >
              A schedule runs a template on a timetable — a cron expression, every N minutes, daily at a time, or once — in the timezone you choose.
            </EmptyState>
          )
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="schedules-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Template</th>
                  <th>When</th>
                  <th>Timezone</th>
                  <th>Next run</th>
                  <th>Last run</th>
                  <th>Active</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <tr key={s.id} data-schedule={s.name}>
                    <td>
                      <Link href={`/schedules/${s.id}`} style={{ fontWeight: 600 }}>
                        {s.name}
                      </Link>
                      <div className="small faint">{KIND_LABEL[s.kind]}</div>
                    </td>
                    <td>
                      <Link href={`/templates/${s.template.id}`} className="small">
                        {s.template.name}
                      </Link>
                    </td>
                    <td className="small" style={{ maxWidth: 280 }}>
                      <div>{s.summary}</div>
                      {s.kind === 'CRON' ? <div className="mono faint">{s.cronExpression}</div> : null}
                    </td>
                    <td className="small mono">{s.timezone}</td>
                    <td className="small nowrap" data-testid="next-run">
                      {s.nextRunAt ? (
                        <span title={formatDateTime(s.nextRunAt)}>
                          <RelativeTime iso={s.nextRunAt} />
                          <div className="faint">{formatInZone(s.nextRunAt, s.timezone)}</div>
                        </span>
                      ) : (
                        <span className="faint">{s.active ? 'finished' : 'paused'}</span>
                      )}
                    </td>
                    <td className="small nowrap">
                      <RelativeTime iso={s.lastRunAt} />
                    </td>
                    <td>
                      <label className="check" title={s.active ? 'Pause' : 'Resume'}>
                        <input
                          type="checkbox"
                          role="switch"
                          aria-label={`${s.name} active`}
                          checked={flipping[s.id] ?? s.active}
                          disabled={!canWrite || s.id in flipping}
                          onChange={async (e) => {
                            const next = e.target.checked
                            setError(null)
                            setFlipping((f) => ({ ...f, [s.id]: next }))
                            const r = await setActiveMutation({ id: s.id, active: next })
                            if (r.error) setError(toFormErrors(r.error).form)
                            setFlipping(({ [s.id]: _, ...rest }) => rest)
                          }}
                        />
                        <span className="small">{(flipping[s.id] ?? s.active) ? 'Active' : 'Paused'}</span>
                      </label>
                    </td>
                    <td className="actions">
                      {canWrite ? (
                        <>
                          <button
                            className="btn sm"
                            disabled={runState.fetching}
                            onClick={async () => {
                              setError(null)
                              const r = await runNow({ id: s.id })
                              if (r.data) router.push(`/runs/${r.data.runJobScheduleNow.id}`)
                              else setError(toFormErrors(r.error).form)
                            }}
                          >
                            <Icons.play /> Run now
                          </button>{' '}
                          <Link className="btn sm ghost icon" href={`/schedules/${s.id}`} aria-label={`Edit ${s.name}`}>
                            <Icons.edit />
                          </Link>
                          <button className="btn sm ghost icon" aria-label={`Delete ${s.name}`} onClick={() => setDeleting(s)}>
                            <Icons.trash />
                          </button>
                        </>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
      <BlackoutsPanel />
      <ConfirmDialog
        open={!!deleting}
        title={`Delete schedule “${deleting?.name}”?`}
        confirmLabel="Delete schedule"
        danger
        busy={delState.fetching}
        error={delState.error ? toFormErrors(delState.error).form : null}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          const r = await del({ id: deleting!.id })
          if (!r.error) {
            setDeleting(null)
            refetch({ requestPolicy: 'network-only' })
          }
        }}
      >
        No more runs are started by it. Runs it already started keep their results.
      </ConfirmDialog>
    </>
  )
}
