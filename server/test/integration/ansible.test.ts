/**
 * The `ansible_playbook` job type through the GraphQL API: listed in `jobTypes`, bad config rejected at
 * template save with the field named, a real playbook against two sshd targets with key credentials
 * (per-host recap, log levels, temp dir removed), check mode, an unreachable target, a retry of the failed
 * targets only, and cancel.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile, rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { runAsUser } from '../harness/run-as.ts'
import { remoteProcesses, startSshd, unusedLoopbackPort, type TestSshd } from '../harness/sshd.ts'

let t: TestApp
let sshd: TestSshd
let credentialId: string
const marker = `sw-ansible-gql-${process.pid}`

const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`

const { createTemplate, trigger, waitFor, logLines } = runHelpers(() => t, { runFields: 'id status attempt error result targets { name status exitCode error retryable outputTail result }', defaultTimeoutMs: 150000 })
function workDir(lines: Array<{ text: string }>): string {
  const dir = lines.map((l) => /^running ansible-playbook on \d+ host\(s\) in (\S+)$/.exec(l.text)?.[1]).find(Boolean)
  expect(dir).toBeTruthy()
  return dir!
}

const playbook = (suffix: string) => `
- hosts: all
  gather_facts: false
  tasks:
    - name: say hi
      command: echo hi
      changed_when: false
    - name: write a file
      file:
        path: "/tmp/${marker}-${suffix}-{{ inventory_hostname }}"
        state: directory
        mode: "0755"
    - debug:
        msg: "vlan {{ vlan }}"
`

beforeAll(async () => {
  sshd = await startSshd({ count: 2 })
  t = await startTestApp()
  credentialId = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'ans-key', kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.privateKey } })).createCredential.id
  const refused = await unusedLoopbackPort()
  const create = `mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`
  await t.ok(create, { i: { name: 'ans-1', host: sshd.hosts[0]!, port: sshd.port, credentialId, tags: ['ansible', 'mixed'] } })
  await t.ok(create, { i: { name: 'ans-2', host: sshd.hosts[1]!, port: sshd.port, credentialId, tags: ['ansible'] } })
  await t.ok(create, { i: { name: 'ans-down', host: '127.0.0.1', port: refused, credentialId, tags: ['mixed'] } })
}, 120_000)

afterAll(async () => {
  await t?.stop()
  await sshd?.stop()
  for (const f of (await readdir('/tmp')).filter((f) => f.startsWith(marker))) await rm(`/tmp/${f}`, { recursive: true, force: true })
})

describe('job type ansible_playbook', () => {
  it('is listed in jobTypes and rejects bad config naming the field', async () => {
    const { jobTypes } = await t.ok(`{ jobTypes { type usesTargets configSchema } }`)
    const ansible = jobTypes.find((j: { type: string }) => j.type === 'ansible_playbook')
    expect(ansible).toMatchObject({ usesTargets: true, configSchema: { type: 'object', required: ['playbook'], properties: { checkMode: { default: false } } } })
    const base = { name: 'bad-ansible', jobType: 'ansible_playbook', targetSelector: { tags: ['ansible'] } }
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...base, config: {} } }), 'input.config.playbook')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...base, config: { playbook: 'x', forks: 0 } } }), 'input.config.forks')
  })

  it('runs code on the worker, so by default only admins may create or change its templates (SWITCHYARD_WORKER_CODE_ROLES)', async () => {
    const operator = await t.userToken('OPERATOR')
    const input = { name: 'op-ansible', jobType: 'ansible_playbook', visibility: 'GLOBAL', config: { playbook: '- hosts: all\n  tasks: []\n' }, targetSelector: { tags: ['ansible'] } }
    const refused = await t.gql(CREATE_TPL, { i: input }, operator)
    expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(refused)).toBe('FORBIDDEN')
    expect(refused.errors?.[0]?.message).toMatch(/job type ansible_playbook executes code on the worker: only ADMIN may/)
    // Not even with a config that would not validate: the role is checked first.
    expect((await t.gql(CREATE_TPL, { i: { ...input, config: {} } }, operator)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    // Their own command template cannot be turned into one either.
    const own = (await t.ok(CREATE_TPL, { i: { ...input, jobType: 'command', config: { commands: ['true'] } } }, operator)).createJobTemplate.id
    const update = `mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`
    const changed = await t.gql(update, { id: own, i: { jobType: 'ansible_playbook', config: input.config } }, operator)
    expect(changed.errors?.[0]?.extensions?.code, JSON.stringify(changed)).toBe('FORBIDDEN')
    // An admin may; an operator's template stays theirs and cannot be made ansible by an admin either (runs check the owner).
    expect((await t.gql(CREATE_TPL, { i: input })).errors).toBeUndefined()
    const byAdmin = await t.gql(update, { id: own, i: { jobType: 'ansible_playbook', config: input.config } })
    expect(byAdmin.errors?.[0]?.message, JSON.stringify(byAdmin)).toMatch(/belongs to operator\d+ \(OPERATOR\)/)
  })

  it('jobTypes says which types run code on the worker and whether the caller may author each, as create decides', async () => {
    const Q = `{ jobTypes { type executesWorkerCode canAuthor authorRefusal } }`
    type Info = { type: string; executesWorkerCode: boolean; canAuthor: boolean; authorRefusal: string | null }
    const byType = (list: Info[]) => new Map(list.map((j) => [j.type, j]))
    const admin = byType((await t.ok(Q)).jobTypes)
    expect(admin.get('ansible_playbook')).toEqual({ type: 'ansible_playbook', executesWorkerCode: true, canAuthor: true, authorRefusal: null })
    expect([...admin.values()].filter((j) => j.executesWorkerCode).map((j) => j.type)).toEqual(['ansible_playbook'])
    expect([...admin.values()].every((j) => j.canAuthor)).toBe(true)

    const operator = await t.userToken('OPERATOR')
    const op = byType((await t.ok(Q, {}, operator)).jobTypes)
    expect(op.get('ansible_playbook')).toMatchObject({ executesWorkerCode: true, canAuthor: false, authorRefusal: expect.stringMatching(/executes code on the worker: only ADMIN may/) })
    expect(op.get('command')).toEqual({ type: 'command', executesWorkerCode: false, canAuthor: true, authorRefusal: null })
    // What the list says is what saving does.
    const refused = await t.gql(CREATE_TPL, { i: { name: 'op-says-no', jobType: 'ansible_playbook', config: { playbook: '- hosts: all\n  tasks: []\n' } } }, operator)
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' }, message: op.get('ansible_playbook')!.authorRefusal })

    const viewer = byType((await t.ok(Q, {}, await t.userToken('VIEWER'))).jobTypes)
    expect([...viewer.values()].every((j) => !j.canAuthor && j.authorRefusal === 'viewers have read-only access')).toBe(true)
  })

  it('runs a playbook on two targets: per-host recap, log levels, extra vars, temp dir removed; then check mode', async () => {
    const tpl = await createTemplate({
      name: 'ansible-ok',
      jobType: 'ansible_playbook',
      config: { playbook: playbook('run'), extraVars: { vlan: '{{ vlan }}' } },
      targetSelector: { tags: ['ansible'] },
      parameters: [{ name: 'vlan', type: 'INT', default: 42 }],
    })
    const id = await trigger(tpl)
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    const lines = await logLines(id)
    expect(r.status, JSON.stringify([r, lines])).toBe('SUCCEEDED')
    expect(r.result).toMatchObject({ exitCode: 0 })
    for (const name of ['ans-1', 'ans-2']) {
      const target = r.targets.find((x: { name: string }) => x.name === name)
      expect(target).toMatchObject({ status: 'SUCCEEDED', exitCode: 0, result: { ok: 3, changed: 1, failed: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0 } })
      expect(existsSync(`/tmp/${marker}-run-${name}`)).toBe(true)
    }
    expect(lines.find((l) => l.text.startsWith('TASK [say hi]'))).toMatchObject({ level: 'INFO' })
    const changed = lines.filter((l) => /^changed: \[ans-\d\]$/.test(l.text))
    expect(changed).toHaveLength(2)
    expect(changed.every((l) => l.level === 'WARNING' && l.targetId)).toBe(true)
    expect(lines.some((l) => l.text.includes('"msg": "vlan 42"'))).toBe(true)
    expect(existsSync(workDir(lines))).toBe(false)

    // Second run in check mode: the directory exists now (ok), nothing is created for a new suffix.
    const check = await createTemplate({ name: 'ansible-check', jobType: 'ansible_playbook', config: { playbook: playbook('check'), checkMode: true, extraVars: { vlan: 1 } }, targetSelector: { tags: ['ansible'] } })
    const c = await waitFor(await trigger(check), ['SUCCEEDED', 'FAILED'])
    expect(c.status).toBe('SUCCEEDED')
    expect(c.targets.map((x: { result: { changed: number } }) => x.result.changed)).toEqual([1, 1])
    expect(existsSync(`/tmp/${marker}-check-ans-1`)).toBe(false)
  }, 300_000)

  it('an unreachable target fails (retryable) while the other succeeds', async () => {
    const tpl = await createTemplate({
      name: 'ansible-down',
      jobType: 'ansible_playbook',
      config: { playbook: '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: echo hi\n' },
      targetSelector: { tags: ['mixed'] },
    })
    const id = await trigger(tpl)
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('FAILED')
    const byName = Object.fromEntries(r.targets.map((x: { name: string }) => [x.name, x]))
    // Its host key cannot be read, so it fails before the playbook runs (it is never in the inventory).
    expect(byName['ans-down']).toMatchObject({ status: 'FAILED', retryable: true, exitCode: null, result: null })
    expect(byName['ans-down'].error).toMatch(/^host unreachable: 127\.0\.0\.1:\d+ \(could not read its SSH host key/)
    expect(byName['ans-1']).toMatchObject({ status: 'SUCCEEDED', result: { changed: 1 } })
    const lines = await logLines(id)
    expect(lines.find((l) => /^ans-down: host unreachable/.test(l.text))).toMatchObject({ level: 'ERROR' })
    expect(lines.some((l) => l.text.includes('running ansible-playbook on 1 host(s)'))).toBe(true)
    // The host key ansible's ssh was pinned to is the one recorded on the target (trust on first use).
    const { targets } = await t.ok(`{ targets { name hostKeyFingerprint hostKeyAlgorithm } }`)
    expect(targets.find((x: { name: string }) => x.name === 'ans-1')).toMatchObject({ hostKeyFingerprint: sshd.hostKeyFingerprint, hostKeyAlgorithm: 'ssh-ed25519' })
  }, 300_000)

  it('cancel ends CANCELLED, stops ansible-playbook and removes the temp dir', async () => {
    const sleep = 'sleep 60.81'
    const tpl = await createTemplate({
      name: 'ansible-long',
      jobType: 'ansible_playbook',
      config: { playbook: `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: ${sleep}\n` },
      targetSelector: { tags: ['ansible'] },
    })
    const id = await trigger(tpl)
    await eventually(async () => (await remoteProcesses(sshd.user, sleep)).length > 0, { timeoutMs: 120_000, what: 'remote sleep to start' })
    const dir = workDir(await logLines(id))
    await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id })
    const r = await waitFor(id, ['CANCELLED', 'FAILED', 'SUCCEEDED'], 60_000)
    expect(r.status).toBe('CANCELLED')
    expect(r.targets.every((x: { status: string }) => x.status === 'CANCELLED')).toBe(true)
    expect(existsSync(dir)).toBe(false)
    expect(await remoteProcesses(runAsUser?.name ?? 'root', `ansible-playbook.*${dir}`)).toEqual([])
    await eventually(async () => (await remoteProcesses(sshd.user, sleep)).length === 0, { timeoutMs: 15_000, what: 'remote sleep to be gone' })
  }, 300_000)

  it('retrying only the failed targets runs the playbook on those hosts alone, at their corrected address', async () => {
    const create = `mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`
    const target = async (name: string, host: string, port: number) => (await t.ok(create, { i: { name, host, port, credentialId, tags: ['retry'] } })).createTarget.id
    await target('ans-r1', sshd.hosts[0]!, sshd.port)
    await target('ans-r2', sshd.hosts[1]!, sshd.port)
    const down = await target('ans-rdown', '127.0.0.1', await unusedLoopbackPort())
    // One line per execution on a host, naming the sshd address it really ran behind ($SSH_CONNECTION).
    const tpl = await createTemplate({
      name: 'ansible-retry',
      jobType: 'ansible_playbook',
      config: {
        playbook: `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: record the run\n      shell: 'set -- $SSH_CONNECTION; echo "$3:$4" >> /tmp/${marker}-retry-{{ inventory_hostname }}'\n`,
      },
      targetSelector: { tags: ['retry'] },
      maxParallelTargets: 3,
    })
    const marks = async (name: string) => {
      const path = `/tmp/${marker}-retry-${name}`
      return existsSync(path) ? (await readFile(path, 'utf8')).trim().split('\n') : []
    }
    const counts = { ok: 1, changed: 1, failed: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0 }

    const id = await trigger(tpl)
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status, JSON.stringify(r)).toBe('FAILED')
    const byName = Object.fromEntries(r.targets.map((x: { name: string }) => [x.name, x]))
    expect(byName['ans-r1']).toMatchObject({ status: 'SUCCEEDED', result: counts })
    expect(byName['ans-r2']).toMatchObject({ status: 'SUCCEEDED', result: counts })
    expect(byName['ans-rdown'].status).toBe('FAILED')
    expect(byName['ans-rdown'].error).toMatch(/refused|unreachable/i)
    expect(await marks('ans-r1')).toEqual([`${sshd.hosts[0]}:${sshd.port}`])
    expect(await marks('ans-r2')).toEqual([`${sshd.hosts[1]}:${sshd.port}`])
    expect(await marks('ans-rdown')).toEqual([])

    // The operator fixes the address, then retries only what failed.
    await t.ok(`mutation($id: ID!, $i: UpdateTargetInput!) { updateTarget(id: $id, input: $i) { id } }`, { id: down, i: { host: sshd.hosts[1], port: sshd.port } })
    const retry = (await t.ok(`mutation($id: ID!) { retryJobRun(id: $id, onlyFailedTargets: true) { id trigger retryOf { id } targets { name host port } } }`, { id })).retryJobRun
    expect(retry).toMatchObject({ trigger: 'RETRY', retryOf: { id }, targets: [{ name: 'ans-rdown', host: sshd.hosts[1], port: sshd.port }] })
    const again = await waitFor(retry.id, ['SUCCEEDED', 'FAILED'])
    const lines = await logLines(retry.id)
    expect(again.status, JSON.stringify([again, lines])).toBe('SUCCEEDED')
    expect(again.result).toMatchObject({ exitCode: 0 })
    expect(again.targets).toEqual([expect.objectContaining({ name: 'ans-rdown', status: 'SUCCEEDED', exitCode: 0, result: counts })])
    // The inventory held the retried host alone: one host run, one recap line.
    expect(lines.some((l) => l.text === `running ansible-playbook on 1 host(s) in ${workDir(lines)}`)).toBe(true)
    const recap = lines.map((l) => /^(\S+)\s+:\s+ok=/.exec(l.text)?.[1]).filter(Boolean)
    expect(recap).toEqual(['ans-rdown'])
    // It ran on the retried host behind its corrected address; the hosts that had succeeded kept their single line.
    expect(await marks('ans-rdown')).toEqual([`${sshd.hosts[1]}:${sshd.port}`])
    expect(await marks('ans-r1')).toEqual([`${sshd.hosts[0]}:${sshd.port}`])
    expect(await marks('ans-r2')).toEqual([`${sshd.hosts[1]}:${sshd.port}`])
  }, 300_000)
})
