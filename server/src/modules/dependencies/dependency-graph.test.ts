import { describe, expect, it } from 'vitest'
import { cycleThrough, longestChainThrough } from './dependency-graph.ts'

const chain = (...ids: string[]) => ids.slice(1).map((to, i) => ({ from: ids[i]!, to }))

describe('dependency graph checks', () => {
  it('finds the cycle a new link closes, as a path back to its start', () => {
    expect(cycleThrough(chain('a', 'b', 'c'), { from: 'c', to: 'a' })).toEqual(['c', 'a', 'b', 'c'])
    expect(cycleThrough([], { from: 'a', to: 'a' })).toEqual(['a', 'a'])
    expect(cycleThrough(chain('a', 'b', 'c'), { from: 'a', to: 'c' })).toBeNull()
    // A diamond is not a cycle.
    expect(cycleThrough([...chain('a', 'b', 'd'), ...chain('a', 'c')], { from: 'c', to: 'd' })).toBeNull()
  })

  it('measures the longest chain through a new link', () => {
    expect(longestChainThrough([], { from: 'a', to: 'b' })).toBe(1)
    expect(longestChainThrough([...chain('x', 'y', 'a'), ...chain('b', 'c', 'd', 'e')], { from: 'a', to: 'b' })).toBe(6)
    // Branches: the longest side counts.
    expect(longestChainThrough([...chain('p', 'a'), ...chain('q', 'r', 's', 'a'), ...chain('b', 'c')], { from: 'a', to: 'b' })).toBe(5)
  })
})
