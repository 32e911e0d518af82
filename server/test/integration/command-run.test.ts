/**
 * `command` runs through the GraphQL API against a real OpenSSH sshd on loopback: mixed target
 * outcomes, host-key TOFU, success threshold, retry of failed targets, retry policy, cancel (running
 * and queued), timeout.
 */
import { rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { createTestDatabase } from '../harness/database.ts'
import { remoteProcesses, startSshd, unusedLoopbackPort, type TestSshd } from '../harness/sshd.ts'

let t: TestApp
let sshd: TestSshd
const ids: Record<string, string> = {}

const RUN = `query($id: ID!) { jobRun(id: $id) {
  id status attempt maxAttempts error trigger startedAt finishedAt durationMs
  progress { total done failed percent }
  targets { id name status exitCode error retryable outputTail attempt target { id hostKeyFingerprint } }
} }`
const LOG = `query($id: ID!) { jobRunLog(runId: $id, first: 5000) { lines { seq level stream targetId text } } }`

async function createTemplate(input: Record<string, unknown>): Promise<string> {
  const d = await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { visibility: 'GLOBAL', jobType: 'command', ...input } })
  return d.createJobTemplate.id
}

async function trigger(templateId: string, parameters?: unknown): Promise<string> {
  const d = await t.ok(`mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id } }`, { id: templateId, p: parameters })
  return d.triggerJobRun.id
}

async function run(id: string) {
  return (await t.ok(RUN, { id })).jobRun
}

async function waitFor(id: string, statuses: string[], timeoutMs = 30_000) {
  return eventually(async () => {
    const r = await run(id)
    return statuses.includes(r.status) ? r : null
  }, { timeoutMs, what: `run ${id} to reach ${statuses.join('/')}` })
}

beforeAll(async () => {
  sshd = await startSshd({ count: 2 })
  t = await startTestApp()
  const cred = async (name: string, password: string) =>
    (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name, kind: 'PASSWORD', username: sshd.user, password } })).createCredential.id
  ids.good = await cred('good', sshd.password)
  ids.bad = await cred('bad', 'not-the-password')
  const target = async (name: string, host: string, port: number, credentialId: string, tags: string[]) =>
    (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host, port, credentialId, tags } })).createTarget.id
  ids.web1 = await target('web-1', sshd.hosts[0]!, sshd.port, ids.good!, ['web', 'ok'])
  ids.web2 = await target('web-2', sshd.hosts[1]!, sshd.port, ids.bad!, ['web'])
  ids.web3 = await target('web-3', '127.0.0.1', await unusedLoopbackPort(), ids.good!, ['web'])
})

afterAll(async () => {
  await t?.stop()
  await sshd?.stop()
})

describe('command runs on real sshd targets', () => {
  it('runs on every selected target: one succeeds, one fails auth, one is unreachable; the rest go on', async () => {
    const tpl = await createTemplate({
      name: 'hello',
      config: { commands: ['echo hello {{ greeting }} from $(whoami)', 'echo "something odd" >&2'] },
      targetSelector: { tags: ['web'] },
      parameters: [{ name: 'greeting', type: 'STRING', default: 'there' }],
      maxParallelTargets: 3,
    })
    const id = await trigger(tpl, { greeting: "o'brien" })
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('FAILED')
    expect(r.progress).toEqual({ total: 3, done: 3, failed: 2, percent: 100 })
    const byName = Object.fromEntries(r.targets.map((x: { name: string }) => [x.name, x]))
    expect(byName['web-1']).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 })
    expect(byName['web-1'].outputTail).toContain(`hello o'brien from ${sshd.user}`)
    expect(byName['web-2']).toMatchObject({ status: 'FAILED', retryable: false })
    expect(byName['web-2'].error).toMatch(/authentication failed/i)
    expect(byName['web-3']).toMatchObject({ status: 'FAILED', retryable: true })
    expect(byName['web-3'].error).toMatch(/refused/i)
    expect(r.error).toMatch(/2 of 3 targets failed/)
    // Trust on first use: the host key of the target we reached is now recorded.
    expect(byName['web-1'].target.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint)
    expect(byName['web-2'].target.hostKeyFingerprint).toBeNull() // auth failed: not trusted
    // …and the audit log says which run trusted which key.
    const trusted = (await t.ok(`{ auditEvents(filter: { actions: ["target.trust-host-key"] }) { edges { node { via actorName entityName changes { field newValue } } } } }`)).auditEvents.edges.map(
      (e: { node: unknown }) => e.node,
    )
    expect(trusted).toEqual([
      {
        via: 'SYSTEM',
        actorName: expect.stringMatching(/^run #\d+ \(/),
        entityName: 'web-1',
        changes: expect.arrayContaining([
          { field: 'hostKeyFingerprint', newValue: sshd.hostKeyFingerprint },
          { field: 'hostKeyAlgorithm', newValue: 'ssh-ed25519' },
        ]),
      },
    ])

    const lines = (await t.ok(LOG, { id })).jobRunLog.lines as Array<{ seq: number; level: string; stream: string; targetId: string | null; text: string }>
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1))
    const hello = lines.find((l) => l.text.startsWith('hello'))!
    expect(hello).toMatchObject({ stream: 'STDOUT', level: 'INFO', targetId: byName['web-1'].id })
    expect(lines.find((l) => l.text === 'something odd')).toMatchObject({ stream: 'STDERR', level: 'WARNING', targetId: byName['web-1'].id })
    expect(lines.some((l) => l.stream === 'SYSTEM' && l.targetId === byName['web-2'].id && /authentication failed/i.test(l.text))).toBe(true)
    expect(lines.at(-1)!.text).toMatch(/^run failed: 2 of 3/)

    // Retry only the failed targets: a new run, trigger RETRY, two targets.
    const retry = (await t.ok(`mutation($id: ID!) { retryJobRun(id: $id, onlyFailedTargets: true) { id trigger retryOf { id } targets { name } } }`, { id })).retryJobRun
    expect(retry.trigger).toBe('RETRY')
    expect(retry.retryOf.id).toBe(id)
    expect(retry.targets.map((x: { name: string }) => x.name).sort()).toEqual(['web-2', 'web-3'])
    await waitFor(retry.id, ['FAILED'])
    // The original run links forward to its retry (the console shows "retried as #n").
    const original = (await t.ok(`query($id: ID!) { jobRun(id: $id) { retries { id trigger } cancelledBy { id } } }`, { id })).jobRun
    expect(original.retries).toEqual([{ id: retry.id, trigger: 'RETRY' }])
    expect(original.cancelledBy).toBeNull()
  })

  it('a success threshold lets a run succeed when enough targets do', async () => {
    const tpl = await createTemplate({ name: 'threshold', config: { commands: ['true'] }, targetSelector: { tags: ['web'] }, successThreshold: 30 })
    const r = await waitFor(await trigger(tpl), ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('SUCCEEDED')
    expect(r.progress.failed).toBe(2)
  })

  it('opens a passphrase-protected key once for all the run\'s targets that use it', async () => {
    const key = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
      i: { name: 'enc-key', kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.encryptedPrivateKey, passphrase: sshd.passphrase },
    })).createCredential.id
    for (const [i, host] of sshd.hosts.entries()) {
      await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: `enc-${i}`, host, port: sshd.port, credentialId: key, tags: ['enc'] } })
    }
    const tpl = await createTemplate({ name: 'encrypted key', config: { commands: ['echo enc-$(whoami)'] }, targetSelector: { tags: ['enc'] }, maxParallelTargets: 2 })
    // Spied only now: saving the credential checked the key too. Opening it costs ~300 ms of CPU.
    const ssh2 = createRequire(import.meta.url)('ssh2') as typeof import('ssh2')
    const parse = vi.spyOn(ssh2.utils, 'parseKey')
    try {
      const r = await waitFor(await trigger(tpl), ['SUCCEEDED', 'FAILED'])
      expect(r.targets.map((x: { status: string; outputTail: string }) => [x.status, x.outputTail])).toEqual(sshd.hosts.map(() => ['SUCCEEDED', `enc-${sshd.user}`]))
      expect(parse).toHaveBeenCalledTimes(1)
    } finally {
      parse.mockRestore()
    }
  })

  it('transient failures follow the retry policy; permanent ones are not retried', async () => {
    const tpl = await createTemplate({
      name: 'retrying',
      config: { commands: ['true'], connectTimeoutSeconds: 5 },
      targetSelector: { targetIds: [ids.web1, ids.web3] },
      retryMaxAttempts: 3,
      retryDelaySeconds: 0,
    })
    const id = await trigger(tpl)
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('FAILED')
    expect(r.attempt).toBe(3)
    const byName = Object.fromEntries(r.targets.map((x: { name: string }) => [x.name, x]))
    // The target that succeeded on attempt 1 kept its result; the refused one was tried 3 times.
    expect(byName['web-1']).toMatchObject({ status: 'SUCCEEDED', attempt: 1 })
    expect(byName['web-3']).toMatchObject({ status: 'FAILED', attempt: 3 })
    const texts = ((await t.ok(LOG, { id })).jobRunLog.lines as Array<{ text: string }>).map((l) => l.text)
    expect(texts.filter((x) => /retrying in 0s/.test(x))).toHaveLength(2)

    const permanent = await createTemplate({ name: 'no-retry-auth', config: { commands: ['true'] }, targetSelector: { targetIds: [ids.web2] }, retryMaxAttempts: 3 })
    const p = await waitFor(await trigger(permanent), ['FAILED'])
    expect(p.attempt).toBe(1)
  })

  it('while a retry attempt runs, its target shows RUNNING on that attempt with no error from the one before', async () => {
    // Fails the first time (leaving a flag on the target), runs long the second time.
    const flag = `/tmp/switchyard-retry-running-${process.pid}-${Date.now()}`
    const marker = 'sleep 61.73'
    const tpl = await createTemplate({
      name: 'retry-running',
      // The marker is spelled `61.7$((3))` in the script, so only the second attempt's sleep process matches
      // it — the first attempt's shell (whose command line is the whole script) must not look like it.
      config: { commands: [`if [ -e ${flag} ]; then echo second attempt; sleep 61.7$((3)); else touch ${flag}; exit 3; fi`] },
      targetSelector: { targetIds: [ids.web1] },
      retryMaxAttempts: 2,
      retryDelaySeconds: 0,
    })
    const id = await trigger(tpl)
    try {
      await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'the second attempt to run' })
      const r = await eventually(async () => {
        const run = (await t.ok(`query($id: ID!) { jobRun(id: $id) { status attempt targets { status attempt error } } }`, { id })).jobRun
        return run.attempt === 2 && run.targets[0].status === 'RUNNING' ? run : null
      }, { timeoutMs: 10_000, what: 'the target to show RUNNING on the second attempt' })
      expect(r).toMatchObject({ status: 'RUNNING', attempt: 2, targets: [{ status: 'RUNNING', attempt: 2, error: null }] })
    } finally {
      await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id })
      await waitFor(id, ['CANCELLED', 'FAILED', 'SUCCEEDED'], 15_000)
      rmSync(flag, { force: true })
    }
  })

  it('cancel stops the remote command and ends the run CANCELLED', async () => {
    const marker = 'sleep 61.71'
    const tpl = await createTemplate({ name: 'long', config: { commands: [marker] }, targetSelector: { targetIds: [ids.web1] } })
    const id = await trigger(tpl)
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { what: 'remote sleep to start' })
    const cancelled = (await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id status cancelRequestedAt } }`, { id })).cancelJobRun
    expect(cancelled.cancelRequestedAt).not.toBeNull()
    const r = await waitFor(id, ['CANCELLED', 'FAILED', 'SUCCEEDED'], 15_000)
    expect(r.status).toBe('CANCELLED')
    expect(r.targets[0].status).toBe('CANCELLED')
    // Who cancelled it, for the console's "Cancelled by …".
    const by = (await t.ok(`query($id: ID!) { jobRun(id: $id) { cancelledBy { username } } }`, { id })).jobRun
    expect(by.cancelledBy).toEqual({ username: 'admin' })
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length === 0, { timeoutMs: 10_000, what: 'remote sleep to be gone' })
    const again = await t.gql(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id })
    expect(again.errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
  })

  it('a timeout ends the run TIMED_OUT and stops the remote command', async () => {
    const marker = 'sleep 61.72'
    const tpl = await createTemplate({ name: 'too-slow', config: { commands: [marker] }, targetSelector: { targetIds: [ids.web1] }, timeoutSeconds: 2 })
    const id = await trigger(tpl)
    const r = await waitFor(id, ['TIMED_OUT', 'FAILED', 'SUCCEEDED', 'CANCELLED'], 20_000)
    expect(r.status).toBe('TIMED_OUT')
    expect(r.error).toMatch(/timed out after 2s/)
    expect(r.targets[0].status).toBe('TIMED_OUT')
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length === 0, { timeoutMs: 10_000, what: 'remote sleep to be gone' })
  })
})

describe('a queued run that is cancelled', () => {
  it('never starts, even when a worker comes up later', async () => {
    const db = await createTestDatabase('queued')
    const api = await startTestApp({ db, roles: 'api' })
    let worker: TestApp | null = null
    try {
      const tpl = (await api.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'q', jobType: 'noop', config: {} } })).createJobTemplate.id
      const id = (await api.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id status } }`, { id: tpl })).triggerJobRun.id
      const c = (await api.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { status finishedAt } }`, { id })).cancelJobRun
      expect(c.status).toBe('CANCELLED')
      // A second run proves the worker is really consuming the queue.
      const id2 = (await api.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })).triggerJobRun.id
      worker = await startTestApp({ db, roles: 'api,worker' })
      await eventually(async () => (await worker!.ok(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: id2 })).jobRun.status === 'SUCCEEDED', { what: 'second run to succeed' })
      const first = (await worker.ok(`query($id: ID!) { jobRun(id: $id) { status startedAt attempt } }`, { id })).jobRun
      expect(first).toEqual({ status: 'CANCELLED', startedAt: null, attempt: 0 })
    } finally {
      await worker?.stop()
      await api.stop()
      await db.drop()
    }
  })
})
