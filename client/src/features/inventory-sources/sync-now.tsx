'use client'
/**
 * Sync now: the confirmation (with, for an authoritative source, the force option past the safety valve
 * and a warning saying what a forced sync can remove) and the run it started, followed live.
 */
import Link from 'next/link'
import { useState } from 'react'
import { useMutation, useSubscription } from 'urql'
import { Modal } from '@/components/dialog'
import { useConnection } from '@/components/session-provider'
import { ErrorAlert, StatusBadge } from '@/components/ui'
import { errorMessage } from '@/lib/errors'
import { fractionToPercent } from '@/lib/inventory-sources'
import { isFinal } from '@/features/runs/queries'
import { SyncInventorySource, SyncRunUpdated, type InventorySource, type SyncPreview } from './queries'

/** The sync run started from this page, live until it ends (useSyncRunsEnding then reloads the source). */
export function SyncRunPanel({ run }: { run: { id: string; number: number } }) {
  const [live] = useSubscription({ query: SyncRunUpdated, variables: { runId: run.id } })
  const { state } = useConnection()
  const current = live.data?.jobRunUpdated
  const status = current?.status ?? 'QUEUED'
  const final = isFinal(status)
  return (
    <div className={`alert ${final ? (status === 'SUCCEEDED' ? 'ok' : 'error') : 'info'}`} role="status" data-testid="sync-run" data-status={status}>
      Sync run <Link href={`/runs/${encodeURIComponent(run.id)}`}>#{run.number}</Link> <StatusBadge status={status} stale={!final && state !== 'live'} />
      {final ? (status === 'SUCCEEDED' ? ' — the targets are up to date.' : current?.error ? ` — ${current.error}` : '') : ' — follow its log on the run page.'}
    </div>
  )
}

/** Sync now: what the sync will do, and for an authoritative source the force option past the safety valve. */
export function SyncDialog({ source, preview, onClose, onStarted }: { source: InventorySource; preview: SyncPreview | null; onClose(): void; onStarted(run: { id: string; number: number }): void }) {
  const [force, setForce] = useState(false)
  const [state, sync] = useMutation(SyncInventorySource)
  const [error, setError] = useState<string | null>(null)
  const authoritative = source.syncMode === 'AUTHORITATIVE'
  const submit = async () => {
    setError(null)
    const r = await sync({ id: source.id, force: authoritative && force })
    if (r.error) setError(errorMessage(r.error))
    else if (r.data) onStarted(r.data.syncInventorySource)
  }
  return (
    <Modal
      open
      title={`Sync “${source.name}” now?`}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Keep it
          </button>
          <button type="submit" className={`btn ${force ? 'danger' : 'primary'}`} disabled={state.fetching} data-autofocus>
            {state.fetching ? 'Starting…' : force ? 'Force sync' : 'Start sync'}
          </button>
        </>
      }
    >
      <div className="stack">
        <p style={{ margin: 0 }}>
          Starts an <span className="mono">inventory_sync</span> run that applies the diff as it is when the run starts
          {authoritative ? ', removing the targets this source created whose device left it' : ''}. {preview ? null : 'Use “Dry run” first to see that diff.'}
        </p>
        {preview?.refusal ? (
          <div className="alert warn" role="note">
            The last dry run says the safety valve would refuse this sync: {preview.refusal}.
          </div>
        ) : null}
        {authoritative ? (
          <>
            <label className="check">
              <input type="checkbox" name="force" checked={force} onChange={(e) => setForce(e.target.checked)} />
              Force: apply even if the safety valve refuses
            </label>
            {force ? (
              <div className="alert error" role="alert" data-testid="force-warning">
                A forced sync removes every target whose device is gone from the source — even all of them, if the source answers with no devices by mistake. Jobs
                stop running on removed targets. Force only after a dry run shows the removals you expect.
              </div>
            ) : (
              <div className="hint small muted">Without force, a sync that would remove more than {fractionToPercent(source.maxDeleteFraction)} % of this source’s targets (or finds no devices) fails and changes nothing.</div>
            )}
          </>
        ) : null}
        <ErrorAlert message={error} />
      </div>
    </Modal>
  )
}
