/**
 * A worker process killed with SIGKILL mid-run never leaves its run RUNNING: the reaper (here in the
 * API process, which also has the scheduler role) fails it or hands it to another worker.
 */
import fs from 'node:fs'
import os from 'node:os'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'
import { remoteProcesses, startSshd, type TestSshd } from '../harness/sshd.ts'

let db: TestDatabase
let api: TestApp
let sshd: TestSshd
let targetId: string
/** The same machine with a key credential (ansible logs in with keys). */
let keyTargetId: string
const workers: WorkerProcess[] = []

const RUN = `query($id: ID!) { jobRun(id: $id) { status attempt error targets { status error } } }`

beforeAll(async () => {
  sshd = await startSshd()
  db = await createTestDatabase('crash')
  api = await startTestApp({ db, roles: 'api,scheduler' })
  const cred = (await api.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'c', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
  const key = (await api.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'k', kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.privateKey } })).createCredential.id
  keyTargetId = (await api.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'box-key', host: sshd.hosts[0], port: sshd.port, credentialId: key } })).createTarget.id
  targetId = (await api.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'box', host: sshd.hosts[0], port: sshd.port, credentialId: cred } })).createTarget.id
})

// Each test starts with no worker of an earlier test around to take its run.
beforeEach(async () => {
  for (const w of workers.splice(0)) await w.kill()
})

afterAll(async () => {
  for (const w of workers) await w.kill()
  await api?.stop()
  await db?.drop()
  await sshd?.stop()
})

async function template(name: string, command: string, retryMaxAttempts: number): Promise<string> {
  const d = await api.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
    i: { name, jobType: 'command', config: { commands: [command] }, targetSelector: { targetIds: [targetId] }, retryMaxAttempts },
  })
  return d.createJobTemplate.id
}

async function trigger(templateId: string): Promise<string> {
  return (await api.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: templateId })).triggerJobRun.id
}

describe('a worker killed with SIGKILL mid-run', () => {
  it('on another machine (heartbeat stops): the run ends FAILED with the reason, not RUNNING forever', async () => {
    const worker = await spawnWorker(db.url)
    workers.push(worker)
    const marker = 'sleep 21.81'
    const id = await trigger(await template('crash-fail', marker, 1))
    await eventually(async () => (await api.ok(RUN, { id })).jobRun.status === 'RUNNING', { what: 'run to start' })
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'remote command to start' })
    // Pretend the worker lives on another host, so only the missing heartbeat can reveal its death.
    await api.app.db.pool.query(`UPDATE worker SET hostname = 'elsewhere' WHERE id = $1`, [worker.workerId])
    await worker.kill()
    const r = await eventually(async () => {
      const run = (await api.ok(RUN, { id })).jobRun
      return run.status !== 'RUNNING' ? run : null
    }, { timeoutMs: 30_000, what: 'the reaper to settle the run' })
    expect(r.status).toBe('FAILED')
    expect(r.error).toMatch(/worker lost \(no heartbeat since/)
    expect(r.targets).toEqual([{ status: 'FAILED', error: expect.stringMatching(/worker lost/) }])
    const log = (await api.ok(`query($id: ID!) { jobRunLog(runId: $id) { lines { text } } }`, { id })).jobRunLog.lines
    expect(log.at(-1).text).toMatch(/^run failed: worker lost/)
  })

  it('on this machine (process gone): another worker retries the run, which then succeeds', async () => {
    const flag = `/tmp/switchyard-crash-${process.pid}-${Date.now()}`
    const marker = 'sleep 21.82'
    // First attempt: creates the flag and hangs; second attempt: sees the flag and succeeds.
    const command = `if [ -e ${flag} ]; then echo second attempt; else touch ${flag}; ${marker}; fi`
    const first = await spawnWorker(db.url)
    workers.push(first)
    const id = await trigger(await template('crash-retry', command, 2))
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'first attempt to hang' })
    await first.kill()
    const second = await spawnWorker(db.url)
    workers.push(second)
    const r = await eventually(async () => {
      const run = (await api.ok(RUN, { id })).jobRun
      return ['SUCCEEDED', 'FAILED'].includes(run.status) ? run : null
    }, { timeoutMs: 30_000, what: 'the retried run to finish' })
    expect(r).toMatchObject({ status: 'SUCCEEDED', attempt: 2 })
    const texts = (await api.ok(`query($id: ID!) { jobRunLog(runId: $id) { lines { text } } }`, { id })).jobRunLog.lines.map((l: { text: string }) => l.text)
    expect(texts.some((x: string) => /worker lost .* retrying \(attempt 2 of 2\)/.test(x))).toBe(true)
    expect(texts).toContain('second attempt')
    fs.rmSync(flag, { force: true })
  })
})

describe('a worker stopped with SIGTERM mid-run', () => {
  it('requeues the run with its target still to do: the next attempt runs the target and succeeds', async () => {
    const flag = `/tmp/switchyard-sigterm-${process.pid}-${Date.now()}`
    const marker = 'sleep 21.83'
    const command = `if [ -e ${flag} ]; then echo second attempt; else touch ${flag}; ${marker}; fi`
    const first = await spawnWorker(db.url)
    workers.push(first)
    const id = await trigger(await template('sigterm-retry', command, 2))
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'first attempt to hang' })
    // Graceful stop: the run outlives the grace period, is aborted and goes back to the queue.
    await first.stop()
    const second = await spawnWorker(db.url)
    workers.push(second)
    const r = await eventually(async () => {
      const run = (await api.ok(RUN, { id })).jobRun
      return ['SUCCEEDED', 'FAILED'].includes(run.status) ? run : null
    }, { timeoutMs: 30_000, what: 'the requeued run to finish' })
    expect(r).toMatchObject({ status: 'SUCCEEDED', attempt: 2, targets: [{ status: 'SUCCEEDED', error: null }] })
    const texts = (await api.ok(`query($id: ID!) { jobRunLog(runId: $id) { lines { text } } }`, { id })).jobRunLog.lines.map((l: { text: string }) => l.text)
    expect(texts.some((x: string) => /^attempt 1 failed: worker shut down during the run; retrying/.test(x)), texts.join('\n')).toBe(true)
    expect(texts).toContain('attempt 2 of 2 started on ' + os.hostname() + ' for 1 target')
    expect(texts).toContain('second attempt')
    fs.rmSync(flag, { force: true })
  })
})

/** ansible-playbook and its ssh clients, on this machine, running a playbook that mentions `marker`. */
async function localProcesses(marker: string): Promise<string[]> {
  const { execFile } = await import('node:child_process')
  return new Promise((resolve) => execFile('pgrep', ['-af', marker], (_e, out) => resolve(String(out).split('\n').filter((l) => l && !/pgrep/.test(l)))))
}

describe('a worker killed with SIGKILL leaves nothing running on the target', () => {
  // Without a terminal sshd does not signal a command when the session drops: the retry would run a
  // second copy next to the first. The command must die with the session, and with it everything after.
  for (const [jobType, config] of [
    ['command', (marker: string, flag: string) => ({ commands: [`${marker}; touch ${flag}`] })],
    ['script', (marker: string, flag: string) => ({ interpreter: 'sh', script: `echo started\n${marker}\ntouch ${flag}\n` })],
    ['ansible_playbook', (marker: string, flag: string) => ({ playbook: `- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: "${marker}; touch ${flag}"\n` })],
  ] as const) {
    it(`${jobType}: the remote process and the rest of its command are gone once the session is`, async () => {
      const marker = `sleep 300.${['command', 'script', 'ansible_playbook'].indexOf(jobType) + 1}`
      const flag = `/tmp/switchyard-orphan-${jobType}-${process.pid}-${Date.now()}`
      const worker = await spawnWorker(db.url)
      workers.push(worker)
      const templateId = (
        await api.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
          i: { name: `orphan-${jobType}`, jobType, config: config(marker, flag), targetSelector: { targetIds: [jobType === 'ansible_playbook' ? keyTargetId : targetId] } },
        })
      ).createJobTemplate.id
      await trigger(templateId)
      await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'the remote command to start' })
      await worker.kill()
      await eventually(async () => (await remoteProcesses(sshd.user, marker)).length === 0, { what: 'the remote command to die with the session' })
      // (ansible: the playbook and its ssh clients, local children of the worker, are gone too.)
      await eventually(async () => (await localProcesses(marker)).length === 0, { what: 'no local process left for the job' })
      // Nothing of the command is left to run what came after the sleep.
      expect(await remoteProcesses(sshd.user, flag)).toEqual([])
      expect(fs.existsSync(flag)).toBe(false)
    })
  }
})
