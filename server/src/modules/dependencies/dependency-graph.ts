/**
 * Checks on the graph of template dependencies (upstream → downstream), pure so they are unit-tested
 * apart: a new link must close no cycle (a run of A would eventually start A again, forever) and keep
 * every chain at most MAX_CHAIN links long (a long chain is usually a mistake, and each link is a run).
 */

export const MAX_CHAIN = 10

export interface Link {
  from: string
  to: string
}

/** The cycle the link `from → to` would close, as template ids from `from` back to it; null if none. */
export function cycleThrough(links: readonly Link[], added: Link): string[] | null {
  const next = adjacency(links)
  // A path to → … → from plus the new link from → to is a cycle.
  const path = pathBetween(next, added.to, added.from)
  return path ? [added.from, ...path] : null
}

/** The longest chain (in links) through the new link, given a graph without cycles. */
export function longestChainThrough(links: readonly Link[], added: Link): number {
  const down = adjacency(links)
  const up = adjacency(links.map((l) => ({ from: l.to, to: l.from })))
  return longest(up, added.from, new Map()) + 1 + longest(down, added.to, new Map())
}

function adjacency(links: readonly Link[]): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (const l of links) m.set(l.from, [...(m.get(l.from) ?? []), l.to])
  return m
}

function pathBetween(next: Map<string, string[]>, start: string, goal: string): string[] | null {
  const seen = new Set<string>()
  const walk = (at: string): string[] | null => {
    if (at === goal) return [at]
    if (seen.has(at)) return null
    seen.add(at)
    for (const n of next.get(at) ?? []) {
      const rest = walk(n)
      if (rest) return [at, ...rest]
    }
    return null
  }
  return walk(start)
}

function longest(next: Map<string, string[]>, at: string, memo: Map<string, number>): number {
  const known = memo.get(at)
  if (known !== undefined) return known
  memo.set(at, 0) // a cycle (refused elsewhere) cannot recurse forever
  let best = 0
  for (const n of next.get(at) ?? []) best = Math.max(best, 1 + longest(next, n, memo))
  memo.set(at, best)
  return best
}
