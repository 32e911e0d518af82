'use client'
/**
 * How a workflow run relates to others: the run it retries and its own retries, the parent run that
 * started it as a nested run, and **Retry failed nodes** (retryWorkflowRun), which opens the new run.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useMutation } from 'urql'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { statusLabel } from '@/components/ui'
import { errorMessage } from '@/lib/errors'
import { RETRYABLE_WORKFLOW_STATUSES, RetryWorkflowRunMutation, type WorkflowRunDetail as Run } from './queries'

const runLink = (r: { id: string; number: number; status: string }) => (
  <Link href={`/workflow-runs/${r.id}`}>
    #{r.number} <span className="muted">({statusLabel(r.status).toLowerCase()})</span>
  </Link>
)

/** Rows for the run's meta grid (empty when it has no relations). */
export function RunRelations({ run }: { run: Run }) {
  return (
    <>
      {run.parentNodeRun ? (
        <div data-testid="workflow-run-parent">
          <span className="k">Nested in</span>
          <span>
            <Link href={`/workflow-runs/${run.parentNodeRun.workflowRun.id}`}>
              #{run.parentNodeRun.workflowRun.number} {run.parentNodeRun.workflowRun.workflowName}
            </Link>{' '}
            (node <span className="mono">{run.parentNodeRun.key}</span>)
          </span>
        </div>
      ) : null}
      {run.retryOf ? (
        <div data-testid="workflow-run-retry-of">
          <span className="k">Retry of</span>
          <span>{runLink(run.retryOf)}</span>
        </div>
      ) : null}
      {run.retries.length ? (
        <div data-testid="workflow-run-retries">
          <span className="k">Retried in</span>
          <span>
            {run.retries.map((r, i) => (
              <span key={r.id}>
                {i ? ', ' : ''}
                {runLink(r)}
              </span>
            ))}
          </span>
        </div>
      ) : null}
    </>
  )
}

/**
 * On a failed or cancelled run: a new run re-runs the nodes that did not succeed and those below them,
 * reusing the others with their outputs. A nested run is retried through its parent (the API refuses
 * it), so it offers none.
 */
export function RetryFailedNodesButton({ run }: { run: Run }) {
  const { canWrite } = useSessionContext()
  const router = useRouter()
  const [state, retry] = useMutation(RetryWorkflowRunMutation)
  if (!canWrite || !RETRYABLE_WORKFLOW_STATUSES.has(run.status) || run.parentNodeRun) return null
  return (
    <span className="row" style={{ gap: 8 }}>
      {state.error ? (
        <span className="error small" role="alert">
          {errorMessage(state.error)}
        </span>
      ) : null}
      <button
        type="button"
        className="btn"
        disabled={state.fetching}
        onClick={async () => {
          const r = await retry({ id: run.id })
          if (r.data) router.push(`/workflow-runs/${r.data.retryWorkflowRun.id}`)
        }}
      >
        <Icons.retry /> {state.fetching ? 'Retrying…' : 'Retry failed nodes'}
      </button>
    </span>
  )
}
