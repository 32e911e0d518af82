'use client'
/**
 * Create or edit a notification channel. The common part (name, kind) is here; each kind brings its own
 * section from CHANNEL_KINDS: its fields, how they start from a saved channel, and what they add to the
 * API's input. Webhooks are the kind the API has today; another kind (email, chat webhooks) is one more
 * entry with its own section.
 */
import { useState, type ReactNode } from 'react'
import { EditDialog, useSaveForm } from '@/components/edit-dialog'
import { KeyValueEditor, Segmented } from '@/components/inputs'
import { Field } from '@/components/ui'
import { fixSummary } from '@/components/use-focus-first-error'
import { headerRows, headersInput } from '@/lib/notifications'
import { CreateChannel, UpdateChannel, type Channel, type ChannelCredential } from './queries'
import { SecretCredentialField } from './secret-credential-field'

type Draft = Record<string, unknown>

interface SectionProps {
  channel: Channel | null
  draft: Draft
  set(patch: Draft): void
  err(field: string): string | undefined
  credentials: readonly ChannelCredential[]
}

export interface ChannelKind {
  value: string
  label: string
  /** The fields this kind shows (the API's names), so errors for them land under them. */
  fields: readonly string[]
  initial(channel: Channel | null, credentials: readonly ChannelCredential[]): Draft
  /** The kind's part of the API input, or field problems to show first. */
  input(draft: Draft): { input: Record<string, unknown>; errors: Record<string, string> }
  Section(props: SectionProps): ReactNode
}

const WEBHOOK: ChannelKind = {
  value: 'WEBHOOK',
  label: 'Webhook',
  fields: ['url', 'secretCredentialId', 'headers'],
  initial: (channel, credentials) => ({
    url: channel?.url ?? '',
    secretCredentialId: channel?.secretCredential.id ?? credentials.find((c) => c.kind === 'PASSWORD' && c.canUse)?.id ?? '',
    headers: headerRows(channel?.headers),
  }),
  input(d) {
    const { headers, error } = headersInput(d.headers as Array<[string, string]>)
    const errors: Record<string, string> = {}
    if (error) errors.headers = error
    return { input: { url: String(d.url).trim(), secretCredentialId: String(d.secretCredentialId), headers }, errors }
  },
  Section({ channel, draft, set, err, credentials }) {
    return (
      <>
        <Field label="URL" required error={err('url')} hint="Run outcomes are POSTed here as JSON.">
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
export const CHANNEL_KINDS: readonly ChannelKind[] = [WEBHOOK]

/** A saved channel's kind (channels carry no kind field yet: every one is a webhook). */
export function channelKind(channel: Channel | null): ChannelKind {
  const named = channel && 'kind' in channel ? CHANNEL_KINDS.find((k) => k.value === (channel as { kind?: string }).kind) : undefined
  return named ?? WEBHOOK
}

export function ChannelForm({ channel, credentials, onClose, onSaved }: { channel: Channel | null; credentials: readonly ChannelCredential[]; onClose(): void; onSaved(): void }) {
  const [kind, setKind] = useState<ChannelKind>(() => channelKind(channel))
  const [name, setName] = useState(channel?.name ?? '')
  const [drafts, setDrafts] = useState<Record<string, Draft>>(() => ({ [kind.value]: kind.initial(channel, credentials) }))
  const draft = drafts[kind.value] ?? kind.initial(null, credentials)
  const form = useSaveForm(CreateChannel, UpdateChannel, { id: channel?.id, shown: ['name', ...kind.fields], onSaved })
  const { err } = form

  const submit = () => {
    const { input, errors } = kind.input(draft)
    const count = Object.keys(errors).length
    if (count) return form.setErrors({ form: fixSummary(count), fields: errors, code: null })
    return form.save({ name: name.trim(), ...input } as Parameters<typeof form.save>[0])
  }

  return (
    <EditDialog title={channel ? `Edit channel “${channel.name}”` : 'New notification channel'} submitLabel={channel ? 'Save' : 'Create channel'} form={form} onClose={onClose} onSubmit={submit}>
      <Field label="Name" required error={err('name')}>
        {(p) => <input {...p} name="name" value={name} placeholder="network on-call" onChange={(e) => setName(e.target.value)} autoFocus />}
      </Field>
      {CHANNEL_KINDS.length > 1 || !channel ? (
        <Field label="Kind">
          {() => (
            <Segmented
              label="Kind"
              value={kind.value}
              onChange={(v) => {
                const next = CHANNEL_KINDS.find((k) => k.value === v)!
                setKind(next)
                setDrafts((d) => (d[next.value] ? d : { ...d, [next.value]: next.initial(null, credentials) }))
              }}
              options={CHANNEL_KINDS.map((k) => ({ value: k.value, label: k.label }))}
            />
          )}
        </Field>
      ) : null}
      <fieldset className="form-section">
        <legend className="section-title">{kind.label}</legend>
        <kind.Section channel={channel} draft={draft} set={(patch) => setDrafts((d) => ({ ...d, [kind.value]: { ...draft, ...patch } }))} err={err} credentials={credentials} />
      </fieldset>
    </EditDialog>
  )
}
