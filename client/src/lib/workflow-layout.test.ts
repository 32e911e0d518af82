import { describe, expect, it } from 'vitest'
import { edgePath, layoutGraph, NODE_H, NODE_W } from './workflow-layout'

const overlaps = (a: { x: number; y: number }, b: { x: number; y: number }) => Math.abs(a.x - b.x) < NODE_W && Math.abs(a.y - b.y) < NODE_H

describe('layoutGraph', () => {
  it('puts each node one layer below its deepest parent', () => {
    const l = layoutGraph(['build', 'approve', 'a', 'b', 'end'], [
      { from: 'build', to: 'approve' },
      { from: 'approve', to: 'a' },
      { from: 'approve', to: 'b' },
      { from: 'a', to: 'end' },
      { from: 'build', to: 'end' },
    ])
    expect(Object.fromEntries([...l.nodes].map(([k, p]) => [k, p.layer]))).toEqual({ build: 0, approve: 1, a: 2, b: 2, end: 3 })
    const placed = [...l.nodes.values()]
    for (const p of placed) for (const q of placed) if (p !== q) expect(overlaps(p, q)).toBe(false)
    for (const p of placed) {
      expect(p.x + NODE_W).toBeLessThanOrEqual(l.width)
      expect(p.y + NODE_H).toBeLessThanOrEqual(l.height)
    }
  })

  it('orders a layer by its parents, keeps unconnected nodes, and survives cycles and unknown keys', () => {
    const l = layoutGraph(['r1', 'r2', 'c2', 'c1', 'lonely'], [
      { from: 'r1', to: 'c1' },
      { from: 'r2', to: 'c2' },
      { from: 'c1', to: 'r1' }, // a cycle while editing
      { from: 'ghost', to: 'c2' },
    ])
    expect(l.nodes.size).toBe(5)
    for (const p of l.nodes.values()) expect(p.layer).toBeLessThan(5)
    // Without the cycle: c1 under r1 and c2 under r2, so the edges do not cross.
    const plain = layoutGraph(['r1', 'r2', 'c2', 'c1'], [{ from: 'r1', to: 'c1' }, { from: 'r2', to: 'c2' }])
    expect(plain.nodes.get('c1')!.x).toBeLessThan(plain.nodes.get('c2')!.x)
    expect(Number.isFinite(l.height)).toBe(true)
  })

  it('draws an edge from the bottom of one node to the top of the next', () => {
    const l = layoutGraph(['a', 'b'], [{ from: 'a', to: 'b' }])
    const d = edgePath(l.nodes.get('a')!, l.nodes.get('b')!)
    expect(d.startsWith(`M ${l.nodes.get('a')!.x + NODE_W / 2} ${l.nodes.get('a')!.y + NODE_H}`)).toBe(true)
  })

  it('gives an empty graph a size', () => {
    const l = layoutGraph([], [])
    expect(l.width).toBeGreaterThan(0)
    expect(l.height).toBeGreaterThan(0)
  })
})
