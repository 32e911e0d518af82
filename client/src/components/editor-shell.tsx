'use client'
/**
 * The frame the template and workflow editors share: the page's load error, and around the form the
 * back link, the header with its actions (Schedule, Run now, Delete…), the form-level error, and the
 * save bar (Cancel, Create / Save changes) for those who may write. Each editor brings its own fields.
 */
import Link from 'next/link'
import type { FormEvent, ReactNode, RefObject } from 'react'
import { Segmented } from '@/components/inputs'
import { BackLink, EmptyState, ErrorAlert, Field, PageHeader } from '@/components/ui'
import { toFormErrors, type ApiErrorLike } from '@/lib/errors'

/** Where the editor's list lives: the back link and Cancel go there. */
export interface EditorList {
  href: string
  /** The list's title ("Templates"). */
  title: string
  /** What one item is called ("template"). */
  noun: string
}

/** The editor could not load what it edits: not found, or the error in words. */
export function EditorLoadError({ list, error }: { list: EditorList; error: ApiErrorLike }) {
  const e = toFormErrors(error)
  const notFound = e.code === 'NOT_FOUND'
  const noun = list.noun.charAt(0).toUpperCase() + list.noun.slice(1)
  return (
    <>
      <BackLink href={list.href}>{list.title}</BackLink>
      <EmptyState title={notFound ? `${noun} not found` : `Could not load the ${list.noun}`}>{notFound ? 'It was deleted, or it is private to someone else.' : e.form}</EmptyState>
    </>
  )
}

export function EditorShell({
  list,
  editing,
  formRef,
  onSubmit,
  title,
  subtitle,
  actions,
  formError,
  canWrite,
  busy,
  children,
  after,
}: {
  list: EditorList
  /** An existing item (Save changes) rather than a new one (Create …). */
  editing: boolean
  formRef: RefObject<HTMLFormElement | null>
  onSubmit(e: FormEvent): void
  title: string
  subtitle: string
  /** The header's buttons (shown as given). */
  actions: ReactNode
  formError: string | null
  canWrite: boolean
  busy: boolean
  children: ReactNode
  /** After the save bar, inside the form (dialogs it opens). */
  after?: ReactNode
}) {
  return (
    <form ref={formRef} onSubmit={onSubmit} noValidate className="stack" aria-label={editing ? `Edit ${list.noun}` : `New ${list.noun}`}>
      <BackLink href={list.href}>{list.title}</BackLink>
      <PageHeader title={title} subtitle={subtitle} actions={actions} />
      <ErrorAlert message={formError} />
      {children}
      {canWrite ? (
        <div className="form-actions">
          <Link className="btn" href={list.href}>
            Cancel
          </Link>
          <button type="submit" className="btn primary" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save changes' : `Create ${list.noun}`}
          </button>
        </div>
      ) : null}
      {after}
    </form>
  )
}

export type Visibility = 'GLOBAL' | 'PRIVATE'

/** Who can see and run the item. */
export function VisibilityField({ value, onChange, error }: { value: Visibility; onChange(v: Visibility): void; error: string | undefined }) {
  return (
    <Field label="Visibility" error={error} hint={value === 'GLOBAL' ? 'Everyone can see and run it.' : 'Only you (and admins) can see and run it.'}>
      {() => (
        <Segmented
          label="Visibility"
          value={value}
          onChange={onChange}
          options={[
            { value: 'GLOBAL', label: 'Global' },
            { value: 'PRIVATE', label: 'Private' },
          ]}
        />
      )}
    </Field>
  )
}
