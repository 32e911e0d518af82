/**
 * A run that does not end is otherwise silent: its worker keeps beating, so no reaper steps in. The
 * dispatcher says so in the process log, naming what it waits on: an executor that lingers after its last
 * target reported, and a stage of the run's ending (target writes, log flush, final status) that takes long.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Logger, LogFields } from '../../src/util/logger.ts'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { runHelpers } from '../harness/run-helpers.ts'
import { createTestRegistry, gates } from '../harness/test-executors.ts'

const warnings: Array<{ msg: string; fields: LogFields }> = []
/** Keeps the warnings with the fields of the child loggers they came through (the run's id among them). */
const capture = (base: LogFields): Logger => ({
  debug() {},
  info() {},
  warn: (msg, fields = {}) => void warnings.push({ msg, fields: { ...base, ...fields } }),
  error() {},
  child: (fields) => capture({ ...base, ...fields }),
})
const logger = capture({})
let t: TestApp
const h = runHelpers(() => t, { runFields: 'status' })
const raw = (id: string) => Buffer.from(id, 'base64').toString().split(':')[1]!

beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry(), logger, slowStageMs: 200 })
  await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'slow-1', host: '127.0.0.1', tags: ['slow'] } })
})
afterAll(async () => {
  await t?.stop()
})

it('warns while an executor lingers after its last target, and while a run\'s ending waits on its row, naming the stage', async () => {
  const tpl = await h.createTemplate({ name: 'lingers', jobType: 'test-script', config: { steps: [{ finish: 0 }, { wait: 'linger' }] }, targetSelector: { tags: ['slow'] } })
  const run = await h.trigger(tpl)
  await gates.reached('linger')
  const about = () => warnings.filter((w) => w.fields.runId === raw(run))
  await eventually(async () => about().some((w) => w.msg === 'every target reported; the executor has not returned' && w.fields.stage === 'executor'), { what: 'the lingering executor warned about' })

  // The run's row is held by another transaction: its final status waits, and the log says which stage.
  const holder = await t.app.db.pool.connect()
  try {
    await holder.query('BEGIN')
    await holder.query('SELECT 1 FROM job_run WHERE id = $1 FOR UPDATE', [raw(run)])
    gates.release('linger')
    // Its last lines (if any were still unwritten) wait on the same row, so the stage is one of the two.
    await eventually(async () => about().some((w) => w.msg === 'the run is still ending' && ['log flush', 'final status'].includes(String(w.fields.stage))), { what: 'the slow ending warned about' })
    expect((await t.ok(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: run })).jobRun.status).toBe('RUNNING')
  } finally {
    await holder.query('COMMIT')
    holder.release()
  }
  await h.waitFor(run, ['SUCCEEDED'])
  // Once ended, nothing more is said about it.
  const said = about().length
  await new Promise((resolve) => setTimeout(resolve, 600))
  expect(about().slice(said)).toEqual([])
})
