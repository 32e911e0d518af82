import { graphql, type ResultOf } from '@/lib/graphql'

export const RunRowFragment = graphql(`
  fragment RunRow on JobRun {
    id
    number
    status
    jobType
    trigger
    templateName
    template { id name }
    schedule { id name }
    slotAt
    triggeredBy { id username }
    createdAt
    startedAt
    finishedAt
    updatedAt
    durationMs
    attempt
    maxAttempts
    error
    progress { done total failed percent }
  }
`)
export type RunRow = ResultOf<typeof RunRowFragment>

export const RunsQuery = graphql(
  `
  query Runs($filter: JobRunFilter, $first: Int!, $after: String) {
    jobRuns(filter: $filter, first: $first, after: $after) {
      totalCount
      edges { node { ...RunRow } }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [RunRowFragment],
)

export const RunsChangedSubscription = graphql(
  `
  subscription RunsChanged($filter: JobRunFilter) {
    jobRunsChanged(filter: $filter) { ...RunRow }
  }
`,
  [RunRowFragment],
)

export const RunDetailFragment = graphql(
  `
  fragment RunDetail on JobRun {
    ...RunRow
    cancelRequestedAt
    parameters
    logLineCount
    logTruncated
    droppedLogLines
    droppedLogBytes
    visibility
    result
    outputs
    retryOf { id number }
    triggeredByRun { id number templateName status }
    webhookEndpoint { id name template { id } workflow { id } }
    retries { id number status }
    workflowNode { key workflowRun { id number workflowName } }
    cancelledBy { id username }
    watchedByMe
    targets {
      id
      name
      host
      port
      status
      exitCode
      startedAt
      finishedAt
      durationMs
      error
      attempt
      retryable
      outputTail
    }
  }
`,
  [RunRowFragment],
)
export type RunDetail = ResultOf<typeof RunDetailFragment>
export type RunTargetRow = RunDetail['targets'][number]

export const RunQuery = graphql(
  `
  query Run($id: ID!) {
    jobRun(id: $id) { ...RunDetail }
  }
`,
  [RunDetailFragment],
)

export const RunUpdatedSubscription = graphql(
  `
  subscription RunUpdated($runId: ID!) {
    jobRunUpdated(runId: $runId) { ...RunDetail }
  }
`,
  [RunDetailFragment],
)

export const RunLogSubscription = graphql(`
  subscription RunLog($runId: ID!, $after: Int) {
    jobRunLogAppended(runId: $runId, after: $after) {
      lastSeq
      lines { seq ts level stream targetId text }
    }
  }
`)

export const CancelRunMutation = graphql(
  `
  mutation CancelRun($id: ID!) {
    cancelJobRun(id: $id) { ...RunDetail }
  }
`,
  [RunDetailFragment],
)

export const RetryRunMutation = graphql(`
  mutation RetryRun($id: ID!, $onlyFailedTargets: Boolean) {
    retryJobRun(id: $id, onlyFailedTargets: $onlyFailedTargets) { id number }
  }
`)

export const WatchRunMutation = graphql(`
  mutation WatchRun($id: ID!) {
    watchJobRun(id: $id) { id watchedByMe }
  }
`)

export const UnwatchRunMutation = graphql(`
  mutation UnwatchRun($id: ID!) {
    unwatchJobRun(id: $id) { id watchedByMe }
  }
`)

export const WatchWorkflowRunMutation = graphql(`
  mutation WatchWorkflowRun($id: ID!) {
    watchWorkflowRun(id: $id) { id watchedByMe }
  }
`)

export const UnwatchWorkflowRunMutation = graphql(`
  mutation UnwatchWorkflowRun($id: ID!) {
    unwatchWorkflowRun(id: $id) { id watchedByMe }
  }
`)

/** Workflow runs the user started or watches, as they end (toasts too). */
export const MyWorkflowRunsEndedSubscription = graphql(`
  subscription MyWorkflowRunsEnded($since: DateTime) {
    myWorkflowRunsEnded(since: $since) { id number status workflowName finishedAt createdAt error }
  }
`)

/** Runs the user started or watches, as they end (the toasts; see features/runs/run-toasts.tsx). */
export const MyRunsEndedSubscription = graphql(`
  subscription MyRunsEnded($since: DateTime) {
    myJobRunsEnded(since: $since) { id number status templateName durationMs error }
  }
`)

export const FINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED'])
export const isFinal = (status: string) => FINAL_STATUSES.has(status)
