'use client'
/**
 * Modal dialogs on the native <dialog> element: focus trapping, Escape and the backdrop for free.
 * The dialog is portalled to <body> and stops its submit and click events, so a dialog opened inside a
 * form (Run now / Delete on a template's page) never submits that form. Opening focuses the first field
 * (or the element marked `data-autofocus`, else the primary button), not the close button; closing
 * returns focus to what was focused before (or to the page's main region when that is gone).
 */
import { useEffect, useId, useRef, type FormEvent, type ReactNode } from 'react'
import { createPortal } from 'react-dom'
import { Icons } from './icons'

const FIRST_FIELD = '[data-autofocus], .modal-body :is(input, select, textarea):not([disabled]):not([type="hidden"])'

/** Where focus goes when a dialog opens. */
function initialFocus(d: HTMLDialogElement): HTMLElement | null {
  return d.querySelector<HTMLElement>(FIRST_FIELD) ?? d.querySelector<HTMLElement>('.modal-foot [type="submit"], .modal-foot .btn.primary, .modal-foot .btn.danger') ?? d.querySelector<HTMLElement>('.modal-foot .btn')
}

export function Modal({
  open,
  title,
  onClose,
  children,
  footer,
  wide,
  onSubmit,
  labelledBy,
}: {
  open: boolean
  title: ReactNode
  onClose: () => void
  children: ReactNode
  footer?: ReactNode
  wide?: boolean
  /** Makes the dialog a form: Enter submits. */
  onSubmit?: (e: FormEvent<HTMLFormElement>) => void
  labelledBy?: string
}) {
  const ref = useRef<HTMLDialogElement>(null)
  const generatedId = useId()
  const titleId = labelledBy ?? `${generatedId}-title`
  const returnTo = useRef<HTMLElement | null>(null)
  useEffect(() => {
    const d = ref.current
    if (!d || !open) return
    returnTo.current = document.activeElement instanceof HTMLElement ? document.activeElement : null
    if (!d.open) d.showModal()
    initialFocus(d)?.focus()
    return () => {
      if (d.open) d.close()
      const back = returnTo.current
      if (back && back.isConnected) back.focus()
      else document.getElementById('main')?.focus()
    }
  }, [open])
  if (!open || typeof document === 'undefined') return null
  const body = (
    <>
      <div className="modal-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="btn ghost sm icon" onClick={onClose} aria-label="Close">
          <Icons.x />
        </button>
      </div>
      <div className="modal-body">{children}</div>
      {footer ? <div className="modal-foot">{footer}</div> : null}
    </>
  )
  return createPortal(
    <dialog
      ref={ref}
      className={`modal${wide ? ' wide' : ''}`}
      onCancel={(e) => {
        e.preventDefault()
        onClose()
      }}
      onClick={(e) => {
        // React bubbles events along the component tree, portal or not: keep them from rows and forms behind.
        e.stopPropagation()
        if (e.target === ref.current) onClose()
      }}
      onKeyDown={(e) => e.stopPropagation()}
      aria-labelledby={titleId}
    >
      {onSubmit ? (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault()
            e.stopPropagation()
            onSubmit(e)
          }}
        >
          {body}
        </form>
      ) : (
        body
      )}
    </dialog>,
    document.body,
  )
}

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger,
  busy,
  error,
  onConfirm,
  onClose,
}: {
  open: boolean
  title: string
  children: ReactNode
  confirmLabel: string
  danger?: boolean
  busy?: boolean
  error?: string | null
  onConfirm: () => void
  onClose: () => void
}) {
  return (
    <Modal
      open={open}
      title={title}
      onClose={onClose}
      onSubmit={onConfirm}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Keep it
          </button>
          <button type="submit" className={`btn ${danger ? 'danger' : 'primary'}`} disabled={busy} data-autofocus>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </>
      }
    >
      <div>{children}</div>
      {error ? (
        <div className="alert error" role="alert">
          {error}
        </div>
      ) : null}
    </Modal>
  )
}
