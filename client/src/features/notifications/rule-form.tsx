'use client'
/**
 * Create or edit a notification rule: which run events, of which templates (or all), notify which
 * channels. The threshold events bring their fields: DURATION_EXCEEDED a limit and/or a multiple of the
 * template's p95, CONSECUTIVE_FAILURES the streak length; each shows its problem under it.
 */
import { useState } from 'react'
import { EditDialog, useSaveForm } from '@/components/edit-dialog'
import { Segmented } from '@/components/inputs'
import { Field } from '@/components/ui'
import { fixSummary } from '@/components/use-focus-first-error'
import { DEFAULT_CONSECUTIVE_FAILURES, thresholdDraft, thresholdInput, type ThresholdDraft } from '@/lib/notification-rules'
import { eventHint, eventLabel, NOTIFICATION_EVENTS } from '@/lib/notifications'
import { CreateRule, UpdateRule, type Rule, type TemplateOption } from './queries'

export function RuleForm({
  rule,
  channels,
  templates,
  onClose,
  onSaved,
}: {
  rule: Rule | null
  channels: ReadonlyArray<{ id: string; name: string }>
  templates: readonly TemplateOption[]
  onClose(): void
  onSaved(): void
}) {
  const [name, setName] = useState(rule?.name ?? '')
  const [enabled, setEnabled] = useState(rule?.enabled ?? true)
  const [events, setEvents] = useState<string[]>(rule ? [...rule.events] : ['RUN_FAILED'])
  const [scope, setScope] = useState<'ALL' | 'CHOSEN'>(rule?.templateIds.length ? 'CHOSEN' : 'ALL')
  const [templateIds, setTemplateIds] = useState<string[]>(rule ? [...rule.templateIds] : [])
  const [channelIds, setChannelIds] = useState<string[]>(rule ? rule.channels.map((c) => c.id) : channels.length === 1 ? [channels[0]!.id] : [])
  const [thresholds, setThresholds] = useState<ThresholdDraft>(() => thresholdDraft(rule))
  const setThreshold = (patch: Partial<ThresholdDraft>) => setThresholds((t) => ({ ...t, ...patch }))
  const form = useSaveForm(CreateRule, UpdateRule, {
    id: rule?.id,
    shown: ['name', 'enabled', 'events', 'templateIds', 'channelIds', 'durationLimitSeconds', 'durationP95Factor', 'consecutiveFailures'],
    onSaved,
  })
  const { err } = form
  const toggle = (list: string[], v: string) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v])
  // Templates the rule names that this user cannot see (or that were deleted) stay in the rule.
  const unknownTemplates = templateIds.filter((id) => !templates.some((t) => t.id === id))

  const submit = () => {
    const { input: limits, errors } = thresholdInput(events, thresholds)
    if (scope === 'CHOSEN' && !templateIds.length) errors.templateIds = 'Choose at least one template, or notify for every template.'
    const count = Object.keys(errors).length
    if (count) return form.setErrors({ form: count > 1 ? fixSummary(count) : null, fields: errors, code: null })
    return form.save({ name: name.trim(), enabled, events: events as Array<(typeof NOTIFICATION_EVENTS)[number]>, templateIds: scope === 'ALL' ? [] : templateIds, channelIds, ...limits })
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
      <Field label="Templates" error={err('templateIds')}>
        {(p) => (
          <div className="stack" style={{ gap: 8 }}>
            <Segmented
              label="Templates"
              value={scope}
              onChange={setScope}
              options={[
                { value: 'ALL', label: 'Every template' },
                { value: 'CHOSEN', label: 'Chosen templates' },
              ]}
            />
            {scope === 'CHOSEN' ? (
              <div className="pick-list" role="group" aria-label="Chosen templates" aria-describedby={p['aria-describedby']} id={p.id}>
                {templates.length || unknownTemplates.length ? null : <div className="small faint" style={{ padding: 8 }}>No templates yet.</div>}
                {templates.map((t) => (
                  <label key={t.id}>
                    <input type="checkbox" checked={templateIds.includes(t.id)} aria-invalid={p['aria-invalid'] || undefined} onChange={() => setTemplateIds((xs) => toggle(xs, t.id))} />
                    {t.name}
                  </label>
                ))}
                {unknownTemplates.map((id) => (
                  <label key={id}>
                    <input type="checkbox" checked onChange={() => setTemplateIds((xs) => xs.filter((x) => x !== id))} />
                    <span className="faint">(a template you cannot see, or deleted)</span>
                  </label>
                ))}
              </div>
            ) : null}
          </div>
        )}
      </Field>
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
