'use client'
/**
 * The delivery log (admins only): every notification sent to a channel, with its attempts, the receiver's
 * last answer, the error and the timing; filters in the URL. The API has no delivery subscription, so the
 * log reloads when a run ends (jobRunsChanged: the run's final transition writes its deliveries) and, while
 * any delivery is still pending, every few seconds until it is delivered or given up. Redeliver sends a
 * delivered or failed one again as a new delivery.
 */
import Link from 'next/link'
import { usePathname, useRouter, useSearchParams } from 'next/navigation'
import { useEffect, useMemo, useRef, useState } from 'react'
import { useMutation, useQuery, useSubscription } from 'urql'
import { Icons } from '@/components/icons'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, Panel, RelativeTime, Skeleton, useNow } from '@/components/ui'
import { errorMessage, toFormErrors } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import {
  DELIVERY_STATUSES,
  deliveryStatusLabel,
  deliveryTiming,
  EMPTY_DELIVERY_FILTERS,
  eventLabel,
  hasDeliveryFilters,
  hasPendingDeliveries,
  matchesDeliveryFilters,
  NOTIFICATION_EVENTS,
  parseDeliveryFilters,
  serializeDeliveryFilters,
  statusCodeWords,
  type DeliveryFilterState,
} from '@/lib/notifications'
import { isFinal } from '@/features/runs/queries'
import { NotificationsFrame } from './notifications-frame'
import { DeliveriesQuery, RedeliverNotification, RunsEnding, type Delivery } from './queries'

const PAGE = 200
const PENDING_POLL_MS = 2000
const CTX_DELIVERIES = { additionalTypenames: ['NotificationDelivery'] }
const STATUS_CLASS: Record<string, string> = { DELIVERED: 'ok', FAILED: 'err', PENDING: 'info running' }

export function DeliveryLogPage() {
  useTitle('Delivery log')
  const params = useSearchParams()
  const router = useRouter()
  const pathname = usePathname()
  const qs = params.toString()
  const filters = useMemo(() => parseDeliveryFilters(new URLSearchParams(qs)), [qs])
  const setFilters = (next: DeliveryFilterState) => {
    const s = serializeDeliveryFilters(next)
    router.push(s ? `${pathname}?${s}` : pathname)
  }
  const [result, refetch] = useQuery({ query: DeliveriesQuery, variables: { first: PAGE, jobRunId: filters.runId }, context: CTX_DELIVERIES })
  const reload = useRef(() => {})
  reload.current = () => refetch({ requestPolicy: 'network-only' })

  // A run that ends may have written deliveries.
  const [ending] = useSubscription({ query: RunsEnding })
  const run = ending.data?.jobRunsChanged
  const endedKey = run && isFinal(run.status) ? `${run.id}:${run.status}` : null
  useEffect(() => {
    if (endedKey) reload.current()
  }, [endedKey])

  const all = result.data?.notificationDeliveries
  const pending = all ? hasPendingDeliveries(all) : false
  useEffect(() => {
    if (!pending) return
    const t = setInterval(() => reload.current(), PENDING_POLL_MS)
    return () => clearInterval(t)
  }, [pending])

  const rows = all?.filter((d) => matchesDeliveryFilters(d, filters))
  const channels = result.data?.notificationChannels ?? []
  const [redeliverState, redeliver] = useMutation(RedeliverNotification)
  const [redeliverError, setRedeliverError] = useState<string | null>(null)
  const [redelivering, setRedelivering] = useState<string | null>(null)
  const onRedeliver = async (d: Delivery) => {
    setRedeliverError(null)
    setRedelivering(d.id)
    const r = await redeliver({ id: d.id })
    setRedelivering(null)
    if (r.error) setRedeliverError(errorMessage(r.error))
    else reload.current()
  }

  return (
    <NotificationsFrame
      tab="deliveries"
      actions={
        <button className="btn" onClick={() => reload.current()} disabled={result.fetching}>
          <Icons.retry /> Refresh
        </button>
      }
    >
      <DeliveryFilters filters={filters} onChange={setFilters} channels={channels} />
      <ErrorAlert message={redeliverError} />
      <Panel flush>
        {result.error && !all ? (
          <div style={{ padding: 16 }}>
            <ErrorAlert message={toFormErrors(result.error).form ?? 'Could not load the delivery log.'} />
          </div>
        ) : !rows ? (
          <Skeleton rows={6} />
        ) : rows.length === 0 ? (
          hasDeliveryFilters(filters) ? (
            <EmptyState title="No deliveries match these filters" action={<button className="btn" onClick={() => setFilters(EMPTY_DELIVERY_FILTERS)}>Clear filters</button>}>
              Remove a filter to see more. New deliveries appear here when runs end.
            </EmptyState>
          ) : (
            <EmptyState title="Nothing delivered yet" icon={<Icons.inbox />} action={<Link className="btn" href="/notifications">Channels and rules</Link>}>
              When a run ends with an outcome a rule names, each of the rule’s channels gets a delivery, listed here with every attempt.
            </EmptyState>
          )
        ) : (
          <DeliveriesTable rows={rows} onRedeliver={(d) => void onRedeliver(d)} busyId={redeliverState.fetching ? redelivering : null} />
        )}
      </Panel>
      {all && all.length >= PAGE ? <div className="small muted">Showing the newest {PAGE} deliveries.</div> : null}
    </NotificationsFrame>
  )
}

function DeliveriesTable({ rows, onRedeliver, busyId }: { rows: readonly Delivery[]; onRedeliver(d: Delivery): void; busyId: string | null }) {
  const now = useNow(1000)
  return (
    <div className="table-scroll">
      <table className="table" data-testid="deliveries-table">
        <thead>
          <tr>
            <th>When</th>
            <th>Event</th>
            <th>Run</th>
            <th>Channel</th>
            <th>Status</th>
            <th className="num">Attempts</th>
            <th>Answer</th>
            <th>Error</th>
            <th>Timing</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id} data-delivery={d.id} data-status={d.status} data-event={d.event} data-channel={d.channel.name}>
              <td className="small nowrap" title={formatDateTime(d.createdAt)}>
                <RelativeTime iso={d.createdAt} />
              </td>
              <td className="nowrap">{eventLabel(d.event)}</td>
              <td className="small" style={{ minWidth: 160 }}>
                {d.jobRun ? (
                  <Link href={`/runs/${encodeURIComponent(d.jobRun.id)}`}>
                    #{d.jobRun.number} {d.jobRun.templateName}
                  </Link>
                ) : d.workflowRun ? (
                  <Link href={`/workflow-runs/${encodeURIComponent(d.workflowRun.id)}`}>
                    #{d.workflowRun.number} {d.workflowRun.workflowName}
                  </Link>
                ) : d.event === 'WORKER_DOWN' || d.event === 'WORKER_RECOVERED' ? (
                  <span className="faint">a worker (no run)</span>
                ) : (
                  <span className="faint">deleted run</span>
                )}
              </td>
              <td className="small">{d.channel.name}</td>
              <td>
                <span className={`badge ${STATUS_CLASS[d.status] ?? ''}`} data-testid="delivery-status">
                  {deliveryStatusLabel(d.status)}
                </span>
              </td>
              <td className="num" data-testid="delivery-attempts">
                {d.attempts}
              </td>
              <td className="small mono nowrap" data-testid="delivery-answer">
                {statusCodeWords(d.lastStatusCode, d.attempts)}
              </td>
              <td className="small truncate" style={{ maxWidth: 280 }} title={d.lastError ?? ''}>
                {d.lastError ?? <span className="faint">—</span>}
              </td>
              <td className="small nowrap">{deliveryTiming(d, now)}</td>
              <td className="actions">
                {d.status !== 'PENDING' ? (
                  <button
                    className="btn sm ghost"
                    onClick={() => onRedeliver(d)}
                    disabled={busyId === d.id}
                    title="Send it again as a new delivery"
                    aria-label={`Redeliver ${eventLabel(d.event).toLowerCase()}${d.jobRun ? ` of run #${d.jobRun.number}` : d.workflowRun ? ` of workflow run #${d.workflowRun.number}` : ''} to ${d.channel.name}`}
                  >
                    <Icons.retry /> {busyId === d.id ? 'Sending…' : 'Redeliver'}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function DeliveryFilters({ filters, onChange, channels }: { filters: DeliveryFilterState; onChange(f: DeliveryFilterState): void; channels: ReadonlyArray<{ id: string; name: string }> }) {
  const set = (patch: Partial<DeliveryFilterState>) => onChange({ ...filters, ...patch })
  return (
    <div className="stack" style={{ gap: 10 }}>
      <div className="status-toggles" role="group" aria-label="Status">
        {DELIVERY_STATUSES.map((s) => (
          <button
            key={s}
            type="button"
            className="toggle"
            aria-pressed={filters.statuses.includes(s)}
            data-delivery-status-filter={s}
            onClick={() => set({ statuses: filters.statuses.includes(s) ? filters.statuses.filter((x) => x !== s) : [...filters.statuses, s] })}
          >
            {deliveryStatusLabel(s)}
          </button>
        ))}
      </div>
      <div className="filters">
        <select aria-label="Event" value={filters.events[0] ?? ''} onChange={(e) => set({ events: e.target.value ? [e.target.value] : [] })}>
          <option value="">Every event</option>
          {NOTIFICATION_EVENTS.map((e) => (
            <option key={e} value={e}>
              {eventLabel(e)}
            </option>
          ))}
        </select>
        <select aria-label="Channel" value={filters.channelId ?? ''} onChange={(e) => set({ channelId: e.target.value || null })}>
          <option value="">Every channel</option>
          {channels.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
          {filters.channelId && !channels.some((c) => c.id === filters.channelId) ? <option value={filters.channelId}>(deleted channel)</option> : null}
        </select>
        {filters.runId ? (
          <button type="button" className="btn sm" onClick={() => set({ runId: null })} aria-label="Show every run's deliveries">
            One run only <Icons.x />
          </button>
        ) : null}
        {hasDeliveryFilters(filters) ? (
          <button type="button" className="btn ghost sm" onClick={() => onChange(EMPTY_DELIVERY_FILTERS)}>
            Clear filters
          </button>
        ) : null}
      </div>
    </div>
  )
}
