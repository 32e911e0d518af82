'use client'
/**
 * The signed-in user's approvals inbox, live: `pendingApprovalsChanged` sends the whole list now and
 * after every change (the nav's count and the inbox page share the one subscription).
 */
import { useSubscription } from 'urql'
import { PendingApprovalsChangedSubscription, type Approval } from './queries'

export function usePendingApprovals(pause = false): { list: readonly Approval[] | null; error: Error | undefined } {
  const [r] = useSubscription({ query: PendingApprovalsChangedSubscription, pause })
  return { list: r.data?.pendingApprovalsChanged ?? null, error: r.error }
}
