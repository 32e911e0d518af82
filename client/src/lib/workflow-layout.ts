/**
 * A layered drawing of a workflow graph, top to bottom: each node sits one layer below its deepest
 * parent (longest path from a root), nodes in a layer are ordered by where their parents sit (so edges
 * cross less) and centred. Pure and small on purpose: workflows have tens of nodes, not thousands, and
 * a layout library would be the console's largest dependency. An edge that closes a cycle (possible
 * while editing; the server refuses to save it) simply points upwards.
 */
export interface LayoutEdge {
  from: string
  to: string
}

export interface Placed {
  key: string
  x: number
  y: number
  layer: number
}

export interface Layout {
  nodes: Map<string, Placed>
  width: number
  height: number
}

export const NODE_W = 176
export const NODE_H = 64
const GAP_X = 28
const GAP_Y = 56
const PAD = 16

export function layoutGraph(keys: readonly string[], edges: readonly LayoutEdge[]): Layout {
  const known = new Set(keys)
  const valid = edges.filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to)
  const parents = new Map<string, string[]>(keys.map((k) => [k, []]))
  for (const e of valid) parents.get(e.to)!.push(e.from)

  // Longest path from a root; relaxing at most |keys| times bounds the work when a cycle exists.
  const layer = new Map<string, number>(keys.map((k) => [k, 0]))
  for (let round = 0; round < keys.length; round++) {
    let changed = false
    for (const e of valid) {
      const want = layer.get(e.from)! + 1
      if (want > layer.get(e.to)! && want < keys.length) {
        layer.set(e.to, want)
        changed = true
      }
    }
    if (!changed) break
  }

  const layers: string[][] = []
  for (const k of keys) (layers[layer.get(k)!] ??= []).push(k)
  const order = new Map<string, number>()
  for (const row of layers) {
    if (!row) continue
    // Barycentre of the parents' positions; ties keep the author's node order.
    const score = (k: string) => {
      const ps = parents.get(k)!.filter((p) => order.has(p))
      return ps.length ? ps.reduce((s, p) => s + order.get(p)!, 0) / ps.length : Number.POSITIVE_INFINITY
    }
    const sorted = row.map((k, i) => ({ k, i, s: score(k) })).sort((a, b) => (a.s === b.s ? a.i - b.i : a.s === Number.POSITIVE_INFINITY ? 1 : b.s === Number.POSITIVE_INFINITY ? -1 : a.s - b.s))
    row.splice(0, row.length, ...sorted.map((x) => x.k))
    row.forEach((k, i) => order.set(k, i))
  }

  const widest = Math.max(1, ...layers.map((r) => r?.length ?? 0))
  const width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X
  const nodes = new Map<string, Placed>()
  layers.forEach((row, l) => {
    if (!row) return
    const rowWidth = row.length * NODE_W + (row.length - 1) * GAP_X
    const left = (width - rowWidth) / 2
    row.forEach((k, i) => nodes.set(k, { key: k, layer: l, x: left + i * (NODE_W + GAP_X), y: PAD + l * (NODE_H + GAP_Y) }))
  })
  const height = PAD * 2 + Math.max(1, layers.length) * NODE_H + Math.max(0, layers.length - 1) * GAP_Y
  return { nodes, width, height }
}

/** An SVG path from the bottom of `from` to the top of `to` (a gentle S-curve; upwards for back edges). */
export function edgePath(from: Placed, to: Placed): string {
  const x1 = from.x + NODE_W / 2
  const y1 = from.y + NODE_H
  const x2 = to.x + NODE_W / 2
  const y2 = to.y
  const bend = Math.max(24, Math.abs(y2 - y1) / 2)
  return `M ${x1} ${y1} C ${x1} ${y1 + bend}, ${x2} ${y2 - bend}, ${x2} ${y2}`
}
