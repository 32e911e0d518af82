'use client'
/**
 * Notifications (admins only: a channel sends run data anywhere): channels — where notifications go —
 * and rules — which run outcomes of which templates go to which channels. The delivery log is the
 * neighbouring tab. There is no subscription for channels or rules: the lists refresh after each change.
 */
import Link from 'next/link'
import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { useEditor } from '@/components/edit-dialog'
import { Icons } from '@/components/icons'
import { CreateButton, NameCell, ResourceTable, RowActions } from '@/components/resource-table'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, Panel, RelativeTime } from '@/components/ui'
import { errorMessage } from '@/lib/errors'
import { channelDestination, channelKindLabel } from '@/lib/notification-channels'
import { eventBadgeClass, ruleEventLabel } from '@/lib/notification-rules'
import { ChannelForm, channelKind } from './channel-form'
import { NotificationsFrame } from './notifications-frame'
import { DeleteChannel, DeleteRule, NotificationsQuery, UpdateRule, type Channel, type Rule } from './queries'
import { RuleForm } from './rule-form'
import { SecretState } from './secret-credential-field'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_NOTIFICATIONS = { additionalTypenames: ['NotificationChannel', 'NotificationRule', 'Credential'] }

export function NotificationsPage() {
  useTitle('Notifications')
  return (
    <NotificationsFrame tab="channels">
      <ChannelsAndRules />
    </NotificationsFrame>
  )
}

/** What secures a channel, for the list: a webhook's signing secret(s), an email's SMTP login, a chat URL. */
function ChannelSecretCell({ channel: c }: { channel: Channel }) {
  if (c.kind === 'WEBHOOK') {
    return (
      <span className="row">
        <SecretState credential={c.secretCredential} />
        {c.secondarySecretCredential ? <span className="badge info plain" title={`Also signing with “${c.secondarySecretCredential.name}”`}>rotating: 2 secrets</span> : null}
      </span>
    )
  }
  if (c.kind === 'EMAIL') return c.smtpCredential ? <span className="small">login “{c.smtpCredential.name}”</span> : <span className="small muted">no login</span>
  return <span className="small muted">in the URL</span>
}

function ChannelsAndRules() {
  const [result, refetch] = useQuery({ query: NotificationsQuery, context: CTX_NOTIFICATIONS })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const channelEditor = useEditor<Channel>(reload)
  const ruleEditor = useEditor<Rule>(reload)
  const channelDeletion = useConfirmAction<Channel>(DeleteChannel, { onDone: reload })
  const ruleDeletion = useConfirmAction<Rule>(DeleteRule, { onDone: reload })
  const [, updateRule] = useMutation(UpdateRule)
  const [flipping, setFlipping] = useState<Record<string, boolean>>({})
  const [ruleError, setRuleError] = useState<string | null>(null)
  const data = result.data
  const channels = data?.notificationChannels
  const nameIn = (list: ReadonlyArray<{ id: string; name: string }> | undefined, id: string) => list?.find((t) => t.id === id)?.name ?? '(hidden or deleted)'
  // The rule's scope in words: "backup (template); nightly (workflow); tag core".
  const ruleScope = (r: Rule) =>
    [
      ...r.templateIds.map((id) => nameIn(data?.jobTemplates, id)),
      ...r.workflowIds.map((id) => `${nameIn(data?.workflows, id)} (workflow)`),
      ...r.scheduleIds.map((id) => `${nameIn(data?.jobSchedules, id)} (schedule)`),
      ...r.tags.map((t) => `tag ${t}`),
    ].join(', ')

  return (
    <>
      <Panel title="Channels" actions={channels?.length ? <CreateButton small label="New channel" onClick={channelEditor.create} /> : undefined} flush>
        <ResourceTable
          items={channels}
          error={result.error}
          testId="channels-table"
          scroll
          headers={['Name', 'Kind', 'Destination', 'Secret', 'Updated']}
          empty={
            <EmptyState title="No channels yet" icon={<Icons.inbox />} action={<CreateButton label="Add a channel" onClick={channelEditor.create} />}>
              A channel is where notifications go: a webhook receives each run outcome as signed JSON; email, Slack, Teams and Mattermost channels get a message people read.
            </EmptyState>
          }
        >
          {(c) => (
            <tr key={c.id} data-channel={c.name} data-kind={c.kind}>
              <td>
                <Link href={`/notifications/channels/${encodeURIComponent(c.id)}`} style={{ fontWeight: 600 }}>
                  {c.name}
                </Link>
              </td>
              <td>
                <span className="badge plain" data-testid="channel-kind">{channelKindLabel(c.kind)}</span>
              </td>
              <td className="mono small truncate" style={{ maxWidth: 320 }} title={c.kind === 'WEBHOOK' || c.kind === 'EMAIL' ? channelDestination(c) : undefined}>
                {channelDestination(c)}
                {c.kind === 'WEBHOOK' && Object.keys((c.headers as Record<string, unknown>) ?? {}).length ? <span className="faint"> · {Object.keys(c.headers as Record<string, unknown>).length} header(s)</span> : null}
              </td>
              <td>
                <ChannelSecretCell channel={c} />
              </td>
              <td className="small">
                <RelativeTime iso={c.updatedAt} />
              </td>
              {/* A kind this console does not know (a newer server) is not edited as another: its page shows it. */}
              <RowActions
                name={c.name}
                onEdit={channelKind(c) ? () => channelEditor.edit(c) : undefined}
                editHref={channelKind(c) ? undefined : `/notifications/channels/${encodeURIComponent(c.id)}`}
                onDelete={() => channelDeletion.ask(c)}
              />
            </tr>
          )}
        </ResourceTable>
      </Panel>

      <Panel title="Rules" actions={data?.notificationRules.length ? <CreateButton small label="New rule" onClick={ruleEditor.create} /> : undefined} flush>
        {ruleError ? (
          <div style={{ padding: '12px 16px 0' }}>
            <ErrorAlert message={ruleError} />
          </div>
        ) : null}
        <ResourceTable
          items={data?.notificationRules}
          error={result.error}
          testId="rules-table"
          scroll
          headers={['Name', 'On', 'Events', 'Runs', 'Channels']}
          empty={
            <EmptyState title="No rules yet" icon={<Icons.inbox />} action={channels?.length ? <CreateButton label="Add a rule" onClick={ruleEditor.create} /> : undefined}>
              A rule sends chosen events (failed, recovered, worker down …) of every run or of chosen templates, workflows, schedules or tags to channels.{channels?.length ? '' : ' Add a channel first.'}
            </EmptyState>
          }
        >
          {(r) => (
            <tr key={r.id} data-rule={r.name}>
              <NameCell name={r.name} description={null} />
              <td>
                <label className="check" title={r.enabled ? 'Disable' : 'Enable'}>
                  <input
                    type="checkbox"
                    role="switch"
                    aria-label={`${r.name} enabled`}
                    checked={flipping[r.id] ?? r.enabled}
                    disabled={r.id in flipping}
                    onChange={async (e) => {
                      const next = e.target.checked
                      setRuleError(null)
                      setFlipping((f) => ({ ...f, [r.id]: next }))
                      const res = await updateRule({ id: r.id, input: { enabled: next } })
                      if (res.error) setRuleError(errorMessage(res.error))
                      setFlipping(({ [r.id]: _, ...rest }) => rest)
                    }}
                  />
                </label>
              </td>
              <td>
                <span className="event-list">
                  {r.events.map((e) => (
                    <span key={e} className={`badge plain ${eventBadgeClass(e)}`}>
                      {ruleEventLabel(e, r)}
                    </span>
                  ))}
                </span>
              </td>
              <td className="small">{ruleScope(r) || <span className="muted">every run</span>}</td>
              <td className="small">{r.channels.map((c) => c.name).join(', ')}</td>
              <RowActions name={r.name} onEdit={() => ruleEditor.edit(r)} onDelete={() => ruleDeletion.ask(r)} />
            </tr>
          )}
        </ResourceTable>
      </Panel>

      {channelEditor.isOpen ? <ChannelForm channel={channelEditor.item} credentials={data?.credentials ?? []} onClose={channelEditor.close} onSaved={channelEditor.saved} /> : null}
      {ruleEditor.isOpen ? (
        <RuleForm
          rule={ruleEditor.item}
          channels={channels ?? []}
          templates={data?.jobTemplates ?? []}
          workflows={data?.workflows ?? []}
          schedules={data?.jobSchedules ?? []}
          onClose={ruleEditor.close}
          onSaved={ruleEditor.saved}
        />
      ) : null}
      <ConfirmDialog {...channelDeletion.dialog} title={`Delete channel “${channelDeletion.item?.name}”?`} confirmLabel="Delete channel" danger>
        Its delivery log goes with it, and rules stop sending to it (a rule left without channels sends nothing).
      </ConfirmDialog>
      <ConfirmDialog {...ruleDeletion.dialog} title={`Delete rule “${ruleDeletion.item?.name}”?`} confirmLabel="Delete rule" danger>
        Runs ending from now on are no longer sent by this rule. The delivery log keeps what it sent.
      </ConfirmDialog>
    </>
  )
}
