'use client'
/** The dashboard's workflow runs: those still running, then the most recent, kept current live. */
import Link from 'next/link'
import { useMemo } from 'react'
import { useQuery } from 'urql'
import { Icons } from '@/components/icons'
import { EmptyState, Panel, Skeleton } from '@/components/ui'
import { graphql } from '@/lib/graphql'
import { WorkflowRunRowFragment } from './queries'
import { mergeWorkflowRuns, useLiveWorkflowRuns } from './use-live-workflow-runs'
import { WorkflowRunsTable } from './workflow-runs-table'

const DashboardWorkflowRunsQuery = graphql(
  `
  query DashboardWorkflowRuns {
    active: workflowRuns(statuses: [RUNNING], first: 10) { edges { node { ...WorkflowRunRow } } }
    recent: workflowRuns(first: 8) { edges { node { ...WorkflowRunRow } } }
  }
`,
  [WorkflowRunRowFragment],
)

const SHOWN = 8

export function WorkflowRunsPanel() {
  const [result] = useQuery({ query: DashboardWorkflowRunsQuery, requestPolicy: 'cache-and-network' })
  const live = useLiveWorkflowRuns(null, 'dashboard')
  const rows = useMemo(() => {
    if (!result.data) return null
    const all = mergeWorkflowRuns([...result.data.active.edges, ...result.data.recent.edges].map((e) => e.node), live, () => true)
    // Running ones first (they are what an operator watches), then the newest finished.
    return [...all.filter((r) => r.status === 'RUNNING'), ...all.filter((r) => r.status !== 'RUNNING')].slice(0, SHOWN)
  }, [result.data, live])
  return (
    <Panel title="Workflow runs" flush actions={<Link className="small" href="/workflow-runs">All workflow runs →</Link>}>
      {!rows ? (
        <Skeleton rows={3} />
      ) : rows.length ? (
        <div data-testid="dashboard-workflow-runs">
          <WorkflowRunsTable runs={rows} compact />
        </div>
      ) : (
        <EmptyState title="No workflow runs yet" icon={<Icons.workflowRuns />}>
          Run a workflow from <Link href="/workflows">Workflows</Link>; its progress shows here live.
        </EmptyState>
      )}
    </Panel>
  )
}
