/**
 * "My runs ended" (the console's toasts) through real processes: this process runs only the API; runs
 * execute in a worker in another OS process (an `http` job against a receiver here that holds its answer
 * until the test lets it go), and their ends reach the API's subscribers through Postgres NOTIFY. Each
 * user hears of the runs they started or watch — each once, only runs they may see — and a subscription
 * resumed with `since` gets what ended meanwhile.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { subscribe, type LiveSubscription } from '../harness/live-subscription.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'

const held = new Map<string, http.ServerResponse>()
const waiting = new Set<() => void>()
const receiver = http.createServer((req, res) => {
  const key = (req.url ?? '').split('/').pop()!
  held.set(key, res)
  for (const w of [...waiting]) w()
})
/** Resolves once the worker's request for `key` has arrived (the run is RUNNING). */
function arrived(key: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!held.has(key)) return
      waiting.delete(check)
      resolve()
    }
    waiting.add(check)
    check()
  })
}
function release(key: string, status = 200): void {
  const res = held.get(key)!
  res.statusCode = status
  res.end(status === 200 ? 'ok' : 'broken')
}

let t: TestApp
let worker: WorkerProcess
let alice: string
let bob: string
let templateId = ''
const ENDED = `subscription($since: DateTime) { myJobRunsEnded(since: $since) { id status number watchedByMe } }`
type Ended = { myJobRunsEnded: { id: string; status: string; number: number; watchedByMe: boolean } }
const TRIGGER = `mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id } }`
const WATCH = `mutation($id: ID!) { watchJobRun(id: $id) { id watchedByMe } }`
const UNWATCH = `mutation($id: ID!) { unwatchJobRun(id: $id) { id watchedByMe } }`

async function start(token: string, key: string): Promise<string> {
  const id = (await t.ok(TRIGGER, { id: templateId, p: { key } }, token)).triggerJobRun.id as string
  await arrived(key)
  return id
}
const ids = (s: LiveSubscription<Ended>) => s.items.map((i) => i.myJobRunsEnded.id)

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  t = await startTestApp({ roles: 'api' })
  worker = await spawnWorker(t.db.url, 'worker')
  alice = await t.userToken('OPERATOR', 'alice')
  bob = await t.userToken('OPERATOR', 'bob')
  templateId = (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
    i: { name: 'held', jobType: 'http', visibility: 'GLOBAL', config: { url: `${base}/hold/{{ key }}`, timeoutSeconds: 120 }, parameters: [{ name: 'key', type: 'STRING', required: true }] },
  })).createJobTemplate.id
}, 120_000)
afterAll(async () => {
  for (const res of held.values()) if (!res.writableEnded) res.end()
  await worker?.stop()
  await t?.stop()
  await new Promise((r) => receiver.close(r))
})

describe('myJobRunsEnded', () => {
  it('tells each user of runs they started or watch ending in another process, once each, in words', async () => {
    const startedAt = new Date(Date.now() - 1000).toISOString()
    const aliceFeed = subscribe<Ended>(t.wsClient(alice), ENDED, {})
    const bobFeed = subscribe<Ended>(t.wsClient(bob), ENDED, {})
    const a1 = await start(alice, 'a1')
    const b1 = await start(bob, 'b1')
    const b2 = await start(bob, 'b2')
    const b3 = await start(bob, 'b3')
    // Alice watches two of Bob's runs, then changes her mind about one; watching twice is fine.
    expect((await t.ok(WATCH, { id: b1 }, alice)).watchJobRun).toEqual({ id: b1, watchedByMe: true })
    await t.ok(WATCH, { id: b1 }, alice)
    await t.ok(WATCH, { id: b3 }, alice)
    expect((await t.ok(UNWATCH, { id: b3 }, alice)).unwatchJobRun).toEqual({ id: b3, watchedByMe: false })
    expect((await t.ok(`query($id: ID!) { jobRun(id: $id) { watchedByMe } }`, { id: b1 }, bob)).jobRun.watchedByMe).toBe(false)

    release('a1')
    release('b1', 500)
    release('b2')
    release('b3')
    await aliceFeed.waitFor((items) => items.length >= 2, 'alice: a1 and b1')
    await bobFeed.waitFor((items) => items.length >= 3, 'bob: b1, b2, b3')
    // A last run of Alice's: ends are read in finished_at order, so anything else would have come before it.
    const a2 = await start(alice, 'a2')
    release('a2')
    await aliceFeed.waitFor((items) => ids(aliceFeed).includes(a2), 'alice: a2')
    expect(ids(aliceFeed).sort()).toEqual([a1, b1, a2].sort())
    const byId = Object.fromEntries(aliceFeed.items.map((i) => [i.myJobRunsEnded.id, i.myJobRunsEnded]))
    expect(byId[b1]).toMatchObject({ status: 'FAILED', watchedByMe: true })
    expect(byId[a1]).toMatchObject({ status: 'SUCCEEDED', watchedByMe: false })
    expect(ids(bobFeed).sort()).toEqual([b1, b2, b3].sort())

    // Resuming with `since` (a reconnect): what ended meanwhile is sent again, each once; the client
    // drops ids it has shown.
    const resumed = subscribe<Ended>(t.wsClient(alice), ENDED, { since: startedAt })
    await resumed.waitFor((items) => items.length >= 3, 'alice resumed')
    expect(ids(resumed).sort()).toEqual([a1, b1, a2].sort())
    aliceFeed.dispose()
    bobFeed.dispose()
    resumed.dispose()
  })

  it('workflow runs: started or watched ones are told once as they end in the worker process; watchedByMe', async () => {
    const wf = (await t.ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, {
      i: { name: 'held-flow', visibility: 'GLOBAL', nodes: [{ key: 'a', templateId, parameters: { key: '{{ params.key }}' } }], parameters: [{ name: 'key', type: 'STRING', required: true }] },
    })).createWorkflow.id as string
    const WF_ENDED = `subscription { myWorkflowRunsEnded { id status watchedByMe } }`
    type WfEnded = { myWorkflowRunsEnded: { id: string; status: string; watchedByMe: boolean } }
    const aliceFeed = subscribe<WfEnded>(t.wsClient(alice), WF_ENDED, {})
    // From now (without `since` a feed also sends what ended in the last seconds: the runs of the test above).
    const aliceJobs = subscribe<Ended>(t.wsClient(alice), ENDED, { since: new Date().toISOString() })
    const bobFeed = subscribe<WfEnded>(t.wsClient(bob), WF_ENDED, {})
    const trig = async (token: string, key: string) => {
      const id = (await t.ok(`mutation($w: ID!, $p: JSON) { triggerWorkflowRun(workflowId: $w, parameters: $p) { id } }`, { w: wf, p: { key } }, token)).triggerWorkflowRun.id as string
      await arrived(key)
      return id
    }
    const mine = await trig(alice, 'wf-alice')
    const theirs = await trig(bob, 'wf-bob')
    const unwatched = await trig(bob, 'wf-bob-2')
    expect((await t.ok(`mutation($id: ID!) { watchWorkflowRun(id: $id) { id watchedByMe } }`, { id: theirs }, alice)).watchWorkflowRun).toEqual({ id: theirs, watchedByMe: true })
    await t.ok(`mutation($id: ID!) { watchWorkflowRun(id: $id) { id } }`, { id: unwatched }, alice)
    expect((await t.ok(`mutation($id: ID!) { unwatchWorkflowRun(id: $id) { id watchedByMe } }`, { id: unwatched }, alice)).unwatchWorkflowRun.watchedByMe).toBe(false)
    release('wf-alice')
    release('wf-bob', 500)
    release('wf-bob-2')
    await bobFeed.waitFor((items) => items.length >= 2, 'bob: both of his workflow runs')
    // A last one of Alice's: ends are read in finished_at order, so anything else of hers came first.
    const last = await trig(alice, 'wf-alice-2')
    release('wf-alice-2')
    await aliceFeed.waitFor((items) => items.some((i) => i.myWorkflowRunsEnded.id === last), 'alice: her last workflow run')
    const byId = Object.fromEntries(aliceFeed.items.map((i) => [i.myWorkflowRunsEnded.id, i.myWorkflowRunsEnded]))
    expect(Object.keys(byId).sort()).toEqual([mine, theirs, last].sort())
    expect(aliceFeed.items).toHaveLength(3)
    expect(byId[theirs]).toMatchObject({ status: 'FAILED', watchedByMe: true })
    expect(byId[mine]).toMatchObject({ status: 'SUCCEEDED', watchedByMe: false })
    expect(bobFeed.items.map((i) => i.myWorkflowRunsEnded.id).sort()).toEqual([theirs, unwatched].sort())
    // The node runs of her workflow runs are not toasted as job runs (the workflow run is): a job run of
    // hers that ends after them is the first thing her job feed sends.
    const sentinel = await start(alice, 'sentinel')
    release('sentinel')
    await aliceJobs.waitFor((items) => ids(aliceJobs).includes(sentinel), 'alice: the sentinel job run')
    expect(ids(aliceJobs), JSON.stringify(aliceJobs.items)).toEqual([sentinel])
    aliceJobs.dispose()
    aliceFeed.dispose()
    bobFeed.dispose()
  })

  it('a run one may not see cannot be watched, and the feed needs a signed-in user', async () => {
    const priv = (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'bobs-own', jobType: 'noop', visibility: 'PRIVATE', config: {} },
    }, bob)).createJobTemplate.id
    const run = (await t.ok(TRIGGER, { id: priv }, bob)).triggerJobRun.id
    const r = await t.gql(WATCH, { id: run }, alice)
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND')
    const anon = subscribe<Ended>(t.wsClient(null), ENDED, {})
    await expect(anon.done).rejects.toThrow()
  })
})
