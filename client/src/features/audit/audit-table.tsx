'use client'
/**
 * The audit log table, "Load more" style: each loaded page is its own query (keyed by its cursor), so
 * a page that arrives never disturbs those already shown, and the last one offers the next.
 */
import Link from 'next/link'
import { useState, type ReactNode } from 'react'
import { useQuery } from 'urql'
import { EmptyState, ErrorAlert, RelativeTime, Spinner } from '@/components/ui'
import type { AuditEventFilterInput } from '@/lib/audit-filters'
import { actorLabel, describeChange, ENTITY_LABELS, entityHref, viaLabel } from '@/lib/audit-format'
import { toFormErrors } from '@/lib/errors'
import { graphql, type ResultOf } from '@/lib/graphql'

export const PAGE_SIZE = 50
const COLUMNS = 6

const AuditEventsQuery = graphql(`
  query AuditEvents($filter: AuditEventFilter, $first: Int, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      edges {
        node {
          id
          at
          actorId
          actorName
          via
          action
          entityType
          entityId
          entityName
          changes { field redacted oldValue newValue }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`)
type AuditEvent = ResultOf<typeof AuditEventsQuery>['auditEvents']['edges'][number]['node']

export function AuditTable({
  filter,
  cursors,
  onMore,
  empty,
}: {
  filter: AuditEventFilterInput
  /** The pages loaded so far: null (the newest events), then each page's end cursor. */
  cursors: ReadonlyArray<string | null>
  onMore(cursor: string): void
  empty: ReactNode
}) {
  return (
    <div className="table-scroll">
      <table className="table" data-testid="audit-table">
        <thead>
          <tr>
            <th>Time</th>
            <th>Actor</th>
            <th>Via</th>
            <th>Action</th>
            <th>Entity</th>
            <th>Changes</th>
          </tr>
        </thead>
        <tbody>
          {cursors.map((after, i) => (
            <AuditPageRows key={after ?? ''} filter={filter} after={after} last={i === cursors.length - 1} onMore={onMore} empty={empty} />
          ))}
        </tbody>
      </table>
    </div>
  )
}

function FullRow({ children }: { children: ReactNode }) {
  return (
    <tr>
      <td colSpan={COLUMNS}>{children}</td>
    </tr>
  )
}

function AuditPageRows({
  filter,
  after,
  last,
  onMore,
  empty,
}: {
  filter: AuditEventFilterInput
  after: string | null
  last: boolean
  onMore(cursor: string): void
  empty: ReactNode
}) {
  const [result] = useQuery({ query: AuditEventsQuery, variables: { filter, first: PAGE_SIZE, after } })
  const page = result.data?.auditEvents
  if (result.error && !page) {
    return (
      <FullRow>
        <ErrorAlert message={toFormErrors(result.error).form ?? 'Could not load the audit log.'} />
      </FullRow>
    )
  }
  if (!page) {
    return (
      <FullRow>
        <Spinner label="Loading…" />
      </FullRow>
    )
  }
  if (!after && page.edges.length === 0) return <FullRow>{empty}</FullRow>
  const { hasNextPage, endCursor } = page.pageInfo
  return (
    <>
      {page.edges.map((e) => (
        <AuditRow key={e.node.id} event={e.node} />
      ))}
      {last && hasNextPage && endCursor ? (
        <FullRow>
          <button type="button" className="btn" disabled={result.fetching} onClick={() => onMore(endCursor)}>
            Load more
          </button>
        </FullRow>
      ) : null}
    </>
  )
}

function AuditRow({ event: e }: { event: AuditEvent }) {
  const href = entityHref(e.entityType, e.entityId, e.action)
  const name = e.entityName ?? '—'
  const failed = e.action === 'login.failed'
  return (
    <tr data-action={e.action} data-entity={e.entityName ?? ''}>
      <td className="small nowrap">
        <RelativeTime iso={e.at} />
      </td>
      <td className="nowrap">
        <span className={e.actorId ? 'mono' : 'mono faint'} title={failed ? 'The username that was tried' : undefined}>
          {actorLabel(e)}
        </span>
      </td>
      <td className="small nowrap">{viaLabel(e.via)}</td>
      <td className="nowrap">
        <span className={`badge plain${failed ? ' err' : ''}`} data-testid="audit-action">
          {e.action}
        </span>
      </td>
      <td>
        <div className="small faint">{ENTITY_LABELS[e.entityType]}</div>
        <div className="truncate" style={{ maxWidth: 260 }}>
          {href ? <Link href={href}>{name}</Link> : name}
        </div>
      </td>
      <td className="small">
        {e.changes.length ? <ChangeList event={e} /> : <span className="faint">—</span>}
      </td>
    </tr>
  )
}

/**
 * Creations list every field: show the first few, the rest on demand, so one event never fills the
 * screen. Secret fields come first: that one was changed is what an auditor looks for.
 */
const CHANGES_SHOWN = 3

function ChangeList({ event: e }: { event: AuditEvent }) {
  const [open, setOpen] = useState(false)
  const ordered = [...e.changes].sort((a, b) => Number(b.redacted) - Number(a.redacted))
  const shown = open ? ordered : ordered.slice(0, CHANGES_SHOWN)
  const hidden = ordered.length - shown.length
  return (
    <ul className="audit-changes">
      {shown.map((c) => {
        const text = describeChange(c, e.action)
        return (
          <li key={c.field} className="truncate" title={text}>
            {c.redacted ? <span className="badge plain warn">secret</span> : null} {text}
          </li>
        )
      })}
      {hidden > 0 || open ? (
        <li>
          <button type="button" className="btn ghost sm" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? 'Show fewer' : `+${hidden} more`}
          </button>
        </li>
      ) : null}
    </ul>
  )
}
