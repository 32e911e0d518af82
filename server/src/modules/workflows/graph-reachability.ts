/**
 * Nodes that can never run, found at save (the graph is acyclic by then).
 *
 * The rule, exactly: every node run ends in one of three outcome classes — S (SUCCEEDED), F (FAILED or
 * TIMED_OUT) and C (CANCELLED) — or is SKIPPED. An edge admits its parent's outcomes: ON_SUCCESS {S},
 * ON_FAILURE {F}, ALWAYS {S, F, C}. For each node we derive what its running requires of its ancestors'
 * outcomes (a set of admitted outcomes per ancestor), from its join:
 *  - ALL_SUCCEEDED: every parent ran with an outcome its edge admits, so the requirements of all edges
 *    hold at once;
 *  - ALL_DONE: every parent ran (any outcome), so all parents' own requirements hold at once;
 *  - ANY_SUCCEEDED: some edge is satisfied — one alternative per edge;
 *  - NONE_FAILED: some edge is satisfied and no parent failed, so the satisfying parent SUCCEEDED — one
 *    alternative per edge, admitting only S (an ON_FAILURE edge into a NONE_FAILED node never counts).
 * A node can never run when its requirements demand two disjoint outcome sets of one ancestor (e.g.
 * ALL_SUCCEEDED over `a` and `b` where `a` follows `p` ON_SUCCESS and `b` follows `p` ON_FAILURE: `p`
 * cannot both succeed and fail), or when none of its alternatives can hold. It is reported at its
 * `joinPolicy` field, naming the ancestor and the two edges that disagree; nodes below it that can
 * therefore never run are named in the same message rather than reported one by one.
 * Every node kind can fail (a template's run, an approval rejected or timed out, a nested workflow), so
 * an ON_FAILURE edge is never unsatisfiable in itself. For alternatives (ANY_SUCCEEDED, NONE_FAILED) only
 * the requirements common to all of them are carried on — sound (never a false rejection), not complete.
 */
import type { FieldProblem } from '../../errors.ts'
import type { EdgeInput, NodeInput } from './workflow-graph.ts'

type Outcome = 'S' | 'F' | 'C'
type Requirement = { allowed: ReadonlySet<Outcome>; via: string }
type Requirements = Map<string, Requirement>
type Derived = { ok: true; needs: Requirements } | { ok: false; cause: string; root: boolean }

const ADMITS: Record<string, Outcome[]> = { ON_SUCCESS: ['S'], ON_FAILURE: ['F'], ALWAYS: ['S', 'F', 'C'] }
const WORDS: Record<Outcome, string> = { S: 'succeed', F: 'fail or time out', C: 'be cancelled' }
const words = (set: ReadonlySet<Outcome>) => (set.size ? [...set].map((o) => WORDS[o]).join(' or ') : 'never end')

/** Requirements of both a and b, or the ancestor on which they disagree. */
function merge(a: Requirements, b: Requirements): { needs: Requirements } | { conflict: string } {
  const out = new Map(a)
  for (const [key, rb] of b) {
    const ra = out.get(key)
    if (!ra) {
      out.set(key, rb)
      continue
    }
    const both = new Set([...ra.allowed].filter((o) => rb.allowed.has(o)))
    if (!both.size) return { conflict: `"${key}" would have to ${words(ra.allowed)} (${ra.via}) and ${words(rb.allowed)} (${rb.via})` }
    out.set(key, both.size === ra.allowed.size ? ra : { allowed: both, via: `${ra.via}, ${rb.via}` })
  }
  return { needs: out }
}

/** The requirements every alternative shares (an ancestor constrained in each, to the union of their sets). */
function common(alternatives: Requirements[]): Requirements {
  const [first, ...rest] = alternatives
  const out: Requirements = new Map()
  for (const [key, r] of first ?? []) {
    if (!rest.every((alt) => alt.has(key))) continue
    out.set(key, { allowed: new Set([r.allowed, ...rest.map((alt) => alt.get(key)!.allowed)].flatMap((s) => [...s])), via: r.via })
  }
  return out
}

export function neverRunnableProblems(nodes: NodeInput[], edges: EdgeInput[]): FieldProblem[] {
  const incoming = new Map<string, EdgeInput[]>()
  for (const e of edges) incoming.set(e.to, [...(incoming.get(e.to) ?? []), e])
  const derived = new Map<string, Derived>()
  const index = new Map(nodes.map((n, i) => [n.key, i]))
  const derive = (key: string): Derived => {
    const known = derived.get(key)
    if (known) return known
    // Iterative post-order: a 200-node chain must not depend on the stack depth.
    const stack = [key]
    while (stack.length) {
      const k = stack.at(-1)!
      const pending = (incoming.get(k) ?? []).map((e) => e.from).filter((p) => !derived.has(p))
      if (pending.length) {
        stack.push(...pending)
        continue
      }
      stack.pop()
      if (!derived.has(k)) derived.set(k, decide(nodes[index.get(k)!]!, incoming.get(k) ?? [], derived))
    }
    return derived.get(key)!
  }
  const problems: FieldProblem[] = []
  const blocked = new Map<string, string[]>() // root cause → nodes that never run because of it
  for (const n of nodes) {
    const d = derive(n.key)
    if (!d.ok && d.root) blocked.set(n.key, [])
  }
  for (const n of nodes) {
    const d = derived.get(n.key)!
    if (!d.ok && !d.root) blocked.get(d.cause)?.push(n.key)
  }
  for (const [key, below] of blocked) {
    const d = derived.get(key) as Extract<Derived, { ok: false }>
    const also = below.length ? `; so ${below.length > 5 ? `${below.slice(0, 5).map((k) => `"${k}"`).join(', ')} and ${below.length - 5} more` : below.map((k) => `"${k}"`).join(', ')} never run either` : ''
    problems.push({ field: `input.nodes.${index.get(key)}.joinPolicy`, message: `node "${key}" can never run: ${d.cause}${also}` })
  }
  return problems
}

/** A node's requirements from its parents' (all derived already). A non-root failure names its root cause. */
function decide(node: NodeInput, edges: EdgeInput[], derived: ReadonlyMap<string, Derived>): Derived {
  if (!edges.length) return { ok: true, needs: new Map() }
  const alt = (e: EdgeInput, onlySuccess: boolean): Derived => {
    const parent = derived.get(e.from)!
    if (!parent.ok) return parent.root ? { ok: false, cause: e.from, root: false } : parent
    const admitted = ADMITS[e.kind]!.filter((o) => !onlySuccess || o === 'S')
    const via = `${e.from} -${e.kind}-> ${node.key}`
    if (!admitted.length) return { ok: false, cause: `${via} is never satisfied under NONE_FAILED (a failed parent fails that join)`, root: true }
    const m = merge(parent.needs, new Map([[e.from, { allowed: new Set(admitted), via }]]))
    return 'needs' in m ? { ok: true, needs: m.needs } : { ok: false, cause: `join ${node.joinPolicy}: ${m.conflict}`, root: true }
  }
  if (node.joinPolicy === 'ALL_SUCCEEDED' || node.joinPolicy === 'ALL_DONE') {
    let needs: Requirements = new Map()
    for (const e of edges) {
      const a = node.joinPolicy === 'ALL_SUCCEEDED' ? alt(e, false) : (derived.get(e.from)! as Derived)
      if (!a.ok) return a.root && node.joinPolicy === 'ALL_DONE' ? { ok: false, cause: e.from, root: false } : a
      const m = merge(needs, a.needs)
      if ('conflict' in m) return { ok: false, cause: `join ${node.joinPolicy}: ${m.conflict}`, root: true }
      needs = m.needs
    }
    return { ok: true, needs }
  }
  const alternatives = edges.map((e) => alt(e, node.joinPolicy === 'NONE_FAILED'))
  const feasible = alternatives.flatMap((a) => (a.ok ? [a.needs] : []))
  if (feasible.length) return { ok: true, needs: common(feasible) }
  // Every alternative fails: blame an upstream root cause when there is one, else this join.
  const upstream = alternatives.find((a): a is Extract<Derived, { ok: false }> => !a.ok && !a.root)
  if (upstream) return upstream
  return { ok: false, cause: `join ${node.joinPolicy}: no incoming edge can ever be satisfied (${alternatives.map((a) => (a.ok ? '' : a.cause)).join('; ')})`, root: true }
}
