'use client'
/**
 * The runs table: filters in the URL, cursor pages, and live — runs created or changed while the page
 * is open (jobRunsChanged) are merged in, new ones at the top of the first page.
 */
import Link from 'next/link'
import { usePathname, useRouter, useSearchParams } from 'next/navigation'
import { useEffect, useMemo, useRef, useState } from 'react'
import { useQuery, useSubscription } from 'urql'
import { TimeRangeFilter } from '@/components/time-range-filter'
import { SCHEDULES_AVAILABLE, useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, PageHeader, Panel, Skeleton, STATUS_COLOR, statusLabel, triggerLabel } from '@/components/ui'
import { Icons } from '@/components/icons'
import { toFormErrors } from '@/lib/errors'
import { graphql } from '@/lib/graphql'
import {
  hasFilters,
  matchesFilters,
  parseRunFilters,
  RUN_STATUSES,
  RUN_TRIGGERS,
  serializeRunFilters,
  toApiFilter,
  updateFilters,
  EMPTY_FILTERS,
  type RunFilterState,
} from '@/lib/run-filters'
import { RunsChangedSubscription, RunsQuery, type RunRow } from './queries'
import { RunsTable } from './runs-table'

const PAGE_SIZE = 50

const FilterOptionsQuery = graphql(`
  query RunFilterOptions {
    jobTypes { type label }
    jobTemplates { id name }
    jobSchedules { id name }
  }
`)

export function RunsPage() {
  useTitle('Runs')
  const params = useSearchParams()
  const router = useRouter()
  const pathname = usePathname()
  const qs = params.toString()
  const filters = useMemo(() => parseRunFilters(new URLSearchParams(qs)), [qs])
  // "Last 24 h" is fixed when the filters are chosen, so the query does not change on every render.
  const apiFilter = useMemo(() => toApiFilter(filters), [filters])
  const setFilters = (next: RunFilterState) => {
    const s = serializeRunFilters(next)
    router.push(s ? `${pathname}?${s}` : pathname)
  }

  const [result] = useQuery({ query: RunsQuery, variables: { filter: apiFilter, first: PAGE_SIZE, after: filters.after } })
  const [options] = useQuery({ query: FilterOptionsQuery })

  // Live: every visible run change (status and time are matched here, so a run that stops matching leaves).
  const liveFilter = useMemo(() => {
    const { statuses: _s, createdAfter: _a, createdBefore: _b, ...rest } = apiFilter
    return rest
  }, [apiFilter])
  const [live, setLive] = useState<Map<string, RunRow>>(new Map())
  const [flash, setFlash] = useState<Set<string>>(new Set())
  useEffect(() => setLive(new Map()), [qs])
  useSubscription({ query: RunsChangedSubscription, variables: { filter: liveFilter } }, (_prev, data) => {
    const run = data.jobRunsChanged
    setLive((m) => new Map(m).set(run.id, run))
    return data
  })

  const pageRuns = result.data?.jobRuns.edges.map((e) => e.node)
  const rows = useMemo(() => {
    if (!pageRuns) return null
    const byId = new Map(pageRuns.map((r) => [r.id, r]))
    const added: RunRow[] = []
    for (const r of live.values()) {
      const known = byId.get(r.id)
      if (known) {
        if (Date.parse(r.updatedAt) >= Date.parse(known.updatedAt)) byId.set(r.id, r)
      } else if (!filters.after) added.push(r)
    }
    const merged = [...added.sort((a, b) => b.number - a.number), ...pageRuns.map((r) => byId.get(r.id)!)]
    const now = Date.now()
    return merged.filter((r) => !live.has(r.id) || matchesFilters(r, filters, now))
  }, [pageRuns, live, filters])

  // Briefly highlight rows that just appeared.
  const seen = useRef<Set<string> | null>(null)
  useEffect(() => {
    if (!rows) return
    if (!seen.current) {
      seen.current = new Set(rows.map((r) => r.id))
      return
    }
    const fresh = rows.filter((r) => !seen.current!.has(r.id)).map((r) => r.id)
    fresh.forEach((id) => seen.current!.add(id))
    if (fresh.length) {
      setFlash(new Set(fresh))
      const t = setTimeout(() => setFlash(new Set()), 1600)
      return () => clearTimeout(t)
    }
  }, [rows])
  useEffect(() => {
    seen.current = null
  }, [qs])

  const total = result.data ? result.data.jobRuns.totalCount + (rows ? rows.length - (pageRuns?.length ?? 0) : 0) : null
  const pageInfo = result.data?.jobRuns.pageInfo

  return (
    <>
      <PageHeader title="Runs" subtitle={total != null ? `${total.toLocaleString()} run${total === 1 ? '' : 's'}${hasFilters(filters) ? ' match the filters' : ''}` : ' '} />
      <RunFilters filters={filters} onChange={setFilters} jobTypes={options.data?.jobTypes ?? []} templates={options.data?.jobTemplates ?? []} schedules={options.data?.jobSchedules ?? []} />
      <Panel flush>
        {result.error && !result.data ? (
          <div style={{ padding: 16 }}>
            <ErrorAlert message={toFormErrors(result.error).form ?? 'Could not load runs.'} />
          </div>
        ) : !rows ? (
          <Skeleton rows={8} />
        ) : rows.length === 0 ? (
          hasFilters(filters) ? (
            <EmptyState title="No runs match these filters" action={<button className="btn" onClick={() => setFilters(EMPTY_FILTERS)}>Clear filters</button>}>
              Widen the time range or remove a filter. New matching runs appear here as they start.
            </EmptyState>
          ) : (
            <EmptyState title="No runs yet" icon={<Icons.runs />} action={<Link className="btn primary" href="/templates">Go to templates</Link>}>
              Runs appear here live as they are triggered. Start one with “Run now” on a template.
            </EmptyState>
          )
        ) : (
          <RunsTable runs={rows} flash={flash} />
        )}
      </Panel>
      {filters.after || pageInfo?.hasNextPage ? (
        <div className="row">
          {filters.after ? (
            <button className="btn" onClick={() => setFilters({ ...filters, after: null })}>
              ← Newest
            </button>
          ) : null}
          <span className="grow" />
          {pageInfo?.hasNextPage && pageInfo.endCursor ? (
            <button className="btn" onClick={() => setFilters({ ...filters, after: pageInfo.endCursor })}>
              Older →
            </button>
          ) : null}
        </div>
      ) : null}
    </>
  )
}

function RunFilters({
  filters,
  onChange,
  jobTypes,
  templates,
  schedules,
}: {
  filters: RunFilterState
  onChange(f: RunFilterState): void
  jobTypes: ReadonlyArray<{ type: string; label: string }>
  templates: ReadonlyArray<{ id: string; name: string }>
  schedules: ReadonlyArray<{ id: string; name: string }>
}) {
  const set = (patch: Partial<RunFilterState>) => onChange(updateFilters(filters, patch))
  const toggleStatus = (s: (typeof RUN_STATUSES)[number]) =>
    set({ statuses: filters.statuses.includes(s) ? filters.statuses.filter((x) => x !== s) : [...filters.statuses, s] })
  return (
    <div className="stack" style={{ gap: 10 }}>
      <div className="status-toggles" role="group" aria-label="Status">
        {RUN_STATUSES.map((s) => (
          <button key={s} type="button" className="toggle" aria-pressed={filters.statuses.includes(s)} onClick={() => toggleStatus(s)} data-status-filter={s}>
            <span className="dot" style={{ background: STATUS_COLOR[s] }} />
            {statusLabel(s)}
          </button>
        ))}
      </div>
      <div className="filters">
        <select aria-label="Job type" value={filters.jobTypes[0] ?? ''} onChange={(e) => set({ jobTypes: e.target.value ? [e.target.value] : [] })}>
          <option value="">All job types</option>
          {jobTypes.map((t) => (
            <option key={t.type} value={t.type}>
              {t.label}
            </option>
          ))}
          {filters.jobTypes.filter((t) => !jobTypes.some((j) => j.type === t)).map((t) => (
            <option key={t} value={t}>{t}</option>
          ))}
        </select>
        <select aria-label="Template" value={filters.templateIds[0] ?? ''} onChange={(e) => set({ templateIds: e.target.value ? [e.target.value] : [] })}>
          <option value="">All templates</option>
          {templates.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
          {filters.templateIds.filter((id) => !templates.some((t) => t.id === id)).map((id) => (
            <option key={id} value={id}>(deleted or hidden template)</option>
          ))}
        </select>
        <select aria-label="Trigger" value={filters.triggers[0] ?? ''} onChange={(e) => set({ triggers: e.target.value ? [e.target.value as (typeof RUN_TRIGGERS)[number]] : [] })}>
          <option value="">Any trigger</option>
          {RUN_TRIGGERS.map((t) => (
            <option key={t} value={t}>
              {triggerLabel(t)}
            </option>
          ))}
        </select>
        <TimeRangeFilter value={filters} onChange={set} />
        {SCHEDULES_AVAILABLE || filters.scheduleIds.length ? (
          <select aria-label="Schedule" value={filters.scheduleIds[0] ?? ''} onChange={(e) => set({ scheduleIds: e.target.value ? [e.target.value] : [] })}>
            <option value="">Any schedule</option>
            {schedules.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
            {filters.scheduleIds.filter((id) => !schedules.some((s) => s.id === id)).map((id) => (
              <option key={id} value={id}>(deleted or hidden schedule)</option>
            ))}
          </select>
        ) : null}
        {hasFilters(filters) ? (
          <button type="button" className="btn ghost sm" onClick={() => onChange(EMPTY_FILTERS)}>
            Clear filters
          </button>
        ) : null}
      </div>
    </div>
  )
}
