'use client'
/** Create or edit a notification rule: which final run outcomes, of which templates (or all), notify which channels. */
import { useState } from 'react'
import { EditDialog, useSaveForm } from '@/components/edit-dialog'
import { Segmented } from '@/components/inputs'
import { Field } from '@/components/ui'
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
  const form = useSaveForm(CreateRule, UpdateRule, { id: rule?.id, shown: ['name', 'enabled', 'events', 'templateIds', 'channelIds'], onSaved })
  const { err } = form
  const toggle = (list: string[], v: string) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v])
  // Templates the rule names that this user cannot see (or that were deleted) stay in the rule.
  const unknownTemplates = templateIds.filter((id) => !templates.some((t) => t.id === id))

  const submit = () => {
    if (scope === 'CHOSEN' && !templateIds.length) return form.setErrors({ form: null, fields: { templateIds: 'Choose at least one template, or notify for every template.' }, code: null })
    return form.save({ name: name.trim(), enabled, events: events as Array<(typeof NOTIFICATION_EVENTS)[number]>, templateIds: scope === 'ALL' ? [] : templateIds, channelIds })
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
