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
import { BackLink, EmptyState, Skeleton } from '@/components/ui'
import { toFormErrors } from '@/lib/errors'
import { channelDestination, channelKindLabel } from '@/lib/notification-channels'
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
      <BackLink href="/notifications">Channels and rules</BackLink>
      {!channel ? (
        result.error || result.data ? (
          <EmptyState title={result.data ? 'Channel not found' : 'Could not load this channel'}>{result.data ? 'It was deleted, or the link is wrong.' : toFormErrors(result.error).form}</EmptyState>
        ) : (
          <Skeleton rows={6} />
        )
      ) : (
        <>
          {channel.kind === 'WEBHOOK' ? <SigningSecrets channel={channel} credentials={credentials} onChanged={reload} /> : null}
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
