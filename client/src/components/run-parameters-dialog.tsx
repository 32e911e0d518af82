'use client'
/**
 * "Run" for anything with parameters (a template, a workflow): asks for the values, checks them as the
 * API will, starts the run and opens it; the API's errors land next to their fields. The callers
 * differ only in the mutation they send and where the started run lives.
 */
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { Modal } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { ParameterValuesForm } from '@/components/parameter-values-form'
import { ErrorAlert } from '@/components/ui'
import { NO_ERRORS, toFormErrors, withUnclaimed, type ApiErrorLike, type FormErrors } from '@/lib/errors'
import { initialRunValues, runParameters, type ParameterDefinition, type RunValues } from '@/lib/parameters'

/** What starting the run gave: the page of the new run, or the API's error. */
export type RunStarted = { href: string } | { error: ApiErrorLike | undefined }

export function RunParametersDialog({
  name,
  parameters: defs,
  submitLabel,
  empty,
  busy,
  start,
  onClose,
}: {
  name: string
  parameters: readonly ParameterDefinition[]
  submitLabel: string
  /** What to say when there are no parameters. */
  empty: string
  /** The start is in flight. */
  busy: boolean
  start(parameters: Record<string, unknown>): Promise<RunStarted>
  onClose(): void
}) {
  const router = useRouter()
  const [values, setValues] = useState<RunValues>(() => initialRunValues(defs))
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)

  const submit = async () => {
    const { parameters, errors: local } = runParameters(defs, values)
    if (Object.keys(local).length) return setErrors({ form: null, fields: local, code: null })
    const r = await start(parameters)
    if ('href' in r) {
      onClose()
      router.push(r.href)
    } else
      setErrors(
        withUnclaimed(
          toFormErrors(r.error),
          defs.map((p) => `parameters.${p.name}`),
        ),
      )
  }

  return (
    <Modal
      open
      title={`Run “${name}”`}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={busy} autoFocus={!defs.length}>
            <Icons.play /> {busy ? 'Starting…' : submitLabel}
          </button>
        </>
      }
    >
      <ErrorAlert message={errors.form} />
      <ParameterValuesForm parameters={defs} values={values} errors={errors} onChange={setValues} empty={empty} />
    </Modal>
  )
}
