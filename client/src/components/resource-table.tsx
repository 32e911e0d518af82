'use client'
/**
 * The list part of a resource page: the load error, a skeleton while loading, the empty state, or the
 * table with one row per item. Plus what such pages repeat around it: the page head with its "New …"
 * button, a row's name cell and its Edit/Delete buttons. The buttons render nothing for read-only users.
 */
import Link from 'next/link'
import type { ReactNode } from 'react'
import { toFormErrors, type ApiErrorLike } from '@/lib/errors'
import { Icons } from './icons'
import { useSessionContext } from './session-provider'
import { ErrorAlert, PageHeader, Skeleton } from './ui'

/** A column heading: its text, or its text and a class (e.g. `num`). */
export type ColumnHeader = string | { label: string; className: string }

export function ResourceTable<T>({
  items,
  error,
  empty,
  skeletonRows,
  testId,
  headers,
  scroll,
  children,
}: {
  /** Undefined while loading. */
  items: readonly T[] | undefined
  /** The load error: shown only while there is no list to show. */
  error: ApiErrorLike | undefined
  /** What an empty list shows (an EmptyState, a short note). */
  empty: ReactNode
  skeletonRows?: number
  testId: string
  /** Column headings; an empty last one for the actions column is added. Without: no head row. */
  headers?: readonly ColumnHeader[]
  /** Wrap the table to scroll sideways on narrow screens. */
  scroll?: boolean
  /** One `<tr key=…>` per item. */
  children: (item: T) => ReactNode
}) {
  if (error && !items) {
    return (
      <div style={{ padding: 16 }}>
        <ErrorAlert message={toFormErrors(error).form} />
      </div>
    )
  }
  if (!items) return <Skeleton rows={skeletonRows} />
  if (items.length === 0) return <>{empty}</>
  const table = (
    <table className="table" data-testid={testId}>
      {headers ? (
        <thead>
          <tr>
            {headers.map((h) =>
              typeof h === 'string' ? (
                <th key={h}>{h}</th>
              ) : (
                <th key={h.label} className={h.className}>
                  {h.label}
                </th>
              ),
            )}
            <th />
          </tr>
        </thead>
      ) : null}
      <tbody>{items.map((item) => children(item))}</tbody>
    </table>
  )
  return scroll ? <div className="table-scroll">{table}</div> : table
}

interface CreateButtonProps {
  label: string
  /** Opens a create dialog… */
  onClick?: () => void
  /** …or goes to a create page. */
  href?: string
  small?: boolean
}

/** "New …" (in a page head, a panel head or an empty state): a button, or a link to a create page. */
export function CreateButton({ label, onClick, href, small }: CreateButtonProps) {
  const { canWrite } = useSessionContext()
  if (!canWrite) return null
  const className = small ? 'btn sm' : 'btn primary'
  const content = (
    <>
      <Icons.plus />
      {` ${label}`}
    </>
  )
  return href ? (
    <Link className={className} href={href}>
      {content}
    </Link>
  ) : (
    <button className={className} onClick={onClick}>
      {content}
    </button>
  )
}

/** A list page's head: its title and subtitle, and for users who may write its "New …" button. */
export function ListPageHeader({ title, subtitle, create }: { title: string; subtitle: string; create: CreateButtonProps }) {
  const { canWrite } = useSessionContext()
  // No actions at all (not an empty one) for read-only users: PageHeader then leaves out the actions box.
  return <PageHeader title={title} subtitle={subtitle} actions={canWrite ? <CreateButton {...create} /> : null} />
}

/** A row's first cell: the item's name in bold, its description (if any) below. */
export function NameCell({ name, description }: { name: string; description: string | null | undefined }) {
  return (
    <td>
      <div style={{ fontWeight: 600 }}>{name}</div>
      {description ? <div className="small faint">{description}</div> : null}
    </td>
  )
}

/**
 * A row's actions cell: `children` (row-specific buttons) first, then Edit (a button, or a link to an
 * edit page) and Delete, both labelled with the row's name.
 */
export function RowActions({ name, onEdit, editHref, onDelete, children }: { name: string; onEdit?: () => void; editHref?: string; onDelete: () => void; children?: ReactNode }) {
  const { canWrite } = useSessionContext()
  return (
    <td className="actions">
      {canWrite ? (
        <>
          {children}
          {editHref ? (
            <Link className="btn sm ghost icon" href={editHref} aria-label={`Edit ${name}`}>
              <Icons.edit />
            </Link>
          ) : (
            <button className="btn sm ghost icon" aria-label={`Edit ${name}`} onClick={onEdit}>
              <Icons.edit />
            </button>
          )}
          <button className="btn sm ghost icon" aria-label={`Delete ${name}`} onClick={onDelete}>
            <Icons.trash />
          </button>
        </>
      ) : null}
    </td>
  )
}
