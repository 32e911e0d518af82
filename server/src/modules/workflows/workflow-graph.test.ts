import { describe, expect, it } from 'vitest'
import { ExpressionError, referencesOf, resolveValue, type ResolveContext } from './expressions.ts'
import { findCycle, graphProblems, type EdgeInput, type NodeInput } from './workflow-graph.ts'

const T = '00000000-0000-4000-8000-000000000001'
const n = (key: string, parameters: Record<string, string | number | boolean | null> = {}): NodeInput => ({ key, kind: 'TEMPLATE', templateId: T, parameters, joinPolicy: 'ALL_SUCCEEDED' })
const e = (from: string, to: string): EdgeInput => ({ from, to, kind: 'ON_SUCCESS' })

describe('findCycle', () => {
  const children = (edges: EdgeInput[]) => {
    const m = new Map<string, Array<{ to: string; edge: number }>>()
    edges.forEach((x, i) => m.set(x.from, [...(m.get(x.from) ?? []), { to: x.to, edge: i }]))
    return m
  }
  it('finds the path and the closing edge', () => {
    expect(findCycle(['a', 'b', 'c', 'd'], children([e('a', 'b'), e('b', 'c'), e('c', 'd'), e('d', 'b')]))).toEqual({ path: ['b', 'c', 'd', 'b'], edge: 3 })
  })
  it('accepts a diamond (shared descendants are not cycles) and a 10,000-node chain', () => {
    expect(findCycle(['a', 'b', 'c', 'd'], children([e('a', 'b'), e('a', 'c'), e('b', 'd'), e('c', 'd')]))).toBeNull()
    const keys = Array.from({ length: 10_000 }, (_, i) => `n${i}`)
    expect(findCycle(keys, children(keys.slice(1).map((k, i) => e(`n${i}`, k))))).toBeNull()
  })
})

describe('graphProblems', () => {
  it('only upstream nodes may be referenced', () => {
    const nodes = [n('a'), n('b', { x: '{{ nodes.a.result.y }}' }), n('c', { x: '{{ nodes.b.status }}' }), n('d', { x: '{{ nodes.c.status }}' })]
    const problems = graphProblems(nodes, [e('a', 'b'), e('b', 'c'), e('a', 'd')], new Set())
    expect(problems).toEqual([{ field: 'input.nodes.3.parameters.x', message: expect.stringContaining('node "c" is not upstream of "d"') }])
  })
})

describe('expressions', () => {
  const ctx: ResolveContext = {
    params: { site: 'ams', n: 3, key: 'k' },
    secretParams: new Set(['key']),
    nodes: new Map([['scan', { status: 'SUCCEEDED', result: { hosts: ['h1', 'h2'], meta: { count: 2 } } }]]),
  }
  it('keeps the type of a whole-value reference and interpolates text', () => {
    expect(resolveValue('{{ params.n }}', ctx)).toEqual({ value: 3, secret: false })
    expect(resolveValue('{{nodes.scan.result.meta}}', ctx)).toEqual({ value: { count: 2 }, secret: false })
    expect(resolveValue('{{ params.site }}-{{ nodes.scan.result.hosts.1 }} {{ nodes.scan.status }}', ctx)).toEqual({ value: 'ams-h2 SUCCEEDED', secret: false })
    expect(resolveValue('{{ params.key }}', ctx)).toEqual({ value: 'k', secret: true })
    expect(resolveValue(42, ctx)).toEqual({ value: 42, secret: false })
  })
  it('says why a reference cannot resolve', () => {
    expect(() => resolveValue('{{ nodes.scan.result.hosts.7 }}', ctx)).toThrow('nodes.scan.result.hosts has no "7"')
    expect(() => resolveValue('{{ nodes.other.status }}', ctx)).toThrow('no node "other"')
    expect(() => resolveValue('{{ params.nope }}', ctx)).toThrow('no value for parameter "nope"')
    expect(() => referencesOf('{{ target.name }}')).toThrow(ExpressionError)
  })
  it('reads step outputs; a reference reaching a SECRET one is secret; dotted target names resolve', () => {
    const out: ResolveContext = {
      ...ctx,
      nodes: new Map([
        ['a', { status: 'SUCCEEDED', result: null, outputs: { host: 'db1', tok: 'pw', meta: { n: 1 } }, secretOutputs: { tok: 'pw' } }],
        ['m', { status: 'SUCCEEDED', result: null, outputs: { 'sw1.example.net': { v: '1', k: 'x' } }, secretOutputs: { 'sw1.example.net': { k: 'x' } } }],
        ['none', { status: 'FAILED', result: null, outputs: null }],
      ]),
    }
    expect(resolveValue('{{ nodes.a.outputs.host }}', out)).toEqual({ value: 'db1', secret: false })
    expect(resolveValue('{{ nodes.a.outputs.meta.n }}', out)).toEqual({ value: 1, secret: false })
    expect(resolveValue('{{ nodes.a.outputs.tok }}', out)).toEqual({ value: 'pw', secret: true })
    expect(resolveValue('{{ nodes.a.outputs }}', out).secret).toBe(true)
    expect(resolveValue('{{ nodes.m.outputs.sw1.example.net.v }}', out)).toEqual({ value: '1', secret: false })
    expect(resolveValue('{{ nodes.m.outputs.sw1.example.net.k }}', out)).toEqual({ value: 'x', secret: true })
    expect(() => resolveValue('{{ nodes.a.outputs.nope }}', out)).toThrow('nodes.a.outputs has no "nope"')
    expect(() => resolveValue('{{ nodes.none.outputs.x }}', out)).toThrow('node "none" has no outputs')
    expect(() => referencesOf('{{ nodes.a.status.x }}')).toThrow('a status has no fields')
  })
})
