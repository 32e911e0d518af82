'use client'
/**
 * "Sync selected": the confirmation (dry run and activate options) that starts a sync_devices run with
 * the comparison's config for only the selected devices, and the run it started, followed live.
 */
import Link from 'next/link'
import { useState } from 'react'
import { useMutation, useSubscription } from 'urql'
import { Modal } from '@/components/dialog'
import { useConnection } from '@/components/session-provider'
import { ErrorAlert, plural, StatusBadge } from '@/components/ui'
import { errorMessage } from '@/lib/errors'
import { isFinal } from '@/features/runs/queries'
import { SyncRunUpdated } from '@/features/inventory-sources/queries'
import { SyncSelectedDevicesMutation } from './queries'

export interface StartedRun {
  id: string
  number: number
  dryRun: boolean
}

export function SyncSelectedDialog({ runId, devices, onClose, onStarted }: { runId: string; devices: readonly string[]; onClose(): void; onStarted(run: StartedRun): void }) {
  const [dryRun, setDryRun] = useState(false)
  const [activate, setActivate] = useState(true)
  const [state, sync] = useMutation(SyncSelectedDevicesMutation)
  const [error, setError] = useState<string | null>(null)
  const submit = async () => {
    setError(null)
    const r = await sync({ runId, devices: [...devices], dryRun, activate: activate && !dryRun })
    if (r.error) setError(errorMessage(r.error))
    else if (r.data) onStarted({ id: r.data.syncSelectedDevices.id, number: r.data.syncSelectedDevices.number, dryRun })
  }
  const shown = devices.slice(0, 20)
  return (
    <Modal
      open
      title={`Sync ${plural(devices.length, 'device')} to Checkmk?`}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={state.fetching} data-autofocus>
            {state.fetching ? 'Starting…' : dryRun ? 'Start dry run' : 'Start sync'}
          </button>
        </>
      }
    >
      <div className="stack">
        <p style={{ margin: 0 }}>
          Starts a <span className="mono">sync_devices</span> run with this comparison’s settings for only these devices: missing hosts are created, different ones
          updated. Nothing is removed.
        </p>
        <p className="small mono" style={{ margin: 0 }} data-testid="sync-selected-devices">
          {shown.join(', ')}
          {devices.length > shown.length ? ` and ${devices.length - shown.length} more` : ''}
        </p>
        <label className="check">
          <input type="checkbox" name="dryRun" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} />
          Dry run: record what would be done, change nothing
        </label>
        <label className="check">
          <input type="checkbox" name="activate" checked={activate && !dryRun} disabled={dryRun} onChange={(e) => setActivate(e.target.checked)} />
          Activate the changes in Checkmk afterwards
        </label>
        <ErrorAlert message={error} />
      </div>
    </Modal>
  )
}

/** The run "Sync selected" started, with its status live and a link to its page. */
export function SyncStartedNote({ run }: { run: StartedRun }) {
  const [live] = useSubscription({ query: SyncRunUpdated, variables: { runId: run.id } })
  const { state } = useConnection()
  const current = live.data?.jobRunUpdated
  const status = current?.status ?? 'QUEUED'
  const final = isFinal(status)
  return (
    <div className={`alert ${final ? (status === 'SUCCEEDED' ? 'ok' : 'error') : 'info'}`} role="status" data-testid="sync-selected-run" data-status={status}>
      {run.dryRun ? 'Dry run' : 'Sync run'} <Link href={`/runs/${encodeURIComponent(run.id)}`}>#{run.number}</Link> <StatusBadge status={status} stale={!final && state !== 'live'} />
      {final ? (status === 'SUCCEEDED' ? ' — open it for what was done to each host; compare again to see the result.' : current?.error ? ` — ${current.error}` : '') : ' — follow it on the run page.'}
    </div>
  )
}
