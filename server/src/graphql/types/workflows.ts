import { canSeeSchedule } from '../../modules/schedules/schedules.service.ts'
import { runOutputs, type TargetOutputs } from '../../jobs/step-outputs.ts'
import type { WorkflowRun, WorkflowRunEvent } from '../../generated/prisma/client.ts'
import type { ParameterDefinition } from '../../modules/templates/parameters.ts'
import { JOIN_POLICIES, EDGE_KINDS, NODE_KINDS, type ApprovalConfig } from '../../modules/workflows/workflow-graph.ts'
import type { NodeOverrides } from '../../modules/workflows/node-overrides.ts'
import { MAX_SPAWNED_RUNS } from '../../modules/workflows/workflow-run-factory.ts'
import { NodeOverridesInput, NodeOverridesRef, overridesInput } from './workflow-overrides.ts'
import { ValidationError } from '../../errors.ts'
import { canSee } from '../../modules/actor.ts'
import { builder } from '../builder.ts'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../argument-guard.ts'
import { decodeId, decodeIds } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import { RunTriggerEnum, VisibilityEnum } from './enums.ts'
import { Parameter as ParameterDefinitionRef, ParameterInput } from './templates.ts'
import { Approval, ApprovalInput } from './workflow-approvals.ts'
import type { GraphQLContext } from '../context.ts'

const NodeKindEnum = builder.enumType('WorkflowNodeKind', {
  values: NODE_KINDS,
  description: 'TEMPLATE: runs a job template (one JobRun); APPROVAL: a human gate; WORKFLOW: runs another workflow as a nested workflow run, whose outcome is the node\'s.',
})
const JoinPolicyEnum = builder.enumType('WorkflowJoinPolicy', {
  values: JOIN_POLICIES,
  description:
    'When a node with parents runs, decided once every parent has ended. ALL_SUCCEEDED: every incoming edge is satisfied; ANY_SUCCEEDED: at least one is; ALL_DONE: every parent ran (none was skipped), whatever its outcome; NONE_FAILED: no parent failed, timed out or was cancelled, and at least one edge is satisfied. Otherwise the node is SKIPPED.',
})
const EdgeKindEnum = builder.enumType('WorkflowEdgeKind', {
  values: EDGE_KINDS,
  description: 'ON_SUCCESS: satisfied when the parent succeeded; ON_FAILURE: when it failed or timed out; ALWAYS: any outcome but skipped.',
})
export const WorkflowRunStatusEnum = builder.enumType('WorkflowRunStatus', {
  description: 'MISSED and SKIPPED: a schedule slot that did not run (misfire, overlap or blackout rules), recorded with the reason in `error`.',
  values: ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'MISSED', 'SKIPPED'] as const,
})
const NodeStatusEnum = builder.enumType('WorkflowNodeStatus', {
  values: ['PENDING', 'READY', 'RUNNING', 'AWAITING_APPROVAL', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'SKIPPED'] as const,
  description:
    'PENDING: waits for its parents; READY: its join holds and its run is being created; RUNNING: its JobRun has not ended; AWAITING_APPROVAL: an APPROVAL node waits for decisions until its deadline (TIMED_OUT when onTimeout is FAIL).',
})


builder.prismaObject('WorkflowNode', {
  fields: (t) => ({
    key: t.exposeString('key'),
    kind: t.expose('kind', { type: NodeKindEnum }),
    template: t.prismaField({
      type: 'JobTemplate',
      nullable: true,
      description: 'The job template, unless it was deleted since or is not visible to you (a GLOBAL workflow may use its owner\'s PRIVATE template).',
      select: { templateId: true },
      resolve: async (_q, n, _a, ctx) => {
        const tpl = n.templateId ? await ctx.prisma.jobTemplate.findUnique({ where: { id: n.templateId } }) : null
        return tpl && ctx.actor && canSee(ctx.actor, tpl) ? tpl : null
      },
    }),
    workflow: t.prismaField({
      type: 'Workflow',
      nullable: true,
      description: 'WORKFLOW nodes: the nested workflow, unless it was deleted since or is not visible to you.',
      select: { subWorkflowId: true },
      resolve: async (_q, n, _a, ctx) => {
        const wf = n.subWorkflowId ? await ctx.prisma.workflow.findUnique({ where: { id: n.subWorkflowId } }) : null
        return wf && ctx.actor && canSee(ctx.actor, wf) ? wf : null
      },
    }),
    parameters: t.expose('parameters', { type: 'JSON', description: 'Values: literals, or strings with {{ params.x }}, {{ nodes.<key>.status }}, {{ nodes.<key>.result.path }}.' }),
    joinPolicy: t.expose('joinPolicy', { type: JoinPolicyEnum }),
    approval: t.field({ type: Approval, nullable: true, resolve: (n) => n.approval as ApprovalConfig | null }),
    overrides: t.field({ type: NodeOverridesRef, nullable: true, description: 'TEMPLATE nodes: what the node changes of its template.', resolve: (n) => n.overrides as NodeOverrides | null }),
  }),
})

builder.prismaObject('WorkflowEdge', {
  fields: (t) => ({
    from: t.exposeString('fromKey'),
    to: t.exposeString('toKey'),
    kind: t.expose('kind', { type: EdgeKindEnum }),
  }),
})

builder.prismaNode('Workflow', {
  id: { field: 'id' },
  description: 'Job templates chained into a graph: nodes connected by edges, each node run as an ordinary job run.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    parameters: t.field({ type: [ParameterDefinitionRef], resolve: (w) => w.parameters as ParameterDefinition[] }),
    nodes: t.relation('nodes', { query: { orderBy: { position: 'asc' } } }),
    edges: t.relation('edges', { query: { orderBy: { position: 'asc' } } }),
    visibility: t.expose('visibility', { type: VisibilityEnum }),
    owner: t.relation('owner'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

export const WorkflowNodeRunRef = builder.prismaNode('WorkflowNodeRun', {
  id: { field: 'id' },
  fields: (t) => ({
    key: t.exposeString('key'),
    kind: t.expose('kind', { type: NodeKindEnum }),
    status: t.expose('status', { type: NodeStatusEnum }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it was skipped, or failed (before or during its run).' }),
    joinPolicy: t.expose('joinPolicy', { type: JoinPolicyEnum }),
    jobRun: t.prismaField({
      type: 'JobRun',
      nullable: true,
      description: 'The node\'s run (trigger WORKFLOW), once it started — unless it is not visible to you (a PRIVATE template\'s run).',
      select: { jobRunId: true },
      resolve: async (_q, n, _a, ctx) => {
        const run = n.jobRunId ? await ctx.prisma.jobRun.findUnique({ where: { id: n.jobRunId } }) : null
        return run && ctx.actor && canSee(ctx.actor, run) ? run : null
      },
    }),
    outputs: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The step outputs of the node\'s run (as JobRun.outputs; what `{{ nodes.<key>.outputs… }}` reads), SECRET values masked; null when none or its run is not visible to you.',
      select: { jobRunId: true },
      resolve: async (n, _a, ctx) => {
        const run = n.jobRunId ? await ctx.prisma.jobRun.findUnique({ where: { id: n.jobRunId }, select: { visibility: true, ownerId: true, targets: { select: { name: true, outputs: true }, orderBy: { position: 'asc' } } } }) : null
        return run && ctx.actor && canSee(ctx.actor, run) ? runOutputs(run.targets as TargetOutputs[]) : null
      },
    }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    approval: t.field({ type: Approval, nullable: true, resolve: (n) => n.approval as ApprovalConfig | null }),
    message: t.exposeString('message', { nullable: true, description: 'APPROVAL nodes: the message, rendered when the node started.' }),
    deadlineAt: t.expose('deadlineAt', { type: 'DateTime', nullable: true, description: 'APPROVAL nodes: when onTimeout applies.' }),
    decisions: t.relation('decisions', { query: { orderBy: { createdAt: 'asc' } } }),
    workflowRun: t.relation('workflowRun'),
    nestedRun: t.prismaField({
      type: 'WorkflowRun',
      nullable: true,
      description: 'WORKFLOW nodes: the nested workflow run, once started — for a node a retry reused, the original nested run it stands for — unless it is not visible to you.',
      select: { nestedRunId: true },
      resolve: async (query, n, _a, ctx) => {
        const run = n.nestedRunId ? await ctx.prisma.workflowRun.findUnique({ ...query, where: { id: n.nestedRunId } }) : null
        return run && ctx.actor && canSee(ctx.actor, run) ? run : null
      },
    }),
    overrides: t.field({ type: NodeOverridesRef, nullable: true, description: 'TEMPLATE nodes: the overrides applied to its run.', resolve: (n) => n.overrides as NodeOverrides | null }),
  }),
})

const WorkflowRunEventRef = builder.prismaObject('WorkflowRunEvent', {
  description: 'A status the workflow run (nodeKey null) or one of its nodes took. Resume `workflowRunEvents` after `seq`.',
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    at: t.expose('at', { type: 'DateTime' }),
    nodeKey: t.exposeString('nodeKey', { nullable: true }),
    status: t.exposeString('status', { description: 'A WorkflowNodeStatus for a node, a WorkflowRunStatus for the run.' }),
    reason: t.exposeString('reason', { nullable: true }),
  }),
})

export const WorkflowRunRef = builder.prismaNode('WorkflowRun', {
  id: { field: 'id' },
  fields: (t) => ({
    number: t.exposeInt('number'),
    workflow: t.prismaField({
      type: 'Workflow',
      nullable: true,
      description: 'The workflow, unless it was deleted since or is now private to someone else.',
      select: { workflowId: true },
      resolve: (query, run, _a, ctx) => (run.workflowId ? ctx.services.workflows.get(ctx.actor, run.workflowId).catch(() => null) : null),
    }),
    workflowName: t.exposeString('workflowName'),
    status: t.expose('status', { type: WorkflowRunStatusEnum }),
    trigger: t.expose('trigger', { type: RunTriggerEnum, description: 'MANUAL or API: triggered by a user; RETRY: made by retryWorkflowRun; WORKFLOW: a nested run, started by a WORKFLOW node (retryOf set when it retries that node\'s earlier nested run).' }),
    triggeredBy: t.relation('triggeredBy', { nullable: true }),
    schedule: t.prismaField({
      type: 'JobSchedule',
      nullable: true,
      description: 'The schedule that created the run, unless deleted since or private to someone else.',
      select: { scheduleId: true },
      resolve: async (query, r, _a, ctx) => {
        if (!r.scheduleId || !ctx.actor) return null
        const access = await ctx.prisma.jobSchedule.findUnique({ where: { id: r.scheduleId }, select: { visibility: true, ownerId: true, template: { select: { visibility: true, ownerId: true } }, workflow: { select: { visibility: true, ownerId: true } } } })
        if (!access || !canSeeSchedule(ctx.actor, access)) return null
        return ctx.prisma.jobSchedule.findUnique({ ...query, where: { id: r.scheduleId } })
      },
    }),
    webhookEndpoint: t.prismaField({
      type: 'WebhookEndpoint',
      nullable: true,
      select: { webhookEndpointId: true },
      description: 'For trigger WEBHOOK: the endpoint that was called (for its owner and admins; null for others or once deleted).',
      resolve: async (query, r, _a, ctx) => {
        if (!r.webhookEndpointId || !ctx.actor) return null
        const e = await ctx.prisma.webhookEndpoint.findUnique({ ...query, where: { id: r.webhookEndpointId } })
        return e && (ctx.actor.role === 'ADMIN' || e.ownerId === ctx.actor.userId) ? e : null
      },
    }),
    slotAt: t.expose('slotAt', { type: 'DateTime', nullable: true, description: 'For scheduled runs: the slot it was created for.' }),
    parameters: t.expose('parameters', { type: 'JSON', description: 'SECRET values masked.' }),
    error: t.exposeString('error', { nullable: true }),
    nodes: t.relation('nodes', { query: { orderBy: { position: 'asc' } } }),
    // Counts folded into the run's own query (Prisma _count), so a page of runs can show its progress
    // without fetching every node of every run.
    nodeCount: t.relationCount('nodes', { description: 'How many nodes the run has.' }),
    nodesDone: t.relationCount('nodes', {
      where: { status: { notIn: ['PENDING', 'READY', 'RUNNING', 'AWAITING_APPROVAL'] } },
      description: 'Nodes in a final state (succeeded, failed, skipped, cancelled, timed out).',
    }),
    nodesAwaitingApproval: t.relationCount('nodes', { where: { status: 'AWAITING_APPROVAL' }, description: 'APPROVAL nodes waiting for a decision.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    cancelRequestedAt: t.expose('cancelRequestedAt', { type: 'DateTime', nullable: true }),
    eventSeq: t.exposeInt('eventSeq', { description: 'The seq of its latest event (see workflowRunEvents).' }),
    retryOf: t.relation('retryOf', { nullable: true, description: 'The run this one retries (retryWorkflowRun, or — for a nested run — its WORKFLOW node re-run in a retry of the parent): its succeeded nodes were reused, the rest ran again.' }),
    retries: t.relation('retries', { query: { orderBy: { number: 'asc' } }, description: 'Retries of this run, oldest first.' }),
    parentNodeRun: t.relation('parentNodeRun', { nullable: true, description: 'A nested run: the WORKFLOW node (of the parent run) that started it.' }),
    depth: t.exposeInt('depth', { description: '0 for a run triggered directly; a nested run\'s is its parent\'s + 1 (at most 5).' }),
    spawnedRuns: t.exposeInt('spawnedRuns', { description: `Root runs: the JobRuns, nested runs and retries spawned under it so far (at most ${MAX_SPAWNED_RUNS}; nested runs and retries count against their root's).` }),
  }),
})

const NodeInput = builder.inputType('WorkflowNodeInput', {
  fields: (t) => ({
    key: t.string({ required: true, description: 'Unique in the workflow; edges and expressions name nodes by key.' }),
    kind: t.field({ type: NodeKindEnum, description: 'Default TEMPLATE.' }),
    templateId: t.id({ description: 'Required for TEMPLATE nodes: a job template you can see.' }),
    workflowId: t.id({ description: 'Required for WORKFLOW nodes: a workflow you can see; recursion (a workflow reaching itself) and nesting deeper than 5 are refused.' }),
    parameters: t.field({ type: 'JSON', description: 'Object of the template\'s (WORKFLOW nodes: the nested workflow\'s) parameter values: literals or {{ … }} expressions.' }),
    joinPolicy: t.field({ type: JoinPolicyEnum, description: 'Default ALL_SUCCEEDED. A join that can never hold (see the README) is refused at save.' }),
    approval: t.field({ type: ApprovalInput, description: 'Required for APPROVAL nodes.' }),
    overrides: t.field({ type: NodeOverridesInput, description: 'TEMPLATE nodes: replace the template\'s targets, timeout or retry policy for this node\'s run.' }),
  }),
})
const EdgeInput = builder.inputType('WorkflowEdgeInput', {
  fields: (t) => ({
    from: t.string({ required: true }),
    to: t.string({ required: true }),
    kind: t.field({ type: EdgeKindEnum, description: 'Default ON_SUCCESS.' }),
  }),
})
const workflowFields = (required: boolean) =>
  builder.inputType(required ? 'CreateWorkflowInput' : 'UpdateWorkflowInput', {
    description: required ? undefined : 'Omitted fields keep their value. Nodes given without edges keep the saved edges (by key).',
    fields: (t) => ({
      name: t.string({ required }),
      description: t.string(),
      parameters: t.field({ type: [ParameterInput] }),
      visibility: t.field({ type: VisibilityEnum }),
      nodes: t.field({ type: [NodeInput], required }),
      edges: t.field({ type: [EdgeInput] }),
    }),
  })
const CreateWorkflowInput = workflowFields(true)
const UpdateWorkflowInput = workflowFields(false)

type RawInput = Record<string, unknown> & { parameters?: Array<Record<string, unknown>> | null; nodes?: Array<Record<string, unknown>> | null; edges?: Array<Record<string, unknown>> | null }

function workflowInput(input: RawInput) {
  const out: Record<string, unknown> = withoutNulls(input)
  if (input.parameters) out.parameters = input.parameters.map((p) => withoutNulls(p))
  if (input.nodes) {
    out.nodes = input.nodes.map((n, i) => {
      const approval = n.approval as (Record<string, unknown> & { approverUserIds?: string[] | null }) | null | undefined
      return {
        ...withoutNulls(n),
        ...(n.templateId != null ? { templateId: decodeId(String(n.templateId), 'JobTemplate', `input.nodes.${i}.templateId`) } : {}),
        ...(n.workflowId != null ? { workflowId: decodeId(String(n.workflowId), 'Workflow', `input.nodes.${i}.workflowId`) } : {}),
        ...(n.overrides ? { overrides: overridesInput(n.overrides as Record<string, unknown>, `input.nodes.${i}.overrides`) } : {}),
        ...(approval
          ? { approval: { ...withoutNulls(approval), ...(approval.approverUserIds ? { approverUserIds: decodeIds(approval.approverUserIds.map(String), 'User', `input.nodes.${i}.approval.approverUserIds`) } : {}) } }
          : {}),
      }
    })
  }
  if (input.edges) out.edges = input.edges.map((e) => withoutNulls(e))
  return out
}

builder.queryFields((t) => ({
  workflows: t.prismaField({
    type: ['Workflow'],
    description: 'Workflows you can see: GLOBAL ones and your own PRIVATE ones.',
    resolve: (query, _r, _a, ctx) => ctx.services.workflows.list(ctx.actor, query),
  }),
  workflow: t.prismaField({
    type: 'Workflow',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.workflows.get(ctx.actor, decodeId(String(args.id), 'Workflow', 'id')),
  }),
  workflowRuns: t.prismaConnection(
    {
      type: 'WorkflowRun',
      cursor: 'number',
      description: 'Workflow runs you can see, newest first.',
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: MAX_PAGE_SIZE,
      args: { workflowId: t.arg.id(), statuses: t.arg({ type: [WorkflowRunStatusEnum] }) },
      resolve: (query, _r, args, ctx) => ctx.prisma.workflowRun.findMany({ ...query, where: runWhere(ctx, args), orderBy: { number: 'desc' } }),
      totalCount: (_p, args, ctx) => ctx.prisma.workflowRun.count({ where: runWhere(ctx, args) }),
    },
    {},
  ),
  workflowRun: t.prismaField({
    type: 'WorkflowRun',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.workflowRuns.get(ctx.actor, decodeId(String(args.id), 'WorkflowRun', 'id')),
  }),
}))

function runWhere(ctx: GraphQLContext, args: { workflowId?: string | number | null; statuses?: WorkflowRun['status'][] | null }) {
  return ctx.services.workflowRuns.whereFor(ctx.actor, {
    workflowId: args.workflowId ? decodeId(String(args.workflowId), 'Workflow', 'workflowId') : null,
    statuses: args.statuses ?? null,
  })
}

builder.mutationFields((t) => ({
  createWorkflow: t.prismaField({
    type: 'Workflow',
    args: { input: t.arg({ type: CreateWorkflowInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.workflows.create(ctx.actor, workflowInput(args.input as RawInput)),
  }),
  updateWorkflow: t.prismaField({
    type: 'Workflow',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateWorkflowInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.workflows.update(ctx.actor, decodeId(String(args.id), 'Workflow', 'id'), workflowInput(args.input as RawInput)),
  }),
  deleteWorkflow: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.workflows.delete(ctx.actor, decodeId(String(args.id), 'Workflow', 'id'))
      return args.id
    },
  }),
  triggerWorkflowRun: t.prismaField({
    type: 'WorkflowRun',
    args: { workflowId: t.arg.id({ required: true }), parameters: t.arg({ type: 'JSON' }) },
    resolve: (_q, _r, args, ctx) => ctx.services.workflowRuns.trigger(ctx.actor, decodeId(String(args.workflowId), 'Workflow', 'workflowId'), args.parameters),
  }),
  cancelWorkflowRun: t.prismaField({
    type: 'WorkflowRun',
    description: 'Cancels its running nodes (and nested runs) and pending approvals; skips the nodes not started.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.workflowRuns.cancel(ctx.actor, decodeId(String(args.id), 'WorkflowRun', 'id')),
  }),
  retryWorkflowRun: t.prismaField({
    type: 'WorkflowRun',
    description:
      'A new run (trigger RETRY, retryOf this one) of a FAILED or CANCELLED workflow run that re-runs only the nodes that did not succeed and those downstream of them; succeeded nodes are reused with their runs and outputs. A re-run WORKFLOW node retries its failed or cancelled nested run the same way when its parameters resolve as before, else starts a fresh one. Same permission as triggering.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.workflowRuns.retry(ctx.actor, decodeId(String(args.id), 'WorkflowRun', 'id')),
  }),
}))

builder.subscriptionFields((t) => ({
  workflowRunUpdated: t.field({
    type: WorkflowRunRef,
    description: 'The workflow run now (with its node states), then again after every change; completes after its final state.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_r, args, ctx) => {
      if (!args.id) throw ValidationError.field('id', 'required')
      return ctx.services.workflowLive.runUpdates(ctx.actor, decodeId(String(args.id), 'WorkflowRun', 'id'))
    },
    resolve: (run: WorkflowRun) => run,
  }),
  workflowRunEvents: t.field({
    type: WorkflowRunEventRef,
    description:
      'Every status the run and its nodes took after `after` (a seq; 0 for all), then new ones as they happen: in order, with no gap or duplicate after a reconnect (resume with the last seq seen). Completes after the run\'s final status.',
    args: { id: t.arg.id({ required: true }), after: t.arg.int({ defaultValue: 0 }) },
    subscribe: (_r, args, ctx) => {
      const after = args.after ?? 0
      if (after < 0) throw ValidationError.field('after', 'must be >= 0')
      return ctx.services.workflowLive.events(ctx.actor, decodeId(String(args.id), 'WorkflowRun', 'id'), after)
    },
    resolve: (e: WorkflowRunEvent) => e,
  }),
}))
