'use client'
/**
 * The chat channel kinds (Slack, Microsoft Teams, Mattermost): an incoming-webhook URL, which carries the
 * service's token — it is the secret, so the form says so and the channel list shows only its host.
 */
import { Field } from '@/components/ui'
import type { ChannelKind } from './channel-kind'

const HINTS: Record<string, { placeholder: string; hint: string }> = {
  SLACK: { placeholder: 'https://hooks.slack.com/services/T000/B000/XXXX', hint: 'The channel’s incoming-webhook URL; messages are Block Kit (status, duration, failed targets, an “Open run” button).' },
  TEAMS: { placeholder: 'https://example.webhook.office.com/webhookb2/…', hint: 'An incoming webhook or a Workflows “when a webhook request is received” URL; messages are Adaptive Cards.' },
  MATTERMOST: { placeholder: 'https://mattermost.example.com/hooks/xxxx', hint: 'The incoming-webhook URL; messages are attachments coloured by outcome.' },
}

function chatKind(value: string, label: string): ChannelKind {
  return {
    value,
    label,
    fields: ['url'],
    initial: (channel) => ({ url: channel?.kind === value ? (channel.url ?? '') : '' }),
    // Blank is null, so the API answers "required" rather than "not a URL".
    input: (d) => ({ input: { url: String(d.url).trim() || null }, errors: {} }),
    Section({ draft, set, err }) {
      return (
        <>
          <Field label="Webhook URL" required error={err('url')} hint={HINTS[value]!.hint}>
            {(p) => <input {...p} name="url" className="mono" value={String(draft.url)} placeholder={HINTS[value]!.placeholder} autoComplete="off" spellCheck={false} onChange={(e) => set({ url: e.target.value })} />}
          </Field>
          <div className="alert warn small" role="note">
            This URL is the secret: anyone who has it can post to the channel. These requests are not signed; keep the URL out of tickets and chats. The audit log records only that it changed.
          </div>
        </>
      )
    },
  }
}

export const SLACK = chatKind('SLACK', 'Slack')
export const TEAMS = chatKind('TEAMS', 'Teams')
export const MATTERMOST = chatKind('MATTERMOST', 'Mattermost')
