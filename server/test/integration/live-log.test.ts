/**
 * Live views over a real graphql-ws socket: log replay + follow with no gap and no duplicate (also across
 * a reconnect), filters, completion, run status/progress updates, dashboards' run feed, errors for runs
 * one cannot see, secret masking, and that a closed subscription keeps nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeGlobalID } from '@pothos/plugin-relay'
import pg from 'pg'
import type { Actor } from '../../src/modules/actor.ts'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { subscribe, SubscriptionError } from '../harness/live-subscription.ts'
import { createTestRegistry, gates, scriptLine } from '../harness/test-executors.ts'

interface Line {
  seq: number
  level: string
  stream: string
  targetId: string | null
  text: string
}
interface LogMsg {
  jobRunLogAppended: { lastSeq: number; lines: Line[] }
}
interface RunMsg {
  jobRunUpdated: { id: string; status: string; progress: { total: number; done: number; percent: number } }
}

const LOG = `subscription($id: ID!, $after: Int, $level: LogLevel, $target: ID) {
  jobRunLogAppended(runId: $id, after: $after, level: $level, target: $target) { lastSeq lines { seq level stream targetId text } }
}`
const UPDATED = `subscription($id: ID!) { jobRunUpdated(runId: $id) { id status progress { total done percent } } }`
const CHANGED = `subscription($f: JobRunFilter) { jobRunsChanged(filter: $f) { id status jobType } }`
const CREATE_TEMPLATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
const TRIGGER = `mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id parameters } }`

let t: TestApp
let targetIds: string[] = []
let seqCounter = 0

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
  for (const name of ['alpha', 'beta']) {
    const { createTarget } = await t.ok<{ createTarget: { id: string } }>(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, {
      i: { name, host: '127.0.0.1', tags: ['live'] },
    })
    targetIds.push(createTarget.id)
  }
})
afterAll(async () => {
  await t?.stop()
})

/** A test-script template over both targets; gate names are made unique per template. */
async function scriptTemplate(steps: unknown[], extra: Record<string, unknown> = {}, token?: string): Promise<string> {
  const { createJobTemplate } = await t.ok<{ createJobTemplate: { id: string } }>(
    CREATE_TEMPLATE,
    { i: { name: `script ${++seqCounter}`, jobType: 'test-script', config: { steps }, targetSelector: { tags: ['live'] }, visibility: 'GLOBAL', ...extra } },
    token,
  )
  return createJobTemplate.id
}

async function trigger(templateId: string, parameters?: Record<string, unknown>, token?: string): Promise<{ id: string; parameters: Record<string, unknown> }> {
  return (await t.ok<{ triggerJobRun: { id: string; parameters: Record<string, unknown> } }>(TRIGGER, { id: templateId, p: parameters }, token)).triggerJobRun
}

function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':').slice(1).join(':')
}

async function storedLines(runGlobalId: string): Promise<Array<{ seq: number; level: string; target_id: string | null; text: string }>> {
  const { rows } = await t.app.db.pool.query(`SELECT seq, level::text, target_id, text FROM run_log WHERE run_id = $1 ORDER BY seq`, [rawId(runGlobalId)])
  return rows
}

const linesOf = (items: LogMsg[]) => items.flatMap((m) => m.jobRunLogAppended.lines)
const seqsOf = (items: LogMsg[]) => linesOf(items).map((l) => l.seq)
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
const lastSeq = (items: LogMsg[]) => items.at(-1)?.jobRunLogAppended.lastSeq ?? 0

async function runStatus(runGlobalId: string): Promise<string> {
  return (await t.ok<{ jobRun: { status: string } }>(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: runGlobalId })).jobRun.status
}

function liveStats() {
  return t.app.services.live.stats()
}

/** What subscriptions hold: wake-up registrations, run-feed listeners, timers. */
function held() {
  const { logWakeups, runWakeups, changeListeners, timers } = liveStats()
  return JSON.stringify({ logWakeups, runWakeups, changeListeners, timers })
}

describe('jobRunLogAppended', () => {
  const PER_TARGET = 10_000
  let bigRun = ''
  let total = 0

  it('streams 20,000 lines live, in seq order, exactly once, in batches; a reconnect with after: lastSeq resumes without gap or duplicate; filters hold', async () => {
    const tpl = await scriptTemplate([{ wait: 'big-start' }, { emit: PER_TARGET / 2 }, { wait: 'big-mid' }, { emit: PER_TARGET / 2 }])
    const run = await trigger(tpl)
    bigRun = run.id
    const { jobRun } = await t.ok<{ jobRun: { targets: Array<{ id: string; name: string }> } }>(`query($id: ID!) { jobRun(id: $id) { targets { id name } } }`, { id: run.id })
    const alpha = jobRun.targets.find((x) => x.name === 'alpha')!.id
    await gates.reached('big-start')

    const a = subscribe<LogMsg>(t.wsClient(), LOG, { id: run.id, after: 0 })
    const bClient = t.wsClient()
    const b = subscribe<LogMsg>(bClient, LOG, { id: run.id, after: 0 })
    const errors = subscribe<LogMsg>(t.wsClient(), LOG, { id: run.id, after: 0, level: 'ERROR' })
    const ofAlpha = subscribe<LogMsg>(t.wsClient(), LOG, { id: run.id, after: 0, target: alpha })
    // The "attempt started" line is already there: its arrival proves the subscriptions are live.
    await a.waitFor((items) => lastSeq(items) >= 1, 'the first line on a')
    await b.waitFor((items) => lastSeq(items) >= 1, 'the first line on b')

    const started = performance.now()
    gates.release('big-start')
    // b drops its connection while lines are flowing, and comes back from its cursor mid-run.
    await b.waitFor((items) => items.length >= 2, 'a second batch on b')
    await bClient.dispose()
    const resumeAfter = lastSeq(b.items)
    const firstPart = seqsOf(b.items)
    expect(resumeAfter).toBe(firstPart.at(-1))
    await gates.reached('big-mid')
    expect(await runStatus(run.id)).toBe('RUNNING')
    const b2 = subscribe<LogMsg>(t.wsClient(), LOG, { id: run.id, after: resumeAfter })
    gates.release('big-mid')

    const [aItems, b2Items, errItems, alphaItems] = await Promise.all([a.done, b2.done, errors.done, ofAlpha.done])
    const elapsedMs = performance.now() - started
    expect(await runStatus(run.id)).toBe('SUCCEEDED')

    const stored = await storedLines(run.id)
    total = stored.length
    expect(total).toBe(2 * PER_TARGET + 2) // + "attempt started" + "run succeeded"
    expect(stored.map((l) => l.seq)).toEqual(range(1, total))

    // Every line exactly once, in order, as stored.
    const got = linesOf(aItems)
    expect(got.map((l) => l.seq)).toEqual(range(1, total))
    expect(got.map((l) => l.text)).toEqual(stored.map((l) => l.text))
    expect(got.map((l) => l.level)).toEqual(stored.map((l) => l.level))
    for (const m of aItems) expect(m.jobRunLogAppended.lastSeq).toBe(m.jobRunLogAppended.lines.at(-1)!.seq)
    // Batched: far fewer messages than lines.
    expect(aItems.length).toBeLessThan(total / 20)
    expect(got.at(-1)!.text).toMatch(/^run succeeded/)

    // The reconnecting subscriber: the rest, from right after its cursor.
    expect(seqsOf(b2Items)[0]).toBe(resumeAfter + 1)
    expect([...firstPart, ...seqsOf(b2Items)]).toEqual(range(1, total))

    // Level filter: only ERROR lines (every 100th of each target), all of them.
    const wantErrors = stored.filter((l) => l.level === 'ERROR')
    expect(wantErrors.length).toBe((2 * PER_TARGET) / 100)
    expect(linesOf(errItems).map((l) => l.seq)).toEqual(wantErrors.map((l) => l.seq))
    expect(new Set(linesOf(errItems).map((l) => l.level))).toEqual(new Set(['ERROR']))
    expect(linesOf(errItems)[0]!.text).toBe(scriptLine('alpha', 100).text)

    // Target filter: exactly alpha's lines, in order.
    const wantAlpha = stored.filter((l) => l.target_id === rawId(alpha))
    expect(wantAlpha.length).toBe(PER_TARGET)
    expect(linesOf(alphaItems).map((l) => l.seq)).toEqual(wantAlpha.map((l) => l.seq))
    expect(linesOf(alphaItems).map((l) => l.text)).toEqual(range(1, PER_TARGET).map((i) => scriptLine('alpha', i).text))
    expect(new Set(linesOf(alphaItems).map((l) => l.targetId))).toEqual(new Set([alpha]))

    console.info(`[live-log] ${total} lines in ${aItems.length} messages, ${Math.round(elapsedMs)} ms from release to completion (${Math.round((total / elapsedMs) * 1000)} lines/s, including the gate wait)`)
  })

  it('replays the whole log to a subscriber that starts after the run ended, then completes', async () => {
    const items = await subscribe<LogMsg>(t.wsClient(), LOG, { id: bigRun, after: 0 }).done
    expect(seqsOf(items)).toEqual(range(1, total))
    expect(items.length).toBeLessThan(total / 20)
    const tail = await subscribe<LogMsg>(t.wsClient(), LOG, { id: bigRun, after: total - 5 }).done
    expect(seqsOf(tail)).toEqual(range(total - 4, total))
    const none = await subscribe<LogMsg>(t.wsClient(), LOG, { id: bigRun, after: total }).done
    expect(none).toEqual([])
    const filtered = await subscribe<LogMsg>(t.wsClient(), LOG, { id: bigRun, after: 0, level: 'WARNING' }).done
    expect(new Set(linesOf(filtered).map((l) => l.level))).toEqual(new Set(['WARNING', 'ERROR']))
    expect(linesOf(filtered).length).toBe((2 * PER_TARGET) / 10)
  })

  it('splits long lines over several messages of bounded size', async () => {
    const run = await trigger(await scriptTemplate([{ emit: 20, pad: 60_000 }]))
    const items = await subscribe<LogMsg>(t.wsClient(), LOG, { id: run.id, after: 0 }).done
    expect(seqsOf(items)).toEqual(range(1, 2 + 2 * 20))
    expect(items.length).toBeGreaterThanOrEqual(3) // 2.4 M characters, at most ~1 MiB per message
    for (const m of items) {
      const chars = m.jobRunLogAppended.lines.reduce((n, l) => n + l.text.length, 0)
      expect(chars).toBeLessThanOrEqual((1 << 20) + 61_000)
    }
  })

  it('masks a SECRET parameter echoed in the output, in storage and on the wire', async () => {
    const secret = 'hunter2-very-secret'
    const tpl = await scriptTemplate([{ echo: 'token' }, { emit: 3 }, { echo: 'token' }], { parameters: [{ name: 'token', type: 'SECRET', required: true }] })
    const run = await trigger(tpl, { token: secret })
    expect(JSON.stringify(run.parameters)).not.toContain(secret)
    const items = await subscribe<LogMsg>(t.wsClient(), LOG, { id: run.id, after: 0 }).done
    const echoed = linesOf(items).filter((l) => l.text.startsWith('echo token='))
    expect(echoed).toHaveLength(2)
    for (const l of echoed) expect(l.text).toBe('echo token=•••••• (done)')
    expect(JSON.stringify(items)).not.toContain(secret)
    const { rows } = await t.app.db.pool.query(`SELECT count(*)::int AS n FROM run_log WHERE position($1 in text) > 0`, [secret])
    expect(rows[0].n).toBe(0)
  })

  it('fails, rather than hangs, for an unknown run, a run the user cannot see, and a malformed id', async () => {
    const unknown = encodeGlobalID('JobRun', '00000000-0000-4000-8000-000000000000')
    const codeOf = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      )
      expect(e).toBeInstanceOf(SubscriptionError)
      return ((e as SubscriptionError).errors as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code
    }
    expect(await codeOf(subscribe(t.wsClient(), LOG, { id: unknown }).done)).toBe('NOT_FOUND')
    expect(await codeOf(subscribe(t.wsClient(), UPDATED, { id: unknown }).done)).toBe('NOT_FOUND')
    expect(await codeOf(subscribe(t.wsClient(), LOG, { id: 'not-an-id' }).done)).toBe('BAD_USER_INPUT')

    // A PRIVATE template's run is invisible to a viewer.
    const tpl = await scriptTemplate([{ emit: 1 }], { visibility: 'PRIVATE' })
    const run = await trigger(tpl)
    const viewer = await t.userToken('VIEWER')
    expect(await codeOf(subscribe(t.wsClient(viewer), LOG, { id: run.id }).done)).toBe('NOT_FOUND')
    expect(await codeOf(subscribe(t.wsClient(viewer), UPDATED, { id: run.id }).done)).toBe('NOT_FOUND')
    await subscribe(t.wsClient(), UPDATED, { id: run.id }).done
  })
})

describe('database connections lost', () => {
  it('a live log subscription rides out every database connection being killed, without gap or duplicate', async () => {
    const tpl = await scriptTemplate([{ emit: 500 }, { wait: 'kill-hold' }, { emit: 500 }])
    const run = await trigger(tpl)
    await gates.reached('kill-hold')
    const log = subscribe<LogMsg>(t.wsClient(), LOG, { id: run.id, after: 0 })
    const updates = subscribe<RunMsg>(t.wsClient(), UPDATED, { id: run.id })
    await log.waitFor((items) => lastSeq(items) >= 1001, 'the lines before the gate')
    await updates.waitFor((items) => items.length >= 1, 'the current state')

    // What a Postgres restart does to every session: the LISTEN connection, the pools, pg-boss.
    const killer = new pg.Client({ connectionString: t.db.url })
    await killer.connect()
    const { rows } = await killer.query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
    await killer.end()
    expect(rows[0].n).toBeGreaterThan(0)

    gates.release('kill-hold')
    const [items, states] = await Promise.all([log.done, updates.done])
    expect(seqsOf(items)).toEqual(range(1, 2 + 2 * 1000))
    expect(states.at(-1)!.jobRunUpdated.status).toBe('SUCCEEDED')
  })
})

describe('jobRunUpdated', () => {
  it('emits the status transitions and progress, and completes at the final state', async () => {
    const tpl = await scriptTemplate([{ wait: 'upd-1' }, { finish: 0 }, { wait: 'upd-2' }])
    const run = await trigger(tpl)
    const u = subscribe<RunMsg>(t.wsClient(), UPDATED, { id: run.id })
    await u.waitFor((items) => items.length >= 1, 'the current state')
    expect(['QUEUED', 'RUNNING']).toContain(u.items[0]!.jobRunUpdated.status)
    await gates.reached('upd-1')
    await u.waitFor((items) => items.some((i) => i.jobRunUpdated.status === 'RUNNING'), 'RUNNING')
    gates.release('upd-1')
    await u.waitFor((items) => items.some((i) => i.jobRunUpdated.progress.done === 1), 'progress 1 of 2')
    gates.release('upd-2')
    const items = (await u.done).map((i) => i.jobRunUpdated)

    const order = ['QUEUED', 'RUNNING', 'SUCCEEDED']
    const ranks = items.map((i) => order.indexOf(i.status))
    expect(ranks.every((r) => r >= 0)).toBe(true)
    expect([...ranks].sort()).toEqual(ranks) // never goes back
    expect(items.filter((i) => i.status === 'SUCCEEDED')).toHaveLength(1)
    expect(items.find((i) => i.progress.done === 1)).toMatchObject({ status: 'RUNNING', progress: { total: 2, done: 1, percent: 50 } })
    expect(items.at(-1)).toEqual({ id: run.id, status: 'SUCCEEDED', progress: { total: 2, done: 2, percent: 100 } })
    const dones = items.map((i) => i.progress.done)
    expect([...dones].sort()).toEqual(dones)

    // Subscribing to an ended run: its final state, then completion.
    const after = await subscribe<RunMsg>(t.wsClient(), UPDATED, { id: run.id }).done
    expect(after.map((i) => i.jobRunUpdated.status)).toEqual(['SUCCEEDED'])
  })
})

describe('jobRunsChanged', () => {
  it('delivers new runs matching the filter that the subscriber may see, and nothing else', async () => {
    const scriptTpl = await scriptTemplate([{ emit: 1 }])
    const privateTpl = await scriptTemplate([{ emit: 1 }], { visibility: 'PRIVATE' })
    const { createJobTemplate: noopTpl } = await t.ok<{ createJobTemplate: { id: string } }>(CREATE_TEMPLATE, {
      i: { name: 'noop for feed', jobType: 'noop', config: {}, visibility: 'GLOBAL' },
    })
    const viewer = await t.userToken('VIEWER')
    const before = liveStats().changeListeners
    const byType = subscribe<{ jobRunsChanged: { id: string; status: string; jobType: string } }>(t.wsClient(), CHANGED, { f: { jobTypes: ['test-script'] } })
    const byTemplate = subscribe<{ jobRunsChanged: { id: string; status: string } }>(t.wsClient(), CHANGED, { f: { templateIds: [noopTpl.id] } })
    const asViewer = subscribe<{ jobRunsChanged: { id: string } }>(t.wsClient(viewer), CHANGED, {})
    // graphql-ws does not acknowledge a subscription: wait until the server holds all three.
    await eventually(async () => liveStats().changeListeners >= before + 3, { what: 'three run feeds', intervalMs: 20 })

    const noopRun = await trigger(noopTpl.id)
    const hidden = await trigger(privateTpl)
    const visible = await trigger(scriptTpl)

    const typeItems = await byType.waitFor((items) => items.some((i) => i.jobRunsChanged.id === visible.id && i.jobRunsChanged.status === 'SUCCEEDED'), 'the script run to succeed')
    expect(typeItems.some((i) => i.jobRunsChanged.id === hidden.id)).toBe(true) // the admin sees the private run
    expect(typeItems.every((i) => i.jobRunsChanged.jobType === 'test-script')).toBe(true)
    expect(typeItems.some((i) => i.jobRunsChanged.id === noopRun.id)).toBe(false)

    const tplItems = await byTemplate.waitFor((items) => items.some((i) => i.jobRunsChanged.status === 'SUCCEEDED'), 'the noop run to succeed')
    expect(new Set(tplItems.map((i) => i.jobRunsChanged.id))).toEqual(new Set([noopRun.id]))

    const viewerItems = await asViewer.waitFor((items) => items.some((i) => i.jobRunsChanged.id === visible.id), 'the visible run')
    expect(viewerItems.some((i) => i.jobRunsChanged.id === hidden.id)).toBe(false)

    // Once their state changes are all in, each run's last event is its final state.
    await byType.waitFor((items) => items.some((i) => i.jobRunsChanged.id === hidden.id && i.jobRunsChanged.status === 'SUCCEEDED'), 'the private run to succeed')
    for (const id of [visible.id, hidden.id]) expect(byType.items.filter((i) => i.jobRunsChanged.id === id).at(-1)!.jobRunsChanged.status).toBe('SUCCEEDED')
    byType.dispose()
    byTemplate.dispose()
    asViewer.dispose()
    await eventually(async () => liveStats().changeListeners === before, { what: 'feeds to be released', intervalMs: 20 })
  })
})

describe('resources', () => {
  it('a subscription that the client drops, while waiting or while the server is pushing, keeps no wake-up, listener or timer', async () => {
    const base = liveStats()
    const baseHeld = held()
    const tpl = await scriptTemplate([{ emit: 3000 }, { wait: 'res-hold' }, { emit: 1 }])
    const run = await trigger(tpl)
    await gates.reached('res-hold')

    // 1. Parked subscriptions (the run is paused) on a client that then goes away.
    const client = t.wsClient()
    const log = subscribe<LogMsg>(client, LOG, { id: run.id, after: 0 })
    const upd = subscribe<RunMsg>(client, UPDATED, { id: run.id })
    subscribe(client, CHANGED, {})
    await log.waitFor((items) => lastSeq(items) >= 3001, 'the lines so far')
    await upd.waitFor((items) => items.some((i) => i.jobRunUpdated.status === 'RUNNING'), 'RUNNING')
    await eventually(async () => liveStats().changeListeners === base.changeListeners + 1, { what: 'the feed', intervalMs: 20 })
    const busy = liveStats()
    expect(busy.logWakeups).toBeGreaterThan(base.logWakeups)
    expect(busy.timers).toBeGreaterThan(base.timers)
    await client.dispose()
    // Released at once, not at the next safety poll (5 s) of the parked subscriptions.
    await eventually(async () => held() === baseHeld, { what: `held resources back to ${baseHeld}`, intervalMs: 20, timeoutMs: 3000 })

    // 2. In process: a consumer that stops reading while the server has a batch to push, then returns.
    const actor = (await t.app.services.users.authenticate(t.adminToken)) as Actor
    const iterable = await t.app.services.live.logBatches(actor, rawId(run.id), 0, {})
    const iter = iterable[Symbol.asyncIterator]()
    const first = await iter.next()
    expect(first.done).toBe(false)
    // The executor is now blocked pushing the next batch nobody asked for.
    await eventually(async () => liveStats().logWakeups > base.logWakeups, { what: 'the in-process subscription', intervalMs: 20 })
    await iter.return?.()
    await eventually(async () => held() === baseHeld, { what: 'the in-process subscription to be released', intervalMs: 20, timeoutMs: 3000 })

    gates.release('res-hold')
    await subscribe(t.wsClient(), UPDATED, { id: run.id }).done
  })
})
