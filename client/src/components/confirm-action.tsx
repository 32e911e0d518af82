'use client'
/**
 * A confirmed action on one item (delete it, forget its host key): `ask(item)` opens the confirmation,
 * confirming runs the mutation with the item's id, and only a success closes it (and calls `onDone`,
 * e.g. to reload the list); a failure stays in the dialog. Spread `dialog` onto a ConfirmDialog.
 */
import { useState } from 'react'
import { useMutation, type TypedDocumentNode } from 'urql'
import { toFormErrors } from '@/lib/errors'

export function useConfirmAction<T extends { id: string }>(
  mutation: TypedDocumentNode<unknown, { id: string }>,
  { onDone }: { onDone?: () => void } = {},
) {
  const [item, setItem] = useState<T | null>(null)
  const [state, run] = useMutation(mutation)
  return {
    /** The item awaiting confirmation (null when the dialog is closed). */
    item,
    ask: (target: T) => setItem(target),
    dialog: {
      open: item !== null,
      busy: state.fetching,
      error: state.error ? toFormErrors(state.error).form : null,
      onClose: () => setItem(null),
      onConfirm: async () => {
        const r = await run({ id: item!.id })
        if (!r.error) {
          setItem(null)
          onDone?.()
        }
      },
    },
  }
}
