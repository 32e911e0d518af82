import { graphql, type ResultOf } from '@/lib/graphql'

export const WorkflowFields = graphql(`
  fragment WorkflowFields on Workflow {
    id
    name
    description
    visibility
    updatedAt
    owner { id username }
    parameters { name type label description required default choices }
    nodes {
      key
      kind
      joinPolicy
      parameters
      template { id name }
      workflow { id name }
      overrides {
        targetSelector { targetIds inventoryIds tags namePatterns }
        timeoutSeconds
        retryMaxAttempts
        retryDelaySeconds
        retryBackoff
      }
      approval {
        approverRoles
        approvers { id username }
        minApprovals
        allowSelfApproval
        timeoutSeconds
        onTimeout
        message
      }
    }
    edges { from to kind }
  }
`)
export type Workflow = ResultOf<typeof WorkflowFields>

export const WorkflowsQuery = graphql(
  `
  query Workflows {
    workflows { ...WorkflowFields }
  }
`,
  [WorkflowFields],
)

export const WorkflowQuery = graphql(
  `
  query Workflow($id: ID!) {
    workflow(id: $id) { ...WorkflowFields }
  }
`,
  [WorkflowFields],
)

/**
 * What the editor's pickers offer: templates (with their parameters) for TEMPLATE nodes, workflows (with
 * theirs) for WORKFLOW nodes, and the targets, inventories and job types a node's target override needs.
 */
export const WorkflowEditorOptionsQuery = graphql(`
  query WorkflowEditorOptions {
    jobTemplates { id name jobType timeoutSeconds retryMaxAttempts retryDelaySeconds retryBackoff parameters { name type label description required default choices } }
    workflows { id name parameters { name type label description required default choices } }
    jobTypes { type usesTargets }
    targets { id name host tags }
    inventories { id name }
  }
`)
export type EditorOptions = ResultOf<typeof WorkflowEditorOptionsQuery>
export type TemplateOption = EditorOptions['jobTemplates'][number]
export type WorkflowOption = EditorOptions['workflows'][number]

/** Approver users to pick from (admins only may list users; others keep the ones already chosen). */
export const ApproverUsersQuery = graphql(`
  query ApproverUsers { users { id username role disabled } }
`)

export const CreateWorkflowMutation = graphql(
  `
  mutation CreateWorkflow($input: CreateWorkflowInput!) {
    createWorkflow(input: $input) { ...WorkflowFields }
  }
`,
  [WorkflowFields],
)

export const UpdateWorkflowMutation = graphql(
  `
  mutation UpdateWorkflow($id: ID!, $input: UpdateWorkflowInput!) {
    updateWorkflow(id: $id, input: $input) { ...WorkflowFields }
  }
`,
  [WorkflowFields],
)

export const DeleteWorkflowMutation = graphql(`
  mutation DeleteWorkflow($id: ID!) { deleteWorkflow(id: $id) }
`)

export const TriggerWorkflowMutation = graphql(`
  mutation TriggerWorkflow($workflowId: ID!, $parameters: JSON) {
    triggerWorkflowRun(workflowId: $workflowId, parameters: $parameters) { id number status }
  }
`)

export const WorkflowRunRowFragment = graphql(`
  fragment WorkflowRunRow on WorkflowRun {
    id
    number
    status
    trigger
    workflowName
    triggeredBy { id username }
    createdAt
    finishedAt
    eventSeq
    error
    nodeCount
    nodesDone
    nodesAwaitingApproval
  }
`)
export type WorkflowRunRow = ResultOf<typeof WorkflowRunRowFragment>

export const WorkflowRunsQuery = graphql(
  `
  query WorkflowRuns($workflowId: ID, $statuses: [WorkflowRunStatus!], $first: Int!, $after: String) {
    workflowRuns(workflowId: $workflowId, statuses: $statuses, first: $first, after: $after) {
      totalCount
      edges { node { ...WorkflowRunRow } }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [WorkflowRunRowFragment],
)

export const WorkflowRunsChangedSubscription = graphql(
  `
  subscription WorkflowRunsChanged($workflowId: ID, $statuses: [WorkflowRunStatus!]) {
    workflowRunsChanged(workflowId: $workflowId, statuses: $statuses) { ...WorkflowRunRow }
  }
`,
  [WorkflowRunRowFragment],
)

export const NodeRunFragment = graphql(`
  fragment NodeRun on WorkflowNodeRun {
    id
    key
    kind
    status
    reason
    joinPolicy
    startedAt
    finishedAt
    message
    deadlineAt
    jobRun { id number status templateName }
    nestedRun { id number status workflowName }
    outputs
    approval { approverRoles approvers { id username } minApprovals allowSelfApproval }
    decisions { username decision comment createdAt }
  }
`)
export type NodeRun = ResultOf<typeof NodeRunFragment>

export const WorkflowRunDetailFragment = graphql(
  `
  fragment WorkflowRunDetail on WorkflowRun {
    id
    number
    status
    trigger
    workflowName
    workflow { id name edges { from to kind } }
    triggeredBy { id username }
    schedule { id name }
    webhookEndpoint { id name template { id } workflow { id } }
    parameters
    error
    createdAt
    finishedAt
    cancelRequestedAt
    watchedByMe
    eventSeq
    retryOf { id number status }
    retries { id number status }
    parentNodeRun { key workflowRun { id number workflowName } }
    nodes { ...NodeRun }
  }
`,
  [NodeRunFragment],
)
export type WorkflowRunDetail = ResultOf<typeof WorkflowRunDetailFragment>

export const WorkflowRunQuery = graphql(
  `
  query WorkflowRun($id: ID!) {
    workflowRun(id: $id) { ...WorkflowRunDetail }
  }
`,
  [WorkflowRunDetailFragment],
)

export const WorkflowRunUpdatedSubscription = graphql(
  `
  subscription WorkflowRunUpdated($id: ID!) {
    workflowRunUpdated(id: $id) { ...WorkflowRunDetail }
  }
`,
  [WorkflowRunDetailFragment],
)

export const WorkflowRunEventsSubscription = graphql(`
  subscription WorkflowRunEvents($id: ID!, $after: Int) {
    workflowRunEvents(id: $id, after: $after) { seq at nodeKey status reason }
  }
`)
export type WorkflowRunEvent = ResultOf<typeof WorkflowRunEventsSubscription>['workflowRunEvents']

export const CancelWorkflowRunMutation = graphql(
  `
  mutation CancelWorkflowRun($id: ID!) {
    cancelWorkflowRun(id: $id) { ...WorkflowRunDetail }
  }
`,
  [WorkflowRunDetailFragment],
)

/** A new run re-running what did not succeed (the page goes to it). */
export const RetryWorkflowRunMutation = graphql(`
  mutation RetryWorkflowRun($id: ID!) {
    retryWorkflowRun(id: $id) { id number status }
  }
`)

export const ApprovalFragment = graphql(
  `
  fragment Approval on WorkflowNodeRun {
    ...NodeRun
    workflowRun { id number workflowName triggeredBy { id username } createdAt }
  }
`,
  [NodeRunFragment],
)
export type Approval = ResultOf<typeof ApprovalFragment>

export const PendingApprovalsQuery = graphql(
  `
  query PendingApprovals {
    pendingApprovals { ...Approval }
  }
`,
  [ApprovalFragment],
)

export const PendingApprovalsChangedSubscription = graphql(
  `
  subscription PendingApprovalsChanged {
    pendingApprovalsChanged { ...Approval }
  }
`,
  [ApprovalFragment],
)

export const ApproveNodeMutation = graphql(
  `
  mutation ApproveNode($nodeRunId: ID!, $comment: String) {
    approveWorkflowNode(nodeRunId: $nodeRunId, comment: $comment) { ...NodeRun }
  }
`,
  [NodeRunFragment],
)

export const RejectNodeMutation = graphql(
  `
  mutation RejectNode($nodeRunId: ID!, $comment: String) {
    rejectWorkflowNode(nodeRunId: $nodeRunId, comment: $comment) { ...NodeRun }
  }
`,
  [NodeRunFragment],
)

/** MISSED and SKIPPED: schedule slots that never ran (final from the start, with the reason in `error`). */
export const FINAL_WORKFLOW_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'MISSED', 'SKIPPED'])
/** Statuses a workflow run can be retried from (retryWorkflowRun). */
export const RETRYABLE_WORKFLOW_STATUSES = new Set(['FAILED', 'CANCELLED'])
