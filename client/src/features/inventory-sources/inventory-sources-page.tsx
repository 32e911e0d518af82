'use client'
/**
 * Inventory sources: where targets come from besides hand entry (a Nautobot today). Everyone sees them;
 * operators and admins add them; a source's owner (or an admin) changes, tests, dry-runs, syncs or
 * deletes it — on its own page. The list refreshes when a sync run ends (jobRunsChanged).
 */
import Link from 'next/link'
import { useQuery } from 'urql'
import { useEditor } from '@/components/edit-dialog'
import { Icons } from '@/components/icons'
import { CreateButton, ListPageHeader, ResourceTable } from '@/components/resource-table'
import { useTitle } from '@/components/shell'
import { EmptyState, Panel, plural } from '@/components/ui'
import { InventorySourcesQuery, type InventorySource } from './queries'
import { LastSync, SyncModeBadge, useSyncRunsEnding } from './source-parts'
import { SourceForm } from './source-form'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_SOURCES = { additionalTypenames: ['InventorySource', 'Credential'] }

export function InventorySourcesPage() {
  useTitle('Inventory sources')
  const [result, refetch] = useQuery({ query: InventorySourcesQuery, context: CTX_SOURCES })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const editor = useEditor<InventorySource>(reload)
  // A sync that ends changes the last sync and the target count shown.
  useSyncRunsEnding(reload)
  const credentials = result.data?.credentials ?? []

  return (
    <>
      <ListPageHeader
        title="Inventory sources"
        subtitle="Targets synced from your source of truth. Dry-run a sync to see the diff before anything changes."
        create={{ label: 'New inventory source', onClick: editor.create }}
      />
      <Panel flush>
        <ResourceTable
          items={result.data?.inventorySources}
          error={result.error}
          testId="inventory-sources-table"
          scroll
          headers={['Name', 'Source', 'Mode', { label: 'Targets', className: 'num' }, 'Last sync']}
          empty={
            <EmptyState title="No inventory sources yet" icon={<Icons.inventories />} action={<CreateButton label="Add an inventory source" onClick={editor.create} />}>
              Connect a Nautobot and its devices become targets: named like the device, at its primary IP, with its platform, role and location as attributes.{' '}
              {credentials.some((c) => c.kind === 'PASSWORD') ? null : <>First store its API token as a password credential on the <Link href="/credentials">Credentials</Link> page.</>}
            </EmptyState>
          }
        >
          {(s) => (
            <tr key={s.id} data-source={s.name}>
              <td>
                <Link href={`/inventory-sources/${encodeURIComponent(s.id)}`} style={{ fontWeight: 600 }}>
                  {s.name}
                </Link>
                {s.description ? <div className="small faint">{s.description}</div> : null}
              </td>
              <td>
                <span className="badge plain">Nautobot</span> <span className="mono small">{s.url}</span>
              </td>
              <td>
                <SyncModeBadge mode={s.syncMode} />
              </td>
              <td className="num" data-testid="source-target-count">
                {plural(s.targetCount, 'target')}
              </td>
              <td className="small">
                <LastSync source={s} />
              </td>
              <td className="actions">
                <Link className="btn sm ghost" href={`/inventory-sources/${encodeURIComponent(s.id)}`} aria-label={`Open ${s.name}`}>
                  Open
                </Link>
              </td>
            </tr>
          )}
        </ResourceTable>
      </Panel>
      {editor.isOpen ? <SourceForm source={editor.item} credentials={credentials} onClose={editor.close} onSaved={editor.saved} /> : null}
    </>
  )
}
