'use client'
/** "Run now": asks for the template's parameter values, triggers a run and opens it. */
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { useMutation } from 'urql'
import { Modal } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { ParameterValuesForm } from '@/components/parameter-values-form'
import { ErrorAlert } from '@/components/ui'
import { toFormErrors, withUnclaimed, NO_ERRORS, type FormErrors } from '@/lib/errors'
import { initialRunValues, runParameters, type ParameterDefinition, type RunValues } from '@/lib/parameters'
import { TriggerRunMutation } from './queries'

export function RunNowDialog({ template, onClose }: { template: { id: string; name: string; parameters: readonly ParameterDefinition[] }; onClose(): void }) {
  const router = useRouter()
  const [values, setValues] = useState<RunValues>(() => initialRunValues(template.parameters))
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [state, trigger] = useMutation(TriggerRunMutation)

  const submit = async () => {
    const { parameters, errors: local } = runParameters(template.parameters, values)
    if (Object.keys(local).length) return setErrors({ form: null, fields: local, code: null })
    const r = await trigger({ templateId: template.id, parameters })
    if (r.data) {
      onClose()
      router.push(`/runs/${r.data.triggerJobRun.id}`)
    } else
      setErrors(
        withUnclaimed(
          toFormErrors(r.error),
          template.parameters.map((p) => `parameters.${p.name}`),
        ),
      )
  }

  return (
    <Modal
      open
      title={`Run “${template.name}”`}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={state.fetching} autoFocus={!template.parameters.length}>
            <Icons.play /> {state.fetching ? 'Starting…' : 'Run now'}
          </button>
        </>
      }
    >
      <ErrorAlert message={errors.form} />
      <ParameterValuesForm parameters={template.parameters} values={values} errors={errors} onChange={setValues} empty="This template has no parameters. The run starts on the template’s targets." />
    </Modal>
  )
}
