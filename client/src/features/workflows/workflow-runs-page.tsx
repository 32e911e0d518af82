'use client'
/** Workflow runs, newest first, filtered by workflow and status (in the URL), and live. */
import Link from 'next/link'
import { usePathname, useRouter, useSearchParams } from 'next/navigation'
import { useMemo } from 'react'
import { useQuery } from 'urql'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, PageHeader, Panel, Skeleton, statusLabel } from '@/components/ui'
import { toFormErrors } from '@/lib/errors'
import { WorkflowRunsQuery, WorkflowsQuery } from './queries'
import { mergeWorkflowRuns, useLiveWorkflowRuns } from './use-live-workflow-runs'
import { WorkflowRunsTable } from './workflow-runs-table'

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'MISSED', 'SKIPPED'] as const
type Status = (typeof STATUSES)[number]
const PAGE_SIZE = 50

export function WorkflowRunsPage() {
  useTitle('Workflow runs')
  const params = useSearchParams()
  const router = useRouter()
  const pathname = usePathname()
  const qs = params.toString()
  const workflowId = params.get('workflow') || null
  const status = (STATUSES as readonly string[]).includes(params.get('status') ?? '') ? (params.get('status') as Status) : null
  const after = params.get('after') || null
  const set = (k: string, v: string | null) => {
    const next = new URLSearchParams(qs)
    if (v) next.set(k, v)
    else next.delete(k)
    next.delete('after')
    const s = next.toString()
    router.push(s ? `${pathname}?${s}` : pathname)
  }
  const [result] = useQuery({ query: WorkflowRunsQuery, variables: { workflowId, statuses: status ? [status] : null, first: PAGE_SIZE, after } })
  const [workflows] = useQuery({ query: WorkflowsQuery })
  const live = useLiveWorkflowRuns(workflowId, qs)
  const page = result.data?.workflowRuns.edges.map((e) => e.node)
  const rows = useMemo(() => (page ? mergeWorkflowRuns(page, live, (r) => !status || r.status === status, !after) : null), [page, live, status, after])
  const info = result.data?.workflowRuns.pageInfo

  return (
    <>
      <PageHeader title="Workflow runs" subtitle={result.data ? `${result.data.workflowRuns.totalCount.toLocaleString()} run${result.data.workflowRuns.totalCount === 1 ? '' : 's'}${workflowId || status ? ' match the filters' : ''}` : ' '} />
      <div className="filters">
        <select aria-label="Workflow" value={workflowId ?? ''} onChange={(e) => set('workflow', e.target.value || null)}>
          <option value="">All workflows</option>
          {(workflows.data?.workflows ?? []).map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
        <select aria-label="Status" value={status ?? ''} onChange={(e) => set('status', e.target.value || null)}>
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </select>
      </div>
      <Panel flush>
        {result.error && !result.data ? (
          <div style={{ padding: 16 }}>
            <ErrorAlert message={toFormErrors(result.error).form ?? 'Could not load workflow runs.'} />
          </div>
        ) : !rows ? (
          <Skeleton rows={6} />
        ) : rows.length ? (
          <WorkflowRunsTable runs={rows} />
        ) : (
          <EmptyState title={workflowId || status ? 'No workflow runs match' : 'No workflow runs yet'}>
            {workflowId || status ? 'Try other filters.' : <>Run a workflow from the <Link href="/workflows">workflows</Link> page.</>}
          </EmptyState>
        )}
      </Panel>
      {info?.hasNextPage && info.endCursor ? (
        <div className="row" style={{ justifyContent: 'flex-end' }}>
          <Link className="btn" href={`${pathname}?${new URLSearchParams({ ...Object.fromEntries(new URLSearchParams(qs)), after: info.endCursor }).toString()}`}>
            Older runs →
          </Link>
        </div>
      ) : null}
    </>
  )
}
