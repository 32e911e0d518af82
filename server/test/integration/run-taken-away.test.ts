/**
 * A run's ending is written only by the attempt that still holds the run (its fence: this worker, this
 * attempt, RUNNING). Two ways an ending can find it no longer held:
 * - the reaper gave the run to another worker while this one was cut off from the database: this
 *   worker's ending must not close the new attempt's targets, hand its concurrency slot to a waiting run
 *   (two would then run where one may) or append its own last line to the new attempt's log;
 * - the ending committed and the answer to its commit was lost, so its settlement is tried again: the
 *   retry must not write the run's last line a second time.
 */
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { runHelpers } from '../harness/run-helpers.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'

let t: TestApp
const h = runHelpers(() => t, { runFields: 'status attempt' })
const raw = (id: string) => Buffer.from(id, 'base64').toString().split(':')[1]!

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
  for (const name of ['alpha', 'beta']) {
    await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host: '127.0.0.1', tags: ['taken'] } })
  }
})
afterAll(async () => {
  await t?.stop()
})

const query = (text: string, values?: unknown[]) => t.app.db.pool.query(text, values)

describe('an ending finds its run no longer held', () => {
  it('taken by the reaper and running on another worker: the ending writes nothing of its own — targets, slot, status, last line', async () => {
    // Another worker, alive (it beats), that the reaper gave the run to.
    const other = randomUUID()
    await query(`INSERT INTO worker (id, hostname, pid, roles, started_at, heartbeat_at) VALUES ($1, 'elsewhere', 4242, '{worker}', now(), now())`, [other])
    const beating = setInterval(() => void query('UPDATE worker SET heartbeat_at = now() WHERE id = $1', [other]).catch(() => {}), 300)
    try {
      const tpl = await h.createTemplate({ name: 'one at a time', jobType: 'test-script', config: { steps: [{ emit: 2 }, { wait: 'taken-away' }] }, targetSelector: { tags: ['taken'] }, maxConcurrentRuns: 1 })
      const first = await h.trigger(tpl)
      await gates.reached('taken-away')
      // The second waits for the slot the first holds.
      const second = await h.trigger(tpl)
      await eventually(async () => (await query('SELECT waiting_since IS NOT NULL AS waiting FROM job_run WHERE id = $1', [raw(second)])).rows[0].waiting, { what: 'the second run waiting for the slot' })

      // What the reaper and the other worker would have done while this one was cut off: attempt 2 runs
      // there now, with its targets running.
      await query(`UPDATE job_run SET worker_id = $2, attempt = attempt + 1 WHERE id = $1`, [raw(first), other])
      await query(`UPDATE run_target SET status = 'RUNNING' WHERE run_id = $1`, [raw(first)])

      // This worker's next beat finds the run held elsewhere and abandons it; its ending comes and goes.
      await eventually(async () => !t.app.dispatcher!.activeRunIds().includes(raw(first)), { what: 'this worker to abandon the run' })

      const { rows: [run] } = await query('SELECT status, worker_id, attempt FROM job_run WHERE id = $1', [raw(first)])
      expect(run).toEqual({ status: 'RUNNING', worker_id: other, attempt: 2 })
      const { rows: targets } = await query('SELECT status FROM run_target WHERE run_id = $1', [raw(first)])
      expect(targets.map((r: { status: string }) => r.status)).toEqual(['RUNNING', 'RUNNING'])
      // The slot is still the first run's (attempt 2): the second keeps waiting.
      expect((await query('SELECT status, waiting_since IS NOT NULL AS waiting FROM job_run WHERE id = $1', [raw(second)])).rows[0]).toEqual({ status: 'QUEUED', waiting: true })
      // Its output is kept; no line of its own about how it ended.
      const lines = (await h.logLines(first)).map((l) => l.text)
      expect(lines).toEqual(expect.arrayContaining(['alpha line 1', 'alpha line 2', 'beta line 1', 'beta line 2']))
      expect(lines.filter((l) => /^run (succeeded|failed|cancelled|timed out)|^attempt \d+ failed/.test(l))).toEqual([])
    } finally {
      clearInterval(beating)
    }
  })

  it('a retry after a lost commit answer finds its ending stored and writes it only once', async () => {
    const tpl = await h.createTemplate({ name: 'lost answer', jobType: 'test-outcome', config: {} })
    // The ending's statement commits, and then its answer is lost: the connection drops.
    const pool = t.app.db.pool
    const original = pool.query
    let lost = 0
    pool.query = async function (this: pg.Pool, ...args: unknown[]) {
      const first = args[0]
      const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '')
      const result = await (original as (...a: unknown[]) => Promise<unknown>).apply(this, args)
      if (lost === 0 && /AS i\(id, worker_id, attempt, status, error, result, n\)/.test(text)) {
        lost++
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
      }
      return result
    } as typeof pool.query
    try {
      const run = await h.trigger(tpl)
      await h.waitFor(run, ['SUCCEEDED'])
      expect(lost).toBe(1)
      // The settlement was tried again (this process retries it until it lands) and found it stored.
      await eventually(async () => !t.app.dispatcher!.activeRunIds().includes(raw(run)), { what: 'the settlement to end' })
      const { rows } = await query('SELECT seq, text FROM run_log WHERE run_id = $1 ORDER BY seq', [raw(run)])
      expect(rows.filter((r: { text: string }) => r.text === 'run succeeded')).toHaveLength(1)
      expect(rows.map((r: { seq: number }) => Number(r.seq))).toEqual(rows.map((_: unknown, i: number) => i + 1))
    } finally {
      pool.query = original
    }
  })
})
