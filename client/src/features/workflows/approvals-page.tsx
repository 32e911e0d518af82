'use client'
/**
 * Approvals inbox: the APPROVAL nodes awaiting a decision that you may take (the server applies the
 * node's approvers and the self-approval rule), oldest deadline first, live. Approve or reject each
 * with a comment.
 */
import Link from 'next/link'
import { useQuery } from 'urql'
import { Icons } from '@/components/icons'
import { useConnection, useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, PageHeader, Panel, RelativeTime, Skeleton } from '@/components/ui'
import { errorMessage } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { ApprovalDecision } from './approval-decision'
import { PendingApprovalsQuery } from './queries'
import { usePendingApprovals } from './use-pending-approvals'

export function ApprovalsPage() {
  useTitle('Approvals')
  const { canWrite, session } = useSessionContext()
  const { state } = useConnection()
  // The query answers at once; the subscription then keeps the list current.
  const [first] = useQuery({ query: PendingApprovalsQuery, requestPolicy: 'network-only' })
  const live = usePendingApprovals()
  const list = live.list ?? first.data?.pendingApprovals ?? null
  const error = first.error ?? live.error
  return (
    <>
      <PageHeader title="Approvals" subtitle={list ? `${list.length} awaiting your decision${state !== 'live' ? ' (last known: the connection is down)' : ''}` : ' '} />
      {error && !list ? <ErrorAlert message={errorMessage(error)} /> : null}
      {!list ? (
        <Skeleton rows={4} />
      ) : list.length === 0 ? (
        <Panel>
          <EmptyState title="Nothing to approve" icon={<Icons.check />}>
            {canWrite ? 'Approvals you may decide appear here as workflow runs reach them.' : 'Viewers do not decide approvals.'}
          </EmptyState>
        </Panel>
      ) : (
        <div className="stack" data-testid="approvals">
          {list.map((a) => (
            <Panel
              key={a.id}
              title={
                <>
                  <Link href={`/workflow-runs/${a.workflowRun.id}`}>
                    {a.workflowRun.workflowName} #{a.workflowRun.number}
                  </Link>{' '}
                  · <span className="mono">{a.key}</span>
                </>
              }
            >
              <div className="stack" data-approval={a.key}>
                {a.message ? <p style={{ margin: 0 }}>{a.message}</p> : null}
                <div className="small muted">
                  Triggered by {a.workflowRun.triggeredBy?.username ?? 'the system'} <RelativeTime iso={a.workflowRun.createdAt} />
                  {a.deadlineAt ? <> · decide by {formatDateTime(a.deadlineAt)}</> : null}
                  {a.approval && a.approval.minApprovals > 1 ? <> · {a.decisions.filter((d) => d.decision === 'APPROVE').length} of {a.approval.minApprovals} approvals</> : null}
                </div>
                {a.decisions.some((d) => d.username === session.user.username) ? (
                  // Each user decides once; the node waits for the others.
                  <p className="small" style={{ margin: 0 }}>
                    You approved it; it waits for {a.approval ? a.approval.minApprovals - a.decisions.filter((d) => d.decision === 'APPROVE').length : 'more'} more approval(s).
                  </p>
                ) : (
                  <ApprovalDecision nodeRunId={a.id} label={`${a.workflowRun.workflowName} #${a.workflowRun.number}, ${a.key}`} />
                )}
              </div>
            </Panel>
          ))}
        </div>
      )}
    </>
  )
}
