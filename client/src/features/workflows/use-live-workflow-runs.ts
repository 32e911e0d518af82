'use client'
/**
 * Workflow runs as a list query returned them, kept current by `workflowRunsChanged`: a changed run
 * replaces its row (the copy that has seen more events wins), a new one is added at the top; rows that
 * no longer match the status filter leave.
 */
import { useEffect, useMemo, useState } from 'react'
import { useSubscription } from 'urql'
import { WorkflowRunsChangedSubscription, type WorkflowRunRow } from './queries'

export { mergeWorkflowRuns } from '@/lib/workflow-runs'

export function useLiveWorkflowRuns(workflowId: string | null, resetKey: string): ReadonlyMap<string, WorkflowRunRow> {
  const [live, setLive] = useState<Map<string, WorkflowRunRow>>(new Map())
  useEffect(() => setLive(new Map()), [resetKey])
  const variables = useMemo(() => ({ workflowId }), [workflowId])
  useSubscription({ query: WorkflowRunsChangedSubscription, variables }, (_p, data) => {
    const r = data.workflowRunsChanged
    setLive((m) => new Map(m).set(r.id, r))
    return data
  })
  return live
}
