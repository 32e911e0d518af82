/**
 * The config_backup executor against a real OpenSSH server and a real bare Git repository. Only the
 * dispatcher side (the ExecutionContext) is faked, by test/harness/fake-execution-context.ts; SSH, git and
 * the files on the "devices" are real.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fakeExecutionContext } from '../../../test/harness/fake-execution-context.ts'
import { startGitHttpsServer, type GitHttpsServer } from '../../../test/harness/git-https-server.ts'
import { remoteProcesses, startSshd, unusedLoopbackPort, type TestSshd } from '../../../test/harness/sshd.ts'
import { configBackupExecutor } from './config-backup/index.ts'
import { AbortReason, type DecryptedCredential, type ExecutionOutcome, type RunTargetHandle } from './types.ts'

const run = promisify(execFile)
let sshd: TestSshd
let dir: string

beforeAll(async () => {
  sshd = await startSshd({ count: 3 })
  dir = await mkdtemp(join(tmpdir(), 'switchyard-backup-test-'))
  // The commands run as the test user: the "device configs" must be readable by it.
  await chmod(dir, 0o755)
})
afterAll(async () => {
  await sshd?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

function target(name: string, host: number, overrides: Partial<RunTargetHandle> = {}): RunTargetHandle {
  return {
    id: `rt-${name}`,
    targetId: `t-${name}`,
    name,
    host: sshd.hosts[host]!,
    port: sshd.port,
    tags: [],
    attributes: { location: `site-${host}` },
    credential: { kind: 'PASSWORD', username: sshd.user, password: sshd.password },
    knownHostKey: null,
    ...overrides,
  }
}

async function bareRepo(name: string): Promise<string> {
  const path = join(dir, `${name}.git`)
  await run('git', ['init', '-q', '--bare', '-b', 'main', path])
  return path
}

async function git(repo: string, ...args: string[]): Promise<string> {
  // safe.directory: the ssh test's repository belongs to the test user, not to whoever runs the tests.
  return (await run('git', ['-c', 'safe.directory=*', '--git-dir', repo, ...args])).stdout
}

async function device(name: string, text: string): Promise<void> {
  await writeFile(join(dir, `${name}.conf`), text, { mode: 0o644 })
}

async function backup(
  config: Record<string, unknown>,
  targets: RunTargetHandle[],
  signal?: AbortSignal,
  parameters: Record<string, unknown> = {},
  credentials: ReadonlyMap<string, DecryptedCredential> = new Map(),
) {
  const r = fakeExecutionContext(configBackupExecutor.configSchema.parse(config), {
    runId: 'run-42',
    targets,
    signal,
    parameters,
    credentials,
    maxParallelTargets: 2,
    overrides: (recording, { reports }) => ({
      async setTargetAttributes(id, attrs) {
        // Before the target is reported: the attribute is in place when the run shows the target finished.
        expect(reports.has(id), `${id} attributes set after its report`).toBe(false)
        await recording.setTargetAttributes(id, attrs)
      },
    }),
  })
  const outcome: ExecutionOutcome = await configBackupExecutor.execute(r.ctx)
  const { reports, started } = r
  expect([...reports.keys()].sort()).toEqual(targets.map((t) => t.id).sort())
  const result = outcome.result as { commit: string | null; changed: number; unchanged: number; failed: number }
  const attributes = r.attributes.map(({ runTargetId: id, attributes }) => ({ id, attributes }))
  return { outcome, result, reports, log: r.transcript, attributes, started, report: (t: RunTargetHandle) => reports.get(t.id)! }
}

describe('config_backup schema', () => {
  const parse = (config: Record<string, unknown>) => configBackupExecutor.configSchema.safeParse(config)
  const fields = (config: Record<string, unknown>) => parse(config).error?.issues.map((i) => i.path.join('.')) ?? []

  it('applies defaults and rejects bad fields by name', () => {
    const ok = parse({ commands: ['show running-config'], repository: '/srv/backups.git' })
    expect(ok.data).toMatchObject({ branch: 'main', pathTemplate: '{target.name}/{command.index}.txt', stripPatterns: [], authorName: 'Switchyard' })
    expect(fields({ commands: ['x'], repository: 'http://example.com/r.git' })).toEqual(['repository'])
    expect(fields({ commands: ['x'], repository: '/r.git', stripPatterns: ['('] })).toEqual(['stripPatterns.0'])
    expect(fields({ commands: ['a', 'b'], repository: '/r.git', pathTemplate: '{target.name}.txt' })).toEqual(['pathTemplate'])
    expect(fields({ commands: ['a', { command: 'b', path: '{target.name}/b.txt' }], repository: '/r.git', pathTemplate: '{target.name}/a.txt' })).toEqual([])
    expect(fields({ commands: ['x'], repository: '/r.git', pathTemplate: '{nope}/x' })).toEqual(['pathTemplate'])
    expect(fields({ commands: ['x'], repository: '/r.git', branch: 'a..b' })).toEqual(['branch'])
    expect(fields({ commands: [], repository: '/r.git' })).toEqual(['commands'])
  })

  it('checks how each kind of remote authenticates, and the attribute name', () => {
    const cred = Buffer.from('Credential:0b6f6d2e-5a37-4c38-9d51-3b1f7f0c8a11').toString('base64')
    expect(fields({ commands: ['x'], repository: 'ssh://git@git.example.net:2222/net/configs.git', repositoryKeyParameter: 'deployKey' })).toEqual([])
    expect(fields({ commands: ['x'], repository: 'git@git.example.net:net/configs.git', repositoryKeyParameter: 'deployKey' })).toEqual([])
    expect(fields({ commands: ['x'], repository: 'git@git.example.net:net/configs.git', repositoryCredentialId: cred })).toEqual([])
    expect(fields({ commands: ['x'], repository: 'ssh://git@git.example.net/net/configs.git' })).toEqual(['repositoryCredentialId'])
    expect(fields({ commands: ['x'], repository: 'git@git.example.net:configs.git', repositoryCredentialId: cred, repositoryKeyParameter: 'k' })).toEqual(['repositoryKeyParameter'])
    expect(fields({ commands: ['x'], repository: '/r.git', repositoryKeyParameter: 'deployKey' })).toEqual(['repositoryKeyParameter'])
    expect(fields({ commands: ['x'], repository: '/r.git', repositoryCredentialId: cred })).toEqual(['repositoryCredentialId'])
    expect(fields({ commands: ['x'], repository: 'ssh://git@host/r.git', repositoryKeyParameter: 'not a name' })).toEqual(['repositoryKeyParameter'])
    expect(fields({ commands: ['x'], repository: 'https://git.example.net/configs.git', repositoryCredentialId: cred })).toEqual([])
    expect(fields({ commands: ['x'], repository: 'https://git.example.net/configs.git', repositoryCredentialId: 'nope' })).toEqual(['repositoryCredentialId'])
    expect(fields({ commands: ['x'], repository: 'https://git.example.net/configs.git', repositoryKeyParameter: 'k' })).toEqual(['repositoryKeyParameter'])
    expect(fields({ commands: ['x'], repository: 'https://git.example.net/configs.git', repositoryHostKeys: ['ssh-ed25519 AAAA'] })).toEqual(['repositoryHostKeys'])
    expect(fields({ commands: ['x'], repository: 'git@h:r.git', repositoryKeyParameter: 'k', repositoryHostKeys: ['not a key'] })).toEqual(['repositoryHostKeys.0'])
    expect(fields({ commands: ['x'], repository: 'git@h:r.git', repositoryKeyParameter: 'k', repositoryCaCertificate: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----' })).toEqual([
      'repositoryCaCertificate',
    ])
    const userInUrl = parse({ commands: ['x'], repository: 'https://user:token@git.example.net/configs.git' })
    expect(userInUrl.error?.issues.map((i) => i.path.join('.'))).toEqual(['repository'])
    expect(userInUrl.error?.issues[0]?.message).toMatch(/no user or password in an https URL: use repositoryCredentialId/)
    expect(configBackupExecutor.credentialRefs!(parse({ commands: ['x'], repository: 'https://h/r.git', repositoryCredentialId: cred }).data!)).toEqual([
      { path: ['repositoryCredentialId'], id: '0b6f6d2e-5a37-4c38-9d51-3b1f7f0c8a11', kinds: ['PASSWORD'], purpose: expect.stringContaining('https') },
    ])
    for (const bad of ['ssh://user:secret@host/r.git', 'ssh://-oProxyCommand=x/r.git', 'git@-host:r.git', 'ext::sh -c x', 'relative/path', 'git://host/r.git']) {
      expect(fields({ commands: ['x'], repository: bad, repositoryKeyParameter: 'k' }), bad).toContain('repository')
    }
    expect(parse({ commands: ['x'], repository: '/r.git', backupTimeAttribute: 'lastBackupAt' }).data?.backupTimeAttribute).toBe('lastBackupAt')
    expect(fields({ commands: ['x'], repository: '/r.git', backupTimeAttribute: 'last backup' })).toEqual(['backupTimeAttribute'])
  })
})

describe('config_backup executor', () => {
  it('commits once per run: new files, then nothing when unchanged, then a diff summary when a device changed', async () => {
    const repo = await bareRepo('basic')
    const targets = [target('r1', 0), target('r2', 1), target('r3', 2)]
    for (const t of targets) await device(t.name, `hostname ${t.name}\ninterface eth0\n ip address 10.0.0.1/24\n`)
    const config = {
      commands: [`cat ${dir}/{{ target.name }}.conf`],
      repository: repo,
      pathTemplate: '{target.attributes.location}/{target.name}/running-config.txt',
      authorName: 'Backup Bot',
      authorEmail: 'backup@example.net',
    }

    const first = await backup(config, targets)
    expect(first.result).toMatchObject({ changed: 3, unchanged: 0, failed: 0, branch: 'main' })
    expect(first.result.commit).toMatch(/^[0-9a-f]{40}$/)
    for (const t of targets) expect(first.report(t)).toMatchObject({ status: 'SUCCEEDED', result: { changed: true, diffSummary: '+3 -0' } })
    expect((await git(repo, 'rev-parse', 'main')).trim()).toBe(first.result.commit)
    const [entry] = (await git(repo, 'log', '--format=%an <%ae>|%s', 'main')).trim().split('\n')
    expect(entry).toBe('Backup Bot <backup@example.net>|Config backup: 3 targets, 3 changed, 0 failed (run run-42)')
    expect(await git(repo, 'show', 'main:site-1/r2/running-config.txt')).toBe('hostname r2\ninterface eth0\n ip address 10.0.0.1/24\n')
    expect((await git(repo, 'ls-tree', '-r', '--name-only', 'main')).trim().split('\n')).toEqual([
      'site-0/r1/running-config.txt',
      'site-1/r2/running-config.txt',
      'site-2/r3/running-config.txt',
    ])

    const second = await backup(config, targets)
    expect(second.result).toMatchObject({ commit: null, changed: 0, unchanged: 3 })
    for (const t of targets) expect(second.report(t)).toMatchObject({ status: 'SUCCEEDED', result: { changed: false, diffSummary: '+0 -0' } })
    expect((await git(repo, 'rev-list', '--count', 'main')).trim()).toBe('1')

    await device('r2', 'hostname r2\ninterface eth0\n ip address 10.0.0.2/24\n description uplink\n')
    const third = await backup(config, targets)
    expect(third.result).toMatchObject({ changed: 1, unchanged: 2 })
    expect(third.report(targets[1]!)).toMatchObject({ status: 'SUCCEEDED', result: { changed: true, diffSummary: '+2 -1' } })
    expect(third.report(targets[0]!)).toMatchObject({ result: { changed: false } })
    expect((await git(repo, 'rev-list', '--count', 'main')).trim()).toBe('2')
    const message = await git(repo, 'log', '-1', '--format=%B', 'main')
    expect(message).toContain('Config backup: 3 targets, 1 changed, 0 failed')
    expect(message).toContain('r2: changed (+2 -1)')
    expect(message).toContain('r1: unchanged')
    expect(await git(repo, 'show', '--format=', '--stat', 'main')).toContain('site-1/r2/running-config.txt')
  })

  it('strips volatile lines, so a timestamp-only change is unchanged', async () => {
    const repo = await bareRepo('strip')
    const t = target('sw1', 0)
    const config = {
      commands: [`cat ${dir}/sw1.conf`],
      repository: repo,
      branch: 'backups/lab',
      pathTemplate: '{target.name}.cfg',
      stripPatterns: ['^! Last configuration change at', 'uptime is'],
    }
    await device('sw1', '! Last configuration change at 10:00:01\r\nhostname sw1\r\nsw1 uptime is 3 days\r\nvlan 10\r\n')
    const first = await backup(config, [t])
    expect(first.report(t)).toMatchObject({ status: 'SUCCEEDED', result: { changed: true, diffSummary: '+2 -0' } })
    expect(await git(repo, 'show', 'backups/lab:sw1.cfg')).toBe('hostname sw1\nvlan 10\n')

    await device('sw1', '! Last configuration change at 11:42:17\r\nhostname sw1\r\nsw1 uptime is 4 days\r\nvlan 10\r\n')
    const second = await backup(config, [t])
    expect(second.result.commit).toBeNull()
    expect(second.report(t)).toMatchObject({ status: 'SUCCEEDED', result: { changed: false } })
  })

  it('one file per command; an unreachable target fails while the others are committed', async () => {
    const repo = await bareRepo('partial')
    const good = [target('a', 0), target('b', 1)]
    const down = target('down', 0, { host: '127.0.0.1', port: await unusedLoopbackPort() })
    for (const t of good) await device(t.name, `config of ${t.name}\n`)
    const r = await backup(
      {
        commands: [`cat ${dir}/{{ target.name }}.conf`, { command: 'echo v1.2.3', path: '{target.name}/version.txt' }],
        repository: `file://${repo}`,
        pathTemplate: '{target.name}/{command.index}.txt',
      },
      [good[0]!, down, good[1]!],
    )
    expect(r.report(down)).toMatchObject({ status: 'FAILED', retryable: true })
    expect(r.report(down).error).toMatch(/refused/)
    for (const t of good) expect(r.report(t)).toMatchObject({ status: 'SUCCEEDED', result: { changed: true, diffSummary: '+2 -0', files: [`${t.name}/1.txt`, `${t.name}/version.txt`] } })
    expect(r.result).toMatchObject({ changed: 2, failed: 1 })
    expect((await git(repo, 'ls-tree', '-r', '--name-only', 'main')).trim().split('\n')).toEqual(['a/1.txt', 'a/version.txt', 'b/1.txt', 'b/version.txt'])
    const message = await git(repo, 'log', '-1', '--format=%B', 'main')
    expect(message).toMatch(/^Config backup: 3 targets, 2 changed, 1 failed/)
    expect(message).toMatch(/down: FAILED \(connection refused/)
  })

  it('a failing command or a missing attribute fails only that target', async () => {
    const repo = await bareRepo('errors')
    const ok = target('ok', 0)
    const noLoc = target('noloc', 1, { attributes: {} })
    await device('ok', 'fine\n')
    const r = await backup({ commands: [`cat ${dir}/{{ target.name }}.conf`], repository: repo, pathTemplate: '{target.attributes.location}/{target.name}' }, [ok, noLoc])
    expect(r.report(noLoc)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(r.report(noLoc).error).toMatch(/target\.attributes\.location/)
    expect(r.report(ok)).toMatchObject({ status: 'SUCCEEDED' })

    const sneaky = target('..', 2)
    const escape = await backup({ commands: ['true'], repository: repo, pathTemplate: '{target.name}/x' }, [sneaky])
    expect(escape.report(sneaky)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(escape.report(sneaky).error).toMatch(/must not contain ".."/)

    const missing = await backup({ commands: [`cat ${dir}/nothing-here.conf`], repository: repo, pathTemplate: '{target.name}.x' }, [ok])
    expect(missing.report(ok)).toMatchObject({ status: 'FAILED' })
    expect(missing.report(ok).error).toMatch(/exited with code 1/)
    expect(missing.result.commit).toBeNull()
  })

  it('a repository that does not exist fails the targets with a clear error', async () => {
    const t = target('r1', 0)
    await device('r1', 'x\n')
    const r = await backup({ commands: [`cat ${dir}/r1.conf`], repository: join(dir, 'no-such-repo.git') }, [t])
    expect(r.report(t)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(r.report(t).error).toMatch(/could not store the backup in .*no-such-repo\.git/)
    expect(r.result.commit).toBeNull()
  })

  it('backupTimeAttribute: set on every stored target (changed or unchanged), never on a failed one', async () => {
    const repo = await bareRepo('attr')
    const ok = target('attr-ok', 0)
    const down = target('attr-down', 0, { host: '127.0.0.1', port: await unusedLoopbackPort() })
    await device('attr-ok', 'config\n')
    const config = { commands: [`cat ${dir}/{{ target.name }}.conf`], repository: repo, pathTemplate: '{target.name}.txt', backupTimeAttribute: 'lastBackupAt' }
    const before = Date.now()
    const first = await backup(config, [ok, down])
    expect(first.report(down)).toMatchObject({ status: 'FAILED' })
    expect(first.report(ok)).toMatchObject({ status: 'SUCCEEDED', result: { changed: true } })
    expect(first.attributes.map((a) => a.id)).toEqual([ok.id])
    const at = first.attributes[0]!.attributes.lastBackupAt as string
    expect(Object.keys(first.attributes[0]!.attributes)).toEqual(['lastBackupAt'])
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(Date.parse(at)).toBeGreaterThanOrEqual(before)

    const unchanged = await backup(config, [ok])
    expect(unchanged.result.commit).toBeNull()
    expect(unchanged.attributes).toEqual([{ id: ok.id, attributes: { lastBackupAt: expect.any(String) } }])

    // Storing failed: nobody gets the attribute.
    const broken = await backup({ ...config, repository: join(dir, 'missing.git') }, [ok])
    expect(broken.report(ok)).toMatchObject({ status: 'FAILED' })
    expect(broken.attributes).toEqual([])
    // Without the option nothing is set.
    expect((await backup({ ...config, backupTimeAttribute: undefined }, [ok])).attributes).toEqual([])
  })

  it('pushes over ssh:// with the private key from a SECRET parameter', async () => {
    // A bare repository the test user owns: git-receive-pack runs as that user over ssh.
    const repo = await bareRepo('over-ssh')
    await run('chown', ['-R', `${sshd.user}:${sshd.user}`, repo])
    const t = target('ssh-r1', 0)
    await device('ssh-r1', 'hostname ssh-r1\n')
    const config = {
      commands: [`cat ${dir}/{{ target.name }}.conf`],
      repository: `ssh://${sshd.user}@${sshd.hosts[0]}:${sshd.port}${repo}`,
      repositoryKeyParameter: 'deployKey',
      pathTemplate: '{target.name}.txt',
      backupTimeAttribute: 'lastBackupAt',
    }
    const r = await backup(config, [t], undefined, { deployKey: sshd.privateKey })
    expect(r.report(t), r.log.join('\n')).toMatchObject({ status: 'SUCCEEDED', result: { changed: true } })
    expect(r.result.commit).toMatch(/^[0-9a-f]{40}$/)
    expect((await git(repo, 'log', '--format=%H|%s', 'main')).trim()).toBe(`${r.result.commit}|Config backup: 1 targets, 1 changed, 0 failed (run run-42)`)
    expect(await git(repo, 'show', 'main:ssh-r1.txt')).toBe('hostname ssh-r1\n')
    expect(r.attributes.map((a) => a.id)).toEqual([t.id])
    // The key never reaches the log.
    const keyBody = sshd.privateKey.split('\n')[1]!
    expect(r.log.join('\n')).not.toContain(keyBody)

    // A second run clones over ssh too and finds nothing changed.
    const again = await backup(config, [t], undefined, { deployKey: sshd.privateKey })
    expect(again.report(t)).toMatchObject({ status: 'SUCCEEDED', result: { changed: false } })
    expect((await git(repo, 'rev-list', '--count', 'main')).trim()).toBe('1')

    // A key the server does not accept: the store fails, the error names the repository, nothing is set.
    const { stdout: otherKey } = await run('sh', ['-c', `d=$(mktemp -d) && ssh-keygen -q -t ed25519 -N '' -f $d/k && cat $d/k && rm -rf $d`])
    await device('ssh-r1', 'hostname ssh-r1\nchanged\n')
    const denied = await backup(config, [t], undefined, { deployKey: otherKey })
    expect(denied.report(t)).toMatchObject({ status: 'FAILED' })
    expect(denied.report(t).error).toMatch(/could not store the backup in ssh:\/\/.*Permission denied/)
    expect(denied.attributes).toEqual([])
    expect((await git(repo, 'rev-list', '--count', 'main')).trim()).toBe('1')
  })

  it('pushes over ssh with a stored credential: encrypted key and its passphrase, user from the credential, host key pinned', async () => {
    const repo = await bareRepo('over-ssh-credential')
    await run('chown', ['-R', `${sshd.user}:${sshd.user}`, repo])
    const t = target('sshc-r1', 0)
    await device('sshc-r1', 'hostname sshc-r1\n')
    const credId = '6d0c3f6a-0a51-4d0e-9a57-7b0f3c2f9e01'
    const credentials = new Map<string, DecryptedCredential>([[credId, { kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.encryptedPrivateKey, passphrase: sshd.passphrase }]])
    // No user in the URL: the credential's user name logs in.
    const base = { commands: [`cat ${dir}/{{ target.name }}.conf`], repository: `ssh://${sshd.hosts[0]}:${sshd.port}${repo}`, repositoryCredentialId: credId, pathTemplate: '{target.name}.txt' }

    // Not pinned: accepted, and the log names the key so it can be pinned.
    const first = await backup(base, [t], undefined, {}, credentials)
    expect(first.report(t), first.log.join('\n')).toMatchObject({ status: 'SUCCEEDED', result: { changed: true } })
    expect(await git(repo, 'show', 'main:sshc-r1.txt')).toBe('hostname sshc-r1\n')
    expect(first.log.join('\n')).toContain(`remote host key ${sshd.hostKeyFingerprint} accepted without pinning; to pin it, set repositoryHostKeys to ["${sshd.hostPublicKey}"]`)
    expect(first.log.join('\n')).not.toContain(sshd.passphrase)

    // Pinned to the right key: no warning.
    await device('sshc-r1', 'hostname sshc-r1\nv2\n')
    const pinned = await backup({ ...base, repositoryHostKeys: [sshd.hostPublicKey] }, [t], undefined, {}, credentials)
    expect(pinned.report(t), pinned.log.join('\n')).toMatchObject({ status: 'SUCCEEDED', result: { changed: true } })
    expect(pinned.log.join('\n')).not.toContain('accepted without pinning')

    // Pinned to another key (a server impersonating the remote): refused, nothing pushed.
    const { stdout: otherPub } = await run('sh', ['-c', `d=$(mktemp -d) && ssh-keygen -q -t ed25519 -N '' -f $d/k && cut -d' ' -f1,2 $d/k.pub && rm -rf $d`])
    await device('sshc-r1', 'hostname sshc-r1\nv3\n')
    const impostor = await backup({ ...base, repositoryHostKeys: [otherPub.trim()] }, [t], undefined, {}, credentials)
    expect(impostor.report(t)).toMatchObject({ status: 'FAILED' })
    expect(impostor.report(t).error).toMatch(/Host key verification failed/)
    expect((await git(repo, 'rev-list', '--count', 'main')).trim()).toBe('2')

    // The credential was deleted after the template was saved: a clear error, no login attempted.
    const gone = await backup(base, [t], undefined, {}, new Map())
    expect(gone.report(t)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(gone.report(t).error).toMatch(/repositoryCredentialId: the credential it names no longer exists/)
    expect(gone.started).toEqual([t.id])
  })

  describe('https remotes', () => {
    let server: GitHttpsServer
    const account = { username: 'backup-bot', password: 'tok-3f9a!x y' }
    const credId = '0b6f6d2e-5a37-4c38-9d51-3b1f7f0c8a11'
    const withPassword = (password: string) => new Map<string, DecryptedCredential>([[credId, { kind: 'PASSWORD', username: account.username, password }]])
    beforeAll(async () => {
      server = await startGitHttpsServer(account)
    })
    afterAll(async () => {
      await server?.stop()
    })

    it('pushes with the credential\'s user and token, trusting the configured CA; the token never reaches the log', async () => {
      const repo = await server.createRepository('https-ok.git')
      const t = target('https-r1', 0)
      await device('https-r1', 'hostname https-r1\n')
      const config = {
        commands: [`cat ${dir}/{{ target.name }}.conf`],
        repository: server.url('https-ok.git'),
        repositoryCredentialId: Buffer.from(`Credential:${credId}`).toString('base64'),
        repositoryCaCertificate: server.caCertificate,
        pathTemplate: '{target.name}.txt',
      }
      const r = await backup(config, [t], undefined, {}, withPassword(account.password))
      expect(r.report(t), r.log.join('\n')).toMatchObject({ status: 'SUCCEEDED', result: { changed: true } })
      expect(await git(repo, 'show', 'main:https-r1.txt')).toBe('hostname https-r1\n')
      expect((await git(repo, 'log', '--format=%H', 'main')).trim()).toBe(r.result.commit)
      expect(server.requests.some((q) => q.user === account.username && q.path.endsWith('git-receive-pack'))).toBe(true)
      expect(r.log.join('\n')).not.toContain(account.password)

      // A wrong token: refused by the server, a clear error, nothing pushed, no hang.
      await device('https-r1', 'hostname https-r1\nchanged\n')
      const denied = await backup(config, [t], undefined, {}, withPassword('wrong'))
      expect(denied.report(t)).toMatchObject({ status: 'FAILED' })
      expect(denied.report(t).error).toMatch(/could not store the backup in https:\/\/127\.0\.0\.1:\d+\/https-ok\.git .*Authentication failed/)
      expect(denied.report(t).error).not.toContain('wrong')
      expect((await git(repo, 'rev-list', '--count', 'main')).trim()).toBe('1')

      // Without the CA the self-signed server is not trusted: refused before any credential is sent.
      const before = server.requests.length
      const untrusted = await backup({ ...config, repositoryCaCertificate: undefined }, [t], undefined, {}, withPassword(account.password))
      expect(untrusted.report(t)).toMatchObject({ status: 'FAILED' })
      expect(untrusted.report(t).error).toMatch(/certificate/i)
      expect(server.requests.length).toBe(before)
    })
  })

  it('an ssh remote without its key parameter value fails every target before any login', async () => {
    const t1 = target('nokey-1', 0)
    const t2 = target('nokey-2', 1)
    const config = { commands: ['true'], repository: `ssh://${sshd.user}@${sshd.hosts[0]}:${sshd.port}/tmp/x.git`, repositoryKeyParameter: 'deployKey' }
    const missing = await backup(config, [t1, t2])
    for (const t of [t1, t2]) expect(missing.report(t)).toMatchObject({ status: 'FAILED', retryable: false, error: expect.stringMatching(/template parameter "deployKey" \(repositoryKeyParameter\) is missing or empty/) })
    expect(missing.log.some((l) => l.includes('connected'))).toBe(false)
    expect(missing.result).toMatchObject({ commit: null, failed: 2 })
    const notAKey = await backup(config, [t1], undefined, { deployKey: 'hunter2' })
    expect(notAKey.report(t1).error).toMatch(/does not hold a private key/)
    expect(notAKey.report(t1).error).not.toContain('hunter2')
  })

  it('cancel before the commit pushes nothing', async () => {
    const repo = await bareRepo('cancel')
    const marker = 'sleep 59.37'
    const fast = target('fast', 0)
    const slow = target('slow', 1)
    await device('fast', 'fast\n')
    const controller = new AbortController()
    const pending = backup({ commands: [`cat ${dir}/fast.conf 2>/dev/null || true; test {{ target.name }} = fast || ${marker}`], repository: repo, pathTemplate: '{target.name}' }, [fast, slow], controller.signal)
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0)
    controller.abort(new AbortReason('cancelled'))
    const r = await pending
    expect(r.report(slow)).toMatchObject({ status: 'CANCELLED' })
    expect(r.report(fast)).toMatchObject({ status: 'CANCELLED' })
    expect(r.result.commit).toBeNull()
    expect((await git(repo, 'for-each-ref')).trim()).toBe('')
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length === 0)
  })
})

async function eventually(fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
