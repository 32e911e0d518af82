/**
 * Authorisation through the GraphQL API: PRIVATE templates and their runs, the read-only viewer role,
 * who may edit templates, and secrets (credential secrets, SECRET run parameters) that must never
 * leave the server or sit in the database in clear.
 */
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Client as WsClient } from 'graphql-ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SecretBox } from '../../src/crypto/secret-box.ts'
import { collect, eventually, startTestApp, type GraphQLResponse, type TestApp } from '../harness/app.ts'

let t: TestApp
let alice: string // operator, owns the templates
let bob: string // another operator
let vic: string // viewer
beforeAll(async () => {
  t = await startTestApp()
  alice = await t.userToken('OPERATOR', 'alice')
  bob = await t.userToken('OPERATOR', 'bob')
  vic = await t.userToken('VIEWER', 'vic')
})
afterAll(async () => {
  await t?.stop()
})

function expectError(r: GraphQLResponse, code: string, field?: string): void {
  const dump = JSON.stringify(r)
  expect(r.errors?.length, dump).toBeGreaterThan(0)
  const e = r.errors![0]!
  expect(e.extensions?.code, dump).toBe(code)
  expect(e.message, dump).not.toMatch(/unexpected error/i)
  if (field !== undefined) expect(e.extensions?.field, dump).toBe(field)
  expect(r.data ? Object.values(r.data).every((v) => v === null) : true, dump).toBe(true)
}

/** Runs one operation over graphql-ws; resolves with its last payload, or the errors that ended it. */
function wsRun(client: WsClient, query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: any[] }> {
  return new Promise((resolve) => {
    let last: { data?: any; errors?: any[] } = {}
    client.subscribe(
      { query, variables },
      {
        next: (m) => {
          last = m as typeof last
          if (m.errors?.length) resolve(last)
        },
        error: (e) => resolve({ errors: Array.isArray(e) ? e : [{ message: String((e as { reason?: string }).reason ?? e) }] }),
        complete: () => resolve(last),
      },
    )
  })
}

// --- selections built from the schema, so a field added later is covered too -------------------------

interface IntrospectedType {
  name: string
  kind: string
  fields: Array<{ name: string; args: Array<{ name: string; type: { kind: string } }>; type: TypeRef }> | null
}
interface TypeRef {
  kind: string
  name: string | null
  ofType: TypeRef | null
}
let types: Map<string, IntrospectedType>
async function loadTypes(): Promise<Map<string, IntrospectedType>> {
  if (types) return types
  const ref = 'kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }'
  const d = await t.ok(`{ __schema { types { name kind fields(includeDeprecated: true) { name args { name type { kind } } type { ${ref} } } } } }`)
  types = new Map(d.__schema.types.map((x: IntrospectedType) => [x.name, x]))
  return types
}
function named(ref: TypeRef): TypeRef {
  return ref.ofType ? named(ref.ofType) : ref
}
/** Every field of `typeName` without required arguments, objects expanded `depth` levels deep. */
function selectionFor(typeName: string, depth: number): string {
  const type = types.get(typeName)!
  const parts: string[] = []
  for (const f of type.fields ?? []) {
    if (f.args.some((a) => a.type.kind === 'NON_NULL')) continue
    const n = named(f.type)
    if (n.kind === 'SCALAR' || n.kind === 'ENUM') parts.push(f.name)
    else if ((n.kind === 'OBJECT' || n.kind === 'INTERFACE') && depth > 0) {
      const inner = selectionFor(n.name!, depth - 1)
      if (inner) parts.push(`${f.name} { ${inner} }`)
    }
  }
  return parts.join(' ')
}

describe('PRIVATE templates and their runs', () => {
  let priv: { id: string }
  let glob: { id: string }
  let run: { id: string }
  const CREATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`

  beforeAll(async () => {
    priv = (await t.ok(CREATE, { i: { name: 'alice-private', jobType: 'noop', config: { message: 'private work' }, visibility: 'PRIVATE' } }, alice)).createJobTemplate
    glob = (await t.ok(CREATE, { i: { name: 'alice-global', jobType: 'noop', config: {}, visibility: 'GLOBAL' } }, alice)).createJobTemplate
    run = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: priv.id }, alice)).triggerJobRun
    await eventually(async () => (await t.ok(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: run.id }, alice)).jobRun.status === 'SUCCEEDED', { what: 'private run to finish' })
  })

  it('are invisible to others in lists and by id (NOT_FOUND, not FORBIDDEN)', async () => {
    const names = async (token: string, args = '') => (await t.ok(`{ jobTemplates${args} { name } }`, {}, token)).jobTemplates.map((x: { name: string }) => x.name)
    expect(await names(alice)).toEqual(['alice-global', 'alice-private'])
    // Admins see everything (test/integration/visibility.test.ts).
    for (const token of [bob, vic]) {
      expect(await names(token)).toEqual(['alice-global'])
      expect(await names(token, '(search: "private")')).toEqual([])
      expect(await names(token, '(jobTypes: ["noop"])')).toEqual(['alice-global'])
      expectError(await t.gql(`query($id: ID!) { jobTemplate(id: $id) { id name } }`, { id: priv.id }, token), 'NOT_FOUND', 'id')
    }
    // The answer for someone else's private template is exactly the answer for a template that does not exist.
    const missing = Buffer.from('JobTemplate:00000000-0000-4000-8000-000000000000').toString('base64')
    const a = await t.gql(`query($id: ID!) { jobTemplate(id: $id) { id } }`, { id: priv.id }, bob)
    const b = await t.gql(`query($id: ID!) { jobTemplate(id: $id) { id } }`, { id: missing }, bob)
    expect(a).toEqual(b)
  })

  it('cannot be triggered, edited or deleted by others', async () => {
    const before = (await t.app.db.pool.query(`SELECT count(*)::int AS n FROM job_run`)).rows[0].n
    for (const token of [bob]) {
      expectError(await t.gql(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: priv.id }, token), 'NOT_FOUND', 'templateId')
      expectError(await t.gql(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { visibility: GLOBAL }) { id } }`, { id: priv.id }, token), 'NOT_FOUND', 'id')
      expectError(await t.gql(`mutation($id: ID!) { deleteJobTemplate(id: $id) }`, { id: priv.id }, token), 'NOT_FOUND', 'id')
    }
    expect((await t.app.db.pool.query(`SELECT count(*)::int AS n FROM job_run`)).rows[0].n).toBe(before)
    const row = await t.app.db.pool.query(`SELECT visibility FROM job_template WHERE name = 'alice-private'`)
    expect(row.rows).toEqual([{ visibility: 'PRIVATE' }])
  })

  it('their runs are invisible to others in jobRuns, jobRun, jobRunLog and subscriptions', async () => {
    const mine = await t.ok(`{ jobRuns { totalCount edges { node { id } } } }`, {}, alice)
    expect(mine.jobRuns.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(run.id)
    const log = await t.ok(`query($id: ID!) { jobRunLog(runId: $id) { lines { text } } }`, { id: run.id }, alice)
    expect(log.jobRunLog.lines.map((l: { text: string }) => l.text)).toContain('private work')

    // Admins see everything (test/integration/visibility.test.ts).
    for (const token of [bob, vic]) {
      const list = await t.ok(`query($f: JobRunFilter) { jobRuns(filter: $f) { totalCount edges { node { id } } } }`, {}, token)
      expect(list.jobRuns.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(run.id)
      expect(list.jobRuns.totalCount).toBe(list.jobRuns.edges.length)
      const filtered = await t.ok(`query($f: JobRunFilter) { jobRuns(filter: $f) { totalCount } }`, { f: { templateIds: [priv.id] } }, token)
      expect(filtered.jobRuns.totalCount).toBe(0)
      expectError(await t.gql(`query($id: ID!) { jobRun(id: $id) { id templateName parameters } }`, { id: run.id }, token), 'NOT_FOUND', 'id')
      expectError(await t.gql(`query($id: ID!) { jobRunLog(runId: $id) { lines { text } } }`, { id: run.id }, token), 'NOT_FOUND')
      const ws = t.wsClient(token)
      const upd = await wsRun(ws, `subscription($id: ID!) { jobRunUpdated(runId: $id) { id status } }`, { id: run.id })
      expect(upd.errors?.[0]?.extensions?.code, JSON.stringify(upd)).toBe('NOT_FOUND')
      const logs = await wsRun(ws, `subscription($id: ID!) { jobRunLogAppended(runId: $id) { lines { text } } }`, { id: run.id })
      expect(logs.errors?.[0]?.extensions?.code, JSON.stringify(logs)).toBe('NOT_FOUND')
      expect(JSON.stringify(logs)).not.toContain('private work')
      expectError(await t.gql(`mutation($id: ID!) { watchJobRun(id: $id) { id } }`, { id: run.id }, token), 'NOT_FOUND', 'id')
    }
    for (const token of [bob]) {
      expectError(await t.gql(`mutation($id: ID!) { retryJobRun(id: $id) { id } }`, { id: run.id }, token), 'NOT_FOUND', 'id')
      expectError(await t.gql(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: run.id }, token), 'NOT_FOUND', 'id')
      expectError(await t.gql(`mutation($id: ID!) { pinJobRun(id: $id, pinned: true) { id } }`, { id: run.id }, token), 'NOT_FOUND', 'id')
    }
  })

  it('jobRunsChanged does not deliver private runs to others', async () => {
    const items: Array<{ id: string; templateName: string }> = []
    const dispose = t.wsClient(bob).subscribe<{ jobRunsChanged: { id: string; templateName: string } }>(
      { query: `subscription { jobRunsChanged { id templateName } }` },
      { next: (m) => m.data && items.push(m.data.jobRunsChanged), error: () => {}, complete: () => {} },
    )
    const trigger = async (id: string) => (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id }, alice)).triggerJobRun.id as string
    try {
      // Wait until the subscription is live: bob sees a GLOBAL run.
      const warm = new Set<string>()
      await eventually(
        async () => {
          if (items.some((i) => warm.has(i.id))) return true
          warm.add(await trigger(glob.id))
          return false
        },
        { intervalMs: 200, what: 'jobRunsChanged to deliver a GLOBAL run' },
      )
      // Then a private run followed by a global one: the global one arrives, the private one never does.
      const p = await trigger(priv.id)
      const g = await trigger(glob.id)
      await eventually(async () => items.some((i) => i.id === g), { what: 'the second GLOBAL run' })
      expect(items.map((i) => i.id)).not.toContain(p)
      expect(items.filter((i) => i.templateName === 'alice-private')).toEqual([])
    } finally {
      dispose()
    }
  })

  it('workflowRunsChanged does not deliver private workflow runs to others (pendingApprovalsChanged: workflow-feeds.test.ts)', async () => {
    const tpl = (await t.ok(CREATE, { i: { name: 'wf-step', jobType: 'noop', config: {}, visibility: 'GLOBAL' } }, alice)).createJobTemplate
    const wf = async (name: string, visibility: string) => (await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name, visibility, nodes: [{ key: 'a', templateId: tpl.id }] } }, alice)).createWorkflow.id as string
    const [globWf, privWf] = [await wf('wf-global', 'GLOBAL'), await wf('wf-private', 'PRIVATE')]
    const runWf = async (id: string) => (await t.ok(`mutation($id: ID!) { triggerWorkflowRun(workflowId: $id) { id } }`, { id }, alice)).triggerWorkflowRun.id as string
    const items: Array<{ id: string; workflowName: string }> = []
    const dispose = t.wsClient(bob).subscribe<{ workflowRunsChanged: { id: string; workflowName: string } }>(
      { query: `subscription { workflowRunsChanged { id workflowName } }` },
      { next: (m) => m.data && items.push(m.data.workflowRunsChanged), error: () => {}, complete: () => {} },
    )
    try {
      const warm = new Set<string>()
      await eventually(
        async () => {
          if (items.some((i) => warm.has(i.id))) return true
          warm.add(await runWf(globWf))
          return false
        },
        { intervalMs: 300, what: 'workflowRunsChanged to deliver a GLOBAL workflow run' },
      )
      const p = await runWf(privWf)
      const g = await runWf(globWf)
      await eventually(async () => items.some((i) => i.id === g), { what: 'the second GLOBAL workflow run' })
      expect(items.map((i) => i.id)).not.toContain(p)
      expect(items.filter((i) => i.workflowName === 'wf-private')).toEqual([])
    } finally {
      dispose()
    }
  })

  // A GLOBAL run stays visible after its template became PRIVATE, but the template behind it must not.
  it('a run does not reveal a template that has since become PRIVATE', async () => {
    const tpl = (await t.ok(CREATE, { i: { name: 'soon-private', jobType: 'noop', config: { message: 'internal detail' }, visibility: 'GLOBAL' } }, alice)).createJobTemplate
    const r = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl.id }, alice)).triggerJobRun
    await t.ok(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { visibility: PRIVATE }) { id } }`, { id: tpl.id }, alice)
    // The run itself stays visible (it was GLOBAL when it ran); the template behind it must not be.
    const seen = await t.gql(`query($id: ID!) { jobRun(id: $id) { id template { id name config } } }`, { id: r.id }, bob)
    expect(JSON.stringify(seen)).not.toContain('internal detail')
    expect(seen.data?.jobRun?.template ?? null).toBeNull()
  })
})

describe('viewers', () => {
  let fx: Record<string, string>
  beforeAll(async () => {
    const cred = (await t.ok(`mutation { createCredential(input: { name: "v-cred", kind: PASSWORD, username: "u", password: "pw" }) { id } }`)).createCredential.id
    const target = (await t.ok(`mutation($c: ID!) { createTarget(input: { name: "v-target", host: "10.9.9.9", credentialId: $c }) { id } }`, { c: cred })).createTarget.id
    const inv = (await t.ok(`mutation { createInventory(input: { name: "v-inv", tags: ["v"] }) { id } }`)).createInventory.id
    const tpl = (await t.ok(`mutation { createJobTemplate(input: { name: "v-tpl", jobType: "noop", config: {}, visibility: GLOBAL }) { id } }`)).createJobTemplate.id
    const done = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })).triggerJobRun.id
    await eventually(async () => (await t.ok(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: done })).jobRun.status === 'SUCCEEDED', { what: 'run to finish' })
    const user = (await t.ok(`mutation { createUser(input: { username: "v-subject", password: "password-123", role: OPERATOR }) { id } }`)).createUser.id
    const sch = (await t.ok(`mutation($t: ID!) { createJobSchedule(input: { name: "v-sch", templateId: $t, kind: CRON, cronExpression: "0 0 1 1 *", visibility: GLOBAL }) { id } }`, { t: tpl })).createJobSchedule.id
    const bw = (await t.ok(`mutation { createBlackoutWindow(input: { name: "v-bw", kind: RECURRING, startTime: "01:00", durationMinutes: 30 }) { id } }`)).createBlackoutWindow.id
    const src = (await t.ok(`mutation($c: ID!) { createInventorySource(input: { name: "v-src", kind: NAUTOBOT, url: "http://127.0.0.1:9/nautobot", tokenCredentialId: $c }) { id } }`, { c: cred })).createInventorySource.id
    const wf = (await t.ok(`mutation($t: ID!) { createWorkflow(input: { name: "v-wf", visibility: GLOBAL, nodes: [{ key: "a", templateId: $t }] }) { id } }`, { t: tpl })).createWorkflow.id
    const wr = (await t.ok(`mutation($id: ID!) { triggerWorkflowRun(workflowId: $id) { id } }`, { id: wf })).triggerWorkflowRun.id
    // Finished before the snapshots below: a node run still moving would look like a change.
    await eventually(async () => ['SUCCEEDED', 'FAILED'].includes((await t.ok(`query($id: ID!) { workflowRun(id: $id) { status } }`, { id: wr })).workflowRun.status), { what: 'the workflow run to finish' })
    // Well-formed, never issued: a viewer is refused before the node run is looked up.
    const nodeRun = Buffer.from('WorkflowNodeRun:00000000-0000-4000-8000-000000000001').toString('base64')
    const nch = (await t.ok(`mutation($c: ID!) { createNotificationChannel(input: { name: "v-nch", url: "http://127.0.0.1:9/hooks/x", secretCredentialId: $c }) { id } }`, { c: cred })).createNotificationChannel.id
    const nrule = (await t.ok(`mutation($c: ID!) { createNotificationRule(input: { name: "v-nrule", events: [RUN_FAILED], channelIds: [$c] }) { id } }`, { c: nch })).createNotificationRule.id
    const tpl2 = (await t.ok(`mutation { createJobTemplate(input: { name: "v-tpl2", jobType: "noop", config: {}, visibility: GLOBAL }) { id } }`)).createJobTemplate.id
    const dep = (await t.ok(`mutation($a: ID!, $b: ID!) { createTemplateDependency(input: { upstreamTemplateId: $a, downstreamTemplateId: $b, onStatuses: [FAILED] }) { id } }`, { a: tpl, b: tpl2 })).createTemplateDependency.id
    const hook = (await t.ok(`mutation($t: ID!) { createWebhookEndpoint(input: { name: "v-hook", templateId: $t }) { endpoint { id } } }`, { t: tpl })).createWebhookEndpoint.endpoint.id
    const trk = (await t.ok(`mutation($c: ID!) { createTicketTracker(input: { name: "v-trk", kind: WEBHOOK, url: "http://127.0.0.1:9/tracker/x", credentialId: $c }) { id } }`, { c: cred })).createTicketTracker.id
    const trule = (await t.ok(`mutation($k: ID!) { createTicketRule(input: { name: "v-trule", trackerId: $k }) { id } }`, { k: trk })).createTicketRule.id
    const ticket = Buffer.from('Ticket:00000000-0000-4000-8000-000000000001').toString('base64')
    fx = { cred, target, inv, tpl, tpl2, dep, hook, run: done, user, sch, bw, src, wf, wr, nodeRun, nch, nrule, trk, trule, ticket }
  })

  it('can read everything visible', async () => {
    const d = await t.ok(
      `query($run: ID!, $tpl: ID!, $cred: ID!, $target: ID!, $inv: ID!) {
        credentials { name } credential(id: $cred) { name } targets { name } target(id: $target) { name credential { name } }
        inventories { name } inventory(id: $inv) { name } jobTemplates { name } jobTemplate(id: $tpl) { name } jobTypes { type }
        jobRuns { totalCount } jobRun(id: $run) { status } jobRunLog(runId: $run) { lines { text } } me { role apiTokens { id } } apiTokens { id }
      }`,
      { run: fx.run, tpl: fx.tpl, cred: fx.cred, target: fx.target, inv: fx.inv },
      vic,
    )
    expect(d.credential.name).toBe('v-cred')
    expect(d.target).toEqual({ name: 'v-target', credential: { name: 'v-cred' } })
    expect(d.inventory.name).toBe('v-inv')
    expect(d.jobTemplate.name).toBe('v-tpl')
    expect(d.jobRun.status).toBe('SUCCEEDED')
    expect(d.jobRunLog.lines.length).toBeGreaterThan(0)
    expect(d.me.role).toBe('VIEWER')
  })

  it('get FORBIDDEN for every mutation that changes something shared, and change nothing', async () => {
    const ops: Record<string, [string, Record<string, unknown>?]> = {
      createCredential: [`mutation { createCredential(input: { name: "x", kind: PASSWORD, username: "u", password: "p" }) { id } }`],
      updateCredential: [`mutation($id: ID!) { updateCredential(id: $id, input: { name: "x" }) { id } }`, { id: fx.cred }],
      deleteCredential: [`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: fx.cred }],
      grantCredentialUse: [`mutation($id: ID!) { grantCredentialUse(credentialId: $id, role: VIEWER) { id } }`, { id: fx.cred }],
      revokeCredentialUse: [`mutation($id: ID!) { revokeCredentialUse(credentialId: $id, role: VIEWER) { id } }`, { id: fx.cred }],
      createTarget: [`mutation { createTarget(input: { name: "x", host: "10.0.0.1" }) { id } }`],
      updateTarget: [`mutation($id: ID!) { updateTarget(id: $id, input: { host: "10.6.6.6" }) { id } }`, { id: fx.target }],
      deleteTarget: [`mutation($id: ID!) { deleteTarget(id: $id) }`, { id: fx.target }],
      forgetTargetHostKey: [`mutation($id: ID!) { forgetTargetHostKey(id: $id) { id } }`, { id: fx.target }],
      createInventory: [`mutation { createInventory(input: { name: "x" }) { id } }`],
      updateInventory: [`mutation($id: ID!) { updateInventory(id: $id, input: { name: "x" }) { id } }`, { id: fx.inv }],
      deleteInventory: [`mutation($id: ID!) { deleteInventory(id: $id) }`, { id: fx.inv }],
      createJobTemplate: [`mutation { createJobTemplate(input: { name: "x", jobType: "noop", config: {}, visibility: PRIVATE }) { id } }`],
      updateJobTemplate: [`mutation($id: ID!) { updateJobTemplate(id: $id, input: { name: "x" }) { id } }`, { id: fx.tpl }],
      deleteJobTemplate: [`mutation($id: ID!) { deleteJobTemplate(id: $id) }`, { id: fx.tpl }],
      triggerJobRun: [`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: fx.tpl }],
      cancelJobRun: [`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id: fx.run }],
      pinJobRun: [`mutation($id: ID!) { pinJobRun(id: $id, pinned: true) { id } }`, { id: fx.run }],
      retryJobRun: [`mutation($id: ID!) { retryJobRun(id: $id) { id } }`, { id: fx.run }],
      syncSelectedDevices: [`mutation($id: ID!) { syncSelectedDevices(runId: $id, devices: ["r1"]) { id } }`, { id: fx.run }],
      createUser: [`mutation { createUser(input: { username: "x", password: "password-123", role: ADMIN }) { id } }`],
      updateUser: [`mutation($id: ID!) { updateUser(id: $id, input: { role: VIEWER }) { id } }`, { id: fx.user }],
      createJobSchedule: [`mutation($t: ID!) { createJobSchedule(input: { name: "x", templateId: $t, kind: CRON, cronExpression: "* * * * *" }) { id } }`, { t: fx.tpl }],
      updateJobSchedule: [`mutation($id: ID!) { updateJobSchedule(id: $id, input: { name: "x" }) { id } }`, { id: fx.sch }],
      setJobScheduleActive: [`mutation($id: ID!) { setJobScheduleActive(id: $id, active: false) { id } }`, { id: fx.sch }],
      deleteJobSchedule: [`mutation($id: ID!) { deleteJobSchedule(id: $id) }`, { id: fx.sch }],
      runJobScheduleNow: [`mutation($id: ID!) { runJobScheduleNow(id: $id) { id } }`, { id: fx.sch }],
      createBlackoutWindow: [`mutation { createBlackoutWindow(input: { name: "x", kind: RECURRING, startTime: "01:00", durationMinutes: 5 }) { id } }`],
      updateBlackoutWindow: [`mutation($id: ID!) { updateBlackoutWindow(id: $id, input: { name: "x" }) { id } }`, { id: fx.bw }],
      deleteBlackoutWindow: [`mutation($id: ID!) { deleteBlackoutWindow(id: $id) }`, { id: fx.bw }],
      createInventorySource: [`mutation($c: ID!) { createInventorySource(input: { name: "x", kind: NAUTOBOT, url: "http://127.0.0.1:9/n", tokenCredentialId: $c }) { id } }`, { c: fx.cred }],
      updateInventorySource: [`mutation($id: ID!) { updateInventorySource(id: $id, input: { url: "http://127.0.0.1:9/evil" }) { id } }`, { id: fx.src }],
      deleteInventorySource: [`mutation($id: ID!) { deleteInventorySource(id: $id) }`, { id: fx.src }],
      testInventorySource: [`mutation($id: ID!) { testInventorySource(id: $id) { ok } }`, { id: fx.src }],
      previewInventorySync: [`mutation($id: ID!) { previewInventorySync(id: $id) { __typename } }`, { id: fx.src }],
      syncInventorySource: [`mutation($id: ID!) { syncInventorySource(id: $id) { id } }`, { id: fx.src }],
      createWorkflow: [`mutation($t: ID!) { createWorkflow(input: { name: "x", nodes: [{ key: "a", templateId: $t }] }) { id } }`, { t: fx.tpl }],
      updateWorkflow: [`mutation($id: ID!) { updateWorkflow(id: $id, input: { name: "x" }) { id } }`, { id: fx.wf }],
      deleteWorkflow: [`mutation($id: ID!) { deleteWorkflow(id: $id) }`, { id: fx.wf }],
      triggerWorkflowRun: [`mutation($id: ID!) { triggerWorkflowRun(workflowId: $id) { id } }`, { id: fx.wf }],
      cancelWorkflowRun: [`mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }`, { id: fx.wr }],
      retryWorkflowRun: [`mutation($id: ID!) { retryWorkflowRun(id: $id) { id } }`, { id: fx.wr }],
      approveWorkflowNode: [`mutation($id: ID!) { approveWorkflowNode(nodeRunId: $id) { id } }`, { id: fx.nodeRun }],
      rejectWorkflowNode: [`mutation($id: ID!) { rejectWorkflowNode(nodeRunId: $id) { id } }`, { id: fx.nodeRun }],
      createNotificationChannel: [`mutation($c: ID!) { createNotificationChannel(input: { name: "x", url: "http://127.0.0.1:9/evil", secretCredentialId: $c }) { id } }`, { c: fx.cred }],
      updateNotificationChannel: [`mutation($id: ID!) { updateNotificationChannel(id: $id, input: { url: "http://127.0.0.1:9/evil" }) { id } }`, { id: fx.nch }],
      deleteNotificationChannel: [`mutation($id: ID!) { deleteNotificationChannel(id: $id) }`, { id: fx.nch }],
      createNotificationRule: [`mutation($c: ID!) { createNotificationRule(input: { name: "x", events: [RUN_FAILED], channelIds: [$c] }) { id } }`, { c: fx.nch }],
      updateNotificationRule: [`mutation($id: ID!) { updateNotificationRule(id: $id, input: { enabled: false }) { id } }`, { id: fx.nrule }],
      deleteNotificationRule: [`mutation($id: ID!) { deleteNotificationRule(id: $id) }`, { id: fx.nrule }],
      addNotificationChannelSecret: [`mutation($id: ID!, $c: ID!) { addNotificationChannelSecret(id: $id, secretCredentialId: $c) { id } }`, { id: fx.nch, c: fx.cred }],
      retireNotificationChannelSecret: [`mutation($id: ID!, $c: ID!) { retireNotificationChannelSecret(id: $id, secretCredentialId: $c) { id } }`, { id: fx.nch, c: fx.cred }],
      redeliverNotification: [`mutation($id: ID!) { redeliverNotification(id: $id) { id } }`, { id: Buffer.from('NotificationDelivery:00000000-0000-4000-8000-000000000001').toString('base64') }],
      sendTestNotification: [`mutation($id: ID!) { sendTestNotification(channelId: $id) { ok } }`, { id: fx.nch }],
      createTemplateDependency: [`mutation($a: ID!, $b: ID!) { createTemplateDependency(input: { upstreamTemplateId: $b, downstreamTemplateId: $a }) { id } }`, { a: fx.tpl, b: fx.tpl2 }],
      updateTemplateDependency: [`mutation($id: ID!) { updateTemplateDependency(id: $id, input: { enabled: false }) { id } }`, { id: fx.dep }],
      deleteTemplateDependency: [`mutation($id: ID!) { deleteTemplateDependency(id: $id) }`, { id: fx.dep }],
      createWebhookEndpoint: [`mutation($t: ID!) { createWebhookEndpoint(input: { name: "x", templateId: $t }) { token } }`, { t: fx.tpl }],
      updateWebhookEndpoint: [`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { id } }`, { id: fx.hook }],
      rotateWebhookEndpointToken: [`mutation($id: ID!) { rotateWebhookEndpointToken(id: $id) { token } }`, { id: fx.hook }],
      deleteWebhookEndpoint: [`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id: fx.hook }],
      createTicketTracker: [`mutation($c: ID!) { createTicketTracker(input: { name: "x", kind: WEBHOOK, url: "http://127.0.0.1:9/evil", credentialId: $c }) { id } }`, { c: fx.cred }],
      updateTicketTracker: [`mutation($id: ID!) { updateTicketTracker(id: $id, input: { url: "http://127.0.0.1:9/evil" }) { id } }`, { id: fx.trk }],
      deleteTicketTracker: [`mutation($id: ID!) { deleteTicketTracker(id: $id) }`, { id: fx.trk }],
      createTicketRule: [`mutation($k: ID!) { createTicketRule(input: { name: "x", trackerId: $k }) { id } }`, { k: fx.trk }],
      updateTicketRule: [`mutation($id: ID!) { updateTicketRule(id: $id, input: { enabled: false }) { id } }`, { id: fx.trule }],
      deleteTicketRule: [`mutation($id: ID!) { deleteTicketRule(id: $id) }`, { id: fx.trule }],
      createTicket: [`mutation($r: ID!, $k: ID!) { createTicket(input: { jobRunId: $r, trackerId: $k, title: "x" }) { id } }`, { r: fx.run, k: fx.trk }],
      closeTicket: [`mutation($id: ID!) { closeTicket(id: $id) { id } }`, { id: fx.ticket }],
      reopenTicket: [`mutation($id: ID!) { reopenTicket(id: $id) { id } }`, { id: fx.ticket }],
      commentTicket: [`mutation($id: ID!) { commentTicket(id: $id, body: "x") { id } }`, { id: fx.ticket }],
    }
    // Every mutation is either in the table above or acts only on the caller's own account.
    // watchJobRun/unwatchJobRun change only the caller's own watch list (of runs they may see: below).
    const own = ['login', 'logout', 'changePassword', 'createApiToken', 'revokeApiToken', 'watchJobRun', 'unwatchJobRun', 'watchWorkflowRun', 'unwatchWorkflowRun']
    const m = await t.ok(`{ __type(name: "Mutation") { fields { name } } }`)
    expect(m.__type.fields.map((f: { name: string }) => f.name).filter((n: string) => !own.includes(n)).sort()).toEqual(Object.keys(ops).sort())

    const snapshot = async () =>
      (
        await t.app.db.pool.query(`
      SELECT (SELECT json_agg(x ORDER BY id) FROM (SELECT id, name, updated_at FROM credential) x)::text
          || (SELECT count(*) FROM credential_use_grant)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, name, host, updated_at FROM target) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, name, updated_at FROM inventory) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, name, updated_at FROM job_template) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, status, pinned FROM job_run) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, role FROM app_user) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, name, active, version FROM job_schedule) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, name, updated_at FROM blackout_window) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, url, updated_at FROM inventory_source) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, name, updated_at FROM workflow) x)::text
          || (SELECT count(*) FROM workflow_run)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, url, secret_credential_id, secondary_secret_credential_id, updated_at FROM notification_channel) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, enabled, updated_at FROM notification_rule) x)::text
          || (SELECT count(*) FROM notification_delivery)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, url, updated_at FROM ticket_tracker) x)::text
          || (SELECT json_agg(x ORDER BY id) FROM (SELECT id, enabled, updated_at FROM ticket_rule) x)::text
          || (SELECT count(*) FROM ticket)::text
          || (SELECT count(*) FROM ticket_action)::text
          || (SELECT count(*) FROM pgboss.job WHERE name = 'switchyard-run')::text AS s`)
      ).rows[0].s
    const before = await snapshot()
    for (const [name, [query, variables]] of Object.entries(ops)) {
      const r = await t.gql(query, variables, vic)
      expect(r.errors?.[0]?.extensions?.code, `${name}: ${JSON.stringify(r)}`).toBe('FORBIDDEN')
    }
    expect(await snapshot()).toBe(before)
  })
})

describe("other users' API tokens", () => {
  const TOKEN_FIELDS = 'id name prefix createdAt lastUsedAt expiresAt revokedAt'
  const ME = `{ me { username } }`
  const REVOKE = `mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }`
  const responses: string[] = []
  const keep = <T extends GraphQLResponse>(r: T): T => {
    responses.push(JSON.stringify(r))
    return r
  }

  it('admins list and revoke any user\'s token (audited, naming the owner); others can neither see nor revoke it', async () => {
    // Bob's CI token, used once so it has a lastUsedAt; a GLOBAL template of his makes his User reachable to others.
    const created = (await t.ok(`mutation { createApiToken(input: { name: "bob ci", expiresInDays: 30 }) { token apiToken { id prefix } } }`, {}, bob)).createApiToken
    const secret: string = created.token
    const tokenId: string = created.apiToken.id
    expect((await t.ok(ME, {}, secret)).me.username).toBe('bob')
    const tpl = (await t.ok(`mutation { createJobTemplate(input: { name: "bob-global", jobType: "noop", config: {}, visibility: GLOBAL }) { id } }`, {}, bob)).createJobTemplate
    await t.ok(`mutation { createJobTemplate(input: { name: "alice-global-2", jobType: "noop", config: {}, visibility: GLOBAL }) { id } }`, {}, alice)
    const rawTokenId = Buffer.from(tokenId, 'base64').toString().replace(/^ApiToken:/, '')
    const tokenHash = (await t.app.db.pool.query(`SELECT token_hash FROM api_token WHERE id = $1`, [rawTokenId])).rows[0].token_hash as string
    const bobsTokens = async (token: string) => {
      const d = await t.ok(`{ users { username apiTokens { ${TOKEN_FIELDS} } } }`, {}, token)
      keep({ data: d })
      return d.users.find((u: { username: string }) => u.username === 'bob').apiTokens as Array<Record<string, unknown>>
    }

    // The admin sees Bob's API tokens (no sessions), with what identifies them and nothing secret.
    const listed = await bobsTokens(t.adminToken)
    expect(listed).toEqual([expect.objectContaining({ id: tokenId, name: 'bob ci', prefix: created.apiToken.prefix, revokedAt: null })])
    expect(listed[0]!.lastUsedAt).not.toBeNull()
    const fields = (await t.ok(`{ __type(name: "ApiToken") { fields { name } } }`)).__type.fields.map((f: { name: string }) => f.name)
    expect(fields.sort()).toEqual(TOKEN_FIELDS.split(' ').sort())

    // Bob sees his own through User.apiTokens as through Query.apiTokens.
    const own = keep(await t.gql(`{ me { apiTokens { id } } apiTokens { id } }`, {}, bob))
    expect(own.errors).toBeUndefined()
    expect(own.data!.me.apiTokens).toEqual([{ id: tokenId }])
    expect(own.data!.apiTokens).toEqual([{ id: tokenId }])

    // Anyone else: users is FORBIDDEN; reached through a template's owner, Bob's tokens are null (like
    // other things they may not see, the rest of the answer stands); revoking is NOT_FOUND; nothing changes.
    for (const token of [alice, vic]) {
      expectError(keep(await t.gql(`{ users { apiTokens { id } } }`, {}, token)), 'FORBIDDEN')
      const viaOwner = keep(await t.gql(`query($id: ID!) { jobTemplate(id: $id) { name owner { username apiTokens { ${TOKEN_FIELDS} } } } }`, { id: tpl.id }, token))
      expect(viaOwner).toEqual({ data: { jobTemplate: { name: 'bob-global', owner: { username: 'bob', apiTokens: null } } } })
      const all = keep(await t.gql(`{ jobTemplates { name owner { username apiTokens { id } } } me { username apiTokens { id } } }`, {}, token))
      expect(all.errors).toBeUndefined()
      const owners = all.data!.jobTemplates.map((x: { owner: { username: string; apiTokens: unknown } }) => x.owner)
      expect(owners.map((o: { username: string }) => o.username)).toEqual(expect.arrayContaining(['alice', 'bob']))
      for (const o of owners) expect(o.apiTokens === null, JSON.stringify(o)).toBe(o.username !== all.data!.me.username)
      expect(JSON.stringify(all)).not.toContain(tokenId)
      expectError(keep(await t.gql(REVOKE, { id: tokenId }, token)), 'NOT_FOUND')
      expect((await t.ok(ME, {}, secret)).me.username).toBe('bob')
    }
    // The rule is the service's, for any entry point: another user's list is FORBIDDEN there.
    const aliceActor = (await t.app.services.users.authenticate(alice))!
    const bobId = Buffer.from((await t.ok(`{ me { id } }`, {}, bob)).me.id, 'base64').toString().replace(/^User:/, '')
    await expect(t.app.services.users.listApiTokens(aliceActor, bobId)).rejects.toMatchObject({ code: 'FORBIDDEN' })
    expect((await t.app.db.pool.query(`SELECT revoked_at FROM api_token WHERE id = $1`, [rawTokenId])).rows[0].revoked_at).toBeNull()

    // The admin revokes it: it stops working at once, Bob's session does not, and the list shows it revoked.
    const revoked = keep(await t.gql(REVOKE, { id: tokenId }))
    expect(revoked.errors).toBeUndefined()
    expect(revoked.data!.revokeApiToken.revokedAt).not.toBeNull()
    expectError(await t.gql(ME, {}, secret), 'UNAUTHENTICATED')
    expect((await t.ok(ME, {}, bob)).me.username).toBe('bob')
    expect((await bobsTokens(t.adminToken))[0]).toMatchObject({ id: tokenId, revokedAt: revoked.data!.revokeApiToken.revokedAt })
    // Revoking again changes nothing and records nothing.
    expect((await t.ok(REVOKE, { id: tokenId })).revokeApiToken.revokedAt).toBe(revoked.data!.revokeApiToken.revokedAt)

    // One audit event: the admin acted, on Bob's token, named with its owner.
    const audit = keep(
      await t.gql(`query($f: AuditEventFilter) { auditEvents(filter: $f, first: 10) { edges { node { actorName action entityType entityId entityName changes { field } } } } }`, {
        f: { entityId: tokenId, actions: ['token.revoke'] },
      }),
    )
    expect(audit.data!.auditEvents.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { actorName: 'admin', action: 'token.revoke', entityType: 'API_TOKEN', entityId: tokenId, entityName: 'bob ci (owner: bob)', changes: [{ field: 'revokedAt' }] },
    ])

    // The token and its hash are in no answer, and not in the audit trail.
    const trail = (await t.app.db.pool.query(`SELECT coalesce(json_agg(a), '[]')::text AS s FROM audit_event a`)).rows[0].s as string
    for (const text of [...responses, trail]) {
      expect(text).not.toContain(secret)
      expect(text).not.toContain(tokenHash)
    }
    expect(responses.join('\n')).toContain('bob ci') // the answers are real
  })
})

describe('editing templates', () => {
  it('only the owner or an admin may edit or delete a template; anyone may run a GLOBAL one', async () => {
    const CREATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
    const tpl = (await t.ok(CREATE, { i: { name: 'shared', jobType: 'noop', config: {}, visibility: 'GLOBAL' } }, alice)).createJobTemplate
    expectError(await t.gql(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { name: "bobs now" }) { id } }`, { id: tpl.id }, bob), 'FORBIDDEN')
    expectError(await t.gql(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { visibility: PRIVATE }) { id } }`, { id: tpl.id }, bob), 'FORBIDDEN')
    expectError(await t.gql(`mutation($id: ID!) { deleteJobTemplate(id: $id) }`, { id: tpl.id }, bob), 'FORBIDDEN')
    expect((await t.ok(`query($id: ID!) { jobTemplate(id: $id) { name visibility } }`, { id: tpl.id }, alice)).jobTemplate).toEqual({ name: 'shared', visibility: 'GLOBAL' })

    const r = await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id triggeredBy { username } } }`, { id: tpl.id }, bob)
    expect(r.triggerJobRun.triggeredBy.username).toBe('bob')

    expect((await t.ok(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { description: "owner edit" }) { description } }`, { id: tpl.id }, alice)).updateJobTemplate.description).toBe('owner edit')
    const byAdmin = await t.ok(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { description: "admin edit" }) { description owner { username } } }`, { id: tpl.id })
    expect(byAdmin.updateJobTemplate).toEqual({ description: 'admin edit', owner: { username: 'alice' } })
    expect((await t.ok(`mutation($id: ID!) { deleteJobTemplate(id: $id) }`, { id: tpl.id })).deleteJobTemplate).toBe(tpl.id)

    const own = (await t.ok(CREATE, { i: { name: 'alice-own', jobType: 'noop', config: {} } }, alice)).createJobTemplate
    expect((await t.ok(`mutation($id: ID!) { deleteJobTemplate(id: $id) }`, { id: own.id }, alice)).deleteJobTemplate).toBe(own.id)
  })
})

describe('secrets', () => {
  const tag = crypto.randomBytes(6).toString('hex')
  const password = `pw-${tag}-Sup3rSecret`
  const passphrase = `pp-${tag}-Correct-Horse`
  let privateKey: string
  let publicKey: string
  let rsaPem: string
  let plainKey: string
  let dir: string
  const responses: string[] = []
  const record = <T extends GraphQLResponse>(r: T): T => {
    responses.push(JSON.stringify(r))
    return r
  }
  let passwordCred: string
  let keyCred: string

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-keys-'))
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'test', '-f', path.join(dir, 'id_ed25519')])
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'plain', '-f', path.join(dir, 'id_plain')])
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', passphrase, '-C', 'rsa', '-f', path.join(dir, 'id_rsa')])
    privateKey = fs.readFileSync(path.join(dir, 'id_ed25519'), 'utf8')
    publicKey = fs.readFileSync(path.join(dir, 'id_ed25519.pub'), 'utf8')
    plainKey = fs.readFileSync(path.join(dir, 'id_plain'), 'utf8')
    rsaPem = fs.readFileSync(path.join(dir, 'id_rsa'), 'utf8')
    await loadTypes()
    const CREATE = `mutation($i: CreateCredentialInput!) { createCredential(input: $i) { ${selectionFor('Credential', 2)} } }`
    passwordCred = record(await t.gql(CREATE, { i: { name: 's-password', kind: 'PASSWORD', username: 'netops', password } })).data!.createCredential.id
    const k = record(await t.gql(CREATE, { i: { name: 's-key', kind: 'PRIVATE_KEY', username: 'deploy', privateKey, passphrase } }))
    expect(k.errors).toBeUndefined()
    keyCred = k.data!.createCredential.id
    expect(k.data!.createCredential.hasPassphrase).toBe(true)
    record(await t.gql(`mutation($c: ID!) { createTarget(input: { name: "s-t1", host: "10.5.0.1", credentialId: $c }) { ${selectionFor('Target', 2)} } }`, { c: passwordCred }))
    record(await t.gql(`mutation($c: ID!) { createTarget(input: { name: "s-t2", host: "10.5.0.2", credentialId: $c }) { ${selectionFor('Target', 2)} } }`, { c: keyCred }))
  })
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  /** The secret strings, plus a line from inside each key (a partial leak counts too). */
  const secrets = () => [password, passphrase, privateKey, privateKey.split('\n')[2]!, plainKey.split('\n')[2]!, rsaPem.split('\n')[4]!]
  const expectNoSecrets = (text: string) => {
    for (const s of secrets()) expect(text.includes(s), `secret leaked: ${s.slice(0, 12)}…`).toBe(false)
  }

  it('no output type has a field that could carry a secret', async () => {
    const offending: string[] = []
    for (const type of types.values()) {
      if (type.name.startsWith('__') || !(type.kind === 'OBJECT' || type.kind === 'INTERFACE')) continue
      for (const f of type.fields ?? []) {
        if (/^(password|passwordHash|privateKey|passphrase|secret|secrets|secretParameters|tokenHash)$/i.test(f.name)) offending.push(`${type.name}.${f.name}`)
      }
    }
    expect(offending).toEqual([])
    // The inputs do take them (write-only).
    const input = types.get('CreateCredentialInput')!
    expect(input).toBeTruthy()
  })

  it('no credential or target field returns them', async () => {
    const cred = selectionFor('Credential', 3)
    const target = selectionFor('Target', 3)
    expect(cred).toMatch(/\bhasPassphrase\b/)
    expect(target).toMatch(/\bcredential \{/)
    for (const token of [t.adminToken, alice, vic]) {
      record(await t.gql(`{ credentials { ${cred} } targets { ${target} } }`, {}, token))
      record(await t.gql(`query($a: ID!, $b: ID!) { a: credential(id: $a) { ${cred} } b: credential(id: $b) { ${cred} } }`, { a: passwordCred, b: keyCred }, token))
    }
    // Updates answer with the credential too; replace the secrets and read everything again.
    record(await t.gql(`mutation($id: ID!, $p: String!) { updateCredential(id: $id, input: { password: $p }) { ${cred} } }`, { id: passwordCred, p: password + '-2' }))
    record(await t.gql(`mutation($id: ID!, $k: String!, $pp: String!) { updateCredential(id: $id, input: { privateKey: $k, passphrase: $pp }) { ${cred} } }`, { id: keyCred, k: privateKey, pp: passphrase }))
    record(await t.gql(`{ credentials { ${cred} } targets { ${target} } }`))
    for (const body of responses) expectNoSecrets(body)
    expect(responses.join('\n')).toContain('s-key') // the responses are real, not empty
  })

  it('are stored encrypted', async () => {
    const rows = await t.app.db.pool.query(`SELECT name, secret, passphrase, row_to_json(c)::text AS j FROM credential c WHERE name IN ('s-password', 's-key') ORDER BY name`)
    expect(rows.rows.map((r) => r.name)).toEqual(['s-key', 's-password'])
    const box = new SecretBox(t.app.config.secretKey!)
    for (const row of rows.rows) {
      for (const bytes of [row.secret, row.passphrase].filter(Boolean) as Buffer[]) {
        for (const s of secrets()) expect(bytes.includes(Buffer.from(s)), `${row.name} holds a secret in clear`).toBe(false)
        expect(bytes.includes(Buffer.from(s64(password)))).toBe(false)
      }
      expectNoSecrets(row.j)
    }
    // The audit trail records that they changed, never what they are.
    expectNoSecrets((await t.app.db.pool.query(`SELECT coalesce(json_agg(a), '[]')::text AS s FROM audit_event a`)).rows[0].s)
    // …and they decrypt to what was given, with the configured key.
    const byName = Object.fromEntries(rows.rows.map((r) => [r.name, r]))
    expect(box.open(byName['s-password'].secret)).toBe(password + '-2')
    expect(box.open(byName['s-key'].secret)).toBe(privateKey)
    expect(box.open(byName['s-key'].passphrase)).toBe(passphrase)
    expect(byName['s-password'].passphrase).toBeNull()
  })

  it('a private key with a wrong or missing passphrase is rejected on input.passphrase without echoing anything', async () => {
    const CREATE = `mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`
    const count = async () => (await t.app.db.pool.query(`SELECT count(*)::int AS n FROM credential`)).rows[0].n
    const before = await count()
    const wrong = 'wrong-' + passphrase
    for (const key of [privateKey, rsaPem]) {
      const r = record(await t.gql(CREATE, { i: { name: 'bad-pp', kind: 'PRIVATE_KEY', username: 'u', privateKey: key, passphrase: wrong } }))
      expectError(r, 'BAD_USER_INPUT', 'input.passphrase')
      const body = JSON.stringify(r)
      expect(body).not.toContain(wrong)
      expectNoSecrets(body)
      expect(body).not.toContain(key.split('\n')[1]!)
      const none = record(await t.gql(CREATE, { i: { name: 'no-pp', kind: 'PRIVATE_KEY', username: 'u', privateKey: key } }))
      expectError(none, 'BAD_USER_INPUT', 'input.passphrase')
      expectNoSecrets(JSON.stringify(none))
    }
    // Changing only the passphrase of the stored key is checked against that key too.
    const upd = record(await t.gql(`mutation($id: ID!, $pp: String!) { updateCredential(id: $id, input: { passphrase: $pp }) { id } }`, { id: keyCred, pp: wrong }))
    expectError(upd, 'BAD_USER_INPUT', 'input.passphrase')
    expect(JSON.stringify(upd)).not.toContain(wrong)
    // A public key or garbage is a privateKey problem, again without echoing it.
    const pub = record(await t.gql(CREATE, { i: { name: 'pub', kind: 'PRIVATE_KEY', username: 'u', privateKey: publicKey } }))
    expectError(pub, 'BAD_USER_INPUT', 'input.privateKey')
    expect(JSON.stringify(pub)).not.toContain(publicKey.split(' ')[1]!)
    expect(await count()).toBe(before)
    // The right passphrase for the PEM key works; an unencrypted key needs none.
    expect((await t.gql(CREATE, { i: { name: 'rsa-ok', kind: 'PRIVATE_KEY', username: 'u', privateKey: rsaPem, passphrase } })).errors).toBeUndefined()
    const plain = await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { hasPassphrase } }`, { i: { name: 'plain-ok', kind: 'PRIVATE_KEY', username: 'u', privateKey: plainKey } })
    expect(plain.createCredential.hasPassphrase).toBe(false)
    const stillOk = await t.gql(`query($id: ID!) { credential(id: $id) { hasPassphrase } }`, { id: keyCred })
    expect(stillOk.data!.credential.hasPassphrase).toBe(true)
    for (const body of responses) expectNoSecrets(body)
  })

  it('SECRET run parameters are masked in every response and encrypted in the database', async () => {
    const secretValue = `sk-live-${crypto.randomBytes(12).toString('hex')}`
    const tpl = (
      await t.ok(
        `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`,
        { i: { name: 'with-secret', jobType: 'noop', config: { message: 'deploying' }, visibility: 'GLOBAL', parameters: [{ name: 'apiKey', type: 'SECRET', required: true }, { name: 'region', type: 'STRING' }] } },
        alice,
      )
    ).createJobTemplate
    const seen: string[] = []
    const rec = <T,>(r: T): T => {
      seen.push(JSON.stringify(r))
      return r
    }
    const runSel = selectionFor('JobRun', 2)
    const trig = rec(await t.gql(`mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { ${runSel} } }`, { id: tpl.id, p: { apiKey: secretValue, region: 'eu-1' } }, alice))
    expect(trig.errors).toBeUndefined()
    const run = trig.data!.triggerJobRun
    expect(run.parameters).toEqual({ apiKey: '••••••', region: 'eu-1' })

    const updates = await collect<{ jobRunUpdated: { status: string } }>(
      t.wsClient(bob),
      `subscription($id: ID!) { jobRunUpdated(runId: $id) { ${runSel} } }`,
      { id: run.id },
      (items) => items.at(-1)?.jobRunUpdated.status === 'SUCCEEDED',
    )
    seen.push(JSON.stringify(updates))
    const final = rec(await t.ok(`query($id: ID!) { jobRun(id: $id) { ${runSel} } }`, { id: run.id }, bob))
    expect(final.jobRun.parameters).toEqual({ apiKey: '••••••', region: 'eu-1' })
    // A page of runs, every field one level deep (two levels deep over a whole page is past the cost limit).
    rec(await t.ok(`{ jobRuns(first: 10) { edges { node { ${selectionFor('JobRun', 1)} } } } }`, {}, vic))
    const log = rec(await t.ok(`query($id: ID!) { jobRunLog(runId: $id) { lines { text } } }`, { id: run.id }, alice))
    expect(log.jobRunLog.lines.map((l: { text: string }) => l.text)).toContain('deploying')
    // A retry keeps the value (encrypted) without showing it.
    const retry = rec(await t.ok(`mutation($id: ID!) { retryJobRun(id: $id) { id parameters } }`, { id: run.id }, alice))
    expect(retry.retryJobRun.parameters).toEqual({ apiKey: '••••••', region: 'eu-1' })
    // Invalid triggers do not echo it either.
    rec(await t.gql(`mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id } }`, { id: tpl.id, p: { apiKey: secretValue, bogus: secretValue } }, alice))
    rec(await t.gql(`mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id } }`, { id: tpl.id, p: { apiKey: 42, region: secretValue.length } }, alice))

    for (const body of seen) expect(body.includes(secretValue), body.slice(0, 300)).toBe(false)
    expect(seen.join('')).toContain(run.id)

    // Database: nowhere in clear — not the run rows, their targets, logs, queue messages or the audit trail.
    const pool = t.app.db.pool
    const dumps = await pool.query(
      `SELECT (SELECT json_agg(j)::text FROM job_run j) || (SELECT coalesce(json_agg(r)::text, '') FROM run_target r)
           || (SELECT coalesce(json_agg(l)::text, '') FROM run_log l) || (SELECT coalesce(json_agg(q)::text, '') FROM pgboss.job q)
           || (SELECT coalesce(json_agg(a)::text, '') FROM audit_event a) AS s`,
    )
    expect(dumps.rows[0].s.includes(secretValue)).toBe(false)
    const rows = await pool.query(`SELECT id, secret_parameters FROM job_run WHERE template_id = (SELECT id FROM job_template WHERE name = 'with-secret')`)
    expect(rows.rows).toHaveLength(2)
    const box = new SecretBox(t.app.config.secretKey!)
    for (const row of rows.rows) {
      const bytes = row.secret_parameters as Buffer
      expect(bytes.includes(Buffer.from(secretValue))).toBe(false)
      expect(JSON.parse(box.open(bytes))).toEqual({ apiKey: secretValue })
    }
  })
})

function s64(s: string): string {
  return Buffer.from(s).toString('base64')
}
