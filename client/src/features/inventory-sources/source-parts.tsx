'use client'
/** Pieces the inventory source list and a source's page share: who may change it, its mode, its last sync. */
import Link from 'next/link'
import { useEffect, useRef } from 'react'
import { useSubscription } from 'urql'
import { useSessionContext } from '@/components/session-provider'
import { RelativeTime, StatusBadge } from '@/components/ui'
import { syncResultWords } from '@/lib/inventory-sources'
import { isFinal } from '@/features/runs/queries'
import { SyncRunsChanged, type InventorySource } from './queries'

/** Its owner and admins change, test, dry-run, sync and delete a source (the API refuses anyone else). */
export function useMayChangeSource(source: { owner: { id: string } | null } | null | undefined): boolean {
  const { session, canWrite, isAdmin } = useSessionContext()
  if (!source || !canWrite) return false
  return isAdmin || source.owner?.id === session.user.id
}

export function SyncModeBadge({ mode }: { mode: string }) {
  return mode === 'AUTHORITATIVE' ? (
    <span className="badge warn plain" title="Also removes the targets this source created whose device left it">
      Authoritative
    </span>
  ) : (
    <span className="badge plain" title="Creates and updates targets; never removes any">
      Additive
    </span>
  )
}

/** When the source last synced, what that changed, and the run that did it. */
export function LastSync({ source }: { source: InventorySource }) {
  if (!source.lastSyncAt && !source.lastSyncRun) return <span className="faint">never synced</span>
  return (
    <span data-testid="last-sync">
      <RelativeTime iso={source.lastSyncAt} />
      {source.lastSyncAt ? <> · {syncResultWords(source.lastSyncResult)}</> : null}
      {source.lastSyncRun ? (
        <>
          {' '}
          · <Link href={`/runs/${encodeURIComponent(source.lastSyncRun.id)}`}>run #{source.lastSyncRun.number}</Link> <StatusBadge status={source.lastSyncRun.status} />
        </>
      ) : null}
    </span>
  )
}

/** Calls `onEnd` whenever an `inventory_sync` run reaches its final state (live, over the session's socket). */
export function useSyncRunsEnding(onEnd: () => void): void {
  const [sub] = useSubscription({ query: SyncRunsChanged })
  const latest = useRef(onEnd)
  latest.current = onEnd
  const run = sub.data?.jobRunsChanged
  const key = run && isFinal(run.status) ? `${run.id}:${run.status}` : null
  useEffect(() => {
    if (key) latest.current()
  }, [key])
}
