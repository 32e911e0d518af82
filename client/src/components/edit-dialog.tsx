'use client'
/**
 * Create/edit dialogs of resource pages: which item is being edited (`useEditor`), saving it through a
 * create or an update mutation with the API's field errors kept for the form (`useSaveForm`), and the
 * dialog around the form with Cancel / Create-or-Save and the general error (`EditDialog`).
 */
import { useEffect, useRef, useState, type ReactNode } from 'react'
import { useMutation, type TypedDocumentNode } from 'urql'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { Modal } from './dialog'
import { ErrorAlert } from './ui'
import { useFocusFirstError } from './use-focus-first-error'

/** Which item a page's form dialog edits: none (closed), a new one, or an existing one. */
export function useEditor<T extends object>(onSaved: () => void) {
  const [editing, setEditing] = useState<T | 'new' | null>(null)
  return {
    isOpen: editing !== null,
    /** The item being edited; null for a new one. */
    item: editing === 'new' ? null : editing,
    create: () => setEditing('new'),
    edit: (item: T) => setEditing(item),
    close: () => setEditing(null),
    /** Closes the dialog and reloads (`onSaved`). */
    saved: () => {
      setEditing(null)
      onSaved()
    },
  }
}

/**
 * Saves a form's input: `update({ id, input })` when editing the item with `id`, `create({ input })`
 * otherwise. API errors become `errors`; field errors the form does not show (`shown` lists the fields
 * it does) join the general message.
 */
export function useSaveForm<CV extends { input: unknown }, UV extends { id: string; input: unknown }>(
  create: TypedDocumentNode<unknown, CV>,
  update: TypedDocumentNode<unknown, UV>,
  { id, shown, onSaved }: { id: string | undefined; shown: readonly string[]; onSaved(): void },
) {
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [createState, runCreate] = useMutation(create)
  const [updateState, runUpdate] = useMutation(update)
  const save = async (input: CV['input'] & UV['input']) => {
    const r = id ? await runUpdate({ id, input } as UV) : await runCreate({ input } as CV)
    if (r.error) setErrors(withUnclaimed(toFormErrors(r.error), shown))
    else onSaved()
  }
  return {
    errors,
    setErrors,
    /** The message for a field (or anything below it). */
    err: (field: string) => fieldError(errors, field),
    busy: createState.fetching || updateState.fetching,
    save,
  }
}

/** A wide form dialog: the general error above the fields; Cancel and the submit button below. */
export function EditDialog({
  title,
  submitLabel,
  busyLabel = 'Saving…',
  wide = true,
  form,
  onClose,
  onSubmit,
  children,
}: {
  title: ReactNode
  submitLabel: string
  /** The submit button's text while saving; null keeps `submitLabel`. */
  busyLabel?: string | null
  /** The wide dialog (resource forms); small forms pass false. */
  wide?: boolean
  form: { busy: boolean; errors: FormErrors }
  onClose(): void
  onSubmit(): unknown
  children: ReactNode
}) {
  // A failed save puts focus on the first field it names (or the message).
  const body = useRef<HTMLDivElement>(null)
  const focusFirstError = useFocusFirstError(body)
  const { errors } = form
  useEffect(() => {
    if (errors.form || Object.keys(errors.fields).length) focusFirstError()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [errors])
  return (
    <Modal
      open
      wide={wide}
      title={title}
      onClose={onClose}
      onSubmit={() => void onSubmit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={form.busy}>
            {form.busy && busyLabel !== null ? busyLabel : submitLabel}
          </button>
        </>
      }
    >
      <div ref={body} className="stack">
        <ErrorAlert message={form.errors.form} />
        {children}
      </div>
    </Modal>
  )
}
