/**
 * Workflows across real OS processes: an API-only process triggers, three worker processes advance
 * fan-out/fan-in workflows at once (every node started exactly once), and a worker SIGKILLed while it
 * runs a node's `command` on the test sshd leaves nothing stuck: the reaper retries or fails the
 * node's run and the workflow still advances.
 */
import fs from 'node:fs'
import { decodeGlobalID } from '@pothos/plugin-relay'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'
import { remoteProcesses, startSshd, type TestSshd } from '../harness/sshd.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'

let db: TestDatabase
let api: TestApp
let sshd: TestSshd
let targetId: string
const workers: WorkerProcess[] = []
const wf = workflowHelpers(() => api)

beforeAll(async () => {
  sshd = await startSshd()
  db = await createTestDatabase('wfproc')
  // The API process also reaps (scheduler role) but starts no nodes: only workers do.
  api = await startTestApp({ db, roles: 'api,scheduler' })
  const cred = (await api.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'c', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
  targetId = (await api.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'box', host: sshd.hosts[0], port: sshd.port, credentialId: cred } })).createTarget.id
})

afterAll(async () => {
  for (const w of workers) await w.kill()
  await api?.stop()
  await db?.drop()
  await sshd?.stop()
})

describe('three worker processes', () => {
  it('advance fan-out/fan-in workflows together, starting every node exactly once', async () => {
    workers.push(await spawnWorker(db.url), await spawnWorker(db.url), await spawnWorker(db.url))
    const noop = await wf.template('noop', 'noop', {})
    const fan = Array.from({ length: 30 }, (_, i) => ({ key: `f${i}`, templateId: noop }))
    const chain = Array.from({ length: 5 }, (_, i) => ({ key: `c${i}`, templateId: noop }))
    const id = await wf.create({
      name: 'fan',
      nodes: [{ key: 'root', templateId: noop }, ...fan, { key: 'join', templateId: noop }, ...chain],
      edges: [
        ...fan.map((f) => ({ from: 'root', to: f.key })),
        ...fan.map((f) => ({ from: f.key, to: 'join' })),
        { from: 'join', to: 'c0' },
        ...chain.slice(1).map((c, i) => ({ from: `c${i}`, to: c.key })),
      ],
    })
    const runIds = await Promise.all([wf.trigger(id), wf.trigger(id), wf.trigger(id)])
    const ends = await Promise.all(runIds.map((r) => wf.waitEnd(r, 120_000)))
    for (const end of ends) {
      expect(end.status).toBe('SUCCEEDED')
      expect(end.nodes.filter((n) => n.status !== 'SUCCEEDED' || n.jobRun?.attempt !== 1)).toEqual([])
    }
    const { rows } = await api.app.db.pool.query<{ runs: number; linked: number; workers: number; claims: number }>(
      `SELECT count(*)::int AS runs,
              count(n.id)::int AS linked,
              count(DISTINCT r.worker_id)::int AS workers,
              (SELECT count(*)::int FROM run_log l JOIN job_run x ON x.id = l.run_id WHERE x.trigger = 'WORKFLOW' AND l.text LIKE 'attempt % started on %') AS claims
         FROM job_run r LEFT JOIN workflow_node_run n ON n.job_run_id = r.id
        WHERE r.trigger = 'WORKFLOW'`,
    )
    const nodes = 1 + 30 + 1 + 5
    // One JobRun per node per workflow run, each linked to its node and executed once.
    expect(rows[0]).toMatchObject({ runs: 3 * nodes, linked: 3 * nodes, claims: 3 * nodes })
    expect(rows[0]!.workers).toBeGreaterThan(1)
    for (const w of workers.splice(0)) await w.stop()
  })
})

async function commandTemplate(name: string, command: string, retryMaxAttempts: number): Promise<string> {
  return wf.template(name, 'command', { commands: [command] }, { targetSelector: { targetIds: [targetId] }, retryMaxAttempts })
}

describe('a worker SIGKILLed while it runs a node', () => {
  it('the reaper retries the node\'s run on another worker and the workflow goes on', async () => {
    const flag = `/tmp/switchyard-wfcrash-${process.pid}-${Date.now()}`
    const marker = 'sleep 21.91'
    const step = await commandTemplate('crash-retry', `if [ -e ${flag} ]; then echo second attempt; else touch ${flag}; ${marker}; fi`, 2)
    const after = await wf.template('after', 'command', { commands: ['echo upstream={{ params.up }}'] }, { targetSelector: { targetIds: [targetId] }, parameters: [{ name: 'up', type: 'STRING', required: true }] })
    const noop = await wf.template('noop-after-crash', 'noop', {})
    const id = await wf.create({
      name: 'crash-retry',
      nodes: [{ key: 'a', templateId: step }, { key: 'b', templateId: after, parameters: { up: 'a {{ nodes.a.status }}' } }, { key: 'c', templateId: noop }],
      edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
    })
    const first = await spawnWorker(db.url)
    workers.push(first)
    const runId = await wf.trigger(id)
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'node a to hang on the sshd' })
    await first.kill()
    workers.push(await spawnWorker(db.url))
    const end = await wf.waitEnd(runId, 60_000)
    expect(end.status).toBe('SUCCEEDED')
    expect(end.node('a').jobRun).toMatchObject({ status: 'SUCCEEDED', attempt: 2 })
    expect(end.nodes.map((n) => n.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'])
    // b ran on the sshd with a's status passed in.
    const log = (await api.ok(`query($id: ID!) { jobRunLog(runId: $id) { lines { text } } }`, { id: end.node('b').jobRun!.id })).jobRunLog.lines.map((l: { text: string }) => l.text)
    expect(log).toContain('upstream=a SUCCEEDED')
    const { rows } = await api.app.db.pool.query(`SELECT count(*)::int AS n FROM job_run r JOIN workflow_node_run n ON n.job_run_id = r.id WHERE n.workflow_run_id = $1`, [decodeGlobalID(end.id).id])
    expect(rows[0].n).toBe(3)
    fs.rmSync(flag, { force: true })
    for (const w of workers.splice(0)) await w.stop()
  })

  it('the reaper fails the node\'s run (no retry left) and the ON_FAILURE branch runs', async () => {
    const marker = 'sleep 21.92'
    const hang = await commandTemplate('crash-fail', marker, 1)
    const noop = await wf.template('cleanup', 'noop', {})
    const id = await wf.create({
      name: 'crash-fail',
      nodes: [{ key: 'a', templateId: hang }, { key: 'next', templateId: noop }, { key: 'cleanup', templateId: noop }],
      edges: [{ from: 'a', to: 'next' }, { from: 'a', to: 'cleanup', kind: 'ON_FAILURE' }],
    })
    const worker = await spawnWorker(db.url)
    workers.push(worker)
    const runId = await wf.trigger(id)
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'node a to hang on the sshd' })
    await worker.kill()
    workers.push(await spawnWorker(db.url))
    const end = await wf.waitEnd(runId, 60_000)
    expect(end.node('a')).toMatchObject({ status: 'FAILED', reason: expect.stringMatching(/worker lost/), jobRun: { status: 'FAILED' } })
    expect(end.node('next')).toMatchObject({ status: 'SKIPPED' })
    expect(end.node('cleanup')).toMatchObject({ status: 'SUCCEEDED' })
    expect(end.status).toBe('SUCCEEDED')
  })
})

/** Every run under a root workflow run that is not in a final state: none may be left once it ended. */
async function unfinished(rootRunId: string): Promise<string[]> {
  const { rows } = await api.app.db.pool.query<{ what: string }>(
    `WITH tree AS (SELECT id FROM workflow_run WHERE id = $1::uuid OR root_run_id = $1::uuid)
     SELECT format('workflow run #%s %s', r.number, r.status) AS what FROM workflow_run r JOIN tree USING (id) WHERE r.status = 'RUNNING'
     UNION ALL
     SELECT format('node %s %s', n.key, n.status) FROM workflow_node_run n JOIN tree t ON t.id = n.workflow_run_id
      WHERE n.status IN ('PENDING', 'READY', 'RUNNING', 'AWAITING_APPROVAL')
     UNION ALL
     SELECT format('job run #%s %s', j.number, j.status) FROM job_run j JOIN workflow_node_run n ON n.job_run_id = j.id JOIN tree t ON t.id = n.workflow_run_id
      WHERE j.status IN ('QUEUED', 'RUNNING')`,
    [decodeGlobalID(rootRunId).id],
  )
  return rows.map((r) => r.what)
}

const LEVEL = `query($id: ID!) { workflowRun(id: $id) { id number status retryOf { id } nodes { key status reason jobRun { id status attempt error } nestedRun { id } } } }`
type Level = { id: string; number: number; status: string; retryOf: { id: string } | null; nodes: Array<{ key: string; status: string; reason: string | null; jobRun: { id: string; status: string; attempt: number; error: string | null } | null; nestedRun: { id: string } | null }> }
async function level(id: string): Promise<Level & { node: (key: string) => Level['nodes'][number] }> {
  const r = (await api.ok(LEVEL, { id })).workflowRun as Level
  return { ...r, node: (key: string) => r.nodes.find((n) => n.key === key)! }
}

describe('a worker SIGKILLed while it runs a node of a nested workflow', () => {
  it('leaves every level final — node run, nested runs, their nodes, the root — and a retry then re-runs only the lost node, from inside', async () => {
    for (const w of workers.splice(0)) await w.stop() // left by the tests above: the worker killed must be the only one
    const marker = 'sleep 21.93'
    const hang = await commandTemplate('nested-crash', marker, 1)
    const noop = await wf.template('nested-crash-noop', 'noop', {})
    const leaf = await wf.create({ name: 'crash-leaf', nodes: [{ key: 'ok', templateId: noop }, { key: 'h', templateId: hang }, { key: 'after', templateId: noop }], edges: [{ from: 'ok', to: 'h' }, { from: 'h', to: 'after' }] })
    const mid = await wf.create({ name: 'crash-mid', nodes: [{ key: 'leaf', kind: 'WORKFLOW', workflowId: leaf }, { key: 'm', templateId: noop }], edges: [{ from: 'leaf', to: 'm' }] })
    const root = await wf.create({ name: 'crash-root', nodes: [{ key: 'mid', kind: 'WORKFLOW', workflowId: mid }, { key: 'z', templateId: noop }], edges: [{ from: 'mid', to: 'z' }] })
    const worker = await spawnWorker(db.url)
    workers.push(worker)
    const runId = await wf.trigger(root)
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'node h to hang on the sshd' })
    await worker.kill()

    // No worker is alive now: the reaper (in the API process) fails the lost run, and the outcome climbs
    // every level in SQL — nothing waits for a worker to come back.
    const end = await wf.waitEnd(runId, 60_000)
    expect(end.status).toBe('FAILED')
    const r1 = await level(runId)
    expect(r1.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['mid:FAILED', 'z:SKIPPED'])
    const m1 = await level(r1.node('mid').nestedRun!.id)
    expect(r1.node('mid').reason).toBe(`nested workflow run #${m1.number} failed: not handled by an ON_FAILURE or ALWAYS edge: leaf failed`)
    expect(m1.status).toBe('FAILED')
    expect(m1.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['leaf:FAILED', 'm:SKIPPED'])
    const l1 = await level(m1.node('leaf').nestedRun!.id)
    expect(l1.status).toBe('FAILED')
    expect(l1.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['ok:SUCCEEDED', 'h:FAILED', 'after:SKIPPED'])
    expect(l1.node('h')).toMatchObject({ reason: expect.stringMatching(/worker lost/), jobRun: { status: 'FAILED', attempt: 1 } })
    expect(await unfinished(runId)).toEqual([])

    // Fixed, retried with a worker back: the retry goes down to the leaf and re-runs h (and what it skipped) only.
    await api.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: hang, i: { config: { commands: ['echo recovered'] } } })
    workers.push(await spawnWorker(db.url))
    const retry = (await api.ok(`mutation($id: ID!) { retryWorkflowRun(id: $id) { id } }`, { id: runId })).retryWorkflowRun.id
    expect((await wf.waitEnd(retry, 60_000)).status).toBe('SUCCEEDED')
    const r2 = await level(retry)
    const m2 = await level(r2.node('mid').nestedRun!.id)
    expect(m2.retryOf).toEqual({ id: m1.id })
    const l2 = await level(m2.node('leaf').nestedRun!.id)
    expect(l2.retryOf).toEqual({ id: l1.id })
    expect(l2.nodes.map((n) => `${n.key}:${n.status}`)).toEqual(['ok:SUCCEEDED', 'h:SUCCEEDED', 'after:SUCCEEDED'])
    expect(l2.node('ok').jobRun!.id).toBe(l1.node('ok').jobRun!.id)
    expect(l2.node('h').jobRun).toMatchObject({ status: 'SUCCEEDED', attempt: 1 })
    expect(await unfinished(runId)).toEqual([])
    for (const w of workers.splice(0)) await w.stop()
  })
})

describe('a webhook-started run whose worker is SIGKILLed', () => {
  it('is reaped, and its dependency outbox row starts the dependent run exactly once, after the crash', async () => {
    for (const w of workers.splice(0)) await w.stop()
    const marker = 'sleep 21.94'
    const hooked = await commandTemplate('hooked', marker, 1)
    const onLost = await wf.template('on-lost', 'noop', {})
    const onSuccess = await wf.template('on-success', 'noop', {})
    const DEP = `mutation($i: CreateTemplateDependencyInput!) { createTemplateDependency(input: $i) { id } }`
    await api.ok(DEP, { i: { upstreamTemplateId: hooked, downstreamTemplateId: onLost, onStatuses: ['FAILED'] } })
    await api.ok(DEP, { i: { upstreamTemplateId: hooked, downstreamTemplateId: onSuccess, onStatuses: ['SUCCEEDED'] } })
    const hook = (await api.ok(`mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { path } }`, { i: { name: 'crash-hook', templateId: hooked } })).createWebhookEndpoint
    const worker = await spawnWorker(db.url)
    workers.push(worker)
    const res = await fetch(`${api.url}${hook.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(202)
    const runId = ((await res.json()) as { run: { id: string } }).run.id
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'the webhook\'s run to hang on the sshd' })
    await worker.kill()

    // No worker alive: the reaper ends the run, and the dependency's outbox row waits, PENDING, for one.
    const lost = await eventually(async () => {
      const r = (await api.ok(`query($id: ID!) { jobRun(id: $id) { status trigger error } }`, { id: runId })).jobRun
      return r.status === 'FAILED' ? r : null
    }, { timeoutMs: 60_000, what: 'the lost run to be reaped' })
    expect(lost).toMatchObject({ trigger: 'WEBHOOK', error: expect.stringMatching(/worker lost/) })
    const upstream = decodeGlobalID(runId).id
    const rowsOf = async () =>
      (await api.app.db.pool.query<{ downstream: string; status: string; run_id: string | null }>(
        `SELECT t.name AS downstream, x.status::text AS status, x.run_id::text AS run_id
           FROM template_dependency_trigger x JOIN template_dependency d ON d.id = x.dependency_id JOIN job_template t ON t.id = d.downstream_template_id
          WHERE x.upstream_run_id = $1::uuid`,
        [upstream],
      )).rows
    expect(await rowsOf()).toEqual([{ downstream: 'on-lost', status: 'PENDING', run_id: null }])

    // Two workers come back and race for the row: one dependent run, linked to the lost run.
    workers.push(await spawnWorker(db.url), await spawnWorker(db.url))
    const dependent = await eventually(async () => {
      const { rows } = await api.app.db.pool.query(`SELECT id::text, status::text, trigger::text, triggered_by_run_id::text AS upstream FROM job_run WHERE template_name = 'on-lost'`)
      return rows.length && rows[0].status === 'SUCCEEDED' ? rows : null
    }, { timeoutMs: 60_000, what: 'the dependent run to succeed' })
    expect(dependent).toEqual([{ id: expect.any(String), status: 'SUCCEEDED', trigger: 'DEPENDENCY', upstream }])
    expect(await rowsOf()).toEqual([{ downstream: 'on-lost', status: 'STARTED', run_id: dependent[0].id }])
    const { rows: others } = await api.app.db.pool.query(`SELECT count(*)::int AS n FROM job_run WHERE template_name IN ('on-success', 'hooked')`)
    expect(others[0].n).toBe(1) // the lost run itself, never run again; on-success never started
    for (const w of workers.splice(0)) await w.stop()
  })
})
