'use client'
/** Schedules: when templates run by themselves — timing in words, timezone, next run, pause/resume, run now. */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useEffect, useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { CreateButton, ListPageHeader, ResourceTable, RowActions } from '@/components/resource-table'
import { SearchBox, useDebouncedSearch } from '@/components/search-box'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, Panel, RelativeTime, useNow } from '@/components/ui'
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
  const query = useDebouncedSearch()
  const { search } = query
  const [active, setActive] = useState<'' | 'true' | 'false'>('')
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
  const deletion = useConfirmAction<Schedule>(DeleteScheduleMutation, { onDone: () => refetch({ requestPolicy: 'network-only' }) })
  const [error, setError] = useState<string | null>(null)
  // The switch flips at once; the row catches up when the mutation answers.
  const [flipping, setFlipping] = useState<Record<string, boolean>>({})

  return (
    <>
      <ListPageHeader title="Schedules" subtitle="Templates that run by themselves: cron, intervals, daily times or once." create={{ label: 'New schedule', href: '/schedules/new' }} />
      <div className="filters">
        <SearchBox label="Search schedules" placeholder="Search schedules…" search={query} />
        <select aria-label="State" value={active} onChange={(e) => setActive(e.target.value as '' | 'true' | 'false')}>
          <option value="">Active and paused</option>
          <option value="true">Active</option>
          <option value="false">Paused</option>
        </select>
      </div>
      <ErrorAlert message={error} />
      <Panel flush>
        <ResourceTable
          items={list}
          error={result.error}
          testId="schedules-table"
          scroll
          headers={['Name', 'Template', 'When', 'Next run', 'Last run', 'Active']}
          empty={
            search || active ? (
              <EmptyState title="No schedules match">Try another search or state.</EmptyState>
            ) : (
              <EmptyState title="No schedules yet" icon={<Icons.schedules />} action={<CreateButton label="Create a schedule" href="/schedules/new" />}>
                A schedule runs a template on a timetable — a cron expression, every N minutes, daily at a time, or once — in the timezone you choose.
              </EmptyState>
            )
          }
        >
          {(s) => (
            <tr key={s.id} data-schedule={s.name}>
              <td>
                <Link href={`/schedules/${s.id}`} style={{ fontWeight: 600 }}>
                  {s.name}
                </Link>
                <div className="small faint">{KIND_LABEL[s.kind]}</div>
              </td>
              <td>
                {s.template ? (
                  <Link href={`/templates/${s.template.id}`} className="small">
                    {s.template.name}
                  </Link>
                ) : s.workflow ? (
                  <Link href={`/workflows/${s.workflow.id}`} className="small">
                    workflow {s.workflow.name}
                  </Link>
                ) : null}
              </td>
              <td className="small" style={{ maxWidth: 260 }}>
                <div>{s.summary}</div>
                {s.kind === 'CRON' ? <div className="mono faint">{s.cronExpression}</div> : null}
                <div className="faint mono">{s.timezone}</div>
              </td>
              <td className="small" data-testid="next-run" style={{ minWidth: 140 }}>
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
              <RowActions name={s.name} editHref={`/schedules/${s.id}`} onDelete={() => deletion.ask(s)}>
                {s.workflow ? (
                  // A workflow schedule has no "run now" of its own (the API refuses it): run the workflow from its page.
                  <Link className="btn sm" href={`/workflows/${s.workflow.id}`} aria-label={`Run now: ${s.name} (opens workflow ${s.workflow.name})`} title="Runs are started from the workflow's page">
                    <Icons.play /> Run now…
                  </Link>
                ) : (
                <button
                  type="button"
                  className="btn sm"
                  aria-label={`Run now: ${s.name}`}
                  disabled={runState.fetching}
                  onClick={async () => {
                    setError(null)
                    const r = await runNow({ id: s.id })
                    if (r.data) router.push(`/runs/${r.data.runJobScheduleNow.id}`)
                    else setError(toFormErrors(r.error).form)
                  }}
                >
                  <Icons.play /> Run now
                </button>
                )}{' '}
              </RowActions>
            </tr>
          )}
        </ResourceTable>
      </Panel>
      <BlackoutsPanel />
      <ConfirmDialog {...deletion.dialog} title={`Delete schedule “${deletion.item?.name}”?`} confirmLabel="Delete schedule" danger>
        No more runs are started by it. Runs it already started keep their results.
      </ConfirmDialog>
    </>
  )
}
