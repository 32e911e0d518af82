'use client'
/** The workflows you can see, with Run now, Edit and Delete. */
import Link from 'next/link'
import { useState } from 'react'
import { useQuery } from 'urql'
import { Icons } from '@/components/icons'
import { CreateButton, ListPageHeader, ResourceTable } from '@/components/resource-table'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, Panel, RelativeTime } from '@/components/ui'
import { DeleteWorkflowButton, RunWorkflowDialog } from './run-workflow-dialog'
import { WorkflowsQuery, type Workflow } from './queries'

const CTX_WORKFLOW = { additionalTypenames: ['Workflow'] }

export function WorkflowsPage() {
  useTitle('Workflows')
  const { canWrite } = useSessionContext()
  const [running, setRunning] = useState<Workflow | null>(null)
  const [result, refetch] = useQuery({ query: WorkflowsQuery, context: CTX_WORKFLOW, requestPolicy: 'cache-and-network' })
  return (
    <>
      <ListPageHeader title="Workflows" subtitle="Templates and approvals chained into a graph." create={{ label: 'New workflow', href: '/workflows/new' }} />
      <Panel flush>
        <ResourceTable
          items={result.data?.workflows}
          error={result.error}
          skeletonRows={4}
          testId="workflows-table"
          scroll
          headers={['Name', { label: 'Nodes', className: 'num' }, 'Approvals', 'Visibility', 'Owner', 'Updated']}
          empty={
            <EmptyState title="No workflows yet" icon={<Icons.templates />} action={<CreateButton label="Create a workflow" href="/workflows/new" />}>
              A workflow runs templates one after another (or side by side), can wait for someone’s approval, and passes values from one node to the next.
            </EmptyState>
          }
        >
          {(w) => (
            <tr key={w.id} data-workflow={w.name}>
              <td>
                <Link href={`/workflows/${w.id}`} style={{ fontWeight: 600 }}>
                  {w.name}
                </Link>
                {w.description ? <div className="small faint truncate" style={{ maxWidth: 360 }}>{w.description}</div> : null}
              </td>
              <td className="num">{w.nodes.length}</td>
              <td>{w.nodes.filter((n) => n.kind === 'APPROVAL').length || '—'}</td>
              <td>
                <span className={`badge plain ${w.visibility === 'GLOBAL' ? 'info' : ''}`}>{w.visibility === 'GLOBAL' ? 'Global' : 'Private'}</span>
              </td>
              <td className="small">{w.owner.username}</td>
              <td className="small">
                <RelativeTime iso={w.updatedAt} />
              </td>
              <td className="actions">
                <Link className="btn sm ghost" href={`/workflow-runs?workflow=${encodeURIComponent(w.id)}`}>
                  Runs
                </Link>{' '}
                {canWrite ? (
                  <>
                    <button type="button" className="btn sm" onClick={() => setRunning(w)}>
                      <Icons.play /> Run now
                    </button>{' '}
                    <Link className="btn sm ghost icon" href={`/workflows/${w.id}`} aria-label={`Edit ${w.name}`} title="Edit">
                      <Icons.edit />
                    </Link>
                    <DeleteWorkflowButton small workflow={w} onDeleted={() => refetch({ requestPolicy: 'network-only' })} />
                  </>
                ) : null}
              </td>
            </tr>
          )}
        </ResourceTable>
      </Panel>
      {running ? <RunWorkflowDialog workflow={running} onClose={() => setRunning(null)} /> : null}
    </>
  )
}
