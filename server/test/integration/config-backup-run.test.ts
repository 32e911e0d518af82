/**
 * `config_backup` through the GraphQL API: a template saved with a bad config is refused with the field
 * named; a run against real sshd targets commits to a real bare repository, lists the commit on the run
 * and reports changed / unchanged / failed per target; a retry of the failed targets only commits theirs alone.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { startGitHttpsServer } from '../harness/git-https-server.ts'
import { giveToRunAsUser } from '../harness/run-as.ts'
import { startSshd, unusedLoopbackPort, type TestSshd } from '../harness/sshd.ts'
import { WebhookReceiver } from '../harness/webhook-receiver.ts'

const exec = promisify(execFile)
let t: TestApp
let sshd: TestSshd
let dir: string
let repo: string
let credentialId: string
const receiver = new WebhookReceiver()
const ids: Record<string, string> = {}

const CREATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
const RUN = `query($id: ID!) { jobRun(id: $id) { id status error result targets { name status error result } } }`

beforeAll(async () => {
  sshd = await startSshd({ count: 2 })
  await receiver.start()
  t = await startTestApp()
  dir = await mkdtemp(join(tmpdir(), 'switchyard-backup-it-'))
  await chmod(dir, 0o755)
  repo = join(dir, 'configs.git')
  await exec('git', ['init', '-q', '--bare', '-b', 'main', repo])
  // git runs as the run-as user (nobody, as root): a local repository must be that user's.
  await giveToRunAsUser(repo)
  credentialId = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'lab', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
  const target = async (name: string, host: string, port: number) =>
    (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host, port, credentialId, tags: ['backup'], attributes: { location: 'dc1' } } })).createTarget.id
  ids.core1 = await target('core-1', sshd.hosts[0]!, sshd.port)
  ids.core2 = await target('core-2', sshd.hosts[1]!, sshd.port)
  ids.gone = await target('gone', '127.0.0.1', await unusedLoopbackPort())
  for (const name of ['core-1', 'core-2']) await writeFile(join(dir, `${name}.conf`), `hostname ${name}\n! uptime 5 days\n`, { mode: 0o644 })
})

afterAll(async () => {
  await t?.stop()
  await receiver.stop()
  await sshd?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function runTemplate(templateId: string) {
  const id = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: templateId })).triggerJobRun.id
  return eventually(async () => {
    const r = (await t.ok(RUN, { id })).jobRun
    return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(r.status) ? r : null
  }, { timeoutMs: 60_000, what: `run ${id} to finish` })
}

describe('config_backup through the API', () => {
  it('refuses a bad config at template save, naming the field', async () => {
    const base = { name: 'bad', jobType: 'config_backup', visibility: 'GLOBAL', targetSelector: { tags: ['backup'] } }
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ commands: ['cat /etc/hostname'], repository: 'http://git.example.com/configs.git' }, 'input.config.repository'],
      [{ commands: ['cat /etc/hostname'], repository: 'https://user:token@git.example.com/configs.git' }, 'input.config.repository'],
      [{ commands: ['cat /etc/hostname'] }, 'input.config.repository'],
      [{ commands: ['cat /etc/hostname'], repository: repo, stripPatterns: ['[unclosed'] }, 'input.config.stripPatterns.0'],
      [{ commands: ['a', 'b'], repository: repo, pathTemplate: '{target.name}.txt' }, 'input.config.pathTemplate'],
      [{ commands: ['cat /etc/hostname'], repository: 'ssh://git@git.example.net:2222/net/configs.git' }, 'input.config.repositoryCredentialId'],
      [{ commands: ['cat /etc/hostname'], repository: 'git@git.example.net:net/configs.git' }, 'input.config.repositoryCredentialId'],
      [{ commands: ['cat /etc/hostname'], repository: 'https://git.example.com/configs.git', repositoryCredentialId: 'not-an-id' }, 'input.config.repositoryCredentialId'],
      [{ commands: ['cat /etc/hostname'], repository: repo, backupTimeAttribute: 'last backup' }, 'input.config.backupTimeAttribute'],
    ]
    for (const [config, field] of cases) {
      const r = await t.gql(CREATE, { i: { ...base, config } })
      const dump = JSON.stringify(r)
      expect(r.errors?.[0]?.extensions?.code, dump).toBe('BAD_USER_INPUT')
      expect(r.errors?.[0]?.extensions?.fields?.map((f: { field: string }) => f.field), dump).toContain(field)
    }
    const inUrl = await t.gql(CREATE, { i: { ...base, config: { commands: ['x'], repository: 'https://u:secret@git.example.com/configs.git' } } })
    expect(JSON.stringify(inUrl.errors)).toMatch(/no user or password in an https URL: use repositoryCredentialId/)
    const { jobTypes } = await t.ok(`{ jobTypes { type usesTargets configSchema } }`)
    const info = jobTypes.find((x: { type: string }) => x.type === 'config_backup')
    expect(info.usesTargets).toBe(true)
    expect(info.configSchema.properties.repository.description).toMatch(/repository/)
    expect(info.configSchema.properties.repositoryCredentialId.format).toBe('credential-id')
  })

  it('commits the configs of the reachable targets and lists the commit on the run', async () => {
    const tpl = (
      await t.ok(CREATE, {
        i: {
          name: 'nightly backup',
          jobType: 'config_backup',
          visibility: 'GLOBAL',
          targetSelector: { tags: ['backup'] },
          maxParallelTargets: 2,
          config: {
            commands: [`cat ${dir}/{{ target.name }}.conf`],
            repository: repo,
            pathTemplate: '{target.attributes.location}/{target.name}/running-config.txt',
            stripPatterns: ['uptime'],
            backupTimeAttribute: 'lastBackupAt',
          },
        },
      })
    ).createJobTemplate.id
    // CONFIG_CHANGED: a webhook rule for this template, to a local receiver.
    const signing = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'hook secret', kind: 'PASSWORD', username: 'hook', password: 'webhook-signing-secret-0123456789' } })).createCredential.id
    const channel = (await t.ok(`mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, { i: { name: 'config changes', url: `${receiver.url}/changes`, secretCredentialId: signing } })).createNotificationChannel.id
    await t.ok(`mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { id } }`, { i: { name: 'config changes', events: ['CONFIG_CHANGED'], templateIds: [tpl], channelIds: [channel] } })

    const r = await runTemplate(tpl)
    expect(r.status).toBe('FAILED') // one of three targets is unreachable
    const head = (await exec('git', ['-c', 'safe.directory=*', '--git-dir', repo, 'rev-parse', 'main'])).stdout.trim()
    expect(r.result).toMatchObject({ commit: head, branch: 'main', changed: 2, unchanged: 0, failed: 1 })
    const byName = Object.fromEntries(r.targets.map((x: { name: string }) => [x.name, x]))
    expect(byName['core-1']).toMatchObject({ status: 'SUCCEEDED', result: { changed: true, diffSummary: '+1 -0' } })
    expect(byName['core-2']).toMatchObject({ status: 'SUCCEEDED', result: { changed: true } })
    expect(byName.gone.status).toBe('FAILED')
    expect(byName.gone.error).toMatch(/refused/)
    // The commit notified CONFIG_CHANGED once, with the diff summary of each changed target.
    await eventually(async () => receiver.at('/changes').length > 0, { what: 'the CONFIG_CHANGED delivery' })
    expect(receiver.bodies('/changes')).toEqual([
      expect.objectContaining({
        event: 'CONFIG_CHANGED',
        run: expect.objectContaining({ id: Buffer.from(r.id, 'base64').toString().split(':')[1], templateName: 'nightly backup' }),
        details: { commit: head, changed: 2, unchanged: 0, failed: 1, changedTargets: [{ name: 'core-1', diffSummary: '+1 -0' }, { name: 'core-2', diffSummary: '+1 -0' }] },
      }),
    ])
    expect((await exec('git', ['-c', 'safe.directory=*', '--git-dir', repo, 'show', 'main:dc1/core-2/running-config.txt'])).stdout).toBe('hostname core-2\n')
    expect((await exec('git', ['-c', 'safe.directory=*', '--git-dir', repo, 'log', '-1', '--format=%s', 'main'])).stdout).toMatch(/^Config backup: 3 targets, 2 changed, 1 failed \(run /)
    // backupTimeAttribute: on the targets whose backup was stored, not on the failed one; other attributes kept.
    const attrs = async (id: string) => (await t.ok(`query($id: ID!) { target(id: $id) { attributes } }`, { id })).target.attributes
    const stamp = (await attrs(ids.core1!)).lastBackupAt
    expect(await attrs(ids.core1!)).toEqual({ location: 'dc1', lastBackupAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/) })
    expect((await attrs(ids.core2!)).lastBackupAt).toEqual(expect.any(String))
    expect(await attrs(ids.gone!)).toEqual({ location: 'dc1' })

    // Only the reachable targets, nothing changed (the uptime line is stripped): a successful run, no commit.
    await writeFile(join(dir, 'core-1.conf'), 'hostname core-1\n! uptime 6 days\n')
    await t.ok(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: tpl, i: { targetSelector: { targetIds: [ids.core1, ids.core2] } } })
    const again = await runTemplate(tpl)
    expect(again.status).toBe('SUCCEEDED')
    expect(again.result).toMatchObject({ commit: null, changed: 0, unchanged: 2, failed: 0 })
    expect(again.targets.map((x: { result: { changed: boolean } }) => x.result.changed)).toEqual([false, false])
    // An unchanged backup is still a backup: the time moves on.
    expect(Date.parse((await attrs(ids.core1!)).lastBackupAt)).toBeGreaterThan(Date.parse(stamp))
    expect((await exec('git', ['-c', 'safe.directory=*', '--git-dir', repo, 'rev-parse', 'main'])).stdout.trim()).toBe(head)
    // Nothing committed: no CONFIG_CHANGED (the outbox row would be written with the run's final status).
    const { rows } = await t.app.db.pool.query(`SELECT count(*)::int AS n FROM notification_delivery WHERE event = 'CONFIG_CHANGED'`)
    expect(rows[0].n).toBe(1)
  })

  it('pushes to an https remote with a stored credential: checked at save, masked in the log, protected from deletion', async () => {
    const account = { username: 'backup-bot', password: 'glpat-Zx81-secret-token' }
    const server = await startGitHttpsServer(account)
    try {
      const httpsRepo = await server.createRepository('net-configs.git')
      const createCredential = `mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`
      const token = (await t.ok(createCredential, { i: { name: 'git token', kind: 'PASSWORD', username: account.username, password: account.password } })).createCredential.id
      const key = (await t.ok(createCredential, { i: { name: 'deploy key', kind: 'PRIVATE_KEY', username: 'git', privateKey: sshd.privateKey } })).createCredential.id
      const config = {
        commands: [`cat ${dir}/{{ target.name }}.conf`],
        repository: server.url('net-configs.git'),
        repositoryCredentialId: token,
        repositoryCaCertificate: server.caCertificate,
        pathTemplate: '{target.name}.txt',
      }
      const base = { jobType: 'config_backup', visibility: 'GLOBAL', targetSelector: { targetIds: [ids.core1] } }

      // At save: the credential must exist and be of the kind the remote needs.
      const fieldOf = (r: { errors?: Array<{ extensions?: { fields?: Array<{ field: string; message: string }> } }> }) => r.errors?.[0]?.extensions?.fields?.[0]
      const missing = await t.gql(CREATE, { i: { ...base, name: 'missing cred', config: { ...config, repositoryCredentialId: Buffer.from('Credential:00000000-0000-4000-8000-000000000000').toString('base64') } } })
      expect(fieldOf(missing)).toEqual({ field: 'input.config.repositoryCredentialId', message: 'no such credential' })
      const wrongKind = await t.gql(CREATE, { i: { ...base, name: 'wrong kind', config: { ...config, repositoryCredentialId: key } } })
      expect(fieldOf(wrongKind)?.field).toBe('input.config.repositoryCredentialId')
      expect(fieldOf(wrongKind)?.message).toMatch(/"deploy key" is a PRIVATE_KEY credential; an https repository needs a PASSWORD credential/)

      const tpl = (await t.ok(CREATE, { i: { ...base, name: 'https backup', config } })).createJobTemplate.id
      const r = await runTemplate(tpl)
      expect(r.status, JSON.stringify(r)).toBe('SUCCEEDED')
      const head = (await exec('git', ['--git-dir', httpsRepo, 'rev-parse', 'main'])).stdout.trim()
      expect(r.result).toMatchObject({ commit: head, changed: 1 })
      expect((await exec('git', ['--git-dir', httpsRepo, 'show', 'main:core-1.txt'])).stdout).toMatch(/^hostname core-1\n/)
      const logText = (await t.ok(`query($id: ID!) { jobRunLog(runId: $id, first: 1000) { lines { text } } }`, { id: r.id })).jobRunLog.lines.map((l: { text: string }) => l.text).join('\n')
      expect(logText).toMatch(/pushed to main/)
      expect(logText).not.toContain(account.password)

      // The template still names it: deleting the credential is refused with the template's name.
      const del = await t.gql(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: token })
      expect(del.errors?.[0]?.extensions?.code).toBe('INVALID_STATE')
      expect(del.errors?.[0]?.message).toMatch(/used by the job template "https backup"/)
      await t.ok(`mutation($id: ID!) { deleteJobTemplate(id: $id) }`, { id: tpl })
      await t.ok(`mutation($id: ID!) { deleteCredential(id: $id) }`, { id: token })
    } finally {
      await server.stop()
    }
  })

  it('retrying only the failed targets backs up those alone: one commit with only their files', async () => {
    const target = async (name: string, host: string, port: number) =>
      (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host, port, credentialId, tags: ['backup-retry'] } })).createTarget.id
    await target('edge-a', sshd.hosts[0]!, sshd.port)
    await target('edge-b', sshd.hosts[1]!, sshd.port)
    const down = await target('edge-down', '127.0.0.1', await unusedLoopbackPort())
    for (const name of ['edge-a', 'edge-b', 'edge-down']) await writeFile(join(dir, `${name}.conf`), `hostname ${name}\n`, { mode: 0o644 })
    const tpl = (
      await t.ok(CREATE, {
        i: {
          name: 'retry backup',
          jobType: 'config_backup',
          visibility: 'GLOBAL',
          targetSelector: { tags: ['backup-retry'] },
          maxParallelTargets: 3,
          config: { commands: [`cat ${dir}/{{ target.name }}.conf`], repository: repo, pathTemplate: 'retry/{target.name}.txt' },
        },
      })
    ).createJobTemplate.id
    const git = async (...args: string[]) => (await exec('git', ['-c', 'safe.directory=*', '--git-dir', repo, ...args])).stdout

    const r = await runTemplate(tpl)
    expect(r.status, JSON.stringify(r)).toBe('FAILED')
    const first = (await git('rev-parse', 'main')).trim()
    expect(r.result).toMatchObject({ commit: first, changed: 2, unchanged: 0, failed: 1 })
    expect(r.targets.find((x: { name: string }) => x.name === 'edge-down')).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/refused/) })
    expect((await git('ls-tree', '-r', '--name-only', 'main', 'retry')).split('\n').filter(Boolean)).toEqual(['retry/edge-a.txt', 'retry/edge-b.txt'])

    // edge-a's config changes meanwhile: a retry that backed it up again would put that change in its commit.
    await writeFile(join(dir, 'edge-a.conf'), 'hostname edge-a\nntp server 192.0.2.9\n')
    // The operator fixes the address, then retries only what failed.
    await t.ok(`mutation($id: ID!, $i: UpdateTargetInput!) { updateTarget(id: $id, input: $i) { id } }`, { id: down, i: { host: sshd.hosts[0], port: sshd.port } })
    const retry = (await t.ok(`mutation($id: ID!) { retryJobRun(id: $id, onlyFailedTargets: true) { id trigger retryOf { id } targets { name host port } } }`, { id: r.id })).retryJobRun
    expect(retry).toMatchObject({ trigger: 'RETRY', retryOf: { id: r.id }, targets: [{ name: 'edge-down', host: sshd.hosts[0], port: sshd.port }] })
    const again = await eventually(async () => {
      const x = (await t.ok(RUN, { id: retry.id })).jobRun
      return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(x.status) ? x : null
    }, { timeoutMs: 60_000, what: `retry ${retry.id} to finish` })
    expect(again.status, JSON.stringify(again)).toBe('SUCCEEDED')
    const second = (await git('rev-parse', 'main')).trim()
    expect(second).not.toBe(first)
    expect(again.result).toMatchObject({ commit: second, changed: 1, unchanged: 0, failed: 0 })
    expect(again.targets).toEqual([
      expect.objectContaining({ name: 'edge-down', status: 'SUCCEEDED', result: expect.objectContaining({ changed: true, files: ['retry/edge-down.txt'], commit: second }) }),
    ])
    // One commit on top of the first run's, touching only the retried target's file; edge-a's is as before.
    expect((await git('rev-parse', `${second}^`)).trim()).toBe(first)
    expect((await git('diff', '--name-only', first, second)).trim()).toBe('retry/edge-down.txt')
    expect(await git('show', `${second}:retry/edge-down.txt`)).toBe('hostname edge-down\n')
    expect(await git('show', `${second}:retry/edge-a.txt`)).toBe('hostname edge-a\n')
    expect(await git('log', '-1', '--format=%B', second)).toMatch(/^Config backup: 1 targets, 1 changed, 0 failed \(run [^)]+\)\n\nedge-down: changed \(\+1 -0\)\n/)
  })
})
