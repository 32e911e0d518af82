'use client'
/** "Run now" for a workflow (asks for its parameters, triggers it, opens the live run) and "Delete". */
import { useState } from 'react'
import { useMutation } from 'urql'
import { ConfirmDialog } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { RunParametersDialog } from '@/components/run-parameters-dialog'
import { toFormErrors } from '@/lib/errors'
import type { ParameterDefinition } from '@/lib/parameters'
import { DeleteWorkflowMutation, TriggerWorkflowMutation } from './queries'

export function RunWorkflowDialog({ workflow, onClose }: { workflow: { id: string; name: string; parameters: readonly ParameterDefinition[] }; onClose(): void }) {
  const [state, trigger] = useMutation(TriggerWorkflowMutation)
  return (
    <RunParametersDialog
      name={workflow.name}
      parameters={workflow.parameters}
      submitLabel="Run workflow"
      empty="This workflow has no parameters."
      busy={state.fetching}
      onClose={onClose}
      start={async (parameters) => {
        const r = await trigger({ workflowId: workflow.id, parameters }, { additionalTypenames: ['WorkflowRun'] })
        return r.data ? { href: `/workflow-runs/${r.data.triggerWorkflowRun.id}` } : { error: r.error }
      }}
    />
  )
}

export function DeleteWorkflowButton({ workflow, onDeleted, small }: { workflow: { id: string; name: string }; onDeleted(): void; small?: boolean }) {
  const [open, setOpen] = useState(false)
  const [state, del] = useMutation(DeleteWorkflowMutation)
  return (
    <>
      <button type="button" className={`btn ${small ? 'sm ghost icon' : 'danger-ghost'}`} onClick={() => setOpen(true)} aria-label={`Delete ${workflow.name}`} title="Delete">
        <Icons.trash /> {small ? null : 'Delete'}
      </button>
      <ConfirmDialog
        open={open}
        title={`Delete “${workflow.name}”?`}
        confirmLabel="Delete workflow"
        danger
        busy={state.fetching}
        error={state.error ? toFormErrors(state.error).form : null}
        onClose={() => setOpen(false)}
        onConfirm={async () => {
          const r = await del({ id: workflow.id }, { additionalTypenames: ['Workflow'] })
          if (!r.error) {
            setOpen(false)
            onDeleted()
          }
        }}
      >
        The workflow is removed for everyone. Its past runs stay, with their nodes’ runs and logs.
      </ConfirmDialog>
    </>
  )
}
