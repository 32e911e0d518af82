/**
 * The ansible_playbook executor with a real ansible-playbook against a real OpenSSH server; only the
 * dispatcher side (the ExecutionContext) is faked, by test/harness/fake-execution-context.ts.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { fakeExecutionContext } from '../../../test/harness/fake-execution-context.ts'
import { remoteProcesses, startSshd, unusedLoopbackPort, type TestSshd } from '../../../test/harness/sshd.ts'
import { ansiblePlaybookExecutor, createAnsiblePlaybookExecutor } from './ansible-playbook/index.ts'
import { toUnsafeYaml } from './ansible-playbook/inventory.ts'
import { classify, hostOf, parseRecapLine } from './ansible-playbook/output.ts'
import { AbortReason, type RunTargetHandle } from './types.ts'

const run = promisify(execFile)
let sshd: TestSshd
const marker = `sw-ansible-${process.pid}`

beforeAll(async () => {
  sshd = await startSshd({ count: 2 })
}, 60_000)
afterAll(async () => {
  await sshd?.stop()
  for (const f of (await readdir('/tmp')).filter((f) => f.startsWith(marker))) await rm(`/tmp/${f}`, { force: true })
})

function target(name: string, host: string, overrides: Partial<RunTargetHandle> = {}): RunTargetHandle {
  return {
    id: `rt-${name}`,
    targetId: `t-${name}`,
    name,
    host,
    port: sshd.port,
    tags: [],
    attributes: {},
    credential: { kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.privateKey },
    knownHostKey: null,
    ...overrides,
  }
}

function fakeContext(config: Record<string, unknown>, targets: RunTargetHandle[], options: { parameters?: Record<string, unknown>; signal?: AbortSignal } = {}) {
  const { ctx, system, reports, started, hostKeys } = fakeExecutionContext(ansiblePlaybookExecutor.configSchema.parse(config), {
    ...options,
    targets,
    maxParallelTargets: 5,
    overrides: (recording) => ({
      log: {
        ...recording.log,
        output: () => {
          throw new Error('ansible output goes through log.system')
        },
      },
    }),
  })
  return {
    ctx,
    system,
    reports,
    started,
    /** The host keys recorded, by run target id. */
    get recorded() {
      return hostKeys.map(({ runTargetId: id, ...key }) => ({ id, ...key }))
    },
  }
}

function workDir(system: Array<{ text: string }>): string {
  const dir = system.map((s) => /^running ansible-playbook on \d+ host\(s\) in (\S+)$/.exec(s.text)?.[1]).find(Boolean)
  expect(dir).toBeTruthy()
  return dir!
}

const PLAYBOOK = (suffix: string) => `
- hosts: all
  gather_facts: false
  tasks:
    - name: say hi
      command: echo hi
      changed_when: false
    - name: write a file
      copy:
        dest: "/tmp/${marker}-${suffix}-{{ inventory_hostname }}"
        content: "{{ greeting }} {{ count }}\\n"
`

describe('ansible_playbook parsing', () => {
  it('parses recap lines, host names and levels', () => {
    expect(parseRecapLine('sw-01                      : ok=2    changed=1    unreachable=0    failed=0    skipped=3    rescued=0    ignored=1   ')).toEqual({
      host: 'sw-01',
      counts: { ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 3, rescued: 0, ignored: 1 },
    })
    expect(parseRecapLine('TASK [x] ****')).toBeNull()
    expect(hostOf('ok: [sw-01]')).toBe('sw-01')
    expect(hostOf('changed: [sw-01] => (item=a)')).toBe('sw-01')
    expect(hostOf('fatal: [r1 -> localhost]: FAILED! => {}')).toBe('r1')
    expect(hostOf('TASK [write a file] ***')).toBeNull()
    expect(classify('TASK [x] ***')).toBe('INFO')
    expect(classify('ok: [a]')).toBe('INFO')
    expect(classify('changed: [a]')).toBe('WARNING')
    expect(classify('fatal: [a]: UNREACHABLE! => {}')).toBe('ERROR')
    expect(classify('failed: [a] (item=x) => {}')).toBe('ERROR')
    expect(toUnsafeYaml({ a: ['x{{ y }}', 1, true, null] })).toBe('{"a": [!unsafe "x{{ y }}", 1, true, null]}')
  })

  it('rejects bad config', () => {
    const schema = ansiblePlaybookExecutor.configSchema
    expect(schema.safeParse({ playbook: '  ' }).success).toBe(false)
    expect(schema.safeParse({ playbook: 'x', extraVars: { 'bad-name': 1 } }).success).toBe(false)
    expect(schema.safeParse({ playbook: 'x', tags: ['a,b'] }).success).toBe(false)
    const json = z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, { description?: string }> }
    expect(json.properties.checkMode?.description).toContain('--check')
  })
})

describe('ansible_playbook executor', () => {
  it('runs a playbook on two hosts: per-host recap, log levels, extra vars from parameters, temp dir removed', async () => {
    const a = target('web-a', sshd.hosts[0]!)
    const b = target('web-b', sshd.hosts[1]!, { credential: { kind: 'PASSWORD', username: sshd.user, password: sshd.password } })
    const r = fakeContext({ playbook: PLAYBOOK('run'), extraVars: { greeting: 'hello {{ who }}', count: '{{ params.n }}' } }, [a, b], { parameters: { who: '{{ lookup("pipe", "id") }}', n: 3 } })
    expect(await ansiblePlaybookExecutor.execute(r.ctx)).toEqual({ result: { exitCode: 0, checkMode: false } })
    for (const t of [a, b]) {
      const report = r.reports.get(t.id)!
      expect(report, JSON.stringify(r.system)).toMatchObject({ status: 'SUCCEEDED', exitCode: 0, result: { ok: 2, changed: 1, failed: 0, unreachable: 0, skipped: 0 } })
      expect(report.outputTail).toContain(`changed: [${t.name}]`)
      // The parameter is passed verbatim (unsafe), never templated by Ansible.
      expect(await readFile(`/tmp/${marker}-run-${t.name}`, 'utf8')).toBe('hello {{ lookup("pipe", "id") }} 3\n')
    }
    expect(r.started.sort()).toEqual([a.id, b.id])
    expect(r.system.find((s) => s.text.startsWith('TASK [say hi]'))).toMatchObject({ level: 'INFO' })
    expect(r.system.find((s) => s.text === `changed: [${a.name}]`)).toMatchObject({ level: 'WARNING', runTargetId: a.id })
    expect(r.system.find((s) => s.text === `ok: [${b.name}]`)).toMatchObject({ level: 'INFO', runTargetId: b.id })
    expect(r.system.find((s) => s.text.startsWith(`${a.name} `) && s.text.includes('ok=2'))).toMatchObject({ level: 'WARNING', runTargetId: a.id })
    expect(existsSync(workDir(r.system))).toBe(false)
    expect(JSON.stringify(r.system)).not.toContain(sshd.password)
  }, 180_000)

  it('check mode changes nothing; an unreachable host fails retryable, before the playbook, while the other succeeds', async () => {
    const refused = await unusedLoopbackPort()
    const a = target('chk-a', sshd.hosts[0]!)
    const down = target('chk-down', '127.0.0.1', { port: refused })
    const r = fakeContext({ playbook: PLAYBOOK('check'), checkMode: true, extraVars: { greeting: 'x', count: 1 } }, [a, down])
    await ansiblePlaybookExecutor.execute(r.ctx)
    expect(r.reports.get(a.id)).toMatchObject({ status: "SUCCEEDED", exitCode: 0, result: { changed: 1, failed: 0 } })
    expect(existsSync(`/tmp/${marker}-check-${a.name}`)).toBe(false)
    // Its host key could not be read: it fails before ansible runs, so it is not in the inventory at all.
    expect(r.reports.get(down.id)).toMatchObject({ status: 'FAILED', retryable: true })
    expect(r.reports.get(down.id)!.error).toMatch(new RegExp(`^host unreachable: 127\\.0\\.0\\.1:${refused} \\(could not read its SSH host key`))
    expect(r.system.find((s) => s.runTargetId === down.id && s.text.startsWith('chk-down: host unreachable'))).toMatchObject({ level: 'ERROR' })
    expect(r.system.some((s) => s.text.includes('running ansible-playbook on 1 host(s)'))).toBe(true)
    expect(existsSync(workDir(r.system))).toBe(false)
  }, 180_000)

  it('pins host keys: records the key on first contact, refuses a changed key before the playbook runs', async () => {
    const fresh = target('pin-new', sshd.hosts[0]!)
    const known = target('pin-known', sshd.hosts[1]!, { knownHostKey: { fingerprint: sshd.hostKeyFingerprint, algorithm: sshd.hostKeyAlgorithm } })
    const changed = target('pin-changed', sshd.hosts[0]!, { knownHostKey: { fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', algorithm: 'ssh-ed25519' } })
    const r = fakeContext({ playbook: PLAYBOOK('pin'), extraVars: { greeting: 'x', count: 1 } }, [fresh, known, changed])
    await ansiblePlaybookExecutor.execute(r.ctx)
    expect(r.reports.get(fresh.id), JSON.stringify([...r.reports.values(), ...r.system.slice(-8)])).toMatchObject({ status: 'SUCCEEDED' })
    expect(r.reports.get(known.id), JSON.stringify(r.reports.get(known.id))).toMatchObject({ status: 'SUCCEEDED' })
    expect(r.recorded).toEqual([{ id: fresh.id, fingerprint: sshd.hostKeyFingerprint, algorithm: sshd.hostKeyAlgorithm, publicKey: sshd.hostPublicKey }])
    expect(r.reports.get(changed.id)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(r.reports.get(changed.id)!.error).toMatch(/^host key mismatch on 127\.0\.0\.2:\d+: expected SHA256:AAAA/)
    expect(existsSync(`/tmp/${marker}-pin-${changed.name}`)).toBe(false)
    expect(existsSync(`/tmp/${marker}-pin-${fresh.name}`)).toBe(true)
  }, 180_000)

  it("ansible's own ssh accepts only the pinned key (strict known_hosts)", async () => {
    // A stand-in ssh-keyscan that reports some other server's key: it gets pinned, and the real server,
    // whose key differs, must then be refused by ansible's ssh itself.
    const dir = await mkdtemp(join(tmpdir(), 'sw-keyscan-'))
    try {
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')])
      const other = (await readFile(join(dir, 'other.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ')
      const fake = join(dir, 'ssh-keyscan')
      await writeFile(fake, `#!/bin/sh\necho "[whatever]:22 ${other}"\n`, { mode: 0o755 })
      const t = target('pin-strict', sshd.hosts[0]!)
      const r = fakeContext({ playbook: PLAYBOOK('strict'), extraVars: { greeting: 'x', count: 1 } }, [t])
      await createAnsiblePlaybookExecutor({ sshKeyscan: fake }).execute(r.ctx)
      expect(r.reports.get(t.id)).toMatchObject({ status: 'FAILED', result: { unreachable: 1 } })
      expect(r.system.some((s) => /Host key verification failed/.test(s.text)), JSON.stringify(r.system)).toBe(true)
      expect(existsSync(`/tmp/${marker}-strict-${t.name}`)).toBe(false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 180_000)

  it('fails password targets permanently without sshpass, and hosts missing from the recap on a syntax error', async () => {
    const noSshpass = createAnsiblePlaybookExecutor({ sshpass: '/nonexistent/sshpass' })
    const pw = target('pw', sshd.hosts[0]!, { credential: { kind: 'PASSWORD', username: sshd.user, password: sshd.password } })
    const key = target('key', sshd.hosts[1]!)
    const r = fakeContext({ playbook: '- hosts: all\n  tasks: [ {' }, [pw, key])
    await noSshpass.execute(r.ctx)
    expect(r.reports.get(pw.id)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(r.reports.get(pw.id)!.error).toContain('sshpass')
    expect(r.reports.get(key.id)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(r.reports.get(key.id)!.error).toMatch(/^not in the PLAY RECAP: ansible-playbook exited with code [1-9]/)
    expect(r.started).toEqual([key.id])
  }, 180_000)

  it('cancel stops ansible-playbook and the remote sleep, reports CANCELLED and removes the temp dir', async () => {
    const sleep = 'sleep 60.73'
    const controller = new AbortController()
    const a = target('slow', sshd.hosts[0]!)
    const r = fakeContext({ playbook: `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: ${sleep}\n` }, [a], { signal: controller.signal })
    const done = ansiblePlaybookExecutor.execute(r.ctx)
    await vi.waitFor(async () => expect(await remoteProcesses(sshd.user, sleep)).not.toEqual([]), { timeout: 90_000, interval: 200 })
    const dir = workDir(r.system)
    controller.abort(new AbortReason('cancelled'))
    await done
    expect(r.reports.get(a.id)).toMatchObject({ status: 'CANCELLED', error: 'run cancelled' })
    expect(existsSync(dir)).toBe(false)
    expect(await remoteProcesses('root', `ansible-playbook.*${dir}`)).toEqual([])
    await vi.waitFor(async () => expect(await remoteProcesses(sshd.user, sleep)).toEqual([]), { timeout: 15_000 })
    expect((await readdir(tmpdir())).includes(dir.split('/').pop()!)).toBe(false)
  }, 180_000)
})
