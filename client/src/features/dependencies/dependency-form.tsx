'use client'
/**
 * Create or edit a dependency from one template's page: which way it points (this template runs after
 * another, or starts another), the other template, the final statuses that count, and values for the
 * parameters of the template that runs. The API's refusals — a cycle with its path, a chain too long, a
 * pair already linked — are about the link, so they show next to the other template's field.
 */
import { useState } from 'react'
import { EditDialog, useSaveForm } from '@/components/edit-dialog'
import { Segmented } from '@/components/inputs'
import { Field } from '@/components/ui'
import { DEPENDENCY_STATUSES, dependencyEnds, dependencyStatusLabel, directionFrom, type DependencyStatus, type Direction } from '@/lib/dependencies'
import { overrideInput, overrideValues, type RunValues } from '@/lib/parameters'
import { CreateTemplateDependency, UpdateTemplateDependency, type TemplateDependency, type TemplateOption } from './queries'

export function DependencyForm({
  template,
  dependency,
  templates,
  onClose,
  onSaved,
}: {
  /** The page's template. */
  template: { id: string; name: string }
  dependency: TemplateDependency | null
  templates: readonly TemplateOption[]
  onClose(): void
  onSaved(): void
}) {
  const others = templates.filter((t) => t.id !== template.id)
  const [direction, setDirection] = useState<Direction>(dependency ? directionFrom(template.id, dependency) : 'AFTER')
  const initialOther = dependency ? (directionFrom(template.id, dependency) === 'AFTER' ? dependency.upstream : dependency.downstream) : null
  const [otherId, setOtherId] = useState(initialOther?.id ?? others[0]?.id ?? '')
  const [statuses, setStatuses] = useState<DependencyStatus[]>(dependency ? [...dependency.onStatuses] : ['SUCCEEDED'])
  const [enabled, setEnabled] = useState(dependency?.enabled ?? true)
  const downstream = direction === 'AFTER' ? templates.find((t) => t.id === template.id) : (templates.find((t) => t.id === otherId) ?? (dependency?.downstream.id === otherId ? dependency.downstream : undefined))
  const defs = downstream?.parameters ?? []
  const [values, setValues] = useState<RunValues>(() => overrideValues(dependency?.downstream.parameters ?? [], dependency?.parameters))
  const form = useSaveForm(CreateTemplateDependency, UpdateTemplateDependency, { id: dependency?.id, shown: ['upstreamTemplateId', 'downstreamTemplateId', 'onStatuses', 'parameters', 'enabled'], onSaved })
  const { err } = form
  const otherError = [err('upstreamTemplateId'), err('downstreamTemplateId')].filter(Boolean).join(' ') || undefined
  const otherLabel = direction === 'AFTER' ? 'Runs after' : 'Starts'

  const submit = () => {
    if (!otherId) return form.setErrors({ form: null, fields: { [direction === 'AFTER' ? 'upstreamTemplateId' : 'downstreamTemplateId']: 'Choose the other template.' }, code: null })
    return form.save({ ...dependencyEnds(template.id, direction, otherId), onStatuses: statuses, enabled, parameters: overrideInput(defs, values, { secrets: false }) })
  }

  return (
    <EditDialog title={dependency ? 'Edit dependency' : `New dependency of “${template.name}”`} submitLabel={dependency ? 'Save' : 'Create dependency'} form={form} onClose={onClose} onSubmit={submit}>
      <Field label="Direction">
        {() => (
          <Segmented<Direction>
            label="Direction"
            value={direction}
            onChange={(d) => {
              setDirection(d)
              form.setErrors({ form: null, fields: {}, code: null })
            }}
            options={[
              { value: 'AFTER', label: `${template.name} runs after another` },
              { value: 'TRIGGERS', label: `${template.name} starts another` },
            ]}
          />
        )}
      </Field>
      <Field label={otherLabel} required error={otherError} hint={others.length ? (direction === 'AFTER' ? 'The template whose runs’ outcome starts this one.' : 'The template to run when this one ends.') : 'No other templates yet.'}>
        {(p) => (
          <select {...p} name="otherTemplateId" value={otherId} onChange={(e) => setOtherId(e.target.value)}>
            {initialOther && !others.some((t) => t.id === initialOther.id) ? <option value={initialOther.id}>{initialOther.name}</option> : null}
            {!otherId ? <option value="">(choose a template)</option> : null}
            {others.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="When its run ends" required error={err('onStatuses')} hint="The final outcome, after retries: a retried attempt never counts.">
        {(p) => (
          <div className="status-toggles" style={{ gap: 14 }} role="group" aria-label="When its run ends" id={p.id} aria-describedby={p['aria-describedby']}>
            {DEPENDENCY_STATUSES.map((s) => (
              <label key={s} className="check">
                <input type="checkbox" name={`onStatuses.${s}`} checked={statuses.includes(s)} onChange={() => setStatuses(statuses.includes(s) ? statuses.filter((x) => x !== s) : [...statuses, s])} />
                {dependencyStatusLabel(s)}
              </label>
            ))}
          </div>
        )}
      </Field>
      <label className="check">
        <input type="checkbox" role="switch" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
      </label>
      {defs.length ? (
        <fieldset className="fieldset wf-plain">
          <legend className="field-label">Parameters of {downstream?.name ?? 'the template that runs'} (blank: its default)</legend>
          <div className="grid-2">
            {defs.map((d) => (
              <Field key={d.name} label={d.label || d.name} error={err(`parameters.${d.name}`)} hint={d.type === 'SECRET' ? 'SECRET: a dependency cannot set it; the template’s default is used.' : (d.description ?? undefined)}>
                {(a) =>
                  d.type === 'BOOL' ? (
                    <select {...a} name={`param.${d.name}`} value={values[d.name] === true ? 'true' : values[d.name] === false ? 'false' : ''} onChange={(e) => setValues({ ...values, [d.name]: e.target.value === '' ? '' : e.target.value === 'true' })}>
                      <option value="">(default)</option>
                      <option value="true">true</option>
                      <option value="false">false</option>
                    </select>
                  ) : d.type === 'CHOICE' ? (
                    <select {...a} name={`param.${d.name}`} value={typeof values[d.name] === 'string' ? (values[d.name] as string) : ''} onChange={(e) => setValues({ ...values, [d.name]: e.target.value })}>
                      <option value="">(default)</option>
                      {(d.choices ?? []).map((c) => (
                        <option key={c}>{c}</option>
                      ))}
                    </select>
                  ) : (
                    <input
                      {...a}
                      name={`param.${d.name}`}
                      className="mono"
                      disabled={d.type === 'SECRET'}
                      placeholder={d.default != null && d.type !== 'SECRET' ? String(d.default) : ''}
                      value={typeof values[d.name] === 'string' ? (values[d.name] as string) : ''}
                      onChange={(e) => setValues({ ...values, [d.name]: e.target.value })}
                    />
                  )
                }
              </Field>
            ))}
          </div>
        </fieldset>
      ) : null}
      {err('parameters') && !defs.some((d) => form.errors.fields[`parameters.${d.name}`]) ? (
        <div className="error small" role="alert">
          {err('parameters')}
        </div>
      ) : null}
    </EditDialog>
  )
}
