'use client'
/** Modal dialogs on the native <dialog> element: focus trapping, Escape and the backdrop for free. */
import { useEffect, useId, useRef, type FormEvent, type ReactNode } from 'react'
import { Icons } from './icons'

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
  useEffect(() => {
    const d = ref.current
    if (!d) return
    if (open && !d.open) d.showModal()
    if (!open && d.open) d.close()
  }, [open])
  if (!open) return null
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
  return (
    <dialog
      ref={ref}
      className={`modal${wide ? ' wide' : ''}`}
      onCancel={(e) => {
        e.preventDefault()
        onClose()
      }}
      onClick={(e) => {
        if (e.target === ref.current) onClose()
      }}
      aria-labelledby={titleId}
    >
      {onSubmit ? (
        <form
          onSubmit={(e) => {
            e.preventDefault()
            onSubmit(e)
          }}
        >
          {body}
        </form>
      ) : (
        body
      )}
    </dialog>
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
          <button type="submit" className={`btn ${danger ? 'danger' : 'primary'}`} disabled={busy} autoFocus>
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
