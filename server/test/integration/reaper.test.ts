/**
 * The reaper judges workers by their heartbeats: a live, beating worker is never reaped, whatever its
 * hostname and PID look like from here (another container sharing the hostname has PIDs of its own),
 * and the rows of dead workers are marked stopped.
 */
import crypto from 'node:crypto'
import os from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pidNamespace } from '../../src/jobs/worker-presence.ts'
import { startTestApp, type TestApp } from '../harness/app.ts'

let t: TestApp
let templateId: string
beforeAll(async () => {
  // No worker role: runs stay where the test puts them; the scheduler role brings the reaper.
  t = await startTestApp({ roles: 'api,scheduler' })
  templateId = (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'r', jobType: 'noop', config: {} } })).createJobTemplate.id
})
afterAll(async () => {
  await t?.stop()
})

/** A PID no process has here (so `kill(pid, 0)` says "gone"). */
function unusedPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return pid
    }
  }
}

async function workerRow(o: { hostname: string; pid: number; pidNamespace: string | null; heartbeatAgo: number }): Promise<string> {
  const id = crypto.randomUUID()
  await t.app.db.pool.query(
    `INSERT INTO worker (id, hostname, pid, pid_namespace, roles, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, '{worker}', now(), now() - make_interval(secs => $5))`,
    [id, o.hostname, o.pid, o.pidNamespace, o.heartbeatAgo],
  )
  return id
}

/** A run that `workerId` holds RUNNING. */
async function runningOn(workerId: string): Promise<string> {
  const runId = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: templateId })).triggerJobRun.id
  const raw = Buffer.from(runId, 'base64').toString().split(':')[1]!
  await t.app.db.pool.query(`UPDATE job_run SET status = 'RUNNING', worker_id = $2, attempt = 1, started_at = now(), heartbeat_at = now() WHERE id = $1`, [raw, workerId])
  return raw
}

const statusOf = async (runId: string) => (await t.app.db.pool.query(`SELECT status FROM job_run WHERE id = $1`, [runId])).rows[0].status
const stoppedAt = async (workerId: string) => (await t.app.db.pool.query(`SELECT stopped_at FROM worker WHERE id = $1`, [workerId])).rows[0].stopped_at as Date | null

describe('reaper', () => {
  it('never reaps a worker that is still beating, even with this hostname and a PID that does not exist here', async () => {
    const pid = unusedPid()
    // Another container with host networking: same hostname, its own PID namespace.
    const otherContainer = await workerRow({ hostname: os.hostname(), pid, pidNamespace: 'another-boot/pid:[4026599999]', heartbeatAgo: 0 })
    // Even in this very namespace, a fresh heartbeat outweighs the PID.
    const sameNamespace = await workerRow({ hostname: os.hostname(), pid, pidNamespace: pidNamespace(), heartbeatAgo: 0 })
    const runs = [await runningOn(otherContainer), await runningOn(sameNamespace)]
    for (let pass = 0; pass < 3; pass++) {
      await t.app.db.pool.query(`UPDATE worker SET heartbeat_at = now() WHERE id = ANY($1::uuid[])`, [[otherContainer, sameNamespace]])
      expect(await t.app.reaper!.reapOnce()).toEqual([])
    }
    for (const r of runs) expect(await statusOf(r)).toBe('RUNNING')
    expect(await stoppedAt(otherContainer)).toBeNull()
    expect(await stoppedAt(sameNamespace)).toBeNull()
  })

  it('reaps a silent worker of this namespace whose process is gone at once, and marks dead workers stopped for good', async () => {
    const localDead = await workerRow({ hostname: os.hostname(), pid: unusedPid(), pidNamespace: pidNamespace(), heartbeatAgo: 3 })
    const silent = await workerRow({ hostname: 'elsewhere', pid: 1234, pidNamespace: null, heartbeatAgo: 3600 })
    const run = await runningOn(localDead)
    await t.app.reaper!.reapOnce() // (or its own timer's pass)
    expect(await statusOf(run)).toBe('FAILED')
    const marked = [await stoppedAt(localDead), await stoppedAt(silent)]
    expect(marked.every((d) => d instanceof Date)).toBe(true)
    await t.app.reaper!.reapOnce()
    expect([await stoppedAt(localDead), await stoppedAt(silent)]).toEqual(marked)
  })
})
