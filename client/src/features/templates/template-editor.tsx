'use client'
/**
 * Create or edit a job template: general settings, the job type's config (a form generated from its
 * JSON Schema), parameters, targets, and execution policy. API errors appear next to the fields
 * they name.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react'
import { useMutation, useQuery } from 'urql'
import { Segmented } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { EditorLoadError, EditorShell, VisibilityField } from '@/components/editor-shell'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { fixSummary, useFocusFirstError } from '@/components/use-focus-first-error'
import { hiddenFields, withoutHiddenItems } from '@/lib/config-conditions'
import { Field, Panel, Skeleton } from '@/components/ui'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { initialValues, schemaToFields, unknownKeys, valuesToConfig, type FormValues, type JsonSchema } from '@/lib/json-schema-form'
import { toDraft, toInput, type ParameterDraft } from '@/lib/parameters'
import { ConfigForm, type CredentialOption, type SourceOption } from './config-form'
import { TargetSelectorEditor, type Selector } from './target-selector-editor'
import { ParametersEditor } from './parameters-editor'
import { OutputsEditor, type OutputDraft } from './outputs-editor'
import type { ResultOf } from '@/lib/graphql'
import { CreateTemplateMutation, TemplateFormOptionsQuery, TemplateQuery, UpdateTemplateMutation, type Template } from './queries'
import { DeleteTemplateButton } from './delete-template'
import { RunNowDialog } from './run-now-dialog'
import { DependenciesPanel } from '@/features/dependencies/dependencies-panel'
import { WebhookEndpointsPanel } from '@/features/webhooks/webhook-endpoints-panel'

const LIST = { href: '/templates', title: 'Templates', noun: 'template' }

export function TemplateEditor({ id }: { id: string | null }) {
  useTitle(id ? 'Edit template' : 'New template')
  const [options] = useQuery({ query: TemplateFormOptionsQuery, requestPolicy: 'network-only' })
  const [tpl] = useQuery({ query: TemplateQuery, variables: { id: id ?? '' }, pause: !id, requestPolicy: 'network-only' })
  const error = options.error ?? tpl.error
  if (error) return <EditorLoadError list={LIST} error={error} />
  if (!options.data || (id && !tpl.data)) return <Skeleton rows={8} />
  const template = tpl.data?.jobTemplate ?? null
  const form = <TemplateForm template={template} jobTypes={options.data.jobTypes} targets={options.data.targets} inventories={options.data.inventories} credentials={options.data.credentials} sources={options.data.inventorySources} />
  if (!template) return form
  // What else starts this template: other templates' runs and inbound webhooks (outside the form: each has its own dialogs).
  return (
    <div className="stack">
      {form}
      <DependenciesPanel template={template} />
      <WebhookEndpointsPanel target={{ kind: 'TEMPLATE', id: template.id, name: template.name, parameters: template.parameters }} />
    </div>
  )
}


type JobTypeOption = ResultOf<typeof TemplateFormOptionsQuery>['jobTypes'][number]

/** The type's description, and — for a type the user may not author — why, in the server's words. */
function jobTypeHint(type: JobTypeOption | undefined): ReactNode {
  if (!type) return undefined
  if (type.canAuthor) return type.executesWorkerCode ? `${type.description} Its config runs as code on the worker.` : type.description
  return (
    <>
      {type.description} <strong>You may not save templates of this type:</strong> {type.authorRefusal}
    </>
  )
}

const str = (n: number | null | undefined) => (n == null ? '' : String(n))

function TemplateForm({
  template,
  jobTypes,
  targets,
  inventories,
  credentials,
  sources,
}: {
  template: Template | null
  jobTypes: readonly JobTypeOption[]
  targets: ReadonlyArray<{ id: string; name: string; host: string; tags: readonly string[] }>
  inventories: ReadonlyArray<{ id: string; name: string }>
  credentials: readonly CredentialOption[]
  sources: readonly SourceOption[]
}) {
  const router = useRouter()
  const { canWrite } = useSessionContext()
  const [name, setName] = useState(template?.name ?? '')
  const [description, setDescription] = useState(template?.description ?? '')
  const [tags, setTags] = useState((template?.tags ?? []).join(', '))
  // A new template starts on a type the user may author (the server refuses the others).
  const [jobType, setJobType] = useState(template?.jobType ?? (jobTypes.find((t) => t.canAuthor) ?? jobTypes[0])?.type ?? '')
  const [visibility, setVisibility] = useState<'GLOBAL' | 'PRIVATE'>(template?.visibility ?? 'GLOBAL')
  const type = jobTypes.find((t) => t.type === jobType)
  const fields = useMemo(() => schemaToFields(type?.configSchema as JsonSchema | undefined), [type])
  const [configValues, setConfigValues] = useState<FormValues>(() => initialValues(fields, template?.config))
  const [extraConfig] = useState(() => unknownKeys(fields, template?.config))
  const [params, setParams] = useState<ParameterDraft[]>(() => (template?.parameters ?? []).map(toDraft))
  const [outputs, setOutputs] = useState<OutputDraft[]>(() => (template?.outputs ?? []).map((o) => ({ name: o.name, kind: o.kind, description: o.description })))
  const [selector, setSelector] = useState<Selector>(() => ({
    targetIds: template?.targetSelector.targets.map((t) => t.id) ?? [],
    inventoryIds: template?.targetSelector.inventories.map((i) => i.id) ?? [],
    tags: [...(template?.targetSelector.tags ?? [])],
    namePatterns: [...(template?.targetSelector.namePatterns ?? [])],
  }))
  const [timeout, setTimeoutSeconds] = useState(str(template?.timeoutSeconds))
  const [parallel, setParallel] = useState(str(template?.maxParallelTargets))
  const [attempts, setAttempts] = useState(str(template?.retryMaxAttempts))
  const [delay, setDelay] = useState(str(template?.retryDelaySeconds))
  const [backoff, setBackoff] = useState<'FIXED' | 'EXPONENTIAL'>(template?.retryBackoff ?? 'FIXED')
  const [threshold, setThreshold] = useState(template?.successThreshold == null ? '' : String(template.successThreshold))
  const [maxConcurrent, setMaxConcurrent] = useState(str(template?.maxConcurrentRuns))
  const [logLines, setLogLines] = useState(str(template?.logLimitLines))
  const [logBytes, setLogBytes] = useState(str(template?.logLimitBytes))
  const [overlap, setOverlap] = useState<'ALLOW' | 'SKIP' | 'QUEUE' | 'CANCEL_PREVIOUS'>(template?.overlapPolicy ?? 'ALLOW')
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [runOpen, setRunOpen] = useState(false)
  const [createState, create] = useMutation(CreateTemplateMutation)
  const [updateState, update] = useMutation(UpdateTemplateMutation)
  const busy = createState.fetching || updateState.fetching
  const err = (path: string) => fieldError(errors, path)
  const formRef = useRef<HTMLFormElement>(null)
  const focusFirstError = useFocusFirstError(formRef)
  const fail = (e: FormErrors) => {
    setErrors(e)
    focusFirstError()
  }
  // Editing a config field clears what was said about it.
  const editConfig = (next: FormValues) => {
    const changed = fields.filter((f) => next[f.key] !== configValues[f.key]).map((f) => f.path)
    // A field's errors include those of the fields inside it (`config.auth.username`).
    const about = (k: string) => changed.some((p) => k === p || k.startsWith(`${p}.`))
    if (Object.keys(errors.fields).some(about))
      setErrors((e) => {
        const fields = Object.fromEntries(Object.entries(e.fields).filter(([k]) => !about(k)))
        return { ...e, fields, form: Object.keys(fields).length ? e.form : null }
      })
    setConfigValues(next)
  }

  const changeType = (t: string) => {
    setJobType(t)
    const next = jobTypes.find((j) => j.type === t)
    setConfigValues(initialValues(schemaToFields(next?.configSchema as JsonSchema | undefined), t === template?.jobType ? template.config : {}))
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const { config, errors: configErrors } = valuesToConfig(fields, withoutHiddenItems(jobType, fields, configValues), extraConfig, hiddenFields(jobType, configValues))
    const local: Record<string, string> = { ...configErrors }
    if (!name.trim()) local.name = 'Enter a name for the template.'
    const num = (label: string, v: string, allowFloat = false) => {
      if (v.trim() === '') return undefined
      const n = Number(v)
      if (!Number.isFinite(n) || (!allowFloat && !Number.isInteger(n))) {
        local[label] = allowFloat ? `“${v}” is not a number.` : `“${v}” is not a whole number.`
        return undefined
      }
      return n
    }
    const input = {
      name: name.trim(),
      description,
      // "backup, nightly" → ["backup", "nightly"]; the API checks each (errors name tags.<i>).
      tags: [...new Set(tags.split(/[\s,]+/).map((t) => t.trim()).filter(Boolean))],
      jobType,
      visibility,
      config,
      parameters: params.map(toInput),
      // Only job types that publish outputs may declare them; switching to another type clears them.
      outputs: type?.publishesOutputs ? outputs.map((o) => ({ name: o.name.trim(), kind: o.kind, description: o.description })) : [],
      targetSelector: type?.usesTargets === false ? { targetIds: [], inventoryIds: [], tags: [], namePatterns: [] } : selector,
      timeoutSeconds: num('timeoutSeconds', timeout),
      maxParallelTargets: num('maxParallelTargets', parallel),
      retryMaxAttempts: num('retryMaxAttempts', attempts),
      retryDelaySeconds: num('retryDelaySeconds', delay),
      retryBackoff: backoff,
      successThreshold: num('successThreshold', threshold, true),
      maxConcurrentRuns: num('maxConcurrentRuns', maxConcurrent),
      logLimitLines: num('logLimitLines', logLines),
      logLimitBytes: num('logLimitBytes', logBytes),
      overlapPolicy: overlap,
    }
    if (Object.keys(local).length) {
      fail({ form: fixSummary(Object.keys(local).length), fields: local, code: null })
      return
    }
    setErrors(NO_ERRORS)
    const shown = ['name', 'description', 'tags', 'jobType', 'visibility', 'config', 'parameters', 'outputs', 'targetSelector', 'timeoutSeconds', 'maxParallelTargets', 'retryMaxAttempts', 'retryDelaySeconds', 'retryBackoff', 'successThreshold', 'maxConcurrentRuns', 'logLimitLines', 'logLimitBytes', 'overlapPolicy']
    if (template) {
      // Blank timeout / threshold / limits clear them; other blanks keep the stored value.
      const r = await update({
        id: template.id,
        input: {
          ...input,
          timeoutSeconds: input.timeoutSeconds ?? null,
          successThreshold: input.successThreshold ?? null,
          maxConcurrentRuns: input.maxConcurrentRuns ?? null,
          logLimitLines: input.logLimitLines ?? null,
          logLimitBytes: input.logLimitBytes ?? null,
        },
      })
      if (r.data) router.push('/templates')
      else fail(withUnclaimed(toFormErrors(r.error), shown))
    } else {
      // A new template opens on its own page (Run now, Schedule are there).
      const r = await create({ input })
      if (r.data) router.push(`/templates/${encodeURIComponent(r.data.createJobTemplate.id)}`)
      else fail(withUnclaimed(toFormErrors(r.error), shown))
    }
  }

  return (
    <EditorShell
      list={LIST}
      editing={!!template}
      formRef={formRef}
      onSubmit={submit}
      title={template ? template.name : 'New template'}
      subtitle={template ? `${type?.label ?? template.jobType} · owned by ${template.owner.username}` : 'Define what to run, where, and how.'}
      actions={
        template && canWrite ? (
          <>
            <Link className="btn" href={`/schedules/new?template=${encodeURIComponent(template.id)}`}>
              <Icons.schedules /> Schedule
            </Link>
            <button type="button" className="btn" onClick={() => setRunOpen(true)}>
              <Icons.play /> Run now
            </button>
            <DeleteTemplateButton template={template} onDeleted={() => router.push('/templates')} />
          </>
        ) : null
      }
      formError={errors.form}
      canWrite={canWrite}
      busy={busy}
      after={runOpen && template ? <RunNowDialog template={template} onClose={() => setRunOpen(false)} /> : null}
    >
      <Section title="General">
        <div className="grid-2">
          <Field label="Name" required error={err('name')}>
            {(p) => <input {...p} name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder="disk usage" autoFocus={!template} />}
          </Field>
          <Field label="Job type" required error={err('jobType')} hint={jobTypeHint(type)}>
            {(p) => (
              <select {...p} name="jobType" value={jobType} onChange={(e) => changeType(e.target.value)}>
                {jobTypes.map((t) => (
                  // Types the user may not author stay listed, disabled, with the reason below when chosen.
                  <option key={t.type} value={t.type} disabled={!t.canAuthor && t.type !== jobType} title={t.authorRefusal ?? undefined}>
                    {t.canAuthor ? t.label : `${t.label} (not available to you${t.executesWorkerCode ? ': runs code on the worker' : ''})`}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Field label="Description" error={err('description')}>
          {(p) => <textarea {...p} name="description" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} placeholder="What this job does and when to use it" />}
        </Field>
        <Field label="Tags" error={err('tags')} hint="Labels for grouping, separated by commas; notification rules can choose templates by tag.">
          {(p) => <input {...p} name="tags" value={tags} onChange={(e) => setTags(e.target.value)} placeholder="backup, nightly" autoComplete="off" />}
        </Field>
                <VisibilityField value={visibility} onChange={setVisibility} error={err('visibility')} />
      </Section>

      <Section title={`${type?.label ?? 'Job'} settings`} subtitle="Generated from the job type's schema.">
        <ConfigForm jobType={jobType} fields={fields} values={configValues} onChange={editConfig} errorFor={err} credentials={credentials} sources={sources} />
        {err('config') && !fields.some((f) => err(f.path)) ? <div className="error small" role="alert" style={{ color: 'var(--err)' }}>{err('config')}</div> : null}
      </Section>

      <Section title="Parameters" subtitle="Values asked for when the job runs.">
        <ParametersEditor value={params} onChange={setParams} errorFor={err} />
        {errors.fields.parameters ? <div className="error small" role="alert" style={{ color: 'var(--err)' }}>{errors.fields.parameters}</div> : null}
      </Section>

      {type?.publishesOutputs ? (
        <Section title="Outputs" subtitle="Values each target's step publishes for later workflow nodes.">
          <OutputsEditor value={outputs} onChange={setOutputs} errorFor={err} />
          {errors.fields.outputs ? <div className="error small" role="alert" style={{ color: 'var(--err)' }}>{errors.fields.outputs}</div> : null}
        </Section>
      ) : null}

      {type?.usesTargets !== false ? (
        <Section title="Targets" subtitle="A target is selected when it is listed, in a listed inventory, or carries every tag and matches a name pattern.">
          <TargetSelectorEditor value={selector} onChange={setSelector} targets={targets} inventories={inventories} errorFor={err} />
        </Section>
      ) : null}

      <Section title="Execution">
        <div className="grid-3">
          <Field label="Timeout (seconds)" error={err('timeoutSeconds')} hint="Per attempt. Blank: no timeout.">
            {(p) => <input {...p} name="timeoutSeconds" inputMode="numeric" value={timeout} onChange={(e) => setTimeoutSeconds(e.target.value)} placeholder="none" />}
          </Field>
          <Field label="Parallel targets" error={err('maxParallelTargets')} hint="At most this many targets at once.">
            {(p) => <input {...p} name="maxParallelTargets" inputMode="numeric" value={parallel} onChange={(e) => setParallel(e.target.value)} placeholder="10" />}
          </Field>
          <Field label="Success threshold (%)" error={err('successThreshold')} hint="Blank: every target must succeed.">
            {(p) => <input {...p} name="successThreshold" inputMode="decimal" value={threshold} onChange={(e) => setThreshold(e.target.value)} placeholder="100" />}
          </Field>
          <Field label="Max attempts" error={err('retryMaxAttempts')} hint="1 = no retry. Retries only the failed targets.">
            {(p) => <input {...p} name="retryMaxAttempts" inputMode="numeric" value={attempts} onChange={(e) => setAttempts(e.target.value)} placeholder="1" />}
          </Field>
          <Field label="Retry delay (seconds)" error={err('retryDelaySeconds')}>
            {(p) => <input {...p} name="retryDelaySeconds" inputMode="numeric" value={delay} onChange={(e) => setDelay(e.target.value)} placeholder="0" />}
          </Field>
          <Field label="Concurrent runs" error={err('maxConcurrentRuns')} hint="At most this many runs of this template at once; others wait queued. Blank: no limit.">
            {(p) => <input {...p} name="maxConcurrentRuns" inputMode="numeric" value={maxConcurrent} onChange={(e) => setMaxConcurrent(e.target.value)} placeholder="no limit" />}
          </Field>
          <Field label="Log limit (lines)" error={err('logLimitLines')} hint="Most log lines one run stores; later output is counted, not stored. Blank: the server default.">
            {(p) => <input {...p} name="logLimitLines" inputMode="numeric" value={logLines} onChange={(e) => setLogLines(e.target.value)} placeholder="server default" />}
          </Field>
          <Field label="Log limit (bytes)" error={err('logLimitBytes')} hint="Most log bytes one run stores. Blank: the server default.">
            {(p) => <input {...p} name="logLimitBytes" inputMode="numeric" value={logBytes} onChange={(e) => setLogBytes(e.target.value)} placeholder="server default" />}
          </Field>
          <Field label="Scheduled run still going" error={err('overlapPolicy')} hint="What a schedule slot does while an earlier run has not finished.">
            {(p) => (
              <select {...p} name="overlapPolicy" value={overlap} onChange={(e) => setOverlap(e.target.value as typeof overlap)}>
                <option value="ALLOW">Run anyway</option>
                <option value="SKIP">Skip the slot</option>
                <option value="QUEUE">Queue behind it</option>
                <option value="CANCEL_PREVIOUS">Cancel the earlier run</option>
              </select>
            )}
          </Field>
          <Field label="Backoff" error={err('retryBackoff')}>
            {() => (
              <Segmented
                label="Backoff"
                value={backoff}
                onChange={setBackoff}
                options={[
                  { value: 'FIXED', label: 'Fixed' },
                  { value: 'EXPONENTIAL', label: 'Exponential' },
                ]}
              />
            )}
          </Field>
        </div>
      </Section>
    </EditorShell>
  )
}

function Section({ title, subtitle, children }: { title: string; subtitle?: string; children: ReactNode }) {
  return (
    <Panel
      title={
        <>
          {title}
          {subtitle ? <span className="muted small" style={{ fontWeight: 400, marginLeft: 8 }}>{subtitle}</span> : null}
        </>
      }
    >
      <div className="fieldset">{children}</div>
    </Panel>
  )
}
