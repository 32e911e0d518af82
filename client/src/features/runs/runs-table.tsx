'use client'
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { LiveDuration, Progress, RelativeTime, StatusBadge, triggerLabel } from '@/components/ui'
import { useJobTypeLabel } from '@/features/job-types/use-job-type-label'
import { notRunReason } from '@/lib/not-run'
import type { RunRow } from './queries'

export function RunsTable({ runs, flash, compact }: { runs: readonly RunRow[]; flash?: ReadonlySet<string>; compact?: boolean }) {
  const router = useRouter()
  const jobTypeLabel = useJobTypeLabel()
  return (
    <div className="table-scroll">
      <table className="table" data-testid="runs-table">
        <thead>
          <tr>
            <th>Run</th>
            <th>Template</th>
            <th>Status</th>
            <th>Progress</th>
            {compact ? null : <th>Trigger</th>}
            <th>Created</th>
            <th className="num">Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr
              key={r.id}
              className={`clickable${flash?.has(r.id) ? ' flash' : ''}`}
              data-run-number={r.number}
              data-status={r.status}
              onClick={(e) => {
                if ((e.target as HTMLElement).closest('a')) return
                router.push(`/runs/${r.id}`)
              }}
            >
              <td className="nowrap">
                <Link href={`/runs/${r.id}`} className="mono">
                  #{r.number}
                </Link>
              </td>
              <td>
                <div className="truncate" style={{ maxWidth: 280, fontWeight: 550 }}>
                  {r.templateName}
                </div>
                <div className="small faint">{jobTypeLabel(r.jobType)}</div>
              </td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td style={{ minWidth: 120 }}>
                {/* A schedule slot that never ran has no progress: say why it did not run. */}
                {notRunReason(r) ? (
                  <span className="small muted">{notRunReason(r)}</span>
                ) : (
                  <div className="row small muted">
                    <div className="grow">
                      {/* The list has counts only: a cancelled run's unfinished targets show as cancelled, not failed (its page has the exact split). */}
                      <Progress
                        done={r.progress.done}
                        failed={r.status === 'CANCELLED' ? 0 : r.progress.failed}
                        cancelled={r.status === 'CANCELLED' ? r.progress.failed : 0}
                        total={r.progress.total}
                        running={r.status === 'RUNNING'}
                      />
                    </div>
                    <span className="nowrap">
                      {r.progress.done}/{r.progress.total}
                    </span>
                  </div>
                )}
              </td>
              {compact ? null : (
                <td className="small">
                  {triggerLabel(r.trigger)}
                  {r.triggeredBy ? <span className="faint"> · {r.triggeredBy.username}</span> : null}
                </td>
              )}
              <td className="small nowrap">
                <RelativeTime iso={r.createdAt} />
              </td>
              <td className="num small nowrap">
                <LiveDuration startedAt={r.startedAt} finishedAt={r.finishedAt} durationMs={r.durationMs} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
