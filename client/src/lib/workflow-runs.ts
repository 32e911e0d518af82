/** Workflow run lists kept current by a live feed (pure, so the merge rules are unit-tested). */
export interface LiveWorkflowRun {
  id: string
  number: number
  status: string
  eventSeq: number
}

/** A run's progress as the API counts it (WorkflowRun.nodeCount, nodesDone, nodesAwaitingApproval). */
export interface NodeCounts {
  nodeCount: number
  nodesDone: number
  nodesAwaitingApproval: number
}

/**
 * A page of runs with the feed's copies merged in: a changed run replaces its row when it has seen at
 * least as many events (an older copy arriving late never wins), a new one joins (unless `addNew` is
 * off, e.g. on an older page), rows failing `keep` (the status filter) leave; newest first.
 */
export function mergeWorkflowRuns<T extends LiveWorkflowRun>(page: readonly T[], live: ReadonlyMap<string, T>, keep: (r: T) => boolean, addNew = true): T[] {
  const byId = new Map(page.map((r) => [r.id, r]))
  for (const r of live.values()) {
    const known = byId.get(r.id)
    if (known ? r.eventSeq >= known.eventSeq : addNew) byId.set(r.id, r)
  }
  return [...byId.values()].filter(keep).sort((a, b) => b.number - a.number)
}

/** "3 of 4 nodes done", with how many wait for approval. */
export function nodeSummary(r: NodeCounts): string {
  return `${r.nodesDone} of ${r.nodeCount} nodes done${r.nodesAwaitingApproval ? `, ${r.nodesAwaitingApproval} awaiting approval` : ''}`
}
