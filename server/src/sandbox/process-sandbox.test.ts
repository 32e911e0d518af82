/**
 * The sandbox every local process of a run goes through, with real processes: the environment is the
 * allowlist (nothing of the server's), the user is the run-as user when the tests run as root, the private
 * directory is the tool's and is removed by it, and root reads nothing back through a link. Also the real
 * tools it wraps for ping and ssh-keyscan (git: src/git/workdir.test.ts).
 */
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isRoot, runAsSandbox, runAsUser } from '../../test/harness/run-as.ts'
import { startSshd, type TestSshd } from '../../test/harness/sshd.ts'
import { scanHostKeys } from '../ssh/host-key-scan.ts'
import { cleanEnvironment, ProcessSandbox, TOOL_PATH } from './process-sandbox.ts'

const sandbox = runAsSandbox()
const CANARY = 'SWITCHYARD_SANDBOX_TEST_CANARY'

function exec(s: ProcessSandbox, command: string, args: string[], options: Parameters<ProcessSandbox['execFile']>[2] = {}): Promise<{ error: Error | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => s.execFile(command, args, options, (error, stdout, stderr) => resolve({ error, stdout, stderr })))
}

const envNames = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(0, l.indexOf('=')))
    .sort()

beforeAll(() => {
  // Stands for everything the server has in its environment (DATABASE_URL, SWITCHYARD_ADMIN_PASSWORD, …).
  process.env[CANARY] = 'server-only'
  process.env.DATABASE_URL ??= 'postgresql://canary@127.0.0.1/none'
})
afterAll(() => {
  delete process.env[CANARY]
})

describe('ProcessSandbox', () => {
  it('the environment is the allowlist plus the tool\'s own variables, never the server\'s', async () => {
    expect(cleanEnvironment()).toEqual({ PATH: TOOL_PATH, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' })
    expect(cleanEnvironment({ home: '/h', env: { GIT_X: '1' } })).toEqual({ PATH: TOOL_PATH, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', HOME: '/h', TMPDIR: '/h', GIT_X: '1' })
    const { stdout } = await exec(sandbox, 'env', [], { env: { TOOL_VAR: 'x' } })
    expect(envNames(stdout)).toEqual(['LANG', 'LC_ALL', 'PATH', 'TOOL_VAR'])
    expect(stdout).not.toContain(CANARY)
    expect(stdout).not.toContain('DATABASE_URL')
  })

  it('spawn (streamed output) gets the same environment and user', async () => {
    const child = sandbox.spawn('sh', ['-c', 'env; echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"'], { env: { ANSIBLE_X: '1' } })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    await new Promise((resolve) => child.once('close', resolve))
    expect(out).toContain('ANSIBLE_X=1')
    expect(out).not.toContain(CANARY)
    const uid = runAsUser?.uid ?? process.getuid!()
    const gid = runAsUser?.gid ?? process.getgid!()
    // No supplementary groups of the server (root's) either.
    expect(out).toContain(`uid=${uid} gid=${gid} groups=${gid}`)
  })

  it.runIf(isRoot)('as root, children run as the run-as user and cannot read root-only files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-sandbox-root-'))
    try {
      await writeFile(join(dir, 'secret.key'), 'top secret\n', { mode: 0o600 })
      const { stdout } = await exec(sandbox, 'id', ['-u'])
      expect(stdout.trim()).toBe(String(runAsUser!.uid))
      const read = await exec(sandbox, 'cat', [join(dir, 'secret.key')])
      expect(read.stderr).toMatch(/Permission denied/)
      expect(read.stdout).toBe('')
      // The server's own environment is out of reach through /proc as well.
      expect((await exec(sandbox, 'cat', [`/proc/${process.pid}/environ`])).stderr).toMatch(/Permission denied/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a private directory is prepared by root, then belongs to the run-as user (0700, files kept 0600), who removes it', async () => {
    let dir = ''
    const out = await sandbox.withPrivateDir(
      'switchyard-sandbox-test-',
      async (d) => {
        await writeFile(join(d, 'key'), 'k', { mode: 0o600 })
      },
      async (d) => {
        dir = d
        const owner = runAsUser ?? { uid: process.getuid!(), gid: process.getgid!() }
        expect(statSync(d)).toMatchObject({ uid: owner.uid, gid: owner.gid })
        expect(statSync(d).mode & 0o777).toBe(0o700)
        expect(statSync(join(d, 'key'))).toMatchObject({ uid: owner.uid, mode: expect.any(Number) })
        expect(statSync(join(d, 'key')).mode & 0o777).toBe(0o600)
        // The tool can use it: write a file of its own there.
        const made = await exec(sandbox, 'sh', ['-c', 'echo hi > "$HOME/made" && cat "$HOME/key"'], { home: d, cwd: d })
        expect(made.error).toBeNull()
        return made.stdout
      },
    )
    expect(out).toBe('k')
    expect(existsSync(dir)).toBe(false)
  })

  it('root reads back only regular files the run-as user owns, never through a link', async () => {
    const dir = await sandbox.createPrivateDir('switchyard-sandbox-read-')
    try {
      const own = join(dir, 'known_hosts')
      await exec(sandbox, 'sh', ['-c', `echo line > ${own}; ln -s /etc/shadow ${join(dir, 'link')}`])
      expect(await sandbox.readPrivateFile(own)).toBe('line\n')
      await expect(sandbox.readPrivateFile(join(dir, 'link'))).rejects.toThrow(/ELOOP|symbolic link/)
      if (isRoot) {
        // A file there that is not the run-as user's (a path swapped to a root-owned file) is refused.
        await writeFile(join(dir, 'root-owned'), 'root only', { mode: 0o600 })
        await expect(sandbox.readPrivateFile(join(dir, 'root-owned'))).rejects.toThrow(/is not owned by nobody/)
      }
    } finally {
      await sandbox.removePrivateDir(dir)
    }
  })
})

describe('the real tools run in the sandbox', () => {
  let sshd: TestSshd
  beforeAll(async () => {
    sshd = await startSshd({ count: 1 })
  }, 60_000)
  afterAll(async () => {
    await sshd?.stop()
  })

  it('ssh-keyscan reads the host key as the run-as user', async () => {
    // A wrapper in place of ssh-keyscan that records who ran it and with what environment, then runs the real one.
    const dir = await sandbox.createPrivateDir('switchyard-keyscan-')
    try {
      const wrapper = join(dir, 'ssh-keyscan')
      await exec(sandbox, 'sh', ['-c', `printf '#!/bin/sh\\n{ id -u; env; } > ${dir}/seen\\nexec ssh-keyscan "$@"\\n' > ${wrapper} && chmod 700 ${wrapper}`])
      const { keys } = await scanHostKeys(sshd.hosts[0]!, sshd.port, { timeoutSeconds: 5, signal: new AbortController().signal, sandbox, command: wrapper })
      expect(keys.map((k) => k.algorithm)).toContain('ssh-ed25519')
      const seen = await sandbox.readPrivateFile(join(dir, 'seen'))
      expect(seen.split('\n')[0]).toBe(String(runAsUser?.uid ?? process.getuid!()))
      expect(envNames(seen.split('\n').slice(1).join('\n'))).toEqual(['LANG', 'LC_ALL', 'PATH', 'PWD'])
    } finally {
      await sandbox.removePrivateDir(dir)
    }
  })

  it('ping answers as the run-as user (file capability or ping_group_range, no root needed)', async () => {
    const { error, stdout } = await exec(sandbox, 'ping', ['-c1', '-W1', '127.0.0.1'])
    expect(error, stdout).toBeNull()
    expect(stdout).toMatch(/1 received/)
  })
})
