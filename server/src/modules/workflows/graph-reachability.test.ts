import { describe, expect, it } from 'vitest'
import { neverRunnableProblems } from './graph-reachability.ts'
import type { EdgeInput, NodeInput } from './workflow-graph.ts'

const T = '00000000-0000-4000-8000-000000000001'
const n = (key: string, joinPolicy: NodeInput['joinPolicy'] = 'ALL_SUCCEEDED'): NodeInput => ({ key, kind: 'TEMPLATE', templateId: T, parameters: {}, joinPolicy })
const e = (from: string, to: string, kind: EdgeInput['kind'] = 'ON_SUCCESS'): EdgeInput => ({ from, to, kind })

describe('neverRunnableProblems', () => {
  it('rejects ALL_SUCCEEDED over a success branch and a failure branch of one parent, naming the node, field and both edges', () => {
    const nodes = [n('p'), n('ok'), n('bad'), n('join'), n('after')]
    const edges = [e('p', 'ok'), e('p', 'bad', 'ON_FAILURE'), e('ok', 'join'), e('bad', 'join'), e('join', 'after')]
    expect(neverRunnableProblems(nodes, edges)).toEqual([
      {
        field: 'input.nodes.3.joinPolicy',
        message: 'node "join" can never run: join ALL_SUCCEEDED: "p" would have to succeed (p -ON_SUCCESS-> ok) and fail or time out (p -ON_FAILURE-> bad); so "after" never run either',
      },
    ])
  })

  it('accepts that convergence under ANY_SUCCEEDED and NONE_FAILED, rejects it under ALL_DONE', () => {
    const edges = [e('p', 'ok'), e('p', 'bad', 'ON_FAILURE'), e('ok', 'join'), e('bad', 'join')]
    for (const join of ['ANY_SUCCEEDED', 'NONE_FAILED'] as const) expect(neverRunnableProblems([n('p'), n('ok'), n('bad'), n('join', join)], edges)).toEqual([])
    // ALL_DONE needs both ok and bad to have run, i.e. p both succeeded and failed.
    expect(neverRunnableProblems([n('p'), n('ok'), n('bad'), n('join', 'ALL_DONE')], edges)).toEqual([{ field: 'input.nodes.3.joinPolicy', message: expect.stringContaining('"p" would have to') }])
  })

  it('rejects a NONE_FAILED node whose only edges are ON_FAILURE', () => {
    expect(neverRunnableProblems([n('a'), n('b', 'NONE_FAILED')], [e('a', 'b', 'ON_FAILURE')])).toEqual([
      { field: 'input.nodes.1.joinPolicy', message: expect.stringContaining('a -ON_FAILURE-> b is never satisfied under NONE_FAILED') },
    ])
  })

  it('accepts handlers, cleanups and diamonds, and a 200-node graph quickly', () => {
    expect(neverRunnableProblems([n('a'), n('h'), n('c'), n('d', 'ANY_SUCCEEDED')], [e('a', 'h', 'ON_FAILURE'), e('a', 'c', 'ALWAYS'), e('h', 'd', 'ALWAYS'), e('c', 'd', 'ALWAYS')])).toEqual([])
    expect(neverRunnableProblems([n('a'), n('b'), n('c'), n('d')], [e('a', 'b'), e('a', 'c'), e('b', 'd'), e('c', 'd')])).toEqual([])
    const fan = Array.from({ length: 100 }, (_, i) => `f${i}`)
    const chain = Array.from({ length: 98 }, (_, i) => `c${i}`)
    const nodes = ['root', ...fan, 'join', ...chain].map((k) => n(k))
    const edges = [...fan.map((f) => e('root', f)), ...fan.map((f) => e(f, 'join')), e('join', 'c0'), ...chain.slice(1).map((c, i) => e(chain[i]!, c))]
    const t = performance.now()
    expect(neverRunnableProblems(nodes, edges)).toEqual([])
    expect(performance.now() - t).toBeLessThan(500)
  })
})
