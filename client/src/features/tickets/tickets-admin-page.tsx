'use client'
/**
 * Notifications → Tickets (admins only): trackers — where tickets go (Redmine, a generic webhook tracker) —
 * and auto-ticket rules. Tickets themselves live on their runs' pages.
 */
import { useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { useEditor } from '@/components/edit-dialog'
import { Icons } from '@/components/icons'
import { CreateButton, NameCell, ResourceTable, RowActions } from '@/components/resource-table'
import { useTitle } from '@/components/shell'
import { EmptyState, Panel, RelativeTime } from '@/components/ui'
import { NotificationsFrame } from '@/features/notifications/notifications-frame'
import { SecretState } from '@/features/notifications/secret-credential-field'
import { DeleteTicketRule, DeleteTracker, priorityLabel, TicketsAdminQuery, type TicketRule, type Tracker } from './queries'
import { TicketRuleForm } from './ticket-rule-form'
import { TrackerForm } from './tracker-form'

const CTX = { additionalTypenames: ['TicketTracker', 'TicketRule', 'Credential'] }

export function TicketsAdminPage() {
  useTitle('Tickets')
  return (
    <NotificationsFrame tab="tickets">
      <TrackersAndRules />
    </NotificationsFrame>
  )
}

function TrackersAndRules() {
  const [result, refetch] = useQuery({ query: TicketsAdminQuery, context: CTX })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const trackerEditor = useEditor<Tracker>(reload)
  const ruleEditor = useEditor<TicketRule>(reload)
  const trackerDeletion = useConfirmAction<Tracker>(DeleteTracker, { onDone: reload })
  const ruleDeletion = useConfirmAction<TicketRule>(DeleteTicketRule, { onDone: reload })
  const data = result.data
  const trackers = data?.ticketTrackers
  const templateName = (id: string) => data?.jobTemplates.find((t) => t.id === id)?.name

  return (
    <>
      <Panel title="Ticket trackers" actions={trackers?.length ? <CreateButton small label="New tracker" onClick={trackerEditor.create} /> : undefined} flush>
        <ResourceTable
          items={trackers}
          error={result.error}
          testId="trackers-table"
          scroll
          headers={['Name', 'Kind', 'Where', 'Secret', 'Updated']}
          empty={
            <EmptyState title="No ticket trackers yet" icon={<Icons.inbox />} action={<CreateButton label="Add a tracker" onClick={trackerEditor.create} />}>
              A tracker is where tickets for failed runs go: a Redmine project, or any system behind a signed webhook.
            </EmptyState>
          }
        >
          {(k) => (
            <tr key={k.id} data-tracker={k.name}>
              <NameCell name={k.name} description={null} />
              <td>
                <span className="badge plain">{k.kind === 'REDMINE' ? 'Redmine' : 'Webhook'}</span>
              </td>
              <td className="mono small truncate" style={{ maxWidth: 320 }} title={k.url}>
                {k.url}
                {k.project ? <span className="faint"> · {k.project}</span> : null}
              </td>
              <td>
                <SecretState credential={k.credential} />
              </td>
              <td className="small">
                <RelativeTime iso={k.updatedAt} />
              </td>
              <RowActions name={k.name} onEdit={() => trackerEditor.edit(k)} onDelete={() => trackerDeletion.ask(k)} />
            </tr>
          )}
        </ResourceTable>
      </Panel>

      <Panel title="Auto-ticket rules" actions={data?.ticketRules.length ? <CreateButton small label="New rule" onClick={ruleEditor.create} /> : undefined} flush>
        <ResourceTable
          items={data?.ticketRules}
          error={result.error}
          testId="ticket-rules-table"
          scroll
          headers={['Name', 'Opens', 'Tracker', 'Priority', 'Templates']}
          empty={
            <EmptyState title="No auto-ticket rules yet" icon={<Icons.inbox />} action={trackers?.length ? <CreateButton label="Add a rule" onClick={ruleEditor.create} /> : undefined}>
              A rule opens one ticket per failing template; further failures comment on it, and the first success comments and can close it.{trackers?.length ? '' : ' Add a tracker first.'}
            </EmptyState>
          }
        >
          {(r) => (
            <tr key={r.id} data-ticket-rule={r.name}>
              <NameCell name={r.name} description={r.enabled ? null : 'disabled'} />
              <td className="small">
                {r.trigger === 'FAILED' ? 'on any failure' : `after ${r.consecutiveFailures ?? 3} failures in a row`}
                {r.closeOnRecovery ? <span className="muted">; closes on recovery</span> : null}
              </td>
              <td className="small">{r.tracker.name}</td>
              <td className="small">{priorityLabel(r.priority)}</td>
              <td className="small">{r.templateIds.length ? r.templateIds.map((id) => templateName(id) ?? '(hidden or deleted)').join(', ') : <span className="muted">every template</span>}</td>
              <RowActions name={r.name} onEdit={() => ruleEditor.edit(r)} onDelete={() => ruleDeletion.ask(r)} />
            </tr>
          )}
        </ResourceTable>
      </Panel>

      {trackerEditor.isOpen ? <TrackerForm tracker={trackerEditor.item} credentials={data?.credentials ?? []} onClose={trackerEditor.close} onSaved={trackerEditor.saved} /> : null}
      {ruleEditor.isOpen ? <TicketRuleForm rule={ruleEditor.item} trackers={trackers ?? []} templates={data?.jobTemplates ?? []} onClose={ruleEditor.close} onSaved={ruleEditor.saved} /> : null}
      <ConfirmDialog {...trackerDeletion.dialog} title={`Delete tracker “${trackerDeletion.item?.name}”?`} confirmLabel="Delete tracker" danger>
        Its rules and Switchyard’s record of its tickets go with it; the issues stay in the tracker.
      </ConfirmDialog>
      <ConfirmDialog {...ruleDeletion.dialog} title={`Delete rule “${ruleDeletion.item?.name}”?`} confirmLabel="Delete rule" danger>
        Failures from now on open no tickets through this rule. Tickets it opened stay, but recoveries no longer comment on them.
      </ConfirmDialog>
    </>
  )
}
