'use client'
/**
 * "Watch" on a running job run or workflow run: its end shows a toast (run-toasts.tsx), in every tab and
 * on every device of the user (the watch is kept on the server). Runs one started notify anyway. Viewers
 * may watch too: it changes nothing shared.
 */
import { useState } from 'react'
import { useMutation } from 'urql'
import { Icons } from '@/components/icons'
import { toFormErrors } from '@/lib/errors'
import { UnwatchRunMutation, UnwatchWorkflowRunMutation, WatchRunMutation, WatchWorkflowRunMutation } from './queries'

export function WatchToggle({ kind, id, watchedByMe, final }: { kind: 'job' | 'workflow'; id: string; watchedByMe: boolean; final: boolean }) {
  const [watching, setWatching] = useState<boolean | null>(null)
  const [watchJob, watchJobRun] = useMutation(WatchRunMutation)
  const [unwatchJob, unwatchJobRun] = useMutation(UnwatchRunMutation)
  const [watchFlow, watchWorkflowRun] = useMutation(WatchWorkflowRunMutation)
  const [unwatchFlow, unwatchWorkflowRun] = useMutation(UnwatchWorkflowRunMutation)
  const [error, setError] = useState<string | null>(null)
  if (final) return null
  const on = watching ?? watchedByMe
  const busy = watchJob.fetching || unwatchJob.fetching || watchFlow.fetching || unwatchFlow.fetching
  const toggle = async () => {
    setError(null)
    let result: { watchedByMe: boolean } | null = null
    let failure: unknown = null
    if (kind === 'job') {
      const r = on ? await unwatchJobRun({ id }) : await watchJobRun({ id })
      result = r.data ? ('watchJobRun' in r.data ? r.data.watchJobRun : r.data.unwatchJobRun) : null
      failure = r.error
    } else {
      const r = on ? await unwatchWorkflowRun({ id }) : await watchWorkflowRun({ id })
      result = r.data ? ('watchWorkflowRun' in r.data ? r.data.watchWorkflowRun : r.data.unwatchWorkflowRun) : null
      failure = r.error
    }
    if (result) setWatching(result.watchedByMe)
    else setError(toFormErrors(failure as Parameters<typeof toFormErrors>[0]).form ?? 'Could not change watching')
  }
  return (
    <>
      {error ? <span className="small" style={{ color: 'var(--err)', alignSelf: 'center' }} role="alert">{error}</span> : null}
      {on ? (
        <span className="small muted" style={{ alignSelf: 'center' }} data-testid="watch-state">
          You will be notified when it ends.
        </span>
      ) : null}
      <button type="button" className="btn" onClick={() => void toggle()} disabled={busy} data-testid="watch-toggle">
        <Icons.bell /> {on ? 'Stop watching' : 'Watch'}
      </button>
    </>
  )
}
