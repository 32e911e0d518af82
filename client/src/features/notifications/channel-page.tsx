'use client'
/**
 * One notification channel (admins only): where it sends, its message templates with a live preview
 * against a recent run or the sample run and "Send test" (message-editor.tsx), and for a webhook the
 * rotation of its signing secrets (signing-secrets.tsx). Edit opens the channel form; Delete asks first.
 */
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { useTitle } from '@/components/shell'
import { BackLink, EmptyState, Panel, Skeleton } from '@/components/ui'
import { toFormErrors } from '@/lib/errors'
import { channelDestination, channelKindLabel, defaultSmtpPort, SMTP_SECURITY_LABELS, type SmtpSecurityValue } from '@/lib/notification-channels'
import { ChannelForm, channelKind } from './channel-form'
import { MessageEditor } from './message-editor'
import { NotificationsFrame } from './notifications-frame'
import { ChannelPageQuery, DeleteChannel, type Channel } from './queries'
import { SigningSecrets } from './signing-secrets'

const CTX_CHANNEL = { additionalTypenames: ['NotificationChannel', 'Credential'] }

export function ChannelPage({ id }: { id: string }) {
  const router = useRouter()
  const [result, refetch] = useQuery({ query: ChannelPageQuery, context: CTX_CHANNEL })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const channel = result.data?.notificationChannels.find((c) => c.id === id)
  useTitle(channel?.name ?? 'Notification channel')
  const [editing, setEditing] = useState(false)
  const deletion = useConfirmAction<Channel>(DeleteChannel, { onDone: () => router.push('/notifications') })
  const credentials = result.data?.credentials ?? []
  const runs = result.data?.jobRuns.edges.map((e) => e.node) ?? []

  return (
    <NotificationsFrame
      tab="channels"
      back={<BackLink href="/notifications">Channels and rules</BackLink>}
      title={
        channel ? (
          <span className="run-head">
            <span>{channel.name}</span>
            <span className="badge plain" data-testid="channel-kind">
              {channelKindLabel(channel.kind)}
            </span>
          </span>
        ) : (
          'Notification channel'
        )
      }
      subtitle={channel ? <span className="mono">{channelDestination(channel)}</span> : undefined}
      actions={
        channel ? (
          <>
            {channelKind(channel) ? (
              <button className="btn" onClick={() => setEditing(true)}>
                <Icons.edit /> Edit channel
              </button>
            ) : null}
            <button className="btn ghost icon" aria-label={`Delete ${channel.name}`} onClick={() => deletion.ask(channel)}>
              <Icons.trash />
            </button>
          </>
        ) : null
      }
    >
      {!channel ? (
        result.error || result.data ? (
          <EmptyState title={result.data ? 'Channel not found' : 'Could not load this channel'}>{result.data ? 'It was deleted, or the link is wrong.' : toFormErrors(result.error).form}</EmptyState>
        ) : (
          <Skeleton rows={6} />
        )
      ) : (
        <>
          {channel.kind === 'WEBHOOK' ? (
            <div className="grid-2" style={{ alignItems: 'start' }}>
              <ChannelSettings channel={channel} />
              <SigningSecrets channel={channel} credentials={credentials} onChanged={reload} />
            </div>
          ) : (
            <ChannelSettings channel={channel} />
          )}
          <MessageEditor key={`${channel.id}:${channel.kind}`} channel={channel} runs={runs} onSaved={reload} />
        </>
      )}
      {editing && channel ? (
        <ChannelForm
          channel={channel}
          credentials={credentials}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false)
            reload()
          }}
        />
      ) : null}
      <ConfirmDialog {...deletion.dialog} title={`Delete channel “${deletion.item?.name}”?`} confirmLabel="Delete channel" danger>
        Its delivery log goes with it, and rules stop sending to it (a rule left without channels sends nothing).
      </ConfirmDialog>
    </NotificationsFrame>
  )
}

/** Where the channel sends, as saved (secrets by credential name only; a chat URL not at all: it is the secret). */
function ChannelSettings({ channel: c }: { channel: Channel }) {
  const security = (c.smtpSecurity ?? 'STARTTLS') as SmtpSecurityValue
  return (
    <Panel title="Settings">
      <dl className="kv" data-testid="channel-settings">
        {c.kind === 'EMAIL' ? (
          <>
            <dt>SMTP server</dt>
            <dd className="mono">
              {c.smtpHost}:{c.smtpPort ?? defaultSmtpPort(security)}
            </dd>
            <dt>Security</dt>
            <dd>{SMTP_SECURITY_LABELS[security] ?? security}{c.smtpCaCertificate ? ' · own CA certificate trusted' : ''}</dd>
            <dt>Login</dt>
            <dd>{c.smtpCredential ? `set — credential “${c.smtpCredential.name}” (${c.smtpCredential.username})` : 'none (no SMTP AUTH)'}</dd>
            <dt>From</dt>
            <dd>{c.emailFrom}</dd>
            <dt>To</dt>
            <dd>{c.emailTo.join(', ')}</dd>
          </>
        ) : c.kind === 'WEBHOOK' ? (
          <>
            <dt>URL</dt>
            <dd className="mono" style={{ overflowWrap: 'anywhere' }}>
              {c.url}
            </dd>
            <dt>Headers</dt>
            <dd className="mono small">{Object.keys((c.headers as Record<string, unknown>) ?? {}).join(', ') || <span className="faint">none</span>}</dd>
          </>
        ) : (
          <>
            <dt>Webhook URL</dt>
            <dd>
              set — {channelDestination(c)} <span className="small faint">(write-only: the URL carries the service’s token, so it is never shown; Edit channel replaces it)</span>
            </dd>
          </>
        )}
      </dl>
    </Panel>
  )
}
