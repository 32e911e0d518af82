/**
 * The default query limits must let every operation the web client sends through, with room to
 * spare: they are meant to stop abuse, not the product's own UI.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { buildSchema, parse, validate as graphqlValidate, visit, Kind, type DocumentNode, type GraphQLError } from 'graphql'
import { envelop, useSchema, type Plugin } from 'graphql-yoga'
import { describe, expect, it } from 'vitest'
import { loadConfig, REPO_ROOT } from '../config.ts'
import { isIntrospection, maxNesting, queryLimitPlugins, type QueryLimits } from './limits.ts'
import { operationCost } from './operation-cost.ts'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './argument-guard.ts'
import { schema } from './schema.ts'

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name)
    if (statSync(p).isDirectory()) return name === 'generated' ? [] : sourceFiles(p)
    return /\.tsx?$/.test(name) && !name.endsWith('.test.ts') ? [p] : []
  })
}

/** Every `graphql(\`…\`)` document in client/src, each operation with the fragments it spreads. */
function clientOperations(): Array<{ name: string; text: string }> {
  const docs = sourceFiles(path.join(REPO_ROOT, 'client', 'src')).flatMap((f) =>
    [...readFileSync(f, 'utf8').matchAll(/graphql\(\s*`([\s\S]*?)`/g)].map((m) => m[1]!),
  )
  const fragments = new Map<string, string>()
  const operations: string[] = []
  for (const text of docs) {
    const def = parse(text).definitions[0]!
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, text)
    else operations.push(text)
  }
  return operations.map((text) => {
    const needed = new Set<string>()
    const queue = [text]
    while (queue.length) {
      for (const m of queue.pop()!.matchAll(/\.\.\.\s*([A-Za-z_]\w*)/g)) {
        if (!needed.has(m[1]!) && fragments.has(m[1]!)) {
          needed.add(m[1]!)
          queue.push(fragments.get(m[1]!)!)
        }
      }
    }
    const op = parse(text).definitions[0] as { name?: { value: string } }
    return { name: op.name?.value ?? '(anonymous)', text: [text, ...[...needed].map((n) => fragments.get(n)!)].join('\n') }
  })
}

/** graphql-js as the engine (first, so the limit plugins can replace its parser). */
const engine: Plugin = {
  onParse: ({ setParseFn }) => setParseFn(parse),
  onValidate: ({ setValidationFn }) => setValidationFn(graphqlValidate),
}

function check(limits: QueryLimits, text: string) {
  const { parse: p, validate } = envelop({ plugins: [engine, useSchema(schema), ...queryLimitPlugins(limits)] })()
  const doc = p(text) as DocumentNode
  return validate(schema, doc) as readonly GraphQLError[]
}

const defaults = loadConfig({}, []).apiLimits

describe('query limits', () => {
  const ops = clientOperations()

  it('finds the web client operations', () => {
    expect(ops.length).toBeGreaterThan(30)
  })

  it('let every web client operation through at half the default limits', () => {
    const half: QueryLimits = {
      maxDepth: Math.floor(defaults.maxDepth / 2) + 1,
      maxAliases: Math.floor(defaults.maxAliases / 2),
      maxDirectives: Math.floor(defaults.maxDirectives / 2),
      maxTokens: Math.floor(defaults.maxTokens / 2),
      maxCost: Math.floor(defaults.maxCost / 2),
    }
    for (const op of ops) expect(check(half, op.text).map((e) => `${op.name}: ${e.message}`)).toEqual([])
  })

  it('let every web client operation through at half the default cost with its variables, and at the default cost with the largest page', () => {
    const costs = (first: number) => ops.map((op) => ({ name: op.name, cost: operationCost(schema, parse(op.text), op.name, { first, last: first }) }))
    // The client pages by variables ($first: 50)…
    expect(costs(50).filter((c) => c.cost > defaults.maxCost / 2)).toEqual([])
    // …and the same views at the largest page anyone may ask for still pass.
    expect(costs(MAX_PAGE_SIZE).filter((c) => c.cost > defaults.maxCost)).toEqual([])
  })

  it('count page sizes given as variables or defaults, and lists without paging, in the cost', () => {
    const runs = 'query($n: Int) { jobRuns(first: $n) { edges { node { id template { schedules { template { name } } } } } } }'
    const one = operationCost(schema, parse(runs), undefined, { n: 1 })
    const page = operationCost(schema, parse(runs), undefined, { n: 100 })
    expect(page).toBeCloseTo(one * 100)
    // A connection's page above the cap is refused by the argument guard, so it costs as the cap.
    expect(operationCost(schema, parse(runs), undefined, { n: 2 ** 31 - 1 })).toBeCloseTo(one * MAX_PAGE_SIZE)
    // A variable's default counts, as does a literal.
    expect(operationCost(schema, parse(runs.replace('$n: Int', '$n: Int = 100')), undefined, {})).toBeCloseTo(page)
    expect(operationCost(schema, parse(runs.replace('query($n: Int) ', '').replace('$n', '100')), undefined, {})).toBeCloseTo(page)
    // jobRunLog's own default page (1000 lines) counts when `first` is left out.
    const log = (first: string) => operationCost(schema, parse(`{ jobRunLog(runId: "x"${first}) { lines { seq text } } }`), undefined, {})
    expect(log('')).toBeCloseTo(log(', first: 1000'))
    // Every level of a list without paging multiplies: a template → schedules cycle grows with its depth.
    const cycle = (n: number) => `{ jobTemplates { ${'schedules { template { '.repeat(n)}id${' } }'.repeat(n)} } }`
    expect(operationCost(schema, parse(cycle(3)), undefined, {})).toBeGreaterThan(defaults.maxCost)
    expect(operationCost(schema, parse(cycle(1)), undefined, {})).toBeLessThan(defaults.maxCost / 50)
  })

  it('never cost less for a larger page: every web client operation, for every size of its Int variables', () => {
    const sizes = [0, 1, 2, 5, 10, 20, 50, 100, 500, 1000, MAX_PAGE_SIZE * 4]
    const problems: string[] = []
    for (const op of ops) {
      const doc = parse(op.text)
      const intVars: string[] = []
      visit(doc, {
        VariableDefinition(d) {
          const named = d.type.kind === Kind.NON_NULL_TYPE ? d.type.type : d.type
          if (named.kind === Kind.NAMED_TYPE && named.name.value === 'Int') intVars.push(d.variable.name.value)
        },
      })
      if (!intVars.length) continue
      const cost = (v: number | null | undefined) => operationCost(schema, doc, op.name, v === undefined ? {} : Object.fromEntries(intVars.map((n) => [n, v])))
      const costs = sizes.map((k) => cost(k))
      costs.forEach((c, i) => {
        if (i && c < costs[i - 1]!) problems.push(`${op.name}: ${intVars.join(',')}=${sizes[i]} costs ${c} < ${costs[i - 1]} at ${sizes[i - 1]}`)
      })
      // Left out or null, the server loads its default page (at least DEFAULT_PAGE_SIZE): never cheaper than that page.
      if (cost(undefined) < cost(DEFAULT_PAGE_SIZE)) problems.push(`${op.name}: omitted costs ${cost(undefined)} < ${cost(DEFAULT_PAGE_SIZE)} at ${DEFAULT_PAGE_SIZE}`)
      if (cost(null) !== cost(undefined)) problems.push(`${op.name}: null costs ${cost(null)}, omitted ${cost(undefined)}`)
    }
    expect(problems).toEqual([])
  })

  it('cost a connection without a size as its default page, and multiply lists inside each item of a paged list', () => {
    // Reported: jobRuns(first: 5) cost more than a larger page given as a variable the estimate did not see.
    const runs = 'query($n: Int) { jobRuns(first: $n) { edges { node { id targets { id } } } } }'
    const at = (n: number | null | undefined) => operationCost(schema, parse(runs), undefined, n === undefined ? {} : { n })
    expect(at(5)).toBeLessThan(at(20))
    expect(at(20)).toBeLessThan(at(undefined))
    expect(at(undefined)).toBeCloseTo(at(DEFAULT_PAGE_SIZE))
    expect(at(null)).toBeCloseTo(at(DEFAULT_PAGE_SIZE))
    expect(operationCost(schema, parse('{ jobRuns { edges { node { id } } } }'), undefined, {})).toBeCloseTo(operationCost(schema, parse(`{ jobRuns(first: ${DEFAULT_PAGE_SIZE}) { edges { node { id } } } }`), undefined, {}))
    // A paged list's items are the page; a list of rows inside each item is not (no such field in the
    // real schema yet, so a small one shows it).
    const small = buildSchema(`
      interface Node { id: ID! }
      type Item implements Node { id: ID! children: [Item!]! }
      type Page { items: [Item!]! }
      type Query { items(first: Int = 10): [Item!]! page(first: Int): Page! }
    `)
    const cost = (q: string, n: number) => operationCost(small, parse(q), undefined, { n })
    const nested = 'query($n: Int) { items(first: $n) { id children { id } } }'
    const flat = 'query($n: Int) { items(first: $n) { id } }'
    // Each of the n items loads its own list of children (10 nominal): the nested list multiplies.
    expect(cost(nested, 5)).toBeGreaterThan(cost(flat, 5) * 5)
    expect(cost(nested, 5)).toBeLessThan(cost(nested, 20))
    // A page object's list is its page: counted once, by `first`.
    expect(cost('query($n: Int) { page(first: $n) { items { id } } }', 5) * 4).toBeCloseTo(cost('query($n: Int) { page(first: $n) { items { id } } }', 20))
  })

  it('estimate a chain of fragments that each spread the next twice without expanding it 2^n times', () => {
    const n = 60
    const chain = Array.from({ length: n }, (_, i) => `fragment F${i} on User { ${i + 1 < n ? `...F${i + 1} ...F${i + 1}` : 'id'} }`).join('\n')
    const cost = operationCost(schema, parse(`{ me { ...F0 } }\n${chain}`), undefined, {})
    expect(cost).toBeGreaterThan(2 ** 50)
    expect(Number.isFinite(cost)).toBe(true)
  })

  it('reject what goes beyond them, as typed validation errors', () => {
    const tight: QueryLimits = { maxDepth: 3, maxAliases: 1, maxDirectives: 1, maxTokens: 10_000, maxCost: 1_000_000 }
    const errors = check(tight, '{ jobTemplates { schedules { template { schedules { id } } } } a: me { id } b: me { id } }')
    expect(errors.map((e) => e.extensions.limit).sort()).toEqual(['aliases', 'depth'])
    for (const e of errors) expect(e.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED')
  })

  it('recognise introspection anywhere in a document, but not __typename', () => {
    expect(isIntrospection(parse('{ __schema { types { name } } }'))).toBe(true)
    expect(isIntrospection(parse('query { me { ...F } } fragment F on User { id t: __type(name: "User") { name } }'))).toBe(true)
    expect(isIntrospection(parse('{ me { __typename id } }'))).toBe(false)
  })

  it('measure bracket nesting outside strings and comments', () => {
    expect(maxNesting('{ me { id } }')).toBe(2)
    expect(maxNesting('{ a(x: [[1]], s: "{{{[[[", b: """((({{{""") # {{{{{\n { b } }')).toBe(4)
    expect(maxNesting('['.repeat(20_000), 128)).toBe(129)
  })
})
