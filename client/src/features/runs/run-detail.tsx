'use client'
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { useMutation, useQuery, useSubscription } from 'urql'
import { ConfirmDialog } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { KeyValues } from '@/components/key-values'
import { useConnection, useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { BackLink, EmptyState, ErrorAlert, LiveDuration, PageHeader, Panel, Progress, RelativeTime, Skeleton, StatusBadge, statusLabel, triggerLabel } from '@/components/ui'
import { DeviceResultsPanel } from '@/features/checkmk/device-results-panel'
import { useJobTypeLabel } from '@/features/job-types/use-job-type-label'
import { isDeviceJobType } from '@/lib/device-results'
import { toFormErrors } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { CancelRunMutation, isFinal, RetryRunMutation, RunQuery, RunUpdatedSubscription, type RunDetail as Run, type RunTargetRow } from './queries'
import { WebhookLink } from '@/features/webhooks/webhook-link'
import { RunTickets } from '@/features/tickets/run-tickets'
import { RunLog } from './run-log'
import { WatchToggle } from './watch-toggle'
import { useRunLog } from './use-run-log'

export function RunDetail({ id }: { id: string }) {
  const [query] = useQuery({ query: RunQuery, variables: { id } })
  // The run now, then every change; completes after its final state.
  const [live] = useSubscription({ query: RunUpdatedSubscription, variables: { runId: id } })
  const [cancelled, setCancelled] = useState<Run | null>(null)
  const candidates = [live.data?.jobRunUpdated, cancelled, query.data?.jobRun].filter((r): r is Run => !!r)
  // Whichever copy is newest wins (the subscription normally, a mutation's answer right after it).
  const run = candidates.sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt))[0]
  useTitle(run ? `Run #${run.number}` : 'Run')
  const log = useRunLog(id)
  const [logTarget, setLogTarget] = useState<string | null>(null)
  const { state: connection } = useConnection()
  const { isAdmin } = useSessionContext()
  const jobTypeLabel = useJobTypeLabel()

  if (!run) {
    if (query.error) {
      const e = toFormErrors(query.error)
      return (
        <>
          <BackLink href="/runs">Runs</BackLink>
          <EmptyState title={e.code === 'NOT_FOUND' ? 'Run not found' : 'Could not load this run'}>{e.code === 'NOT_FOUND' ? 'It does not exist or is not visible to you.' : e.form}</EmptyState>
        </>
      )
    }
    return <Skeleton rows={6} />
  }

  const final = isFinal(run.status)
  // While the connection is down a running run's status is only the last one seen: say so.
  const stale = !final && connection !== 'live'
  const failedTargets = run.targets.filter((t) => t.status === 'FAILED' || t.status === 'TIMED_OUT').length
  const cancelledTargets = run.targets.filter((t) => t.status === 'CANCELLED').length
  return (
    <>
      <BackLink href="/runs">Runs</BackLink>
      <RunStatusAnnouncer number={run.number} status={run.status} />
      <PageHeader
        title={
          <span className="run-head">
            <span>
              Run #{run.number} · {run.template ? <Link href={`/templates/${run.template.id}`}>{run.templateName}</Link> : run.templateName}
            </span>
            <StatusBadge status={run.status} stale={stale} />
          </span>
        }
        actions={
          <>
            <WatchToggle kind="job" id={run.id} watchedByMe={run.watchedByMe} final={isFinal(run.status)} />
            <RunActions run={run} onCancelled={setCancelled} />
          </>
        }
      />
      <Panel>
        <div className="stack">
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
                {run.workflowNode ? (
                  <>
                    {' '}
                    · <Link href={`/workflow-runs/${run.workflowNode.workflowRun.id}`}>{run.workflowNode.workflowRun.workflowName} #{run.workflowNode.workflowRun.number}</Link>, node <span className="mono">{run.workflowNode.key}</span>
                  </>
                ) : null}
                {run.retryOf ? (
                  <>
                    {' '}
                    of <Link href={`/runs/${run.retryOf.id}`}>#{run.retryOf.number}</Link>
                  </>
                ) : null}
                {run.triggeredByRun ? (
                  <>
                    {' '}
                    after <Link href={`/runs/${run.triggeredByRun.id}`}>#{run.triggeredByRun.number}</Link> {run.triggeredByRun.templateName}{' '}
                    <span className="muted">({statusLabel(run.triggeredByRun.status).toLowerCase()})</span>
                  </>
                ) : null}
                {run.webhookEndpoint ? (
                  <>
                    {' '}
                    · webhook <WebhookLink endpoint={run.webhookEndpoint} />
                  </>
                ) : run.trigger === 'WEBHOOK' ? (
                  <span className="muted"> (an inbound webhook endpoint: its owner and admins see which)</span>
                ) : null}
              </span>
            </div>
            {run.retries.length ? (
              <div data-testid="run-retries">
                <span className="k">Retried as</span>
                <span>
                  {run.retries.map((r, i) => (
                    <span key={r.id}>
                      {i ? ', ' : null}
                      <Link href={`/runs/${r.id}`}>#{r.number}</Link> <span className="muted">({statusLabel(r.status).toLowerCase()})</span>
                    </span>
                  ))}
                </span>
              </div>
            ) : null}
            <div>
              <span className="k">Created</span>
              <span title={formatDateTime(run.createdAt)}>
                <RelativeTime iso={run.createdAt} />
              </span>
            </div>
            <div>
              <span className="k">Started</span>
              <span>{run.startedAt ? formatDateTime(run.startedAt) : '—'}</span>
            </div>
            <div>
              <span className="k">Finished</span>
              <span>{run.finishedAt ? formatDateTime(run.finishedAt) : '—'}</span>
            </div>
            <div>
              <span className="k">Duration</span>
              <span data-testid="run-duration">
                <LiveDuration startedAt={run.startedAt} finishedAt={run.finishedAt} durationMs={run.durationMs} />
              </span>
            </div>
            <div>
              <span className="k">Attempt</span>
              <span>
                {run.attempt} of {run.maxAttempts}
              </span>
            </div>
            <div>
              <span className="k">Job type</span>
              <span>{jobTypeLabel(run.jobType)}</span>
            </div>
            {isAdmin && final ? (
              <div>
                <span className="k">Notifications</span>
                <span>
                  <Link href={`/notifications/deliveries?run=${encodeURIComponent(run.id)}`}>delivery log</Link>
                </span>
              </div>
            ) : null}
          </div>
          {/* Device job types have no targets: their progress is the dashboard's counts below. */}
          {isDeviceJobType(run.jobType) ? null : (
            <div className="stack" style={{ gap: 6 }}>
              <div className="row small muted">
                <span className="grow" data-testid="run-progress">
                  {run.progress.done} of {run.progress.total} {run.progress.total === 1 ? 'target' : 'targets'} done
                  {failedTargets ? `, ${failedTargets} failed` : ''}
                  {cancelledTargets ? `, ${cancelledTargets} cancelled` : ''}
                </span>
                <span>{Math.round(run.progress.percent)}%</span>
              </div>
              <Progress done={run.progress.done} failed={failedTargets} cancelled={cancelledTargets} total={run.progress.total} running={run.status === 'RUNNING' && !stale} large />
            </div>
          )}
          {stale ? (
            <div className="alert warn" data-testid="run-stale">
              The connection to the server is lost: this run’s status and log are not updating. They refresh as soon as it is back.
            </div>
          ) : null}
          {run.cancelRequestedAt && !final ? <div className="alert info">Cancel requested{run.cancelledBy ? ` by ${run.cancelledBy.username}` : ''} — stopping remote commands…</div> : null}
          <RunOutcome run={run} />
          <KeyValues title="Parameters" values={run.parameters} />
          <KeyValues title="Outputs" values={run.outputs} testId="run-outputs" />
        </div>
      </Panel>
      {final ? <RunTickets runId={run.id} failed={run.status === 'FAILED' || run.status === 'TIMED_OUT'} /> : null}
      {isDeviceJobType(run.jobType) ? <DeviceResultsPanel run={run} /> : null}
      {run.targets.length ? <TargetsTable targets={run.targets} onShowLog={setLogTarget} selected={logTarget} /> : null}
      {run.logTruncated ? (
        <div className="alert warn" data-testid="log-truncated">
          This run’s log is incomplete: it reached its log limit, and {run.droppedLogLines.toLocaleString()} more{' '}
          {run.droppedLogLines === 1 ? 'line' : 'lines'} ({formatBytes(run.droppedLogBytes)}) of output were not stored. The run itself was not affected.
        </div>
      ) : null}
      <RunLog
        buffer={log.buffer}
        version={log.version}
        state={stale || (connection !== 'live' && log.state !== 'complete') ? 'disconnected' : log.state}
        error={log.error}
        targets={run.targets}
        target={logTarget}
        onTargetChange={setLogTarget}
        fileName={`switchyard-run-${run.number}.log`}
      />
    </>
  )
}

/** Why the run ended as it did: cancelled (by whom, not as an error), failed, or an earlier attempt's error while a retry runs. */
function RunOutcome({ run }: { run: Run }) {
  if (run.status === 'CANCELLED')
    return (
      <div className="alert neutral" data-testid="run-cancelled">
        Cancelled{run.cancelledBy ? ` by ${run.cancelledBy.username}` : ''}
        {run.cancelRequestedAt ? ` at ${formatDateTime(run.cancelRequestedAt)}` : ''}.{' '}
        {run.error && !/^cancel/i.test(run.error) ? run.error : 'Targets that had finished keep their results.'}
      </div>
    )
  if (!run.error) return null
  if (!isFinal(run.status))
    return (
      <div className="alert info" data-testid="earlier-attempt-error">
        Attempt {run.attempt - 1} failed: {run.error}. {run.status === 'RUNNING' ? `Attempt ${run.attempt} of ${run.maxAttempts} is running.` : `Attempt ${run.attempt} of ${run.maxAttempts} is waiting to start.`}
      </div>
    )
  return <ErrorAlert message={run.error} />
}

/** Says a run's status changes out loud (screen readers), once per change, not on first load. */
function RunStatusAnnouncer({ number, status }: { number: number; status: string }) {
  const [said, setSaid] = useState<{ status: string; text: string }>({ status, text: '' })
  if (said.status !== status) setSaid({ status, text: `Run #${number} is now ${statusLabel(status).toLowerCase()}.` })
  return (
    <div className="sr-only" role="status" aria-live="polite" data-testid="run-announcer">
      {said.text}
    </div>
  )
}

function TargetsTable({ targets, onShowLog, selected }: { targets: readonly RunTargetRow[]; onShowLog(id: string | null): void; selected: string | null }) {
  const [open, setOpen] = useState<string | null>(null)
  return (
    <Panel title={`Targets (${targets.length})`} flush>
      <div className="table-scroll" style={{ maxHeight: 360 }}>
        <table className="table" data-testid="run-targets">
          <thead>
            <tr>
              <th>Target</th>
              <th>Status</th>
              <th className="num">Exit code</th>
              <th className="num">Duration</th>
              <th className="num">Attempt</th>
              <th>Error</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {targets.map((t) => (
              <TargetRow key={t.id} t={t} open={open === t.id} onToggle={() => setOpen(open === t.id ? null : t.id)} onShowLog={() => onShowLog(selected === t.id ? null : t.id)} selected={selected === t.id} />
            ))}
          </tbody>
        </table>
      </div>
    </Panel>
  )
}

function TargetRow({ t, open, onToggle, onShowLog, selected }: { t: RunTargetRow; open: boolean; onToggle(): void; onShowLog(): void; selected: boolean }) {
  return (
    <>
      <tr data-target={t.name}>
        <td>
          <div style={{ fontWeight: 550 }}>{t.name}</div>
          <div className="small faint mono">
            {t.host}:{t.port}
          </div>
        </td>
        <td>
          <StatusBadge status={t.status} />
        </td>
        <td className="num mono">{t.exitCode ?? '—'}</td>
        <td className="num">
          <LiveDuration startedAt={t.startedAt} finishedAt={t.finishedAt} durationMs={t.durationMs} />
        </td>
        <td className="num">{t.attempt}</td>
        <td className="small" style={{ maxWidth: 360 }}>
          <span className="truncate" style={{ display: 'block' }} title={t.error ?? ''}>
            {t.error ?? ''}
          </span>
        </td>
        <td className="actions">
          <button type="button" className="btn sm ghost" aria-pressed={selected} onClick={onShowLog} aria-label={`Log of ${t.name}`}>
            Log
          </button>
          {t.outputTail ? (
            <button type="button" className="btn sm ghost" aria-expanded={open} onClick={onToggle} aria-label={`Output of ${t.name}`}>
              Output
            </button>
          ) : null}
        </td>
      </tr>
      {open ? (
        <tr>
          <td colSpan={7}>
            <pre className="tail mono">{t.outputTail}</pre>
          </td>
        </tr>
      ) : null}
    </>
  )
}

function RunActions({ run, onCancelled }: { run: Run; onCancelled(run: Run): void }) {
  const { canWrite } = useSessionContext()
  const router = useRouter()
  const [confirm, setConfirm] = useState(false)
  const [cancelState, cancel] = useMutation(CancelRunMutation)
  const [retryState, retry] = useMutation(RetryRunMutation)
  const [error, setError] = useState<string | null>(null)
  if (!canWrite) return null
  const final = isFinal(run.status)
  const failedTargets = run.targets.some((t) => t.status !== 'SUCCEEDED')

  const doRetry = async (onlyFailedTargets: boolean) => {
    setError(null)
    const r = await retry({ id: run.id, onlyFailedTargets })
    if (r.data) router.push(`/runs/${r.data.retryJobRun.id}`)
    else setError(toFormErrors(r.error).form ?? 'Retry failed')
  }

  return (
    <>
      {error ? <span className="small" style={{ color: 'var(--err)', alignSelf: 'center' }} role="alert">{error}</span> : null}
      {!final ? (
        <button type="button" className="btn danger-ghost" onClick={() => setConfirm(true)} disabled={!!run.cancelRequestedAt}>
          <Icons.stop /> {run.cancelRequestedAt ? 'Cancelling…' : 'Cancel run'}
        </button>
      ) : (
        <>
          {failedTargets ? (
            <button type="button" className="btn" onClick={() => void doRetry(true)} disabled={retryState.fetching}>
              <Icons.retry /> Retry failed targets
            </button>
          ) : null}
          <button type="button" className="btn primary" onClick={() => void doRetry(false)} disabled={retryState.fetching}>
            <Icons.retry /> Retry
          </button>
        </>
      )}
      <ConfirmDialog
        open={confirm}
        title={`Cancel run #${run.number}?`}
        confirmLabel="Cancel run"
        danger
        busy={cancelState.fetching}
        error={cancelState.error ? toFormErrors(cancelState.error).form : null}
        onClose={() => setConfirm(false)}
        onConfirm={async () => {
          const r = await cancel({ id: run.id })
          if (r.data) {
            onCancelled(r.data.cancelJobRun)
            setConfirm(false)
          }
        }}
      >
        {run.status === 'QUEUED' ? 'The run has not started; it will never start.' : 'Remote commands are signalled to stop and the run ends as Cancelled.'} Targets that already finished keep their results.
      </ConfirmDialog>
    </>
  )
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}
