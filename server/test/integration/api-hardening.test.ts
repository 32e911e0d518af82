/**
 * Hardening of the API against hostile or careless input, through the real HTTP server and a real
 * graphql-ws socket: query limits, page and filter caps, input Postgres cannot store, typed errors
 * that never echo much of the input, WebSocket frame limits, origins, security headers,
 * introspection and /healthz.
 */
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/util/logger.ts'
import { eventually, startTestApp, type GraphQLResponse, type TestApp } from '../harness/app.ts'

let t: TestApp
/** A production-like second app: NODE_ENV=production and one allowed cross-origin caller. */
let prod: TestApp
const logLines: string[] = []
const ALLOWED = 'https://ops.example.com'
const EVIL = 'https://evil.example'

beforeAll(async () => {
  t = await startTestApp({ logger: createLogger('debug', {}, (line) => logLines.push(line)) })
  prod = await startTestApp({ env: { NODE_ENV: 'production', SWITCHYARD_CORS_ORIGINS: ALLOWED } })
})
afterAll(async () => {
  await t?.stop()
  await prod?.stop()
})

function expectError(r: GraphQLResponse, code: string, field?: string): void {
  const dump = JSON.stringify(r).slice(0, 2000)
  expect(r.errors?.length, dump).toBeGreaterThan(0)
  const e = r.errors![0]!
  expect(e.extensions?.code, dump).toBe(code)
  if (field !== undefined) expect(e.extensions?.field, dump).toBe(field)
}

async function post(body: unknown, headers: Record<string, string> = {}, app = t): Promise<{ status: number; text: string; json: GraphQLResponse; headers: Headers }> {
  const res = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${app.adminToken}`, ...headers },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, text, json: JSON.parse(text) as GraphQLResponse, headers: res.headers }
}

async function count(table: string): Promise<number> {
  return (await t.app.db.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n
}

/** Runs `fn` and checks that none of the tables gained (or lost) a row. */
async function nothingSaved(fn: () => Promise<void>): Promise<void> {
  const tables = ['target', 'job_template', 'job_schedule', 'blackout_window', 'audit_event']
  const before = await Promise.all(tables.map(count))
  await fn()
  expect(await Promise.all(tables.map(count))).toEqual(before)
}

async function createTemplate(name: string): Promise<string> {
  const d = await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
    i: { name, jobType: 'noop', config: {}, visibility: 'GLOBAL' },
  })
  return d.createJobTemplate.id
}

describe('query limits (HTTP)', () => {
  it('refuses an alias flood before running anything', async () => {
    const few = Array.from({ length: 25 }, (_, i) => `a${i}: me { id }`).join(' ')
    expectError(await t.gql(`{ ${few} }`), 'GRAPHQL_VALIDATION_FAILED')
    expect((await t.gql(`{ ${few} }`)).errors![0]!.extensions).toMatchObject({ limit: 'aliases' })
    // 10,000 aliases: over the token limit, refused while parsing.
    const many = Array.from({ length: 10_000 }, (_, i) => `a${i}: me { id }`).join(' ')
    const r = await t.gql(`{ ${many} }`)
    expectError(r, 'GRAPHQL_VALIDATION_FAILED')
    expect(r.errors![0]!.extensions).toMatchObject({ limit: 'tokens' })
  })

  it('refuses a query nested 5,000 levels deep with a clean error, and keeps serving', async () => {
    const deep = `{ me ${'{ id '.repeat(5000)}${'}'.repeat(5000)} }`
    const r = await post({ query: deep })
    expectError(r.json, 'GRAPHQL_VALIDATION_FAILED')
    expect(r.text.length).toBeLessThan(2000)
    // A JSON literal nested 20,000 levels inside the query: the same.
    const literal = `mutation { createJobTemplate(input: { name: "x", jobType: "noop", config: ${'['.repeat(20_000)}${']'.repeat(20_000)} }) { id } }`
    await nothingSaved(async () => expectError((await post({ query: literal })).json, 'GRAPHQL_VALIDATION_FAILED'))
    expect((await t.ok('{ me { username } }')).me.username).toBe('admin')
  })

  it('refuses the template → schedules → template cycle beyond the depth limit', async () => {
    const id = await createTemplate('cycle')
    for (let i = 0; i < 3; i++) {
      await t.ok(`mutation($t: ID!, $n: String!) { createJobSchedule(input: { name: $n, templateId: $t, kind: CRON, cronExpression: "0 0 1 1 *" }) { id } }`, { t: id, n: `cycle-${i}` })
    }
    const cycle = (n: number) => `query($id: ID!) { jobTemplate(id: $id) { ${'schedules { template { '.repeat(n)}id${' } }'.repeat(n)} } }`
    // Within the limit it works (and the web client's own queries are far shallower)…
    expect((await t.gql(cycle(3), { id })).errors).toBeUndefined()
    // …one round more than the limit allows is refused before anything is loaded.
    const r = await t.gql(cycle(4), { id })
    expectError(r, 'GRAPHQL_VALIDATION_FAILED')
    expect(r.errors![0]!.extensions).toMatchObject({ limit: 'depth' })
  })

  it('refuses an operation whose estimated cost is too high', async () => {
    const page = (alias: string) => `${alias}: jobRunLog(runId: $id, first: 5000) { lines { seq ts level stream targetId text } }`
    // One big log page is fine (the made-up run id is refused by the resolver: it got past validation)…
    expectError(await t.gql(`query($id: ID!) { ${page('a')} }`, { id: 'bm9uZQ==' }), 'BAD_USER_INPUT', 'runId')
    // …two in one operation are estimated too costly and refused before anything runs.
    const r = await t.gql(`query($id: ID!) { ${page('a')} ${page('b')} }`, { id: 'bm9uZQ==' })
    expectError(r, 'GRAPHQL_VALIDATION_FAILED')
    expect(r.errors![0]!.extensions).toMatchObject({ limit: 'cost' })
  })
})

describe('query cost with variables (HTTP and graphql-ws)', () => {
  // 500 runs, each with the template's schedules' templates' schedules: written with a variable, this passed
  // the cost estimate as if it were one run.
  const cycle = `query($n: Int) { jobRuns(first: $n) { edges { node { id template { schedules { template { schedules { id } } } } } } } }`
  const bigPages = `query($n: Int) { a: auditEvents(first: $n) { edges { node { id } } } b: jobRuns(first: $n) { edges { node { id targets { id name } artifacts { id name } } } } }`

  it('counts page sizes given as variables over HTTP, before anything is loaded', async () => {
    for (const query of [cycle, bigPages]) {
      const r = await t.gql(query, { n: 500 })
      expectError(r, 'GRAPHQL_VALIDATION_FAILED')
      expect(r.errors![0]!.extensions).toMatchObject({ limit: 'cost' })
      expect(r.data ?? null).toBeNull()
      // The same operation with a small page is fine.
      expect((await t.gql(query, { n: 2 })).errors).toBeUndefined()
    }
    // A variable's default counts like a given value.
    const withDefault = await t.gql(cycle.replace('$n: Int', '$n: Int = 500'), {})
    expect(withDefault.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' })
    // Lists without paging count as several items at each level: the template → schedules cycle is bounded too.
    const lists = `{ jobTemplates { schedules { template { schedules { template { schedules { template { id } } } } } } } }`
    expect((await t.gql(lists)).errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' })
  })

  it('counts them over graphql-ws, for queries and subscriptions', async () => {
    const client = t.wsClient()
    const run = (query: string, variables: Record<string, unknown>) =>
      new Promise<any[]>((resolve) => {
        client.subscribe({ query, variables }, { next: (m) => resolve((m as { errors?: any[] }).errors ?? []), error: (e) => resolve(Array.isArray(e) ? e : [e]), complete: () => resolve([]) })
      })
    try {
      for (const query of [cycle, bigPages]) {
        expect((await run(query, { n: 500 }))[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' })
        expect(await run(query, { n: 2 })).toEqual([])
      }
      // A subscription's payload is estimated the same way (each event is a run with its nested lists).
      const branch = (a: string) => `${a}: template { schedules { template { schedules { template { schedules { id } } } } } }`
      const sub = `subscription { jobRunsChanged { id ${branch('a')} ${branch('b')} ${branch('c')} } }`
      expect((await run(sub, {}))[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' })
    } finally {
      await client.dispose()
    }
  })
})

describe('page sizes and filter strings', () => {
  it('refuses a page larger than 500 on every connection, naming the argument', async () => {
    expectError(await t.gql('query($n: Int) { jobRuns(first: $n) { totalCount } }', { n: 2147483647 }), 'BAD_USER_INPUT', 'first')
    // Written into the query, the same page size is already refused by the cost estimate.
    expectError(await t.gql('{ jobRuns(first: 2147483647) { totalCount } }'), 'GRAPHQL_VALIDATION_FAILED')
    expectError(await t.gql('query($n: Int) { auditEvents(first: $n) { edges { node { id } } } }', { n: 501 }), 'BAD_USER_INPUT', 'first')
    expectError(await t.gql('query($n: Int) { jobRuns(last: $n) { totalCount } }', { n: 100_000 }), 'BAD_USER_INPUT', 'last')
    expect((await t.gql('{ jobRuns(first: 500) { totalCount } }')).errors).toBeUndefined()
  })

  it('refuses a 10 MB search string and over-long filter values, naming the field', async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024)
    const r = await post({ query: 'query($s: String) { targets(search: $s) { id } }', variables: { s: huge } })
    expectError(r.json, 'BAD_USER_INPUT', 'search')
    expect(r.text.length).toBeLessThan(2000)
    expectError(await t.gql('query($s: String) { jobTemplates(search: $s) { id } }', { s: 'y'.repeat(201) }), 'BAD_USER_INPUT', 'search')
    expectError(await t.gql('query($s: String) { jobSchedules(search: $s) { id } }', { s: 'y'.repeat(201) }), 'BAD_USER_INPUT', 'search')
    expectError(await t.gql('query($f: JobRunFilter) { jobRuns(filter: $f) { totalCount } }', { f: { jobTypes: ['z'.repeat(500)] } }), 'BAD_USER_INPUT', 'filter.jobTypes.0')
    expect((await t.gql('query($s: String) { targets(search: $s) { id } }', { s: 'y'.repeat(200) })).errors).toBeUndefined()
  })
})

describe('input Postgres cannot store is a typed error naming the field, and nothing is saved', () => {
  it('NUL bytes in names, descriptions, filters and searches', async () => {
    await nothingSaved(async () => {
      expectError(await t.gql('mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }', { i: { name: 'n\u0000ul', host: '127.0.0.1' } }), 'BAD_USER_INPUT', 'input.name')
      expectError(
        await t.gql('mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }', { i: { name: 'nul', description: 'a\u0000b', jobType: 'noop', config: {} } }),
        'BAD_USER_INPUT',
        'input.description',
      )
      expectError(await t.gql('mutation($i: BlackoutWindowInput!) { createBlackoutWindow(input: $i) { id } }', { i: { name: 'b\u0000', kind: 'RECURRING', startTime: '01:00', durationMinutes: 5 } }), 'BAD_USER_INPUT', 'input.name')
    })
    expectError(await t.gql('query($s: String) { jobSchedules(search: $s) { id } }', { s: 'a\u0000' }), 'BAD_USER_INPUT', 'search')
    expectError(await t.gql('query($f: JobRunFilter) { jobRuns(filter: $f) { totalCount } }', { f: { jobTypes: ['a\u0000'] } }), 'BAD_USER_INPUT', 'filter.jobTypes.0')
    expectError(await t.gql('query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { node { id } } } }', { f: { actions: ['x\u0000'] } }), 'BAD_USER_INPUT', 'filter.actions.0')
  })

  it('lone UTF-16 surrogates', async () => {
    await nothingSaved(async () => {
      expectError(await t.gql('mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }', { i: { name: 'lone', host: '127.0.0.1', description: 'x\uD800y' } }), 'BAD_USER_INPUT', 'input.description')
      expectError(
        await t.gql('mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }', { i: { name: 'lone', jobType: 'command', config: { commands: ['echo \uDC00'] } } }),
        'BAD_USER_INPUT',
        'input.config.commands.0',
      )
    })
    expectError(await t.gql('query($s: String) { targets(search: $s) { id } }', { s: '\uD83D' }), 'BAD_USER_INPUT', 'search')
  })

  it('a long description with emoji saves, and its audit entry is cut between characters', async () => {
    const description = 'a' + '😀'.repeat(2000)
    const d = await t.ok('mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id description } }', { i: { name: 'emoji', description, jobType: 'noop', config: {} } })
    expect(d.createJobTemplate.description).toBe(description)
    const a = await t.ok(`query($id: ID!) { auditEvents(filter: { entityId: $id }) { edges { node { action changes { field newValue } } } } }`, { id: d.createJobTemplate.id })
    const change = a.auditEvents.edges[0].node.changes.find((c: { field: string }) => c.field === 'description')
    expect(change.newValue).toBe('a' + '😀'.repeat(99) + '…')
  })

  it('dates that do not exist: year 0000, 2026-02-30, and a ONCE schedule on 30 February', async () => {
    const id = await createTemplate('dates')
    await nothingSaved(async () => {
      for (const startAt of ['0000-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z']) {
        const r = await t.gql('mutation($i: BlackoutWindowInput!) { createBlackoutWindow(input: $i) { id } }', {
          i: { name: 'dates', kind: 'ABSOLUTE', startAt, endAt: '2027-01-01T00:00:00Z' },
        })
        expectError(r, 'BAD_USER_INPUT', 'i.startAt')
      }
      expectError(await t.gql('{ jobRuns(filter: { createdAfter: "2026-02-30T00:00:00Z" }) { totalCount } }'), 'GRAPHQL_VALIDATION_FAILED')
      for (const onceAt of ['2026-02-30T10:00', '0000-01-01T10:00']) {
        const r = await t.gql('mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }', { i: { name: 'once', templateId: id, kind: 'ONCE', onceAt } })
        expectError(r, 'BAD_USER_INPUT', 'input.onceAt')
      }
    })
    // A real leap day is fine.
    const ok = await t.gql('mutation($i: BlackoutWindowInput!) { createBlackoutWindow(input: $i) { startAt } }', {
      i: { name: 'leap', kind: 'ABSOLUTE', startAt: '2028-02-29T00:00:00Z', endAt: '2028-03-01T00:00:00Z' },
    })
    expect(ok.data?.createBlackoutWindow.startAt).toBe('2028-02-29T00:00:00.000Z')
  })

  it('JSON nested 20,000 levels deep (in variables) is refused without overflowing the stack', async () => {
    // Written by hand: JSON.stringify itself recurses.
    const deep = '{"a":'.repeat(20_000) + '"leaf"' + '}'.repeat(20_000)
    const raw = async (query: string, input: string) => {
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}` },
        body: `{"query":${JSON.stringify(query)},"variables":{"i":${input}}}`,
      })
      const text = await res.text()
      expect(text.length).toBeLessThan(2000)
      return JSON.parse(text) as GraphQLResponse
    }
    await nothingSaved(async () => {
      expectError(await raw('mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }', `{"name":"deep","jobType":"noop","config":${deep}}`), 'BAD_USER_INPUT', 'i.config')
      expectError(await raw('mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }', `{"name":"deep","host":"127.0.0.1","attributes":${deep}}`), 'BAD_USER_INPUT', 'i.attributes')
      expectError(await raw('mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }', `{"name":"deep","jobType":"noop","config":{},"description":${deep}}`), 'BAD_USER_INPUT', 'i.description')
    })
  })
})

describe('every error has a code and echoes at most a short excerpt', () => {
  const MEGABYTE = 'q'.repeat(1024 * 1024)

  it('variable type errors and missing variables', async () => {
    logLines.length = 0
    const r = await post({ query: 'query($n: Int!) { jobRuns(first: $n) { totalCount } }', variables: { n: MEGABYTE } })
    expectError(r.json, 'BAD_USER_INPUT', 'n')
    expect(r.text.length).toBeLessThan(2000)
    expect(r.text).not.toContain('q'.repeat(101))
    const missing = await t.gql('query($n: Int!) { jobRuns(first: $n) { totalCount } }', {})
    expectError(missing, 'BAD_USER_INPUT', 'n')
    const nested = await post({ query: 'mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }', variables: { i: { name: 'x', host: 'h', port: MEGABYTE } } })
    expectError(nested.json, 'BAD_USER_INPUT', 'i.port')
    expect(nested.text.length).toBeLessThan(2000)
    // Nor does the server's debug log carry the megabyte.
    expect(logLines.length).toBeGreaterThan(0)
    for (const line of logLines) expect(line).not.toContain('q'.repeat(101))
  })

  it('Relay paging errors', async () => {
    expectError(await t.gql('{ jobRuns(first: 1, before: "abc") { totalCount } }'), 'BAD_USER_INPUT')
    const r = await post({ query: 'query($c: String) { auditEvents(first: 1, after: $c) { edges { node { id } } } }', variables: { c: MEGABYTE } })
    expectError(r.json, 'BAD_USER_INPUT')
    expect(r.text.length).toBeLessThan(2000)
  })

  it('syntax and validation errors, with short echoes', async () => {
    expectError(await t.gql('{ me { id '), 'GRAPHQL_PARSE_FAILED')
    const r = await post({ query: `{ me { ${'f'.repeat(100_000)} } }` })
    expectError(r.json, 'GRAPHQL_VALIDATION_FAILED')
    expect(r.text.length).toBeLessThan(2000)
    const enumValue = await post({ query: 'query($f: JobRunFilter) { jobRuns(filter: $f) { totalCount } }', variables: { f: { statuses: [MEGABYTE] } } })
    expectError(enumValue.json, 'BAD_USER_INPUT', 'f.statuses.0')
    expect(enumValue.text.length).toBeLessThan(2000)
  })
})

describe('values that used to be accepted', () => {
  it('an http GET with a body, unknown command options, and oversized target attributes', async () => {
    await nothingSaved(async () => {
      const tpl = (config: unknown) => t.gql('mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }', { i: { name: 'bad', jobType: config && 'url' in (config as object) ? 'http' : 'command', config } })
      expectError(await tpl({ url: 'http://127.0.0.1/', method: 'GET', body: 'x' }), 'BAD_USER_INPUT', 'input.config.body')
      expectError(await tpl({ url: 'http://127.0.0.1/', method: 'HEAD', body: { a: 1 } }), 'BAD_USER_INPUT', 'input.config.body')
      expectError(await tpl({ commands: ['true'], continueOnErrors: true }), 'BAD_USER_INPUT', 'input.config')
      const target = (attributes: unknown) => t.gql('mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }', { i: { name: 'attrs', host: '127.0.0.1', attributes } })
      expectError(await target({ big: 'x'.repeat(1024 * 1024) }), 'BAD_USER_INPUT', 'input.attributes')
      expectError(await target(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i]))), 'BAD_USER_INPUT', 'input.attributes')
    })
    expect((await t.gql('mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }', { i: { name: 'post-body', jobType: 'http', config: { url: 'http://127.0.0.1/', method: 'POST', body: 'x' } } })).errors).toBeUndefined()
  })
})

/** Opens a raw WebSocket to the API; resolves with how it ended. */
function rawSocket(app: TestApp, origin: string | undefined, onOpen: (ws: WebSocket) => void): Promise<{ opened: boolean; closeCode?: number; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${app.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', origin ? { origin } : {})
    let opened = false
    ws.on('open', () => {
      opened = true
      onOpen(ws)
    })
    ws.on('unexpected-response', (_req, res) => resolve({ opened, status: res.statusCode }))
    ws.on('close', (code) => resolve({ opened, closeCode: code }))
    ws.on('error', () => {})
  })
}

describe('WebSocket', () => {
  it('closes a socket that sends an oversize frame before connection_init (1009), and keeps serving', async () => {
    const r = await rawSocket(t, undefined, (ws) => ws.send(JSON.stringify({ type: 'connection_init', payload: { junk: 'j'.repeat(2 * 1024 * 1024) } })))
    expect(r).toMatchObject({ opened: true, closeCode: 1009 })
    expect((await t.ok('{ me { username } }')).me.username).toBe('admin')
    const health = await fetch(`${t.url}/healthz`)
    expect(health.status).toBe(200)
  })

  it('closes a socket that never sends connection_init', async () => {
    const quick = await startTestApp({ db: t.db, roles: 'api', env: { SWITCHYARD_WS_CONNECTION_INIT_TIMEOUT_SECONDS: '0.2' } })
    try {
      expect(await rawSocket(quick, undefined, () => {})).toMatchObject({ opened: true, closeCode: 4408 })
    } finally {
      await quick.stop()
    }
  })

  it('refuses a handshake from another origin; accepts its own origin, allowed origins and clients without one', async () => {
    expect(await rawSocket(t, EVIL, (ws) => ws.close())).toMatchObject({ opened: false })
    expect(await rawSocket(t, t.url, (ws) => ws.close())).toMatchObject({ opened: true })
    expect(await rawSocket(t, undefined, (ws) => ws.close())).toMatchObject({ opened: true })
    expect(await rawSocket(prod, ALLOWED, (ws) => ws.close())).toMatchObject({ opened: true })
    expect(await rawSocket(prod, EVIL, (ws) => ws.close())).toMatchObject({ opened: false })
  })

  it('runs at most 100 operations at once per connection (SWITCHYARD_WS_MAX_SUBSCRIPTIONS); a finished one frees its slot', async () => {
    expect(t.app.config.apiLimits.wsMaxSubscriptions).toBe(100)
    const tpl = await createTemplate('ws-slots')
    const client = t.wsClient()
    const seen = new Map<number, Set<string>>()
    const refused = new Map<number, any[]>()
    const open = (i: number) => {
      seen.set(i, new Set())
      return client.subscribe<{ jobRunsChanged: { id: string } }>(
        { query: 'subscription { jobRunsChanged { id } }' },
        { next: (m) => m.data && seen.get(i)!.add(m.data.jobRunsChanged.id), error: (e) => refused.set(i, Array.isArray(e) ? e : [e]), complete: () => {} },
      )
    }
    /** Triggers runs until every subscription in `which` has seen one (they are live). */
    const allLive = (which: number[]) =>
      eventually(
        async () => {
          if (which.every((i) => seen.get(i)!.size > 0)) return true
          await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })
          return false
        },
        { intervalMs: 300, what: 'the subscriptions to deliver' },
      )
    try {
      // 101 sent at once on one connection: exactly the 101st is refused, with a typed error (the
      // earlier ones must not be pushed over by those arriving while they are checked).
      const stop = Array.from({ length: 101 }, (_, i) => open(i))
      const hundred = [...Array(100).keys()]
      await eventually(async () => refused.has(100), { intervalMs: 50, what: 'the 101st to be refused' })
      expect(refused.get(100)![0]).toMatchObject({ message: 'at most 100 operations at once per connection', extensions: { code: 'BAD_USER_INPUT' } })
      await allLive(hundred)
      expect([...refused.keys()]).toEqual([100])
      // Ending one frees a slot: the next one is accepted and live.
      stop[0]!()
      open(101)
      await allLive([101, ...hundred.slice(1)])
      expect([...refused.keys()]).toEqual([100])
    } finally {
      await client.dispose()
    }
  }, 120_000)

  it('applies the same query limits and error codes to graphql-ws operations', async () => {
    const client = t.wsClient()
    const run = (query: string) =>
      new Promise<any[]>((resolve) => {
        client.subscribe({ query }, { next: (m) => resolve((m as { errors?: any[] }).errors ?? []), error: (e) => resolve(Array.isArray(e) ? e : [e]), complete: () => resolve([]) })
      })
    const aliases = await run(`{ ${Array.from({ length: 25 }, (_, i) => `a${i}: me { id }`).join(' ')} }`)
    expect(aliases[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'aliases' })
    const deep = await run(`{ me ${'{ id '.repeat(5000)}${'}'.repeat(5000)} }`)
    expect(deep[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'nesting' })
    const parseError = await run('{ me { id ')
    expect(parseError[0]?.extensions).toMatchObject({ code: 'GRAPHQL_PARSE_FAILED' })
    expect(await run('{ me { username } }')).toEqual([])
  })
})

describe('browsers: CORS, security headers, GraphiQL and introspection', () => {
  it('does not reflect an arbitrary Origin; allows only the configured ones', async () => {
    const evil = await post({ query: '{ me { id } }' }, { origin: EVIL })
    expect(evil.headers.get('access-control-allow-origin')).toBeNull()
    expect(evil.headers.get('access-control-allow-credentials')).toBeNull()
    const preflight = await fetch(`${t.url}/graphql`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } })
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
    const allowed = await fetch(`${prod.url}/graphql`, { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } })
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED)
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull()
    const notListed = await post({ query: '{ me { id } }' }, { origin: EVIL }, prod)
    expect(notListed.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('sends CSP, frame, nosniff and referrer headers on the API, the UI and /healthz', async () => {
    const responses = [await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }), await fetch(`${t.url}/`), await fetch(`${t.url}/healthz`)]
    for (const res of responses) {
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    }
    expect(responses[0]!.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(responses[1]!.headers.get('content-security-policy')).toContain("script-src 'self'")
  })

  it('serves GraphiQL outside production only (or when SWITCHYARD_GRAPHIQL says so)', async () => {
    const page = (app: TestApp) => fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } }).then(async (r) => ({ status: r.status, text: await r.text() }))
    expect((await page(t)).text).toContain('GraphiQL')
    const p = await page(prod)
    expect(p.text).not.toContain('GraphiQL')
  })

  it('answers introspection only to signed-in callers', async () => {
    const q = '{ __schema { queryType { name } } }'
    expectError(await t.gql(q, {}, null), 'UNAUTHENTICATED')
    expectError(await t.gql('{ __type(name: "Query") { name } }', {}, null), 'UNAUTHENTICATED')
    expect((await t.ok(q)).__schema.queryType.name).toBe('Query')
    // __typename is not introspection.
    expect((await t.gql('{ __typename }', {}, null)).data).toEqual({ __typename: 'Query' })
  })

  it('/healthz tells anonymous callers only that it is up', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' })
    const signedIn = await (await fetch(`${t.url}/healthz`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json()
    expect(signedIn).toMatchObject({ status: 'ok', workerId: t.app.workerId })
    expect(signedIn.roles).toContain('api')
  })
})
