'use client'
/** "Run now": asks for the template's parameter values, triggers a run and opens it. */
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { useMutation } from 'urql'
import { Modal } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { ErrorAlert, Field } from '@/components/ui'
import { fieldError, toFormErrors, withUnclaimed, NO_ERRORS, type FormErrors } from '@/lib/errors'
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
      {template.parameters.length === 0 ? <p className="muted" style={{ margin: 0 }}>This template has no parameters. The run starts on the template’s targets.</p> : null}
      {template.parameters.map((p, i) => {
        const v = values[p.name]
        const error = fieldError(errors, `parameters.${p.name}`)
        const set = (x: string | boolean) => setValues({ ...values, [p.name]: x })
        if (p.type === 'BOOL')
          return (
            <div key={p.name} className="field">
              <label className="check">
                <input type="checkbox" checked={v === true} onChange={(e) => set(e.target.checked)} /> {p.label || p.name}
              </label>
              {error ? <div className="error" role="alert">{error}</div> : p.description ? <div className="hint">{p.description}</div> : null}
            </div>
          )
        return (
          <Field key={p.name} label={p.label || p.name} required={p.required} error={error} hint={p.description ?? (p.type === 'SECRET' ? 'Masked in logs and never shown again.' : undefined)}>
            {(a) =>
              p.type === 'CHOICE' ? (
                <select {...a} value={typeof v === 'string' ? v : ''} onChange={(e) => set(e.target.value)}>
                  {!p.required ? <option value="">(default)</option> : null}
                  {(p.choices ?? []).map((c) => (
                    <option key={c}>{c}</option>
                  ))}
                </select>
              ) : (
                <input
                  {...a}
                  name={p.name}
                  autoFocus={i === 0}
                  className={p.type === 'SECRET' ? undefined : 'mono'}
                  type={p.type === 'SECRET' ? 'password' : 'text'}
                  autoComplete={p.type === 'SECRET' ? 'new-password' : 'off'}
                  inputMode={p.type === 'INT' ? 'numeric' : undefined}
                  value={typeof v === 'string' ? v : ''}
                  onChange={(e) => set(e.target.value)}
                />
              )
            }
          </Field>
        )
      })}
    </Modal>
  )
}
