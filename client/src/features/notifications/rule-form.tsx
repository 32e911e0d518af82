'use client'
/**
 * Create or edit a notification rule: which events, for which runs (every run, or chosen templates,
 * workflows, schedules and template tags — a run matching any of them), notify which channels. The
 * threshold events bring their fields: DURATION_EXCEEDED a limit and/or a multiple of the template's p95,
 * CONSECUTIVE_FAILURES the streak length, QUEUE_BACKLOG the wait; each shows its problem under it.
 */
import { useState } from 'react'
import { EditDialog, useSaveForm } from '@/components/edit-dialog'
import { Segmented } from '@/components/inputs'
import { Field } from '@/components/ui'
import { fixSummary } from '@/components/use-focus-first-error'
import { DEFAULT_CONSECUTIVE_FAILURES, thresholdDraft, thresholdInput, type ThresholdDraft } from '@/lib/notification-rules'
import { eventHint, eventLabel, NOTIFICATION_EVENTS } from '@/lib/notifications'
import { CreateRule, UpdateRule, type Rule, type ScopeOption, type TemplateOption } from './queries'

/** Tags as typed ("backup, nightly") → the list; the API checks each (errors name `tags.<i>`). */
function parseTags(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((t) => t.trim()).filter(Boolean))]
}

/** Checkboxes for one scope list; ids the list names that this user cannot see stay (and can be removed). */
function ScopePicks({ label, field, options, chosen, onChange, empty }: {
  label: string
  field: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean | 'true' | 'false' }
  options: readonly ScopeOption[]
  chosen: string[]
  onChange(next: string[]): void
  empty: string
}) {
  const unknown = chosen.filter((id) => !options.some((o) => o.id === id))
  const toggle = (id: string) => onChange(chosen.includes(id) ? chosen.filter((x) => x !== id) : [...chosen, id])
  return (
    <div className="pick-list" role="group" aria-label={label} aria-describedby={field['aria-describedby']} id={field.id}>
      {options.length || unknown.length ? null : <div className="small faint" style={{ padding: 8 }}>{empty}</div>}
      {options.map((o) => (
        <label key={o.id}>
          <input type="checkbox" checked={chosen.includes(o.id)} aria-invalid={field['aria-invalid'] || undefined} onChange={() => toggle(o.id)} />
          {o.name}
        </label>
      ))}
      {unknown.map((id) => (
        <label key={id}>
          <input type="checkbox" checked onChange={() => toggle(id)} />
          <span className="faint">(one you cannot see, or deleted)</span>
        </label>
      ))}
    </div>
  )
}

export function RuleForm({
  rule,
  channels,
  templates,
  workflows,
  schedules,
  onClose,
  onSaved,
}: {
  rule: Rule | null
  channels: ReadonlyArray<{ id: string; name: string }>
  templates: readonly TemplateOption[]
  workflows: readonly ScopeOption[]
  schedules: readonly ScopeOption[]
  onClose(): void
  onSaved(): void
}) {
  const [name, setName] = useState(rule?.name ?? '')
  const [enabled, setEnabled] = useState(rule?.enabled ?? true)
  const [events, setEvents] = useState<string[]>(rule ? [...rule.events] : ['RUN_FAILED'])
  const scoped = !!rule && (rule.templateIds.length > 0 || rule.workflowIds.length > 0 || rule.scheduleIds.length > 0 || rule.tags.length > 0)
  const [scope, setScope] = useState<'ALL' | 'CHOSEN'>(scoped ? 'CHOSEN' : 'ALL')
  const [templateIds, setTemplateIds] = useState<string[]>(rule ? [...rule.templateIds] : [])
  const [workflowIds, setWorkflowIds] = useState<string[]>(rule ? [...rule.workflowIds] : [])
  const [scheduleIds, setScheduleIds] = useState<string[]>(rule ? [...rule.scheduleIds] : [])
  const [tags, setTags] = useState(rule ? rule.tags.join(', ') : '')
  const [channelIds, setChannelIds] = useState<string[]>(rule ? rule.channels.map((c) => c.id) : channels.length === 1 ? [channels[0]!.id] : [])
  const [thresholds, setThresholds] = useState<ThresholdDraft>(() => thresholdDraft(rule))
  const setThreshold = (patch: Partial<ThresholdDraft>) => setThresholds((t) => ({ ...t, ...patch }))
  const form = useSaveForm(CreateRule, UpdateRule, {
    id: rule?.id,
    shown: ['name', 'enabled', 'events', 'templateIds', 'workflowIds', 'scheduleIds', 'tags', 'channelIds', 'durationLimitSeconds', 'durationP95Factor', 'consecutiveFailures', 'queueBacklogSeconds'],
    onSaved,
  })
  const { err } = form
  const toggle = (list: string[], v: string) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v])
  // Worker events concern no run: the scope does not apply to them.
  const onlyWorkerEvents = events.length > 0 && events.every((e) => e === 'WORKER_DOWN' || e === 'WORKER_RECOVERED')

  const submit = () => {
    const { input: limits, errors } = thresholdInput(events, thresholds)
    const tagList = parseTags(tags)
    const chosen = scope === 'CHOSEN'
    if (chosen && !templateIds.length && !workflowIds.length && !scheduleIds.length && !tagList.length) {
      errors.templateIds = 'Choose at least one template, workflow, schedule or tag — or notify for every run.'
    }
    const count = Object.keys(errors).length
    if (count) return form.setErrors({ form: count > 1 ? fixSummary(count) : null, fields: errors, code: null })
    return form.save({
      name: name.trim(),
      enabled,
      events: events as Array<(typeof NOTIFICATION_EVENTS)[number]>,
      templateIds: chosen ? templateIds : [],
      workflowIds: chosen ? workflowIds : [],
      scheduleIds: chosen ? scheduleIds : [],
      tags: chosen ? tagList : [],
      channelIds,
      ...limits,
    })
  }

  return (
    <EditDialog title={rule ? `Edit rule “${rule.name}”` : 'New notification rule'} submitLabel={rule ? 'Save' : 'Create rule'} form={form} onClose={onClose} onSubmit={submit}>
      <Field label="Name" required error={err('name')}>
        {(p) => <input {...p} name="name" value={name} placeholder="backups failing" onChange={(e) => setName(e.target.value)} autoFocus />}
      </Field>
      <label className="check">
        <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Enabled
      </label>
      <Field label="Events" required error={err('events')} hint="Only a run’s final outcome notifies — never each retried attempt.">
        {(p) => (
          <div className="pick-list" role="group" aria-label="Events" aria-describedby={p['aria-describedby']} id={p.id}>
            {NOTIFICATION_EVENTS.map((e) => (
              <label key={e} title={eventHint(e)}>
                <input type="checkbox" name={`events.${e}`} checked={events.includes(e)} aria-invalid={p['aria-invalid'] || undefined} onChange={() => setEvents((xs) => toggle(xs, e))} />
                {eventLabel(e)}
                <span className="small faint">{eventHint(e)}</span>
              </label>
            ))}
          </div>
        )}
      </Field>
      {events.includes('DURATION_EXCEEDED') ? (
        <fieldset className="form-section" data-testid="duration-thresholds">
          <legend className="section-title">When is a run too long?</legend>
          <div className="grid-2">
            <Field label="Longer than" error={err('durationLimitSeconds')} hint="A duration: 600, 90s, 15m, 2h. Blank: no fixed limit.">
              {(p) => <input {...p} name="durationLimitSeconds" value={thresholds.durationLimit} placeholder="15m" autoComplete="off" onChange={(e) => setThreshold({ durationLimit: e.target.value })} />}
            </Field>
            <Field label="Or longer than × p95" error={err('durationP95Factor')} hint="A multiple of the p95 of the template’s last 100 successes (needs 5). Blank: not compared.">
              {(p) => <input {...p} name="durationP95Factor" inputMode="decimal" value={thresholds.durationP95Factor} placeholder="2" autoComplete="off" onChange={(e) => setThreshold({ durationP95Factor: e.target.value })} />}
            </Field>
          </div>
          <div className="small faint">Give one or both; a run is reported when it ends, not while it runs.</div>
        </fieldset>
      ) : null}
      {events.includes('CONSECUTIVE_FAILURES') ? (
        <Field label="Failures in a row" error={err('consecutiveFailures')} hint={`Notifies once when the template’s streak of failures reaches this (2 to 1000; blank: ${DEFAULT_CONSECUTIVE_FAILURES}).`}>
          {(p) => (
            <input {...p} name="consecutiveFailures" inputMode="numeric" style={{ maxWidth: 160 }} value={thresholds.consecutiveFailures} placeholder={String(DEFAULT_CONSECUTIVE_FAILURES)} autoComplete="off" onChange={(e) => setThreshold({ consecutiveFailures: e.target.value })} />
          )}
        </Field>
      ) : null}
      {events.includes('QUEUE_BACKLOG') ? (
        <Field label="Oldest queued run waits longer than" required error={err('queueBacklogSeconds')} hint="A duration: 300, 90s, 5m, 1h. Notifies once, then again only after the queue has drained.">
          {(p) => <input {...p} name="queueBacklogSeconds" style={{ maxWidth: 160 }} value={thresholds.queueBacklog} placeholder="5m" autoComplete="off" onChange={(e) => setThreshold({ queueBacklog: e.target.value })} />}
        </Field>
      ) : null}
      <Field label="Runs" error={err('templateIds')} hint={onlyWorkerEvents ? 'Worker events concern no run: they notify whatever is chosen here.' : 'A run is included when it matches any of the chosen templates, workflows, schedules or tags.'}>
        {(p) => (
          <div className="stack" style={{ gap: 8 }}>
            <Segmented
              label="Runs"
              value={scope}
              onChange={setScope}
              options={[
                { value: 'ALL', label: 'Every run' },
                { value: 'CHOSEN', label: 'Chosen ones' },
              ]}
            />
            {scope === 'CHOSEN' ? (
              <>
                <div className="small">Templates</div>
                <ScopePicks label="Chosen templates" field={p} options={templates} chosen={templateIds} onChange={setTemplateIds} empty="No templates yet." />
              </>
            ) : null}
          </div>
        )}
      </Field>
      {scope === 'CHOSEN' ? (
        <>
          <Field label="Workflows" error={err('workflowIds')} hint="Runs of the workflow’s nodes, and its schedule slots.">
            {(p) => <ScopePicks label="Chosen workflows" field={p} options={workflows} chosen={workflowIds} onChange={setWorkflowIds} empty="No workflows yet." />}
          </Field>
          <Field label="Schedules" error={err('scheduleIds')} hint="Runs and slots of these schedules.">
            {(p) => <ScopePicks label="Chosen schedules" field={p} options={schedules} chosen={scheduleIds} onChange={setScheduleIds} empty="No schedules yet." />}
          </Field>
          <Field label="Template tags" error={err('tags')} hint="Runs of templates carrying any of these tags; separate with commas.">
            {(p) => <input {...p} name="tags" value={tags} placeholder="backup, nightly" autoComplete="off" onChange={(e) => setTags(e.target.value)} />}
          </Field>
        </>
      ) : null}
      <Field label="Channels" required error={err('channelIds')} hint={channels.length ? undefined : 'No channels yet: create one first.'}>
        {(p) => (
          <div className="pick-list" role="group" aria-label="Channels" aria-describedby={p['aria-describedby']} id={p.id}>
            {channels.map((c) => (
              <label key={c.id}>
                <input type="checkbox" name={`channels.${c.name}`} checked={channelIds.includes(c.id)} aria-invalid={p['aria-invalid'] || undefined} onChange={() => setChannelIds((xs) => toggle(xs, c.id))} />
                {c.name}
              </label>
            ))}
          </div>
        )}
      </Field>
    </EditDialog>
  )
}
