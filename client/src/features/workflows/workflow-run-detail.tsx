'use client'
/**
 * One workflow run, live: the graph coloured by node state (each node says its state in words and opens
 * its job run, logs included), the node list with reasons and approvals (approve or reject here), and
 * the run's event log; nodes link to their job run or nested workflow run and show their step outputs
 * (SECRET values arrive masked). Failed or cancelled runs offer **Retry failed nodes**. `workflowRunUpdated` keeps the run current and `workflowRunEvents` streams the
 * log (a reconnect re-subscribes; events are kept by seq, so nothing shows twice). While the connection
 * is down, a running run is marked as "last known".
 */
import Link from 'next/link'
import { useMemo, useState } from 'react'
import { useMutation, useQuery, useSubscription } from 'urql'
import { ConfirmDialog } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { KeyValues } from '@/components/key-values'
import { useConnection, useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { WatchToggle } from '@/features/runs/watch-toggle'
import { WebhookLink } from '@/features/webhooks/webhook-link'
import { BackLink, EmptyState, ErrorAlert, PageHeader, Panel, RelativeTime, Skeleton, StatusBadge, triggerLabel } from '@/components/ui'
import { errorMessage, toFormErrors } from '@/lib/errors'
import { formatDateTime, formatLogTime } from '@/lib/format'
import { notRunReason } from '@/lib/not-run'
import { nodeStatusLabel } from '@/lib/workflow-draft'
import { ApprovalDecision } from './approval-decision'
import { CancelWorkflowRunMutation, FINAL_WORKFLOW_STATUSES, WorkflowRunEventsSubscription, WorkflowRunQuery, WorkflowRunUpdatedSubscription, type NodeRun, type WorkflowRunDetail as Run, type WorkflowRunEvent } from './queries'
import { WorkflowGraph } from './workflow-graph'
import { RetryFailedNodesButton, RunRelations } from './workflow-run-relations'

export function WorkflowRunDetail({ id }: { id: string }) {
  const [query, refetch] = useQuery({ query: WorkflowRunQuery, variables: { id }, requestPolicy: 'cache-and-network' })
  const [live] = useSubscription({ query: WorkflowRunUpdatedSubscription, variables: { id } })
  const [events] = useSubscription({ query: WorkflowRunEventsSubscription, variables: { id, after: 0 } }, (prev: WorkflowRunEvent[] = [], data) => {
    const e = data.workflowRunEvents
    return prev.some((p) => p.seq === e.seq) ? prev : [...prev, e].sort((a, b) => a.seq - b.seq)
  })
  const [cancelled, setCancelled] = useState<Run | null>(null)
  // Whichever copy has seen the most events wins (the subscription normally, a mutation's answer right
  // after it); on a tie the cancel answer, then the query (refetched after a decision that changes no
  // node state, which the subscription does not resend).
  const run = [cancelled, query.data?.workflowRun, live.data?.workflowRunUpdated].filter((r): r is Run => !!r).reduce<Run | undefined>((best, r) => (!best || r.eventSeq > best.eventSeq ? r : best), undefined)
  useTitle(run ? `Workflow run #${run.number}` : 'Workflow run')
  const { state: connection } = useConnection()

  if (!run) {
    if (query.error) {
      const e = toFormErrors(query.error)
      return (
        <>
          <BackLink href="/workflow-runs">Workflow runs</BackLink>
          <EmptyState title={e.code === 'NOT_FOUND' ? 'Workflow run not found' : 'Could not load this workflow run'}>{e.code === 'NOT_FOUND' ? 'It does not exist or is not visible to you.' : e.form}</EmptyState>
        </>
      )
    }
    return <Skeleton rows={6} />
  }
  const final = FINAL_WORKFLOW_STATUSES.has(run.status)
  const stale = !final && connection !== 'live'
  return (
    <>
      <BackLink href="/workflow-runs">Workflow runs</BackLink>
      <StatusAnnouncer number={run.number} status={run.status} />
      <PageHeader
        title={
          <span className="run-head">
            <span>
              Workflow run #{run.number} · {run.workflow ? <Link href={`/workflows/${run.workflow.id}`}>{run.workflowName}</Link> : run.workflowName}
            </span>
            <StatusBadge status={run.status} stale={stale} />
          </span>
        }
        actions={
          <>
            <WatchToggle kind="workflow" id={run.id} watchedByMe={run.watchedByMe} final={FINAL_WORKFLOW_STATUSES.has(run.status)} />
            <CancelButton run={run} onCancelled={setCancelled} />
            <RetryFailedNodesButton run={run} />
          </>
        }
      />
      <Panel>
        <div className="run-meta">
          <div>
            <span className="k">Trigger</span>
            <span>
              {triggerLabel(run.trigger)}
              {run.triggeredBy ? ` by ${run.triggeredBy.username}` : ''}
              {run.schedule ? (
                <>
                  {' '}
                  · <Link href={`/schedules/${run.schedule.id}`}>{run.schedule.name}</Link>
                </>
              ) : null}
              {run.webhookEndpoint ? (
                <>
                  {' '}
                  · webhook <WebhookLink endpoint={run.webhookEndpoint} />
                </>
              ) : null}
            </span>
          </div>
          <div>
            <span className="k">Started</span>
            <span title={formatDateTime(run.createdAt)}>
              <RelativeTime iso={run.createdAt} />
            </span>
          </div>
          <div>
            <span className="k">Finished</span>
            <span>{run.finishedAt ? formatDateTime(run.finishedAt) : '—'}</span>
          </div>
          <div>
            <span className="k">Nodes</span>
            <span data-testid="workflow-progress">
              {run.nodes.filter((n) => n.finishedAt || n.status === 'SKIPPED').length} of {run.nodes.length} done
            </span>
          </div>
          <RunRelations run={run} />
          {run.cancelRequestedAt && !final ? (
            <div>
              <span className="k">Cancel</span>
              <span>requested, stopping running nodes…</span>
            </div>
          ) : null}
        </div>
        {notRunReason(run) ? (
          <div className="alert info" data-testid="workflow-run-not-run">
            {nodeStatusLabel(run.status)}: {notRunReason(run)}
          </div>
        ) : run.error ? (
          <ErrorAlert message={run.error} />
        ) : null}
        <KeyValues title="Parameters" values={run.parameters} />
      </Panel>
      <RunGraph run={run} stale={stale} />
      <NodesPanel run={run} onDecided={() => refetch({ requestPolicy: 'network-only' })} />
      <Panel title="Event log" flush>
        <div style={{ padding: '8px 16px' }}>
          {events.data?.length ? (
            <ol className="event-log" aria-label="Events of this workflow run" data-testid="workflow-events" tabIndex={0}>
              {events.data.map((e) => (
                <li key={e.seq}>
                  <time dateTime={e.at} className="mono faint">
                    {formatLogTime(e.at)}
                  </time>
                  <span className="mono">{e.nodeKey ?? 'workflow'}</span>
                  <span>
                    {nodeStatusLabel(e.status)}
                    {e.reason ? <span className="muted"> — {e.reason}</span> : null}
                  </span>
                </li>
              ))}
            </ol>
          ) : (
            <p className="muted small">{events.error ? errorMessage(events.error) : 'No events yet.'}</p>
          )}
        </div>
      </Panel>
    </>
  )
}

function RunGraph({ run, stale }: { run: Run; stale: boolean }) {
  // The workflow's edges as saved now (a run keeps its nodes; an edit since may have moved edges).
  const edges = useMemo(() => {
    const keys = new Set(run.nodes.map((n) => n.key))
    return (run.workflow?.edges ?? []).filter((e) => keys.has(e.from) && keys.has(e.to))
  }, [run])
  const nodes = run.nodes.map((n) => ({
    key: n.key,
    detail: n.kind === 'APPROVAL' ? 'Approval' : n.kind === 'WORKFLOW' ? `Workflow${n.nestedRun ? `: ${n.nestedRun.workflowName}` : ''}` : (n.jobRun?.templateName ?? 'Template'),
    status: n.status,
    href: n.jobRun ? `/runs/${n.jobRun.id}` : n.nestedRun ? `/workflow-runs/${n.nestedRun.id}` : undefined,
  }))
  return (
    <Panel title="Graph">
      {stale ? <p className="small muted">The connection is down: these are the last known node states.</p> : null}
      <WorkflowGraph label="Workflow run graph: nodes with a run open it" nodes={nodes} edges={edges} />
    </Panel>
  )
}

function NodesPanel({ run, onDecided }: { run: Run; onDecided(): void }) {
  const { canWrite } = useSessionContext()
  return (
    <Panel title={`Nodes (${run.nodes.length})`} flush>
      <div className="table-scroll">
        <table className="table" data-testid="workflow-run-nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th>Status</th>
              <th>Run</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {run.nodes.map((n) => (
              <tr key={n.id} data-node={n.key}>
                <td className="mono">{n.key}</td>
                <td>
                  <StatusBadge status={n.status} />
                </td>
                <td>
                  {n.jobRun ? (
                    <Link href={`/runs/${n.jobRun.id}`}>#{n.jobRun.number}</Link>
                  ) : n.nestedRun ? (
                    <Link href={`/workflow-runs/${n.nestedRun.id}`} data-testid="nested-run-link">
                      Workflow run #{n.nestedRun.number}
                    </Link>
                  ) : (
                    <span className="faint">—</span>
                  )}
                </td>
                <td className="small">
                  <NodeDetails node={n} canDecide={canWrite && n.status === 'AWAITING_APPROVAL'} onDecided={onDecided} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Panel>
  )
}

function NodeDetails({ node, canDecide, onDecided }: { node: NodeRun; canDecide: boolean; onDecided(): void }) {
  return (
    <div className="stack" style={{ gap: 6 }}>
      {node.reason ? <div>{node.reason}</div> : null}
      <KeyValues title="Outputs" values={node.outputs} testId="node-outputs" />
      {node.kind === 'APPROVAL' ? (
        <>
          {node.message ? <div className="muted">“{node.message}”</div> : null}
          {node.approval ? (
            <div className="muted">
              Needs {node.approval.minApprovals} approval{node.approval.minApprovals === 1 ? '' : 's'} from {[...node.approval.approverRoles.map((r) => `${r.toLowerCase()}s`), ...node.approval.approvers.map((u) => u.username)].join(', ')}
              {node.deadlineAt && node.status === 'AWAITING_APPROVAL' ? <> · deadline {formatDateTime(node.deadlineAt)}</> : null}
            </div>
          ) : null}
          {node.decisions.map((d, i) => (
            <div key={i}>
              {d.username} {d.decision === 'APPROVE' ? 'approved' : 'rejected'}
              {d.comment ? `: “${d.comment}”` : ''}
            </div>
          ))}
          {canDecide ? <ApprovalDecision nodeRunId={node.id} label={node.key} onDecided={onDecided} /> : null}
        </>
      ) : null}
    </div>
  )
}

function CancelButton({ run, onCancelled }: { run: Run; onCancelled(r: Run): void }) {
  // The server allows who triggered it, the workflow's owner or an admin; others see its refusal.
  const { canWrite } = useSessionContext()
  const [open, setOpen] = useState(false)
  const [state, cancel] = useMutation(CancelWorkflowRunMutation)
  if (!canWrite || run.status !== 'RUNNING' || run.cancelRequestedAt) return null
  return (
    <>
      <button type="button" className="btn danger-ghost" onClick={() => setOpen(true)}>
        <Icons.stop /> Cancel run
      </button>
      <ConfirmDialog
        open={open}
        title={`Cancel workflow run #${run.number}?`}
        confirmLabel="Cancel run"
        danger
        busy={state.fetching}
        error={state.error ? errorMessage(state.error) : null}
        onClose={() => setOpen(false)}
        onConfirm={async () => {
          const r = await cancel({ id: run.id })
          if (r.data) {
            onCancelled(r.data.cancelWorkflowRun)
            setOpen(false)
          }
        }}
      >
        Running nodes are cancelled, nodes that have not started are skipped.
      </ConfirmDialog>
    </>
  )
}

function StatusAnnouncer({ number, status }: { number: number; status: string }) {
  const [said, setSaid] = useState<{ status: string; text: string }>({ status, text: '' })
  if (said.status !== status) setSaid({ status, text: `Workflow run #${number} is now ${nodeStatusLabel(status).toLowerCase()}.` })
  return (
    <div className="sr-only" role="status" aria-live="polite" data-testid="workflow-run-announcer">
      {said.text}
    </div>
  )
}
