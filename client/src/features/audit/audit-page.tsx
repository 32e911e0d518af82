'use client'
/** The audit log (admins only): who changed what, when and how; filters in the URL, "Load more" pages. */
import Link from 'next/link'
import { usePathname, useRouter, useSearchParams } from 'next/navigation'
import { useMemo, useState } from 'react'
import { useQuery } from 'urql'
import { TimeRangeFilter } from '@/components/time-range-filter'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, PageHeader, Panel } from '@/components/ui'
import {
  AUDIT_ENTITY_TYPES,
  AUDIT_FAMILIES,
  EMPTY_AUDIT_FILTERS,
  hasAuditFilters,
  parseAuditFilters,
  serializeAuditFilters,
  toAuditApiFilter,
  type AuditEntityType,
  type AuditFamily,
  type AuditFilterState,
} from '@/lib/audit-filters'
import { ENTITY_LABELS } from '@/lib/audit-format'
import { graphql } from '@/lib/graphql'
import { AuditTable } from './audit-table'

const ActorsQuery = graphql(`query AuditActors { users { id username } }`)

export function AuditPage() {
  useTitle('Audit log')
  const { isAdmin, session } = useSessionContext()
  const params = useSearchParams()
  const router = useRouter()
  const pathname = usePathname()
  const qs = params.toString()
  const filters = useMemo(() => parseAuditFilters(new URLSearchParams(qs)), [qs])
  // "Last 24 h" is fixed when the filters are chosen, so the query does not change on every render.
  const apiFilter = useMemo(() => toAuditApiFilter(filters), [filters])
  const setFilters = (next: AuditFilterState) => {
    const s = serializeAuditFilters(next)
    router.push(s ? `${pathname}?${s}` : pathname)
  }
  // Pages loaded with "Load more" belong to one filter: new filters start again from the newest events.
  const [loaded, setLoaded] = useState<{ qs: string; cursors: Array<string | null> }>({ qs, cursors: [null] })
  const cursors = loaded.qs === qs ? loaded.cursors : [null]
  const [actors] = useQuery({ query: ActorsQuery, pause: !isAdmin })

  if (!isAdmin) {
    return (
      <>
        <PageHeader title="Audit log" />
        <Panel>
          <EmptyState title="Admins only" icon={<Icons.shield />} action={<Link className="btn" href="/runs">Runs</Link>}>
            The audit log is for admins. You are signed in as {session.user.username}; what ran and who started it is on the runs page.
          </EmptyState>
        </Panel>
      </>
    )
  }

  const empty = hasAuditFilters(filters) ? (
    <EmptyState title="No events match these filters" action={<button className="btn" onClick={() => setFilters(EMPTY_AUDIT_FILTERS)}>Clear filters</button>}>
      Widen the time range or remove a filter.
    </EmptyState>
  ) : (
    <EmptyState title="Nothing recorded yet" icon={<Icons.shield />}>
      Every change — templates, schedules, runs, targets, credentials, users, tokens — and every sign-in is recorded here.
    </EmptyState>
  )

  return (
    <>
      <PageHeader title="Audit log" subtitle="Who changed what, when, and how — newest first. Secrets are never recorded, only that they changed." />
      <AuditFilters filters={filters} onChange={setFilters} actors={actors.data?.users ?? []} />
      <Panel flush>
        <AuditTable filter={apiFilter} cursors={cursors} empty={empty} onMore={(c) => setLoaded({ qs, cursors: [...cursors, c] })} />
      </Panel>
    </>
  )
}

function AuditFilters({
  filters,
  onChange,
  actors,
}: {
  filters: AuditFilterState
  onChange(f: AuditFilterState): void
  actors: ReadonlyArray<{ id: string; username: string }>
}) {
  const set = (patch: Partial<AuditFilterState>) => onChange({ ...filters, ...patch })
  return (
    <div className="filters">
      <select aria-label="Action" value={filters.families[0] ?? ''} onChange={(e) => set({ families: e.target.value ? [e.target.value as AuditFamily] : [] })}>
        <option value="">All actions</option>
        {AUDIT_FAMILIES.map((f) => (
          <option key={f.value} value={f.value}>
            {f.label}
          </option>
        ))}
      </select>
      <select aria-label="Entity type" value={filters.entityTypes[0] ?? ''} onChange={(e) => set({ entityTypes: e.target.value ? [e.target.value as AuditEntityType] : [] })}>
        <option value="">Any entity</option>
        {AUDIT_ENTITY_TYPES.map((t) => (
          <option key={t} value={t}>
            {ENTITY_LABELS[t]}
          </option>
        ))}
      </select>
      <select aria-label="Actor" value={filters.actorId ?? ''} onChange={(e) => set({ actorId: e.target.value || null })}>
        <option value="">Anyone</option>
        {actors.map((u) => (
          <option key={u.id} value={u.id}>
            {u.username}
          </option>
        ))}
        {filters.actorId && !actors.some((u) => u.id === filters.actorId) ? <option value={filters.actorId}>(unknown user)</option> : null}
      </select>
      <TimeRangeFilter value={filters} onChange={set} />
      {hasAuditFilters(filters) ? (
        <button type="button" className="btn ghost sm" onClick={() => onChange(EMPTY_AUDIT_FILTERS)}>
          Clear filters
        </button>
      ) : null}
    </div>
  )
}
