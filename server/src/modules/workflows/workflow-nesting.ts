/**
 * WORKFLOW nodes across workflows, checked at save: no recursion (a workflow that reaches itself through
 * nested workflows, itself included, is refused with the path, "A" → "B" → "A"), and no nesting deeper
 * than MAX_NESTING levels — counting the levels above the saved workflow (workflows that nest it) and
 * below it. Definitions may change after save (a nested workflow edited, another made to nest this one),
 * so the node starter checks the depth again at run time (a run's `depth`), which also stops any
 * recursion that slipped in.
 */
import type { PrismaClient } from '../../generated/prisma/client.ts'
import type { FieldProblem } from '../../errors.ts'
import type { NodeInput } from './workflow-graph.ts'

/** A run triggered directly is at depth 0; its nested runs at 1, …, at most MAX_NESTING. */
export const MAX_NESTING = 5

const SELF = '(this workflow)'

export async function nestingProblems(prisma: PrismaClient, selfId: string | null, selfName: string, nodes: NodeInput[]): Promise<FieldProblem[]> {
  const nested = nodes.map((n, i) => ({ i, id: n.kind === 'WORKFLOW' ? n.workflowId : null })).filter((x): x is { i: number; id: string } => !!x.id)
  if (!nested.length) return [] // nothing nested: no recursion, and no deeper nesting than before
  const self = selfId ?? SELF
  // The whole nesting graph is small (one row per WORKFLOW node anywhere), so it is read at once.
  const rows = await prisma.workflowNode.findMany({ where: { kind: 'WORKFLOW', subWorkflowId: { not: null } }, select: { workflowId: true, subWorkflowId: true } })
  const down = new Map<string, Set<string>>()
  const up = new Map<string, Set<string>>()
  const link = (from: string, to: string) => {
    down.set(from, (down.get(from) ?? new Set()).add(to))
    up.set(to, (up.get(to) ?? new Set()).add(from))
  }
  for (const r of rows) if (r.workflowId !== selfId) link(r.workflowId, r.subWorkflowId!)
  for (const x of nested) link(self, x.id)
  const ids = new Set([...down.keys(), ...up.keys()].filter((k) => k !== SELF))
  const names = new Map((await prisma.workflow.findMany({ where: { id: { in: [...ids] } }, select: { id: true, name: true } })).map((w) => [w.id, w.name]))
  names.set(self, selfName)
  const show = (path: string[]) => path.map((k) => `"${names.get(k) ?? k}"`).join(' → ')

  const problems: FieldProblem[] = []
  // Levels above: the longest chain of workflows nesting this one (a cycle among them is cut).
  const above = longest(self, up, new Set([self]))
  for (const { i, id } of nested) {
    const field = `input.nodes.${i}.workflowId`
    const cycle = pathTo(id, self, down, new Set())
    if (cycle) {
      problems.push({ field, message: `recursion: ${show([self, ...cycle])} (a workflow may not run itself, directly or through nested workflows)` })
      continue
    }
    const below = longest(id, down, new Set([self]))
    const depth = above.length - 1 + below.length // levels of nesting from the outermost workflow to the deepest
    if (depth > MAX_NESTING) {
      problems.push({ field, message: `nesting would be ${depth} levels deep (${show([...[...above].reverse(), ...below])}; at most ${MAX_NESTING})` })
    }
  }
  return problems
}

/** A path from `from` to `to` along `edges` (from included), or null. */
function pathTo(from: string, to: string, edges: ReadonlyMap<string, Set<string>>, seen: Set<string>): string[] | null {
  if (from === to) return [to]
  if (seen.has(from)) return null
  seen.add(from)
  for (const next of edges.get(from) ?? []) {
    const rest = pathTo(next, to, edges, seen)
    if (rest) return [from, ...rest]
  }
  return null
}

/** The longest simple path starting at `from` (from included). Depth-bounded by the nesting cap in practice. */
function longest(from: string, edges: ReadonlyMap<string, Set<string>>, onPath: Set<string>): string[] {
  let best: string[] = []
  for (const next of edges.get(from) ?? []) {
    if (onPath.has(next)) continue
    onPath.add(next)
    const p = longest(next, edges, onPath)
    onPath.delete(next)
    if (p.length > best.length) best = p
    if (best.length > MAX_NESTING + 1) break // already too deep: the exact length does not matter
  }
  return [from, ...best]
}
