'use client'
/**
 * The chat channel kinds (Slack, Microsoft Teams, Mattermost): an incoming-webhook URL, which carries the
 * service's token. The API keeps it write-only (never returned, only its host): editing a channel that has
 * one leaves the field blank, and blank keeps the stored URL.
 */
import { Field } from '@/components/ui'
import { chatUrlInput } from '@/lib/notification-channels'
import type { ChannelKind } from './channel-kind'

const HINTS: Record<string, { placeholder: string; hint: string }> = {
  SLACK: { placeholder: 'https://hooks.slack.com/services/T000/B000/XXXX', hint: 'The channel’s incoming-webhook URL; messages are Block Kit (status, duration, failed targets, an “Open run” button).' },
  TEAMS: { placeholder: 'https://example.webhook.office.com/webhookb2/…', hint: 'An incoming webhook or a Workflows “when a webhook request is received” URL; messages are Adaptive Cards.' },
  MATTERMOST: { placeholder: 'https://mattermost.example.com/hooks/xxxx', hint: 'The incoming-webhook URL; messages are attachments coloured by outcome.' },
}

const CHAT_VALUES: readonly string[] = ['SLACK', 'TEAMS', 'MATTERMOST']

function chatKind(value: string, label: string): ChannelKind {
  return {
    value,
    label,
    fields: ['url'],
    initial: (channel) => ({ url: '', keepUrl: !!(channel && CHAT_VALUES.includes(channel.kind) && channel.hasUrl), urlHost: channel?.urlHost ?? null }),
    input: (d) => ({ input: chatUrlInput(d), errors: {} }),
    Section({ draft, set, err }) {
      const keep = !!draft.keepUrl
      const hint = keep ? `A URL for ${draft.urlHost ?? 'this channel'} is stored and never shown. Leave blank to keep it, or paste a new one to replace it. ${HINTS[value]!.hint}` : HINTS[value]!.hint
      return (
        <>
          <Field label={keep ? 'New webhook URL' : 'Webhook URL'} required={!keep} error={err('url')} hint={hint}>
            {(p) => <input {...p} name="url" className="mono" value={String(draft.url)} placeholder={HINTS[value]!.placeholder} autoComplete="off" spellCheck={false} onChange={(e) => set({ url: e.target.value })} />}
          </Field>
          <div className="alert warn small" role="note">
            This URL is the secret: anyone who has it can post to the channel. These requests are not signed; keep the URL out of tickets and chats. Switchyard stores it encrypted and never shows it again; the audit log records only that it changed.
          </div>
        </>
      )
    },
  }
}

export const SLACK = chatKind('SLACK', 'Slack')
export const TEAMS = chatKind('TEAMS', 'Teams')
export const MATTERMOST = chatKind('MATTERMOST', 'Mattermost')
