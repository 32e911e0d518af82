/**
 * Template dependencies ("run B after A finishes with status S") through the GraphQL API on real
 * Postgres with real runs: saving (field-named validation, cycles with their path, the chain cap, who may
 * change one), and running — only A's final outcome counts (not each retry attempt), B's run records the
 * run that triggered it and trigger DEPENDENCY, it acts as the dependency's owner re-checked when it
 * starts, B's overlap policy applies, and two worker processes start each dependent run exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeGlobalID } from '@pothos/plugin-relay'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { expectFieldError } from '../harness/run-helpers.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'

let t: TestApp

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
})
afterAll(async () => {
  await t?.stop()
})

const CREATE = `mutation($i: CreateTemplateDependencyInput!) { createTemplateDependency(input: $i) { id onStatuses enabled parameters upstream { id } downstream { id } } }`
const UPDATE = `mutation($id: ID!, $i: UpdateTemplateDependencyInput!) { updateTemplateDependency(id: $id, input: $i) { id onStatuses enabled parameters upstream { id } downstream { id } } }`
const TRIGGER = `mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`
const RUN = `query($id: ID!) { jobRun(id: $id) { id number status attempt trigger triggeredBy { username } triggeredByRun { id } parameters } }`

async function template(app: TestApp, name: string, jobType: string, config: unknown, extra: Record<string, unknown> = {}, token?: string): Promise<string> {
  return (await app.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name, jobType, config, visibility: 'GLOBAL', ...extra } }, token)).createJobTemplate.id
}

/** Global ids of the runs of a template, oldest first. */
async function runsOf(app: TestApp, templateId: string): Promise<string[]> {
  const { rows } = await app.app.db.pool.query(`SELECT id::text FROM job_run WHERE template_id = $1::uuid ORDER BY number`, [decodeGlobalID(templateId).id])
  return rows.map((r: { id: string }) => Buffer.from(`JobRun:${r.id}`).toString('base64'))
}

async function waitFinal(app: TestApp, runId: string) {
  return eventually(async () => {
    const r = (await app.ok(RUN, { id: runId })).jobRun
    return ['QUEUED', 'RUNNING'].includes(r.status) ? null : r
  }, { timeoutMs: 30_000, what: `run ${runId} to end` })
}

describe('saving dependencies', () => {
  it('validates each field, refuses cycles with their path and chains over 10 links, and saves nothing then', async () => {
    const a = await template(t, 'dep-a', 'noop', {})
    const b = await template(t, 'dep-b', 'noop', {}, { parameters: [{ name: 'site', type: 'STRING', required: true }, { name: 'pw', type: 'SECRET' }] })
    const c = await template(t, 'dep-c', 'noop', {})
    expectFieldError(await t.gql(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: 'nope' } }), 'input.downstreamTemplateId')
    expectFieldError(await t.gql(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: c, onStatuses: [] } }), 'input.onStatuses')
    // B's parameters are checked like any trigger's: required ones, unknown ones, types; no SECRET values.
    expectFieldError(await t.gql(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b } }), 'input.parameters.site')
    expectFieldError(await t.gql(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b, parameters: { site: 'x', nope: 1 } } }), 'input.parameters.nope')
    expectFieldError(await t.gql(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b, parameters: { site: 'x', pw: 'secret' } } }), 'input.parameters.pw')
    const self = await t.gql(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: a } })
    expectFieldError(self, 'input.downstreamTemplateId')
    expect(self.errors![0]!.extensions!.fields![0]!.message).toContain('dep-a → dep-a')

    const ab = (await t.ok(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b, parameters: { site: 'fra1' }, onStatuses: ['SUCCEEDED', 'FAILED'] } })).createTemplateDependency
    expect(ab).toMatchObject({ onStatuses: ['SUCCEEDED', 'FAILED'], enabled: true, parameters: { site: 'fra1' } })
    await t.ok(CREATE, { i: { upstreamTemplateId: b, downstreamTemplateId: c } })
    const { rows: before } = await t.app.db.pool.query(`SELECT count(*)::int AS n FROM template_dependency`)
    const cycle = await t.gql(CREATE, { i: { upstreamTemplateId: c, downstreamTemplateId: a } })
    expectFieldError(cycle, 'input.downstreamTemplateId')
    expect(cycle.errors![0]!.extensions!.fields![0]!.message).toBe('this dependency would close a cycle: dep-c → dep-a → dep-b → dep-c')
    const duplicate = await t.gql(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b, parameters: { site: 'x' } } })
    expectFieldError(duplicate, 'input.downstreamTemplateId')
    // An update that would close a cycle is refused too.
    expectFieldError(await t.gql(UPDATE, { id: ab.id, i: { upstreamTemplateId: c } }), 'input.downstreamTemplateId')
    const { rows: after } = await t.app.db.pool.query(`SELECT count(*)::int AS n FROM template_dependency`)
    expect(after[0].n).toBe(before[0].n)

    // Updates keep what is not given.
    expect((await t.ok(UPDATE, { id: ab.id, i: { enabled: false } })).updateTemplateDependency).toMatchObject({ onStatuses: ['SUCCEEDED', 'FAILED'], enabled: false, parameters: { site: 'fra1' }, upstream: { id: a }, downstream: { id: b } })

    // A chain of 10 links is fine; the 11th is refused.
    const chain = [] as string[]
    for (let i = 0; i <= 11; i++) chain.push(await template(t, `chain-${i}`, 'noop', {}))
    for (let i = 0; i < 10; i++) await t.ok(CREATE, { i: { upstreamTemplateId: chain[i], downstreamTemplateId: chain[i + 1] } })
    const long = await t.gql(CREATE, { i: { upstreamTemplateId: chain[10], downstreamTemplateId: chain[11] } })
    expectFieldError(long, 'input.downstreamTemplateId')
    expect(long.errors![0]!.extensions!.fields![0]!.message).toContain('a chain of 11 dependent templates; at most 10')
  })

  it('the owner or an admin changes one; viewers and other operators may not; each change is audited', async () => {
    const a = await template(t, 'own-a', 'noop', {})
    const b = await template(t, 'own-b', 'noop', {})
    const op = await t.userToken('OPERATOR', 'dep-owner')
    const other = await t.userToken('OPERATOR', 'dep-other')
    const viewer = await t.userToken('VIEWER', 'dep-viewer')
    expect((await t.gql(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b } }, viewer)).errors![0]!.extensions!.code).toBe('FORBIDDEN')
    const dep = (await t.ok(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b } }, op)).createTemplateDependency
    expect((await t.gql(UPDATE, { id: dep.id, i: { enabled: false } }, other)).errors![0]!.extensions!.code).toBe('FORBIDDEN')
    expect((await t.gql(`mutation($id: ID!) { deleteTemplateDependency(id: $id) }`, { id: dep.id }, other)).errors![0]!.extensions!.code).toBe('FORBIDDEN')
    await t.ok(UPDATE, { id: dep.id, i: { onStatuses: ['FAILED'] } }, op)
    const listed = await t.ok(`query($id: ID) { templateDependencies(templateId: $id) { id owner { username } } }`, { id: b }, viewer)
    expect(listed.templateDependencies).toEqual([{ id: dep.id, owner: { username: 'dep-owner' } }])
    await t.ok(`mutation($id: ID!) { deleteTemplateDependency(id: $id) }`, { id: dep.id })
    const { auditEvents } = await t.ok(`query { auditEvents(first: 10, filter: { actions: ["dependency."] }) { edges { node { action entityType entityName actorName } } } }`)
    expect(auditEvents.edges.map((e: { node: Record<string, string> }) => `${e.node.action} ${e.node.actorName}`)).toEqual(
      expect.arrayContaining(['dependency.create dep-owner', 'dependency.update dep-owner', 'dependency.delete admin']),
    )
  })
})

describe('running dependencies', () => {
  it("only A's final outcome counts: three failed attempts start one B run, which records A's run and trigger DEPENDENCY", async () => {
    const flaky = await template(t, 'run-a', 'test-outcome', { fail: 'always', retryable: true }, { retryMaxAttempts: 3, retryDelaySeconds: 0 })
    const onFail = await template(t, 'run-b', 'test-outcome', {}, { parameters: [{ name: 'site', type: 'STRING', required: true }] })
    const onSuccess = await template(t, 'run-c', 'test-outcome', {})
    const op = await t.userToken('OPERATOR', 'run-owner')
    await t.ok(CREATE, { i: { upstreamTemplateId: flaky, downstreamTemplateId: onFail, onStatuses: ['FAILED'], parameters: { site: 'ams2' } } }, op)
    await t.ok(CREATE, { i: { upstreamTemplateId: flaky, downstreamTemplateId: onSuccess, onStatuses: ['SUCCEEDED'] } })
    const aRun = (await t.ok(TRIGGER, { id: flaky })).triggerJobRun.id
    const a = await waitFinal(t, aRun)
    expect(a).toMatchObject({ status: 'FAILED', attempt: 3 })
    const [bRun] = await eventually(async () => {
      const r = await runsOf(t, onFail)
      return r.length ? r : null
    }, { what: 'the dependent run' })
    const b = await waitFinal(t, bRun!)
    expect(b).toMatchObject({ status: 'SUCCEEDED', trigger: 'DEPENDENCY', triggeredBy: { username: 'run-owner' }, triggeredByRun: { id: aRun }, parameters: { site: 'ams2' } })
    // Settled: still exactly one B run (not one per attempt) and none for the SUCCEEDED dependency.
    const triggers = await t.ok(`query($id: ID) { templateDependencies(templateId: $id) { downstream { name } recentTriggers { status upstreamRun { id } run { id } } } }`, { id: flaky })
    const byName = Object.fromEntries(triggers.templateDependencies.map((d: { downstream: { name: string }; recentTriggers: unknown[] }) => [d.downstream.name, d.recentTriggers]))
    expect(byName['run-b']).toEqual([{ status: 'STARTED', upstreamRun: { id: aRun }, run: { id: bRun } }])
    expect(byName['run-c']).toEqual([])
    expect(await runsOf(t, onFail)).toHaveLength(1)
    expect(await runsOf(t, onSuccess)).toHaveLength(0)
  })

  it("the owner is re-checked when B starts: a template they can no longer see ends the trigger FAILED, with no run", async () => {
    const a = await template(t, 'recheck-a', 'test-outcome', {})
    const b = await template(t, 'recheck-b', 'test-outcome', {})
    const op = await t.userToken('OPERATOR', 'recheck-owner')
    await t.ok(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b } }, op)
    await t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: b, i: { visibility: 'PRIVATE' } })
    await waitFinal(t, (await t.ok(TRIGGER, { id: a })).triggerJobRun.id)
    const [trigger] = await eventually(async () => {
      const { rows } = await t.app.db.pool.query(`SELECT status::text, reason, run_id FROM template_dependency_trigger g JOIN template_dependency d ON d.id = g.dependency_id WHERE d.downstream_template_id = $1::uuid AND g.status <> 'PENDING'`, [decodeGlobalID(b).id])
      return rows.length ? rows : null
    }, { what: 'the trigger to be handled' })
    expect(trigger).toEqual({ status: 'FAILED', reason: 'could not start: template "recheck-b" is not visible to the dependency\'s owner recheck-owner', run_id: null })
    expect(await runsOf(t, b)).toHaveLength(0)
  })

  it("B's overlap policy applies: SKIP while a B run is still running records the trigger SKIPPED", async () => {
    const a = await template(t, 'overlap-a', 'test-outcome', {})
    const b = await template(t, 'overlap-b', 'test-outcome', { wait: 'dep-overlap' }, { overlapPolicy: 'SKIP' })
    await t.ok(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b } })
    await waitFinal(t, (await t.ok(TRIGGER, { id: a })).triggerJobRun.id)
    await gates.reached('dep-overlap')
    await waitFinal(t, (await t.ok(TRIGGER, { id: a })).triggerJobRun.id)
    const skipped = await eventually(async () => {
      const { rows } = await t.app.db.pool.query(`SELECT reason FROM template_dependency_trigger g JOIN template_dependency d ON d.id = g.dependency_id WHERE d.downstream_template_id = $1::uuid AND g.status = 'SKIPPED'`, [decodeGlobalID(b).id])
      return rows[0] ?? null
    }, { what: 'the second trigger to be skipped' })
    expect(skipped.reason).toMatch(/^skipped: run #\d+ of this template is still running \(overlap policy SKIP\)$/)
    gates.release('dep-overlap')
    const runs = await runsOf(t, b)
    expect(runs).toHaveLength(1)
    expect((await waitFinal(t, runs[0]!)).status).toBe('SUCCEEDED')
  })
})

describe('two worker processes', () => {
  let db: TestDatabase
  let api: TestApp
  const workers: WorkerProcess[] = []
  beforeAll(async () => {
    db = await createTestDatabase('deps')
    // No worker role here: only the two worker processes start dependent runs.
    api = await startTestApp({ db, roles: 'api' })
    workers.push(await spawnWorker(db.url), await spawnWorker(db.url))
  })
  afterAll(async () => {
    for (const w of workers) await w.stop()
    await api?.stop()
    await db?.drop()
  })

  it('start every dependent run exactly once', async () => {
    const a = await template(api, 'p-a', 'noop', {})
    const b = await template(api, 'p-b', 'noop', {})
    const c = await template(api, 'p-c', 'noop', {})
    await api.ok(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: b } })
    await api.ok(CREATE, { i: { upstreamTemplateId: a, downstreamTemplateId: c } })
    const n = 20
    const aRuns = await Promise.all(Array.from({ length: n }, async () => (await api.ok(TRIGGER, { id: a })).triggerJobRun.id as string))
    await eventually(async () => {
      const { rows } = await api.app.db.pool.query(`SELECT count(*)::int AS n FROM job_run WHERE trigger = 'DEPENDENCY' AND status = 'SUCCEEDED'`)
      return rows[0].n === 2 * n ? true : null
    }, { timeoutMs: 60_000, what: 'every dependent run to succeed' })
    const { rows } = await api.app.db.pool.query(
      `SELECT template_name, count(*)::int AS runs, count(DISTINCT triggered_by_run_id)::int AS upstream, count(DISTINCT worker_id)::int AS workers
         FROM job_run WHERE trigger = 'DEPENDENCY' GROUP BY template_name ORDER BY template_name`,
    )
    expect(rows.map((r: { template_name: string; runs: number; upstream: number }) => ({ name: r.template_name, runs: r.runs, upstream: r.upstream }))).toEqual([
      { name: 'p-b', runs: n, upstream: n },
      { name: 'p-c', runs: n, upstream: n },
    ])
    const upstream = new Set(aRuns.map((id) => decodeGlobalID(id).id))
    const { rows: links } = await api.app.db.pool.query(`SELECT DISTINCT triggered_by_run_id::text AS id FROM job_run WHERE trigger = 'DEPENDENCY'`)
    expect(new Set(links.map((l: { id: string }) => l.id))).toEqual(upstream)
    const { rows: pending } = await api.app.db.pool.query(`SELECT status::text, count(*)::int AS n FROM template_dependency_trigger GROUP BY status`)
    expect(pending).toEqual([{ status: 'STARTED', n: 2 * n }])
  })
})
