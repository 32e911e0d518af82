'use client'
import Link from 'next/link'
import { LiveDuration, RelativeTime, StatusBadge, triggerLabel } from '@/components/ui'
import { nodeSummary } from '@/lib/workflow-runs'
import { notRunReason } from '@/lib/not-run'
import type { WorkflowRunRow } from './queries'

export function WorkflowRunsTable({ runs, compact }: { runs: readonly WorkflowRunRow[]; compact?: boolean }) {
  return (
    <div className="table-scroll">
      <table className="table" data-testid="workflow-runs-table">
        <thead>
          <tr>
            <th>Run</th>
            <th>Workflow</th>
            <th>Status</th>
            <th>Nodes</th>
            {compact ? null : <th>Trigger</th>}
            <th>Started</th>
            <th className="num">Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-workflow-run={r.number} data-status={r.status}>
              <td className="nowrap">
                <Link href={`/workflow-runs/${r.id}`} className="mono">
                  #{r.number}
                </Link>
              </td>
              <td>{r.workflowName}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              {/* A schedule slot that never ran has no nodes to count: say why it did not run. */}
              <td className="small">{notRunReason(r) ?? nodeSummary(r)}</td>
              {compact ? null : (
                <td className="small">
                  {triggerLabel(r.trigger)}
                  {r.triggeredBy ? ` · ${r.triggeredBy.username}` : ''}
                </td>
              )}
              <td className="small">
                <RelativeTime iso={r.createdAt} />
              </td>
              <td className="num small">
                <LiveDuration startedAt={r.createdAt} finishedAt={r.finishedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
