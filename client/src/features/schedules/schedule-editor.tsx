'use client'
/**
 * Create or edit a schedule. The timing fields drive a live preview of the next fire times
 * (previewJobSchedule, debounced), whose problems show next to the fields they name.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react'
import { useMutation, useQuery } from 'urql'
import { Segmented } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { useFocusFirstError } from '@/components/use-focus-first-error'
import { BackLink, EmptyState, ErrorAlert, Field, PageHeader, Panel, Skeleton } from '@/components/ui'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { overrideInput, overrideValues, type ParameterDefinition, type RunValues } from '@/lib/parameters'
import { newTiming, overlapOptions, targetInput, timingFromSchedule, timingInput, WEEKDAYS, type IntervalUnit, type OverlapChoice, type ScheduleKind, type TargetKind, type TimingDraft } from '@/lib/schedule-form'
import { SchedulePreview } from './schedule-preview'
import { CreateScheduleMutation, PreviewScheduleQuery, ScheduleFormOptionsQuery, ScheduleQuery, UpdateScheduleMutation, type Schedule } from './queries'

export function ScheduleEditor({ id, templateId, workflowId }: { id: string | null; templateId?: string | null; workflowId?: string | null }) {
  useTitle(id ? 'Edit schedule' : 'New schedule')
  const [options] = useQuery({ query: ScheduleFormOptionsQuery, requestPolicy: 'network-only' })
  const [existing] = useQuery({ query: ScheduleQuery, variables: { id: id ?? '' }, pause: !id, requestPolicy: 'network-only' })
  const error = options.error ?? existing.error
  if (error) {
    const e = toFormErrors(error)
    return (
      <>
        <BackLink href="/schedules">Schedules</BackLink>
        <EmptyState title={e.code === 'NOT_FOUND' ? 'Schedule not found' : 'Could not load the schedule'}>{e.form}</EmptyState>
      </>
    )
  }
  if (!options.data || (id && !existing.data)) return <Skeleton rows={8} />
  if (!options.data.jobTemplates.length && !options.data.workflows.length)
    return (
      <>
        <BackLink href="/schedules">Schedules</BackLink>
        <EmptyState title="Nothing to schedule yet" action={<Link className="btn primary" href="/templates/new">Create a template</Link>}>
          A schedule runs a template or a workflow. Create one first.
        </EmptyState>
      </>
    )
  return (
    <ScheduleForm
      schedule={existing.data?.jobSchedule ?? null}
      templates={options.data.jobTemplates}
      workflows={options.data.workflows}
      blackouts={options.data.blackoutWindows}
      initial={workflowId ? { kind: 'WORKFLOW', id: workflowId } : templateId ? { kind: 'TEMPLATE', id: templateId } : null}
    />
  )
}

type Misfire = 'SKIP' | 'RUN_ONCE' | 'RUN_ALL'
type Runnable = { id: string; name: string; parameters: readonly ParameterDefinition[] }

function ScheduleForm({
  schedule,
  templates,
  workflows,
  blackouts,
  initial,
}: {
  schedule: Schedule | null
  templates: readonly Runnable[]
  workflows: readonly Runnable[]
  blackouts: ReadonlyArray<{ id: string; name: string; description: string }>
  initial: { kind: TargetKind; id: string } | null
}) {
  const router = useRouter()
  const { canWrite } = useSessionContext()
  const [name, setName] = useState(schedule?.name ?? '')
  const [description, setDescription] = useState(schedule?.description ?? '')
  // What it runs: a template or a workflow. Switching keeps each kind's choice, so switching back is harmless.
  const [targetKind, setTargetKind] = useState<TargetKind>(schedule ? (schedule.workflow ? 'WORKFLOW' : 'TEMPLATE') : (initial?.kind ?? (templates.length ? 'TEMPLATE' : 'WORKFLOW')))
  const [templateId, setTemplateId] = useState(schedule?.template?.id ?? (initial?.kind === 'TEMPLATE' ? initial.id : templates[0]?.id) ?? '')
  const [workflowId, setWorkflowId] = useState(schedule?.workflow?.id ?? (initial?.kind === 'WORKFLOW' ? initial.id : workflows[0]?.id) ?? '')
  const [visibility, setVisibility] = useState<'GLOBAL' | 'PRIVATE'>(schedule?.visibility ?? 'GLOBAL')
  const [active, setActive] = useState(schedule?.active ?? true)
  const [timing, setTiming] = useState<TimingDraft>(() => (schedule ? timingFromSchedule(schedule) : newTiming()))
  const [misfirePolicy, setMisfirePolicy] = useState<Misfire>(schedule?.misfirePolicy ?? 'SKIP')
  const [misfireGrace, setMisfireGrace] = useState(String(schedule?.misfireGraceSeconds ?? 60))
  const [misfireMax, setMisfireMax] = useState(String(schedule?.misfireMaxRuns ?? 10))
  const [overlap, setOverlap] = useState<OverlapChoice>(schedule?.overlapPolicy ?? '')
  const [blackoutIds, setBlackoutIds] = useState<string[]>(schedule?.blackouts.map((b) => b.id) ?? [])
  // The chosen template or workflow (a saved one you can no longer list keeps its name and parameters).
  const target: Runnable | undefined =
    targetKind === 'TEMPLATE'
      ? (templates.find((t) => t.id === templateId) ?? (schedule?.template?.id === templateId ? schedule.template : undefined))
      : (workflows.find((w) => w.id === workflowId) ?? (schedule?.workflow?.id === workflowId ? schedule.workflow : undefined))
  const [params, setParams] = useState<RunValues>(() => {
    const stored = (schedule?.parameters ?? {}) as Record<string, unknown>
    const base: RunValues = { ...overrideValues(target?.parameters ?? [], stored) }
    for (const [k, v] of Object.entries(stored)) base[k] ??= typeof v === 'boolean' ? v : String(v)
    return base
  })
  const overlapChoices = overlapOptions(targetKind)
  // A choice the target does not offer (QUEUE after switching to a workflow) stays visible, so the API's
  // refusal has a value to sit next to.
  if (!overlapChoices.some((o) => o.value === overlap)) overlapChoices.push({ value: overlap, label: 'Queue behind it (not available for a workflow)' })
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [createState, create] = useMutation(CreateScheduleMutation)
  const [updateState, update] = useMutation(UpdateScheduleMutation)
  const busy = createState.fetching || updateState.fetching

  // Live preview, debounced while typing.
  const input = useMemo(() => timingInput(timing), [timing])
  const [previewInput, setPreviewInput] = useState(input)
  useEffect(() => {
    const t = setTimeout(() => setPreviewInput({ ...input }), 300)
    return () => clearTimeout(t)
  }, [input])
  const previewVars = useMemo(() => ({ input: { ...previewInput, blackoutIds }, count: 5 }), [previewInput, blackoutIds])
  const [preview] = useQuery({ query: PreviewScheduleQuery, variables: previewVars, requestPolicy: 'network-only' })
  const previewErrors = toFormErrors(preview.error)
  const err = (f: string) => fieldError(errors, f) ?? fieldError(previewErrors, f)
  const setT = (patch: Partial<TimingDraft>) => setTiming((t) => ({ ...t, ...patch }))

  const formRef = useRef<HTMLFormElement>(null)
  const focusFirstError = useFocusFirstError(formRef)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const parameters = overrideInput(target?.parameters ?? [], params)
    const num = (v: string) => (v.trim() === '' || !Number.isFinite(Number(v)) ? undefined : Number(v))
    const body = {
      ...input,
      name: name.trim(),
      description,
      ...targetInput(targetKind, targetKind === 'TEMPLATE' ? templateId : workflowId),
      parameters,
      visibility,
      active,
      misfirePolicy,
      misfireGraceSeconds: num(misfireGrace),
      misfireMaxRuns: num(misfireMax),
      overlapPolicy: overlap || null,
      blackoutIds,
    }
    const shown = ['name', 'description', 'templateId', 'workflowId', 'visibility', 'active', 'parameters', 'kind', 'cronExpression', 'intervalEvery', 'intervalUnit', 'dailyTime', 'daysOfWeek', 'onceAt', 'timezone', 'startAt', 'endAt', 'misfirePolicy', 'misfireGraceSeconds', 'misfireMaxRuns', 'overlapPolicy', 'blackoutIds']
    const r = schedule ? await update({ id: schedule.id, input: body }) : await create({ input: body })
    if (r.error) {
      setErrors(withUnclaimed(toFormErrors(r.error), shown))
      focusFirstError()
    } else router.push('/schedules')
  }

  const zones = useMemo(() => {
    try {
      return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone')
    } catch {
      return []
    }
  }, [])

  return (
    <form ref={formRef} onSubmit={submit} noValidate className="stack">
      <BackLink href="/schedules">Schedules</BackLink>
      <PageHeader title={schedule ? schedule.name : 'New schedule'} subtitle={schedule ? `Owned by ${schedule.owner.username}` : 'Run a template or a workflow on a timetable.'} />
      <ErrorAlert message={errors.form} />
      <div className="form-layout">
        <div className="stack">
          <Panel title="General">
            <div className="fieldset">
              <div className="grid-2">
                <Field label="Name" required error={err('name')}>
                  {(p) => <input {...p} name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder="nightly disk report" autoFocus={!schedule} />}
                </Field>
                <Field label="Runs">
                  {() => (
                    <Segmented<TargetKind>
                      label="Runs"
                      value={targetKind}
                      onChange={(k) => {
                        setTargetKind(k)
                        setErrors(NO_ERRORS)
                      }}
                      options={[
                        { value: 'TEMPLATE', label: 'A job template' },
                        { value: 'WORKFLOW', label: 'A workflow' },
                      ]}
                    />
                  )}
                </Field>
                {targetKind === 'WORKFLOW' ? (
                  <Field label="Workflow" required error={err('workflowId')} hint={workflows.length ? 'Each slot starts a workflow run.' : 'No workflows yet.'}>
                    {(p) => (
                      <select {...p} name="workflowId" value={workflowId} onChange={(e) => setWorkflowId(e.target.value)}>
                        {!workflows.some((w) => w.id === workflowId) ? <option value={workflowId}>{target?.name ?? '(choose a workflow)'}</option> : null}
                        {workflows.map((w) => (
                          <option key={w.id} value={w.id}>
                            {w.name}
                          </option>
                        ))}
                      </select>
                    )}
                  </Field>
                ) : (
                  <Field label="Template" required error={err('templateId')} hint={templates.length ? undefined : 'No templates yet.'}>
                    {(p) => (
                      <select {...p} name="templateId" value={templateId} onChange={(e) => setTemplateId(e.target.value)}>
                        {!templates.some((t) => t.id === templateId) ? <option value={templateId}>{target?.name ?? '(choose a template)'}</option> : null}
                        {templates.map((t) => (
                          <option key={t.id} value={t.id}>
                            {t.name}
                          </option>
                        ))}
                      </select>
                    )}
                  </Field>
                )}
              </div>
              <Field label="Description" error={err('description')}>
                {(p) => <input {...p} name="description" value={description} onChange={(e) => setDescription(e.target.value)} />}
              </Field>
              <div className="row wrap" style={{ gap: 24 }}>
                <Field label="Visibility" error={err('visibility')}>
                  {() => <Segmented label="Visibility" value={visibility} onChange={setVisibility} options={[{ value: 'GLOBAL', label: 'Global' }, { value: 'PRIVATE', label: 'Private' }]} />}
                </Field>
                <div className="field">
                  <span className="field-label">State</span>
                  <label className="check" style={{ minHeight: 32 }}>
                    <input type="checkbox" role="switch" checked={active} onChange={(e) => setActive(e.target.checked)} /> Active
                  </label>
                </div>
              </div>
            </div>
          </Panel>
          <Panel title="When">
            <div className="fieldset">
              <Field label="Kind" error={err('kind')}>
                {() => (
                  <Segmented<ScheduleKind>
                    label="Kind"
                    value={timing.kind}
                    onChange={(kind) => setT({ kind })}
                    options={[
                      { value: 'CRON', label: 'Cron' },
                      { value: 'INTERVAL', label: 'Interval' },
                      { value: 'DAILY_AT', label: 'Daily at' },
                      { value: 'ONCE', label: 'Once' },
                    ]}
                  />
                )}
              </Field>
              {timing.kind === 'CRON' ? (
                <Field label="Cron expression" required error={err('cronExpression')} hint="5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first. L, #, W, ranges, steps and names work.">
                  {(p) => <input {...p} name="cronExpression" className="mono" value={timing.cronExpression} onChange={(e) => setT({ cronExpression: e.target.value })} placeholder="*/15 * * * *" spellCheck={false} />}
                </Field>
              ) : timing.kind === 'INTERVAL' ? (
                <div className="row" style={{ alignItems: 'flex-start' }}>
                  <Field label="Every" required error={err('intervalEvery')}>
                    {(p) => <input {...p} name="intervalEvery" inputMode="numeric" value={timing.intervalEvery} onChange={(e) => setT({ intervalEvery: e.target.value })} style={{ width: 120 }} />}
                  </Field>
                  <Field label="Unit" error={err('intervalUnit')}>
                    {(p) => (
                      <select {...p} name="intervalUnit" value={timing.intervalUnit} onChange={(e) => setT({ intervalUnit: e.target.value as IntervalUnit })} style={{ width: 140 }}>
                        <option value="SECONDS">seconds</option>
                        <option value="MINUTES">minutes</option>
                        <option value="HOURS">hours</option>
                      </select>
                    )}
                  </Field>
                </div>
              ) : timing.kind === 'DAILY_AT' ? (
                <div className="row wrap" style={{ alignItems: 'flex-start', gap: 16 }}>
                  <Field label="Time" required error={err('dailyTime')}>
                    {(p) => <input {...p} name="dailyTime" type="time" value={timing.dailyTime} onChange={(e) => setT({ dailyTime: e.target.value })} style={{ width: 140 }} />}
                  </Field>
                  <Field label="Days" error={err('daysOfWeek')} hint="None selected: every day.">
                    {() => (
                      <div className="status-toggles" role="group" aria-label="Days">
                        {WEEKDAYS.map((d, i) => (
                          <button
                            key={d}
                            type="button"
                            className="toggle"
                            aria-pressed={timing.daysOfWeek.includes(i)}
                            onClick={() => setT({ daysOfWeek: timing.daysOfWeek.includes(i) ? timing.daysOfWeek.filter((x) => x !== i) : [...timing.daysOfWeek, i] })}
                          >
                            {d}
                          </button>
                        ))}
                      </div>
                    )}
                  </Field>
                </div>
              ) : (
                <Field label="At" required error={err('onceAt')} hint="Local date and time in the schedule's timezone.">
                  {(p) => <input {...p} name="onceAt" type="datetime-local" value={timing.onceAt} onChange={(e) => setT({ onceAt: e.target.value })} style={{ maxWidth: 260 }} />}
                </Field>
              )}
              <div className="grid-3">
                <Field label="Timezone" required error={err('timezone')} hint="IANA name; fire times follow its DST rules.">
                  {(p) => (
                    <>
                      <input {...p} name="timezone" list="tz-list" value={timing.timezone} onChange={(e) => setT({ timezone: e.target.value })} spellCheck={false} />
                      <datalist id="tz-list">
                        {zones.map((z) => (
                          <option key={z} value={z} />
                        ))}
                      </datalist>
                    </>
                  )}
                </Field>
                <Field label="Starts" error={err('startAt')} hint="Optional, your local time.">
                  {(p) => <input {...p} name="startAt" type="datetime-local" value={timing.startAt} onChange={(e) => setT({ startAt: e.target.value })} />}
                </Field>
                <Field label="Ends" error={err('endAt')} hint="Optional, your local time.">
                  {(p) => <input {...p} name="endAt" type="datetime-local" value={timing.endAt} onChange={(e) => setT({ endAt: e.target.value })} />}
                </Field>
              </div>
            </div>
          </Panel>
          {target?.parameters.length ? (
            <Panel title="Parameters" actions={<span className="small muted">Blank: the {targetKind === 'TEMPLATE' ? 'template' : 'workflow'}&apos;s default</span>}>
              <div className="grid-2">
                {target.parameters.map((p) => (
                  <Field key={p.name} label={p.label || p.name} error={err(`parameters.${p.name}`)} hint={p.description ?? undefined}>
                    {(a) =>
                      p.type === 'BOOL' ? (
                        <select {...a} value={params[p.name] === true ? 'true' : params[p.name] === false ? 'false' : ''} onChange={(e) => setParams({ ...params, [p.name]: e.target.value === '' ? '' : e.target.value === 'true' })}>
                          <option value="">(default)</option>
                          <option value="true">true</option>
                          <option value="false">false</option>
                        </select>
                      ) : p.type === 'CHOICE' ? (
                        <select {...a} value={typeof params[p.name] === 'string' ? (params[p.name] as string) : ''} onChange={(e) => setParams({ ...params, [p.name]: e.target.value })}>
                          <option value="">(default)</option>
                          {(p.choices ?? []).map((c) => (
                            <option key={c}>{c}</option>
                          ))}
                        </select>
                      ) : (
                        <input
                          {...a}
                          className="mono"
                          type={p.type === 'SECRET' ? 'password' : 'text'}
                          autoComplete="off"
                          placeholder={p.default != null ? String(p.default) : ''}
                          value={typeof params[p.name] === 'string' ? (params[p.name] as string) : ''}
                          onChange={(e) => setParams({ ...params, [p.name]: e.target.value })}
                        />
                      )
                    }
                  </Field>
                ))}
              </div>
            </Panel>
          ) : null}
          <Panel title="Policies">
            <div className="grid-3">
              <Field label="Missed slots" error={err('misfirePolicy')} hint="Slots missed while Switchyard was down.">
                {(p) => (
                  <select {...p} value={misfirePolicy} onChange={(e) => setMisfirePolicy(e.target.value as Misfire)}>
                    <option value="SKIP">Skip (record as missed)</option>
                    <option value="RUN_ONCE">Run once to catch up</option>
                    <option value="RUN_ALL">Run each missed slot</option>
                  </select>
                )}
              </Field>
              <Field label="Grace (seconds)" error={err('misfireGraceSeconds')} hint="Late by less than this still counts as on time.">
                {(p) => <input {...p} inputMode="numeric" value={misfireGrace} onChange={(e) => setMisfireGrace(e.target.value)} />}
              </Field>
              <Field label="Max catch-up runs" error={err('misfireMaxRuns')}>
                {(p) => <input {...p} inputMode="numeric" value={misfireMax} onChange={(e) => setMisfireMax(e.target.value)} disabled={misfirePolicy !== 'RUN_ALL'} />}
              </Field>
              <Field label="While a run is still going" error={err('overlapPolicy')} hint={targetKind === 'WORKFLOW' ? 'Looks at the workflow’s running runs; a workflow slot cannot queue.' : undefined}>
                {(p) => (
                  <select {...p} name="overlapPolicy" value={overlap} onChange={(e) => setOverlap(e.target.value as OverlapChoice)}>
                    {overlapChoices.map((o) => (
                      <option key={o.value} value={o.value}>
                        {o.label}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Blackout windows" error={err('blackoutIds')} hint={blackouts.length ? 'Slots inside them are skipped.' : 'None defined yet (see the Schedules page).'}>
                {() =>
                  blackouts.length ? (
                    <div className="pick-list" role="group" aria-label="Blackout windows" style={{ maxHeight: 120 }}>
                      {blackouts.map((b) => (
                        <label key={b.id}>
                          <input type="checkbox" checked={blackoutIds.includes(b.id)} onChange={() => setBlackoutIds(blackoutIds.includes(b.id) ? blackoutIds.filter((x) => x !== b.id) : [...blackoutIds, b.id])} />
                          {b.name}
                        </label>
                      ))}
                    </div>
                  ) : (
                    <span className="faint small">—</span>
                  )
                }
              </Field>
            </div>
          </Panel>
        </div>
        <div style={{ position: 'sticky', top: 68 }}>
          <SchedulePreview fetching={preview.fetching} result={preview.data?.previewJobSchedule ?? null} errors={previewErrors} timezone={timing.timezone} paused={!active} />
        </div>
      </div>
      {canWrite ? (
        <div className="form-actions">
          <Link className="btn" href="/schedules">
            Cancel
          </Link>
          <button type="submit" className="btn primary" disabled={busy}>
            <Icons.schedules /> {busy ? 'Saving…' : schedule ? 'Save changes' : 'Create schedule'}
          </button>
        </div>
      ) : null}
    </form>
  )
}
