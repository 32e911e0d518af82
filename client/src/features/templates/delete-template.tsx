'use client'
import { useState } from 'react'
import { useMutation } from 'urql'
import { ConfirmDialog } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { toFormErrors } from '@/lib/errors'
import { DeleteTemplateMutation } from './queries'

export function DeleteTemplateButton({ template, onDeleted, small }: { template: { id: string; name: string }; onDeleted(): void; small?: boolean }) {
  const [open, setOpen] = useState(false)
  const [state, del] = useMutation(DeleteTemplateMutation)
  return (
    <>
      <button type="button" className={`btn ${small ? 'sm ghost icon' : 'danger-ghost'}`} onClick={() => setOpen(true)} aria-label={`Delete ${template.name}`} title="Delete">
        <Icons.trash /> {small ? null : 'Delete'}
      </button>
      <ConfirmDialog
        open={open}
        title={`Delete “${template.name}”?`}
        confirmLabel="Delete template"
        danger
        busy={state.fetching}
        error={state.error ? toFormErrors(state.error).form : null}
        onClose={() => setOpen(false)}
        onConfirm={async () => {
          const r = await del({ id: template.id }, { additionalTypenames: ['JobTemplate'] })
          if (!r.error) {
            setOpen(false)
            onDeleted()
          }
        }}
      >
        The template is removed for everyone. Past runs keep their logs and results.
      </ConfirmDialog>
    </>
  )
}
