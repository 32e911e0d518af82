'use client'
/** "Run now" for a workflow (asks for its parameters, triggers it, opens the live run) and "Delete". */
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { useMutation } from 'urql'
import { ConfirmDialog, Modal } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { ParameterValuesForm } from '@/components/parameter-values-form'
import { ErrorAlert } from '@/components/ui'
import { NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { initialRunValues, runParameters, type ParameterDefinition, type RunValues } from '@/lib/parameters'
import { DeleteWorkflowMutation, TriggerWorkflowMutation } from './queries'

export function RunWorkflowDialog({ workflow, onClose }: { workflow: { id: string; name: string; parameters: readonly ParameterDefinition[] }; onClose(): void }) {
  const router = useRouter()
  const [values, setValues] = useState<RunValues>(() => initialRunValues(workflow.parameters))
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [state, trigger] = useMutation(TriggerWorkflowMutation)

  const submit = async () => {
    const { parameters, errors: local } = runParameters(workflow.parameters, values)
    if (Object.keys(local).length) return setErrors({ form: null, fields: local, code: null })
    const r = await trigger({ workflowId: workflow.id, parameters }, { additionalTypenames: ['WorkflowRun'] })
    if (r.data) {
      onClose()
      router.push(`/workflow-runs/${r.data.triggerWorkflowRun.id}`)
    } else setErrors(withUnclaimed(toFormErrors(r.error), workflow.parameters.map((p) => `parameters.${p.name}`)))
  }

  return (
    <Modal
      open
      title={`Run “${workflow.name}”`}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={state.fetching} autoFocus={!workflow.parameters.length}>
            <Icons.play /> {state.fetching ? 'Starting…' : 'Run workflow'}
          </button>
        </>
      }
    >
      <ErrorAlert message={errors.form} />
      <ParameterValuesForm parameters={workflow.parameters} values={values} errors={errors} onChange={setValues} empty="This workflow has no parameters." />
    </Modal>
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
