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

describe('a worker SIGKILLed while it runs a node', () => {
  async function commandTemplate(name: string, command: string, retryMaxAttempts: number): Promise<string> {
    return wf.template(name, 'command', { commands: [command] }, { targetSelector: { targetIds: [targetId] }, retryMaxAttempts })
  }

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
