'use client'
/**
 * Create or edit a notification channel. The common part (name, kind) is here; each kind brings its own
 * section from CHANNEL_KINDS (channel-kind.ts): its fields, how they start from a saved channel, and what
 * they add to the API's input. Webhooks are here; email and the chat kinds have their own modules.
 * Message templates, the preview, "Send test" and signing-secret rotation are on the channel's page.
 */
import { useState } from 'react'
import { EditDialog, useSaveForm } from '@/components/edit-dialog'
import { KeyValueEditor } from '@/components/inputs'
import { Field } from '@/components/ui'
import { fixSummary } from '@/components/use-focus-first-error'
import { headerRows, headersInput } from '@/lib/notifications'
import type { ChannelKind, Draft } from './channel-kind'
import { MATTERMOST, SLACK, TEAMS } from './chat-section'
import { EMAIL } from './email-section'
import { CreateChannel, UpdateChannel, type Channel, type ChannelCredential } from './queries'
import { SecretCredentialField } from './secret-credential-field'

const WEBHOOK: ChannelKind = {
  value: 'WEBHOOK',
  label: 'Webhook',
  fields: ['url', 'secretCredentialId', 'headers'],
  initial: (channel, credentials) => ({
    url: channel?.kind === 'WEBHOOK' ? (channel.url ?? '') : '',
    secretCredentialId: channel?.secretCredential?.id ?? credentials.find((c) => c.kind === 'PASSWORD' && c.canUse)?.id ?? '',
    headers: headerRows(channel?.headers),
  }),
  input(d) {
    const { headers, error } = headersInput(d.headers as Array<[string, string]>)
    const errors: Record<string, string> = {}
    if (error) errors.headers = error
    return { input: { url: String(d.url).trim() || null, secretCredentialId: String(d.secretCredentialId) || null, headers }, errors }
  },
  Section({ channel, draft, set, err, credentials }) {
    return (
      <>
        <Field label="URL" required error={err('url')} hint="Run outcomes are POSTed here as JSON. Query values are shown masked (•••) once saved, as they often carry tokens; leave them masked to keep them.">
          {(p) => <input {...p} name="url" className="mono" value={String(draft.url)} placeholder="https://hooks.example.net/switchyard" autoComplete="off" onChange={(e) => set({ url: e.target.value })} />}
        </Field>
        <SecretCredentialField
          label="Signing secret"
          name="secretCredentialId"
          required
          current={channel?.secretCredential ?? null}
          credentials={credentials}
          value={String(draft.secretCredentialId)}
          onChange={(id) => set({ secretCredentialId: id })}
          error={err('secretCredentialId')}
          hint="A password credential whose password signs each request: X-Switchyard-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, t + “.” + body)>."
        />
        <Field label="Headers" error={err('headers')} hint="Extra request headers, e.g. a receiver’s API key. Shown to admins as stored.">
          {(p) => (
            <KeyValueEditor
              name="headers"
              value={draft.headers as Array<[string, string]>}
              onChange={(rows) => set({ headers: rows })}
              keyPlaceholder="X-Team"
              valuePlaceholder="network"
              invalid={p['aria-invalid']}
              describedBy={p['aria-describedby']}
              addLabel="Add header"
            />
          )}
        </Field>
      </>
    )
  },
}

/** Every channel kind this console can edit. */
export const CHANNEL_KINDS: readonly ChannelKind[] = [WEBHOOK, EMAIL, SLACK, TEAMS, MATTERMOST]

/** A saved channel's kind; a kind this console does not know (a newer server) is null: it is not edited as another. */
export function channelKind(channel: Pick<Channel, 'kind'> | null): ChannelKind | null {
  if (!channel) return WEBHOOK
  return CHANNEL_KINDS.find((k) => k.value === channel.kind) ?? null
}

export function ChannelForm({ channel, credentials, onClose, onSaved }: { channel: Channel | null; credentials: readonly ChannelCredential[]; onClose(): void; onSaved(): void }) {
  const [kind, setKind] = useState<ChannelKind>(() => channelKind(channel) ?? WEBHOOK)
  const [name, setName] = useState(channel?.name ?? '')
  const [drafts, setDrafts] = useState<Record<string, Draft>>(() => ({ [kind.value]: kind.initial(channel, credentials) }))
  const draft = drafts[kind.value] ?? kind.initial(null, credentials)
  const form = useSaveForm(CreateChannel, UpdateChannel, { id: channel?.id, shown: ['name', 'kind', ...kind.fields], onSaved })
  const { err } = form

  const submit = () => {
    const { input, errors } = kind.input(draft)
    const count = Object.keys(errors).length
    if (count) return form.setErrors({ form: fixSummary(count), fields: errors, code: null })
    return form.save({ name: name.trim(), kind: kind.value, ...input } as Parameters<typeof form.save>[0])
  }

  return (
    <EditDialog title={channel ? `Edit channel “${channel.name}”` : 'New notification channel'} submitLabel={channel ? 'Save' : 'Create channel'} form={form} onClose={onClose} onSubmit={submit}>
      <Field label="Name" required error={err('name')}>
        {(p) => <input {...p} name="name" value={name} placeholder="network on-call" onChange={(e) => setName(e.target.value)} autoFocus />}
      </Field>
      <Field label="Kind" error={err('kind')} hint={channel && kind.value !== channel.kind ? `Saving makes this a ${kind.label.toLowerCase()} channel; settings of the other kind stop being used.` : undefined}>
        {(p) => (
          <select
            {...p}
            name="kind"
            value={kind.value}
            onChange={(e) => {
              const next = CHANNEL_KINDS.find((k) => k.value === e.target.value)!
              setKind(next)
              setDrafts((d) => (d[next.value] ? d : { ...d, [next.value]: next.initial(null, credentials) }))
            }}
          >
            {CHANNEL_KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <fieldset className="form-section">
        <legend className="section-title">{kind.label}</legend>
        <kind.Section channel={channel} draft={draft} set={(patch) => setDrafts((d) => ({ ...d, [kind.value]: { ...draft, ...patch } }))} err={err} credentials={credentials} />
      </fieldset>
    </EditDialog>
  )
}
