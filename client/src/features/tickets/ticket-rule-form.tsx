'use client'
/**
 * Create or edit an auto-ticket rule: which templates (or all), when a ticket opens (any failure, or a
 * streak of N), its tracker and priority, and whether the recovery closes it. One ticket stays open per
 * template and rule: repeated failures comment on it.
 */
import { useState } from 'react'
import { EditDialog, useSaveForm } from '@/components/edit-dialog'
import { Field } from '@/components/ui'
import { fixSummary } from '@/components/use-focus-first-error'
import { CreateTicketRule, PRIORITIES, priorityLabel, UpdateTicketRule, type TicketRule, type TicketsAdminData } from './queries'

export function TicketRuleForm({ rule, trackers, templates, onClose, onSaved }: { rule: TicketRule | null; trackers: TicketsAdminData['ticketTrackers']; templates: TicketsAdminData['jobTemplates']; onClose(): void; onSaved(): void }) {
  const [name, setName] = useState(rule?.name ?? '')
  const [enabled, setEnabled] = useState(rule?.enabled ?? true)
  const [trackerId, setTrackerId] = useState(rule?.tracker.id ?? (trackers.length === 1 ? trackers[0]!.id : ''))
  const [trigger, setTrigger] = useState<'FAILED' | 'CONSECUTIVE_FAILURES'>((rule?.trigger as 'FAILED' | undefined) ?? 'FAILED')
  const [streak, setStreak] = useState(rule?.consecutiveFailures?.toString() ?? '3')
  const [priority, setPriority] = useState<string>(rule?.priority ?? 'NORMAL')
  const [closeOnRecovery, setCloseOnRecovery] = useState(rule?.closeOnRecovery ?? true)
  const [scope, setScope] = useState<'ALL' | 'CHOSEN'>(rule?.templateIds.length ? 'CHOSEN' : 'ALL')
  const [templateIds, setTemplateIds] = useState<string[]>(rule ? [...rule.templateIds] : [])
  const form = useSaveForm(CreateTicketRule, UpdateTicketRule, { id: rule?.id, shown: ['name', 'enabled', 'trackerId', 'trigger', 'consecutiveFailures', 'priority', 'closeOnRecovery', 'templateIds'], onSaved })
  const { err } = form

  const submit = () => {
    const errors: Record<string, string> = {}
    if (!trackerId) errors.trackerId = 'Choose a tracker.'
    const n = Number(streak)
    if (trigger === 'CONSECUTIVE_FAILURES' && (!Number.isInteger(n) || n < 2 || n > 1000)) errors.consecutiveFailures = 'A whole number from 2 to 1000.'
    if (scope === 'CHOSEN' && !templateIds.length) errors.templateIds = 'Choose at least one template, or open tickets for every template.'
    const count = Object.keys(errors).length
    if (count) return form.setErrors({ form: count > 1 ? fixSummary(count) : null, fields: errors, code: null })
    return form.save({
      name: name.trim(),
      enabled,
      trackerId,
      trigger,
      consecutiveFailures: trigger === 'CONSECUTIVE_FAILURES' ? n : null,
      priority: priority as (typeof PRIORITIES)[number],
      closeOnRecovery,
      templateIds: scope === 'ALL' ? [] : templateIds,
    })
  }

  return (
    <EditDialog title={rule ? `Edit rule “${rule.name}”` : 'New auto-ticket rule'} submitLabel={rule ? 'Save' : 'Create rule'} form={form} onClose={onClose} onSubmit={submit}>
      <Field label="Name" required error={err('name')}>
        {(p) => <input {...p} name="name" value={name} placeholder="backups failing" onChange={(e) => setName(e.target.value)} autoFocus />}
      </Field>
      <label className="check">
        <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Enabled
      </label>
      <Field label="Tracker" required error={err('trackerId')}>
        {(p) => (
          <select {...p} name="trackerId" value={trackerId} onChange={(e) => setTrackerId(e.target.value)}>
            <option value="">(choose a tracker)</option>
            {trackers.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="grid-2">
        <Field label="Open a ticket" error={err('trigger')}>
          {(p) => (
            <select {...p} name="trigger" value={trigger} onChange={(e) => setTrigger(e.target.value as 'FAILED')}>
              <option value="FAILED">on any failure</option>
              <option value="CONSECUTIVE_FAILURES">after N failures in a row</option>
            </select>
          )}
        </Field>
        {trigger === 'CONSECUTIVE_FAILURES' ? (
          <Field label="Failures in a row" required error={err('consecutiveFailures')}>
            {(p) => <input {...p} name="consecutiveFailures" inputMode="numeric" value={streak} onChange={(e) => setStreak(e.target.value)} />}
          </Field>
        ) : null}
      </div>
      <Field label="Priority" error={err('priority')}>
        {(p) => (
          <select {...p} name="priority" value={priority} onChange={(e) => setPriority(e.target.value)}>
            {PRIORITIES.map((x) => (
              <option key={x} value={x}>
                {priorityLabel(x)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <label className="check">
        <input type="checkbox" name="closeOnRecovery" checked={closeOnRecovery} onChange={(e) => setCloseOnRecovery(e.target.checked)} />
        Close the ticket when the template succeeds again (it always gets a comment)
      </label>
      <Field label="Templates" error={err('templateIds')}>
        {(p) => (
          <div className="stack" style={{ gap: 6 }} id={p.id} aria-describedby={p['aria-describedby']}>
            <label className="check">
              <input type="radio" name="scope" checked={scope === 'ALL'} onChange={() => setScope('ALL')} />
              Every template
            </label>
            <label className="check">
              <input type="radio" name="scope" checked={scope === 'CHOSEN'} onChange={() => setScope('CHOSEN')} />
              Chosen templates
            </label>
            {scope === 'CHOSEN' ? (
              <div className="pick-list" role="group" aria-label="Templates">
                {templates.map((t) => (
                  <label key={t.id}>
                    <input type="checkbox" name={`templateIds.${t.name}`} checked={templateIds.includes(t.id)} aria-invalid={p['aria-invalid'] || undefined} onChange={() => setTemplateIds((xs) => (xs.includes(t.id) ? xs.filter((x) => x !== t.id) : [...xs, t.id]))} />
                    {t.name}
                  </label>
                ))}
              </div>
            ) : null}
          </div>
        )}
      </Field>
    </EditDialog>
  )
}
