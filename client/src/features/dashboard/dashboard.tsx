'use client'
/**
 * The operations overview: the last 24 hours by status, success rate, durations and runs per hour (all
 * from the server's jobRunStats), runs in progress with live progress, and recent failures — kept
 * current by the jobRunsChanged feed (each change updates the lists at once and refreshes the
 * statistics, at most every few seconds).
 */
import Link from 'next/link'
import { useEffect, useMemo, useRef, useState } from 'react'
import { useQuery, useSubscription } from 'urql'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { SCHEDULES_AVAILABLE, useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, Panel, plural, RelativeTime, Skeleton, STATUS_COLOR, StatusBadge, statusLabel } from '@/components/ui'
import { toFormErrors } from '@/lib/errors'
import { formatDuration, formatPercent } from '@/lib/format'
import { graphql } from '@/lib/graphql'
import { countsByStatus, last24HoursSince } from '@/lib/run-stats'
import { HourlyStrip } from './hourly-strip'
import { isFinal, RunRowFragment, RunsChangedSubscription, type RunRow } from '@/features/runs/queries'
import { UpcomingSchedulesQuery } from '@/features/schedules/queries'
import { formatDateTime } from '@/lib/format'
import { RunsTable } from '@/features/runs/runs-table'
import { WorkflowRunsPanel } from '@/features/workflows/workflow-runs-panel'

const DashboardQuery = graphql(
  `
  query Dashboard($since: DateTime!) {
    stats: jobRunStats(filter: { since: $since, bucket: HOUR }) {
      total succeeded failed successRate
      byStatus { status count }
      duration { count avgMs p50Ms p95Ms }
      buckets { start total succeeded failed }
    }
    active: jobRuns(filter: { statuses: [RUNNING, QUEUED] }, first: 25) { edges { node { ...RunRow } } }
    failures: jobRuns(filter: { statuses: [FAILED, TIMED_OUT] }, first: 8) { edges { node { ...RunRow } } }
  }
`,
  [RunRowFragment],
)

const STATUS_ORDER = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'RUNNING', 'QUEUED'] as const
const REFRESH_MIN_MS = 3000

export function Dashboard() {
  useTitle('Dashboard')
  const { session } = useSessionContext()
  // The window is the 24 UTC hours up to now (the current one included); `since` changes once an hour.
  const [since, setSince] = useState(() => last24HoursSince())
  const [result, reexecute] = useQuery({ query: DashboardQuery, variables: { since } })
  const [changes, setChanges] = useState<Map<string, RunRow>>(new Map())
  const current = useRef({ since, reexecute })
  current.current = { since, reexecute }

  // Refresh the statistics after changes, throttled; the rolling 24 h window moves with it.
  const lastRefresh = useRef(0)
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null)
  const scheduleRefresh = () => {
    if (pending.current) return
    const wait = Math.max(0, lastRefresh.current + REFRESH_MIN_MS - Date.now())
    pending.current = setTimeout(() => {
      pending.current = null
      lastRefresh.current = Date.now()
      // A new hour moves the window (new variables fetch from the network); within the hour, refetch.
      // The previous numbers stay up meanwhile (see `data`).
      const next = last24HoursSince()
      if (next !== current.current.since) setSince(next)
      else current.current.reexecute({ requestPolicy: 'network-only' })
    }, wait)
  }
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), [])
  useEffect(() => {
    const t = setInterval(scheduleRefresh, 60_000)
    return () => clearInterval(t)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])

  useSubscription({ query: RunsChangedSubscription, variables: { filter: null } }, (_p, data) => {
    const run = data.jobRunsChanged
    setChanges((m) => new Map(m).set(run.id, run))
    scheduleRefresh()
    return data
  })

  // Keep showing the last numbers while a refresh for a moved window is on its way.
  const lastData = useRef(result.data)
  if (result.data) lastData.current = result.data
  const data = result.data ?? lastData.current
  const merge = (list: readonly RunRow[], keep: (r: RunRow) => boolean) => {
    const byId = new Map(list.map((r) => [r.id, r]))
    for (const r of changes.values()) {
      const known = byId.get(r.id)
      if (!known || Date.parse(r.updatedAt) >= Date.parse(known.updatedAt)) byId.set(r.id, r)
    }
    return [...byId.values()].filter(keep).sort((a, b) => b.number - a.number)
  }
  const active = useMemo(() => (data ? merge(data.active.edges.map((e) => e.node), (r) => !isFinal(r.status)) : null), [data, changes]) // eslint-disable-line react-hooks/exhaustive-deps
  const failures = useMemo(() => (data ? merge(data.failures.edges.map((e) => e.node), (r) => r.status === 'FAILED' || r.status === 'TIMED_OUT').slice(0, 8) : null), [data, changes]) // eslint-disable-line react-hooks/exhaustive-deps

  if (result.error && !data) return <ErrorAlert message={toFormErrors(result.error).form} />
  if (!data || !active || !failures) return <Skeleton rows={8} />

  const { stats } = data
  const byStatus = countsByStatus(stats.byStatus)
  const counts = Object.fromEntries(STATUS_ORDER.map((s) => [s, byStatus[s] ?? 0])) as Record<(typeof STATUS_ORDER)[number], number>
  const decided = stats.succeeded + stats.failed
  const { duration } = stats
  const max = Math.max(1, ...Object.values(counts))

  return (
    <>
      <div className="page-head">
        <div className="titles">
          <h1>Good {greeting()}, {session.user.username}</h1>
          <div className="subtitle">The last 24 hours across every template you can see. Updates live.</div>
        </div>
      </div>
      <div className="grid-4">
        <Stat label="Runs (24 h)" value={stats.total.toLocaleString()} sub={<Link href="/runs?range=24h">View all →</Link>} />
        <Stat
          label="Success rate"
          value={formatPercent(stats.successRate == null ? null : stats.successRate * 100, 1)}
          sub={decided ? `${stats.succeeded} of ${decided} finished` : 'No finished runs yet'}
          testId="success-rate"
        />
        <Stat
          label="Average duration"
          value={duration.avgMs == null ? '—' : formatDuration(duration.avgMs)}
          sub={duration.count ? `p50 ${formatDuration(duration.p50Ms)} · p95 ${formatDuration(duration.p95Ms)} · ${duration.count} run${duration.count === 1 ? '' : 's'}` : '—'}
          testId="avg-duration"
        />
        <Stat label="In progress" value={String(active.length)} sub={`${counts.RUNNING} running · ${counts.QUEUED} queued (24 h)`} testId="in-progress" />
      </div>
      <div className="grid-2" style={{ gridTemplateColumns: 'minmax(0, 1fr) minmax(0, 2fr)' }}>
        <Panel title="By status (24 h)">
          <div className="status-bars">
            {STATUS_ORDER.map((s) => (
              <Link key={s} href={`/runs?status=${s}&range=24h`} className="status-bar-row" style={{ color: 'inherit', textDecoration: 'none' }}>
                <span>{statusLabel(s)}</span>
                <span className="track">
                  <span className="fill" style={{ display: 'block', width: `${(counts[s] / max) * 100}%`, background: STATUS_COLOR[s] }} />
                </span>
                <span className="num" style={{ textAlign: 'right' }} data-testid={`count-${s}`}>
                  {counts[s]}
                </span>
              </Link>
            ))}
          </div>
          <HourlyStrip buckets={stats.buckets} />
        </Panel>
        <Panel title="Running now" flush actions={<Link className="small" href="/runs?status=RUNNING,QUEUED">All in progress →</Link>}>
          {active.length ? (
            <RunsTable runs={active} compact />
          ) : (
            <EmptyState title="Nothing running" icon={<Icons.runs />}>
              Runs in progress show here with live progress. Start one from <Link href="/templates">Templates</Link>.
            </EmptyState>
          )}
        </Panel>
      </div>
      <div className="grid-2" style={{ gridTemplateColumns: SCHEDULES_AVAILABLE ? 'minmax(0, 3fr) minmax(0, 2fr)' : '1fr' }}>
        <Panel title="Recent failures" flush actions={<Link className="small" href="/runs?status=FAILED,TIMED_OUT">All failures →</Link>}>
          {failures.length ? (
            <table className="table" data-testid="recent-failures" style={{ tableLayout: 'fixed' }}>
              <colgroup>
                <col style={{ width: 64 }} />
                <col style={{ width: '30%' }} />
                <col style={{ width: 104 }} />
                <col />
                <col style={{ width: 80 }} />
              </colgroup>
              <tbody>
                {failures.map((r) => (
                  <tr key={r.id}>
                    <td className="nowrap">
                      <Link className="mono" href={`/runs/${r.id}`}>
                        #{r.number}
                      </Link>
                    </td>
                    <td className="truncate" style={{ fontWeight: 550 }} title={r.templateName}>
                      {r.templateName}
                    </td>
                    <td>
                      <StatusBadge status={r.status} />
                    </td>
                    <td className="small muted truncate" title={r.error ?? ''}>
                      {r.error ?? `${r.progress.failed} of ${plural(r.progress.total, 'target')} failed`}
                    </td>
                    <td className="small nowrap">
                      <RelativeTime iso={r.finishedAt ?? r.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <EmptyState title="No failures" icon={<Icons.shield />}>
              Failed and timed-out runs show here.
            </EmptyState>
          )}
        </Panel>
        {SCHEDULES_AVAILABLE ? <NextScheduledRuns refreshKey={stats.total} /> : null}
      </div>
      <WorkflowRunsPanel />
    </>
  )
}

function NextScheduledRuns({ refreshKey }: { refreshKey: number }) {
  const [result, refetch] = useQuery({ query: UpcomingSchedulesQuery })
  // Each new run may have been a schedule firing: its next slot moved on.
  useEffect(() => {
    refetch({ requestPolicy: 'network-only' })
  }, [refreshKey, refetch])
  useEffect(() => {
    const t = setInterval(() => refetch({ requestPolicy: 'network-only' }), 30_000)
    return () => clearInterval(t)
  }, [refetch])
  const upcoming = (result.data?.jobSchedules ?? []).filter((s) => s.nextRunAt).slice(0, 8)
  return (
    <Panel title="Next scheduled runs" flush actions={<Link className="small" href="/schedules">All schedules →</Link>}>
      {!result.data ? (
        <Skeleton rows={3} />
      ) : upcoming.length ? (
        <table className="table" data-testid="next-scheduled">
          <tbody>
            {upcoming.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link href={`/schedules/${s.id}`} style={{ fontWeight: 550 }}>
                    {s.name}
                  </Link>
                  <div className="small faint">{s.template?.name ?? (s.workflow ? `workflow ${s.workflow.name}` : '')}</div>
                </td>
                <td className="small muted">{s.summary}</td>
                <td className="small nowrap" title={formatDateTime(s.nextRunAt)}>
                  <RelativeTime iso={s.nextRunAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <EmptyState title="Nothing scheduled" icon={<Icons.schedules />}>
          Active schedules show their next run here. <Link href="/schedules/new">Create a schedule</Link>.
        </EmptyState>
      )}
    </Panel>
  )
}

function Stat({ label, value, sub, testId }: { label: string; value: string; sub?: React.ReactNode; testId?: string }) {
  return (
    <section className="panel stat">
      <span className="label">{label}</span>
      <span className="value" data-testid={testId}>
        {value}
      </span>
      {sub ? <span className="sub">{sub}</span> : null}
    </section>
  )
}

function greeting(): string {
  const h = new Date().getHours()
  return h < 12 ? 'morning' : h < 18 ? 'afternoon' : 'evening'
}
