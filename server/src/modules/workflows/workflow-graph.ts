/**
 * The shape of a workflow (what is saved) and the graph checks that need no database: unique keys,
 * edges between existing nodes, no cycle (reported with its path), references only to the workflow's
 * parameters and to upstream nodes. Every problem names its input field (`input.edges.2.to`).
 */
import { z } from 'zod'
import type { FieldProblem } from '../../errors.ts'
import { parameterDefinitionsSchema } from '../templates/parameters.ts'
import { ExpressionError, referencesOf } from './expressions.ts'
import { neverRunnableProblems } from './graph-reachability.ts'
import { nodeOverridesSchema } from './node-overrides.ts'

export const MAX_NODES = 200
export const MAX_EDGES = 2000

export const JOIN_POLICIES = ['ALL_SUCCEEDED', 'ANY_SUCCEEDED', 'ALL_DONE', 'NONE_FAILED'] as const
export const EDGE_KINDS = ['ON_SUCCESS', 'ON_FAILURE', 'ALWAYS'] as const

const scalar = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()])

export const ON_TIMEOUT = ['FAIL', 'CANCEL', 'APPROVE'] as const

/** A human gate: who may decide, how many approvals it takes, and what its deadline does. */
export const approvalSchema = z.object({
  approverRoles: z.array(z.enum(['ADMIN', 'OPERATOR', 'VIEWER'])).max(3).default([]),
  approverUserIds: z.array(z.string().uuid()).max(100).default([]),
  minApprovals: z.number().int().min(1).max(100).default(1),
  /** Whoever triggered the workflow run may not approve it unless this is set. */
  allowSelfApproval: z.boolean().default(false),
  timeoutSeconds: z.number({ error: 'required: an approval must have a deadline' }).int().min(1).max(30 * 86400, 'at most 30 days'),
  /** What the deadline does: FAIL (default) or CANCEL the node, or APPROVE it — only when set explicitly. */
  onTimeout: z.enum(ON_TIMEOUT).default('FAIL'),
  /** Shown to approvers; may reference parameters and upstream nodes like node parameters. */
  message: z.string().max(5000).default(''),
})
export type ApprovalConfig = z.output<typeof approvalSchema>

export const NODE_KINDS = ['TEMPLATE', 'APPROVAL', 'WORKFLOW'] as const

export const nodeSchema = z.object({
  key: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64'),
  kind: z.enum(NODE_KINDS).default('TEMPLATE'),
  templateId: z.string().uuid().nullish(),
  /** WORKFLOW nodes: the nested workflow. */
  workflowId: z.string().uuid().nullish(),
  /** TEMPLATE or WORKFLOW nodes: values of the template's (workflow's) parameters. */
  parameters: z.record(z.string(), scalar).default({}),
  joinPolicy: z.enum(JOIN_POLICIES).default('ALL_SUCCEEDED'),
  approval: approvalSchema.nullish(),
  /** TEMPLATE nodes: replace the template's targets, timeout or retry policy. */
  overrides: nodeOverridesSchema.nullish(),
})
export type NodeInput = z.output<typeof nodeSchema>

export const edgeSchema = z.object({
  from: z.string().min(1, 'required'),
  to: z.string().min(1, 'required'),
  kind: z.enum(EDGE_KINDS).default('ON_SUCCESS'),
})
export type EdgeInput = z.output<typeof edgeSchema>

export const workflowSchema = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  description: z.string().max(5000).default(''),
  parameters: parameterDefinitionsSchema.default([]),
  visibility: z.enum(['GLOBAL', 'PRIVATE']).default('PRIVATE'),
  nodes: z.array(nodeSchema).min(1, 'a workflow needs at least one node').max(MAX_NODES, `at most ${MAX_NODES} nodes`),
  edges: z.array(edgeSchema).max(MAX_EDGES, `at most ${MAX_EDGES} edges`).default([]),
})
export type WorkflowInput = z.output<typeof workflowSchema>

/** Problems of the graph itself (not of the templates it names), by field. */
export function graphProblems(nodes: NodeInput[], edges: EdgeInput[], paramNames: ReadonlySet<string>): FieldProblem[] {
  const problems: FieldProblem[] = []
  const index = new Map<string, number>()
  nodes.forEach((n, i) => {
    if (index.has(n.key)) problems.push({ field: `input.nodes.${i}.key`, message: `duplicate key "${n.key}" (also node ${index.get(n.key)})` })
    else index.set(n.key, i)
    if (n.kind !== 'WORKFLOW' && n.workflowId) problems.push({ field: `input.nodes.${i}.workflowId`, message: 'only WORKFLOW nodes run a nested workflow' })
    if (n.kind !== 'TEMPLATE' && n.overrides) problems.push({ field: `input.nodes.${i}.overrides`, message: 'only TEMPLATE nodes have overrides (of their template)' })
    if (n.kind === 'WORKFLOW') {
      if (n.templateId) problems.push({ field: `input.nodes.${i}.templateId`, message: 'a WORKFLOW node runs a workflow (workflowId), not a template' })
      if (!n.workflowId) problems.push({ field: `input.nodes.${i}.workflowId`, message: 'required for a WORKFLOW node' })
      if (n.approval) problems.push({ field: `input.nodes.${i}.approval`, message: 'only APPROVAL nodes have an approval' })
    } else if (n.kind === 'APPROVAL') {
      if (n.templateId) problems.push({ field: `input.nodes.${i}.templateId`, message: 'an APPROVAL node runs no template' })
      if (Object.keys(n.parameters).length) problems.push({ field: `input.nodes.${i}.parameters`, message: 'an APPROVAL node takes no parameters (its message may use references)' })
      if (!n.approval) problems.push({ field: `input.nodes.${i}.approval`, message: 'required for an APPROVAL node (approvers and a timeout)' })
      else if (!n.approval.approverRoles.length && !n.approval.approverUserIds.length) {
        problems.push({ field: `input.nodes.${i}.approval.approverRoles`, message: 'name at least one approver role or user' })
      }
    } else {
      if (!n.templateId) problems.push({ field: `input.nodes.${i}.templateId`, message: 'required for a TEMPLATE node' })
      if (n.approval) problems.push({ field: `input.nodes.${i}.approval`, message: 'only APPROVAL nodes have an approval' })
    }
  })
  const children = new Map<string, Array<{ to: string; edge: number }>>()
  const parents = new Map<string, string[]>()
  const seen = new Set<string>()
  edges.forEach((e, i) => {
    let ok = true
    if (!index.has(e.from)) (problems.push({ field: `input.edges.${i}.from`, message: `no node with key "${e.from}"` }), (ok = false))
    if (!index.has(e.to)) (problems.push({ field: `input.edges.${i}.to`, message: `no node with key "${e.to}"` }), (ok = false))
    const pair = `${e.from}\u0000${e.to}`
    if (ok && seen.has(pair)) (problems.push({ field: `input.edges.${i}`, message: `duplicate edge ${e.from} → ${e.to}` }), (ok = false))
    if (!ok) return
    seen.add(pair)
    children.set(e.from, [...(children.get(e.from) ?? []), { to: e.to, edge: i }])
    parents.set(e.to, [...(parents.get(e.to) ?? []), e.from])
  })
  const cycle = findCycle([...index.keys()], children)
  if (cycle) {
    problems.push({ field: `input.edges.${cycle.edge}`, message: `this edge closes a cycle: ${cycle.path.join(' → ')}` })
    return problems // ancestry is meaningless in a cyclic graph
  }
  if (!problems.length) problems.push(...neverRunnableProblems(nodes, edges))
  nodes.forEach((n, i) => {
    const ancestors = ancestorsOf(n.key, parents)
    const values: Array<[string, unknown]> = Object.entries(n.parameters).map(([name, v]) => [`input.nodes.${i}.parameters.${name}`, v])
    if (n.approval?.message) values.push([`input.nodes.${i}.approval.message`, n.approval.message])
    for (const [field, value] of values) {
      let refs
      try {
        refs = referencesOf(value)
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e
        problems.push({ field, message: e.message })
        continue
      }
      for (const r of refs) {
        if (r.kind === 'param' && !paramNames.has(r.name)) problems.push({ field, message: `{{ ${r.text} }}: the workflow has no parameter "${r.name}"` })
        if (r.kind === 'node' && !index.has(r.key)) problems.push({ field, message: `{{ ${r.text} }}: no node with key "${r.key}"` })
        else if (r.kind === 'node' && !ancestors.has(r.key)) problems.push({ field, message: `{{ ${r.text} }}: node "${r.key}" is not upstream of "${n.key}", so it may not have run when "${n.key}" starts` })
      }
    }
  })
  return problems
}

/** The first cycle found (depth-first, in node order): its path and the index of the edge closing it. */
export function findCycle(keys: string[], children: ReadonlyMap<string, Array<{ to: string; edge: number }>>): { path: string[]; edge: number } | null {
  const state = new Map<string, 1 | 2>() // 1: on the current path, 2: done
  for (const start of keys) {
    if (state.has(start)) continue
    // Iterative DFS: 200 nodes in a chain must not depend on the stack depth.
    const stack: Array<{ key: string; next: number }> = [{ key: start, next: 0 }]
    state.set(start, 1)
    while (stack.length) {
      const top = stack.at(-1)!
      const out = children.get(top.key) ?? []
      if (top.next >= out.length) {
        state.set(top.key, 2)
        stack.pop()
        continue
      }
      const { to, edge } = out[top.next++]!
      const s = state.get(to)
      if (s === 1) {
        const from = stack.findIndex((f) => f.key === to)
        return { path: [...stack.slice(from).map((f) => f.key), to], edge }
      }
      if (s === undefined) {
        state.set(to, 1)
        stack.push({ key: to, next: 0 })
      }
    }
  }
  return null
}

function ancestorsOf(key: string, parents: ReadonlyMap<string, string[]>): Set<string> {
  const out = new Set<string>()
  const todo = [...(parents.get(key) ?? [])]
  while (todo.length) {
    const k = todo.pop()!
    if (out.has(k)) continue
    out.add(k)
    todo.push(...(parents.get(k) ?? []))
  }
  return out
}
