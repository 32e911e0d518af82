'use client'
/**
 * Create or edit a ticket tracker: Redmine (its root URL, the API key in a password credential, a project,
 * optionally the tracker and closed-status ids) or the generic webhook tracker (a URL and a signing secret).
 * Saving a Redmine tracker checks the key and the project against Redmine; problems show on their field.
 */
import { useState } from 'react'
import { EditDialog, useSaveForm } from '@/components/edit-dialog'
import { Field } from '@/components/ui'
import { fixSummary } from '@/components/use-focus-first-error'
import { SecretCredentialField } from '@/features/notifications/secret-credential-field'
import { CreateTracker, UpdateTracker, type TicketsAdminData, type Tracker } from './queries'

type Kind = 'REDMINE' | 'WEBHOOK'

function optionalId(v: string, field: string, errors: Record<string, string>): number | null {
  if (!v.trim()) return null
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) errors[field] = 'A whole number of at least 1, or empty.'
  return n
}

export function TrackerForm({ tracker, credentials, onClose, onSaved }: { tracker: Tracker | null; credentials: TicketsAdminData['credentials']; onClose(): void; onSaved(): void }) {
  const [name, setName] = useState(tracker?.name ?? '')
  const [kind, setKind] = useState<Kind>((tracker?.kind as Kind | undefined) ?? 'REDMINE')
  const [url, setUrl] = useState(tracker?.url ?? '')
  const [credentialId, setCredentialId] = useState(tracker?.credential.id ?? '')
  const [project, setProject] = useState(tracker?.project ?? '')
  const [redmineTrackerId, setRedmineTrackerId] = useState(tracker?.redmineTrackerId?.toString() ?? '')
  const [closedStatusId, setClosedStatusId] = useState(tracker?.closedStatusId?.toString() ?? '')
  const form = useSaveForm(CreateTracker, UpdateTracker, { id: tracker?.id, shown: ['name', 'kind', 'url', 'credentialId', 'project', 'redmineTrackerId', 'closedStatusId'], onSaved })
  const { err } = form

  const submit = () => {
    const errors: Record<string, string> = {}
    if (!credentialId) errors.credentialId = kind === 'REDMINE' ? 'Choose the credential holding the API key.' : 'Choose the credential holding the signing secret.'
    const trackerNo = kind === 'REDMINE' ? optionalId(redmineTrackerId, 'redmineTrackerId', errors) : null
    const closedNo = kind === 'REDMINE' ? optionalId(closedStatusId, 'closedStatusId', errors) : null
    const count = Object.keys(errors).length
    if (count) return form.setErrors({ form: count > 1 ? fixSummary(count) : null, fields: errors, code: null })
    return form.save({
      name: name.trim(),
      kind,
      url: url.trim(),
      credentialId,
      project: kind === 'REDMINE' ? project.trim() || null : null,
      redmineTrackerId: trackerNo,
      closedStatusId: closedNo,
    })
  }

  return (
    <EditDialog title={tracker ? `Edit tracker “${tracker.name}”` : 'New ticket tracker'} submitLabel={tracker ? 'Save' : 'Create tracker'} form={form} onClose={onClose} onSubmit={submit}>
      <Field label="Name" required error={err('name')}>
        {(p) => <input {...p} name="name" value={name} placeholder="network redmine" onChange={(e) => setName(e.target.value)} autoFocus />}
      </Field>
      <Field label="Kind" error={err('kind')}>
        {(p) => (
          <select {...p} name="kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            <option value="REDMINE">Redmine (REST API)</option>
            <option value="WEBHOOK">Generic webhook tracker</option>
          </select>
        )}
      </Field>
      <Field
        label="URL"
        required
        error={err('url')}
        hint={kind === 'REDMINE' ? 'Redmine’s root URL, e.g. https://redmine.example.com (its REST API must be enabled).' : 'Each action (create, comment, close, reopen) is POSTed here as signed JSON; a create must answer {"id": …, "url": …}.'}
      >
        {(p) => <input {...p} name="url" className="mono" value={url} autoComplete="off" placeholder={kind === 'REDMINE' ? 'https://redmine.example.com' : 'https://tickets.example.com/switchyard'} onChange={(e) => setUrl(e.target.value)} />}
      </Field>
      <SecretCredentialField
        label={kind === 'REDMINE' ? 'API key' : 'Signing secret'}
        name="credentialId"
        required
        current={tracker?.credential ?? null}
        credentials={credentials}
        value={credentialId}
        onChange={setCredentialId}
        error={err('credentialId')}
        hint={
          kind === 'REDMINE'
            ? 'A password credential whose password is the Redmine user’s API key (My account → API access key).'
            : 'A password credential whose password signs each request: X-Switchyard-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, t + “.” + body)>.'
        }
      />
      {kind === 'REDMINE' ? (
        <fieldset className="form-section">
          <legend className="section-title">Redmine</legend>
          <Field label="Project" required error={err('project')} hint="The project’s identifier (from its URL) or id.">
            {(p) => <input {...p} name="project" className="mono" value={project} placeholder="network-ops" onChange={(e) => setProject(e.target.value)} />}
          </Field>
          <div className="grid-2">
            <Field label="Tracker id" error={err('redmineTrackerId')} hint="Empty: the project’s default tracker.">
              {(p) => <input {...p} name="redmineTrackerId" inputMode="numeric" value={redmineTrackerId} onChange={(e) => setRedmineTrackerId(e.target.value)} />}
            </Field>
            <Field label="Closed status id" error={err('closedStatusId')} hint="Empty: Redmine’s first closed status.">
              {(p) => <input {...p} name="closedStatusId" inputMode="numeric" value={closedStatusId} onChange={(e) => setClosedStatusId(e.target.value)} />}
            </Field>
          </div>
        </fieldset>
      ) : null}
    </EditDialog>
  )
}
