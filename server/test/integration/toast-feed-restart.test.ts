/**
 * The console's toast feeds (myJobRunsEnded, myWorkflowRunsEnded) across an API process killed with SIGKILL:
 * a graphql-ws client subscribed to a real API process (its own OS process, on a fixed port), runs executing
 * in a separate worker process, the API killed while runs end, a new API process started on the same port.
 * The client reconnects by itself and resubscribes with its cursor (`since`, the time the page opened, as
 * the console does): every run that ended — before the kill, while no API was up, after the restart — is
 * sent, no subscription sends a run twice, and what the replay repeats is exactly what the client had
 * already shown (which it drops by id, as the console's toast reducer does), so each run is shown once.
 */
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { createClient, type Client } from 'graphql-ws'
import pg from 'pg'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { subscribe } from '../harness/live-subscription.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'
import { survivePostgresRestarts } from '../../src/db/database.ts'
import { apiClient } from '../harness/api-client.ts'

const held = new Map<string, http.ServerResponse>()
const receiver = http.createServer((req, res) => void held.set((req.url ?? '').split('/').pop()!, res))
function release(key: string, status = 200): void {
  const res = held.get(key)!
  res.statusCode = status
  res.end(status === 200 ? 'ok' : 'broken')
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}

let db: TestDatabase
let direct: pg.Pool
let port = 0
let api: WorkerProcess
let worker: WorkerProcess
let client: Client
const closeCodes: number[] = []
let connects = 0

const startApi = () => spawnWorker(db.url, 'api', { env: { SWITCHYARD_TEST_CONFIG: JSON.stringify({ PORT: String(port) }) } })
const apiHttp = apiClient(() => `http://127.0.0.1:${port}`)
const gql = apiHttp.gql
const raw = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  db = await createTestDatabase('toastrestart')
  direct = survivePostgresRestarts(new pg.Pool({ connectionString: db.url, max: 2 }))
  port = await freePort()
  api = await startApi()
  worker = await spawnWorker(db.url, 'worker,scheduler')
  const token = await apiHttp.login()
  client = createClient({
    url: `ws://127.0.0.1:${port}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    // As the console's client (client/src/lib/client.ts): a refused connection (no API up) is retried too,
    // not only a close.
    retryAttempts: 1000,
    shouldRetry: () => true,
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 250)),
    on: { connected: () => void connects++, closed: (e) => void closeCodes.push((e as { code: number }).code) },
  })
}, 120_000)
afterAll(async () => {
  for (const res of held.values()) if (!res.writableEnded) res.end()
  await client?.dispose()
  await worker?.stop()
  await api?.kill()
  await direct?.end()
  await db?.drop()
  await new Promise((r) => receiver.close(r))
})

type JobEnded = { myJobRunsEnded: { id: string; status: string } }
type WfEnded = { myWorkflowRunsEnded: { id: string; status: string } }

describe('toast feeds across an API process killed with SIGKILL', () => {
  it('the client reconnects to the new API process with its cursor and shows every ended run once', async () => {
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
    const templateId = (
      await gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
        i: { name: 'held', jobType: 'http', visibility: 'GLOBAL', config: { url: `${base}/hold/{{ key }}`, timeoutSeconds: 120 }, parameters: [{ name: 'key', type: 'STRING', required: true }] },
      })
    ).createJobTemplate.id
    const workflowId = (
      await gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, {
        i: { name: 'held-flow', visibility: 'GLOBAL', nodes: [{ key: 'a', templateId, parameters: { key: '{{ params.key }}' } }], parameters: [{ name: 'key', type: 'STRING', required: true }] },
      })
    ).createWorkflow.id
    const arrived = (key: string) => eventually(async () => held.has(key), { what: `the worker's request for ${key}` })
    const job = async (key: string) => {
      const id = (await gql(`mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id } }`, { id: templateId, p: { key } })).triggerJobRun.id as string
      await arrived(key)
      return id
    }
    const flow = async (key: string) => {
      const id = (await gql(`mutation($w: ID!, $p: JSON) { triggerWorkflowRun(workflowId: $w, parameters: $p) { id } }`, { w: workflowId, p: { key } })).triggerWorkflowRun.id as string
      await arrived(key)
      return id
    }

    // The page opens: its cursor is now.
    const since = (await direct.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now.toISOString()
    const jobs = subscribe<JobEnded>(client, `subscription($since: DateTime) { myJobRunsEnded(since: $since) { id status } }`, { since })
    const flows = subscribe<WfEnded>(client, `subscription($since: DateTime) { myWorkflowRunsEnded(since: $since) { id status } }`, { since })
    const jobIds = () => jobs.items.map((i) => i.myJobRunsEnded.id)
    const flowIds = () => flows.items.map((i) => i.myWorkflowRunsEnded.id)

    const before = await job('before')
    const wfBefore = await flow('wf-before')
    const during = [await job('during-1'), await job('during-2')]
    const wfDuring = await flow('wf-during')
    const after = await job('after')
    release('before')
    release('wf-before')
    await jobs.waitFor(() => jobIds().includes(before), 'the run that ended before the kill')
    await flows.waitFor(() => flowIds().includes(wfBefore), 'the workflow run that ended before the kill')
    const shownBeforeKill = { jobs: jobIds().length, flows: flowIds().length }

    await api.kill()
    // Runs end while no API process is up.
    release('during-1')
    release('during-2', 500)
    release('wf-during')
    await eventually(async () => {
      const { rows } = await direct.query(`SELECT count(*)::int AS n FROM job_run WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL`, [during.map(raw)])
      const { rows: wf } = await direct.query(`SELECT finished_at FROM workflow_run WHERE id = $1`, [raw(wfDuring)])
      return rows[0].n === 2 && wf[0]?.finished_at
    }, { what: 'the runs to end while the API is down' })

    api = await startApi()
    await jobs.waitFor(() => during.every((id) => jobIds().includes(id)), 'the runs that ended while the API was down', 60_000)
    await flows.waitFor(() => flowIds().includes(wfDuring), 'the workflow run that ended while the API was down', 60_000)
    // And live again after the restart.
    release('after')
    await jobs.waitFor(() => jobIds().includes(after), 'the run that ended after the restart')

    expect(connects).toBeGreaterThanOrEqual(2)
    expect(closeCodes.length).toBeGreaterThanOrEqual(1)
    // The replay repeats what was shown before the kill (and nothing else), each once; nothing is missing.
    const replayedJobs = jobIds().slice(shownBeforeKill.jobs)
    const replayedFlows = flowIds().slice(shownBeforeKill.flows)
    expect(jobIds().slice(0, shownBeforeKill.jobs)).toEqual([before])
    expect([...replayedJobs].sort()).toEqual([before, ...during, after].sort())
    expect(new Set(replayedJobs).size).toBe(replayedJobs.length)
    expect(flowIds().slice(0, shownBeforeKill.flows)).toEqual([wfBefore])
    expect([...replayedFlows].sort()).toEqual([wfBefore, wfDuring].sort())
    // Shown (dropped by id, as the console does): each run once.
    expect([...new Set(jobIds())].sort()).toEqual([before, ...during, after].sort())
    expect([...new Set(flowIds())].sort()).toEqual([wfBefore, wfDuring].sort())
    const statuses = Object.fromEntries(jobs.items.map((i) => [i.myJobRunsEnded.id, i.myJobRunsEnded.status]))
    expect(statuses[during[1]!]).toBe('FAILED')
    expect(statuses[during[0]!]).toBe('SUCCEEDED')
    jobs.dispose()
    flows.dispose()
  }, 180_000)
})
