/**
 * The `file_transfer` job type through the GraphQL API against a real sshd: listed in jobTypes, a bad config
 * rejected at template save with the field named, and a download run whose file becomes a run artifact
 * listed on the run and downloadable with the API token; an upload retried for its failed target only.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { startSshd, type TestSshd } from '../harness/sshd.ts'

let t: TestApp
let sshd: TestSshd
let dir: string
let credentialId: string
const content = 'hostname edge-1\nntp server 192.0.2.1\n'

const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`

beforeAll(async () => {
  sshd = await startSshd({ count: 1 })
  dir = await mkdtemp('/tmp/switchyard-ft-it-')
  await chmod(dir, 0o755)
  await writeFile(join(dir, 'running.conf'), content, { mode: 0o644 })
  t = await startTestApp()
  credentialId = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'ft', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
  await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'edge-1', host: sshd.hosts[0]!, port: sshd.port, credentialId, tags: ['ft'] } })
}, 120_000)

afterAll(async () => {
  await t?.stop()
  await sshd?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('job type file_transfer', () => {
  it('is listed in jobTypes and rejects a bad config at save with the field named', async () => {
    const { jobTypes } = await t.ok(`{ jobTypes { type usesTargets configSchema } }`)
    const ft = jobTypes.find((j: { type: string }) => j.type === 'file_transfer')
    expect(ft).toMatchObject({ usesTargets: true, configSchema: { type: 'object', properties: { direction: { enum: ['upload', 'download'] } } } })
    const r = await t.gql(CREATE_TPL, { i: { name: 'ft-bad', jobType: 'file_transfer', visibility: 'GLOBAL', config: { direction: 'download', files: [{ destination: '/tmp/x' }] }, targetSelector: { tags: ['ft'] } } })
    const dump = JSON.stringify(r)
    expect(r.errors?.[0]?.extensions?.code, dump).toBe('BAD_USER_INPUT')
    expect(dump).toContain('files.0.source')
  })

  it('downloads a file into a run artifact fetchable with the token', async () => {
    const tpl = (
      await t.ok(CREATE_TPL, {
        i: { name: 'ft-download', jobType: 'file_transfer', visibility: 'GLOBAL', config: { direction: 'download', files: [{ source: `${dir}/running.conf` }] }, targetSelector: { tags: ['ft'] } },
      })
    ).createJobTemplate.id
    const id = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })).triggerJobRun.id
    const run = await eventually(
      async () => {
        const r = (await t.ok(`query($id: ID!) { jobRun(id: $id) { status error targets { name status error result } artifacts { id name size sha256 downloadPath } } }`, { id })).jobRun
        return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(r.status) ? r : null
      },
      { timeoutMs: 60_000, what: 'the download run to finish' },
    )
    expect(run.status, JSON.stringify(run)).toBe('SUCCEEDED')
    const hash = createHash('sha256').update(content).digest('hex')
    expect(run.artifacts).toHaveLength(1)
    const artifact = run.artifacts[0]
    expect(artifact).toMatchObject({ name: 'edge-1/running.conf', size: content.length, sha256: hash })
    expect(run.targets[0].result).toMatchObject({ direction: 'download', files: [{ source: `${dir}/running.conf`, status: 'stored', artifactId: expect.any(String), name: 'edge-1/running.conf', sha256: hash }] })

    // The result holds the stored artifact's own id, the one in the download path.
    expect(artifact.downloadPath).toContain(run.targets[0].result.files[0].artifactId)
    const res = await fetch(t.url + artifact.downloadPath, { headers: { authorization: `Bearer ${t.adminToken}` } })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(content)
    expect((await fetch(t.url + artifact.downloadPath)).status).toBe(401)
  }, 90_000)

  it('retrying only the failed targets uploads to those alone, with their corrected credential', async () => {
    // Written over SFTP by the sshd user: a directory it may write to.
    const uploads = join(dir, 'uploads')
    await mkdir(uploads)
    await chmod(uploads, 0o777)
    const wrong = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'ft-wrong', kind: 'PASSWORD', username: sshd.user, password: 'not-the-password' } })).createCredential.id
    const target = async (name: string, cred: string) =>
      (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host: sshd.hosts[0]!, port: sshd.port, credentialId: cred, tags: ['ft-retry'] } })).createTarget.id
    await target('ft-ok', credentialId)
    const locked = await target('ft-locked', wrong)
    const payload = 'ntp server 192.0.2.7\n'
    const tpl = (
      await t.ok(CREATE_TPL, {
        i: {
          name: 'ft-upload-retry',
          jobType: 'file_transfer',
          visibility: 'GLOBAL',
          config: { direction: 'upload', files: [{ content: payload, destination: `${uploads}/{{ target.name }}.conf`, mode: '0644' }] },
          targetSelector: { tags: ['ft-retry'] },
        },
      })
    ).createJobTemplate.id
    const finished = (id: string) =>
      eventually(
        async () => {
          const r = (await t.ok(`query($id: ID!) { jobRun(id: $id) { status error targets { name status error result } } }`, { id })).jobRun
          return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(r.status) ? r : null
        },
        { timeoutMs: 60_000, what: `run ${id} to finish` },
      )

    const id = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })).triggerJobRun.id
    const run = await finished(id)
    expect(run.status, JSON.stringify(run)).toBe('FAILED')
    const byName = Object.fromEntries(run.targets.map((x: { name: string }) => [x.name, x]))
    expect(byName['ft-ok']).toMatchObject({ status: 'SUCCEEDED', result: { files: [{ status: 'written' }] } })
    expect(byName['ft-locked'].status).toBe('FAILED')
    expect(byName['ft-locked'].error).toMatch(/authentication failed/i)
    expect(await readFile(join(uploads, 'ft-ok.conf'), 'utf8')).toBe(payload)
    expect(existsSync(join(uploads, 'ft-locked.conf'))).toBe(false)
    // Gone from the target that succeeded: a retry that uploaded to it again would bring it back.
    await rm(join(uploads, 'ft-ok.conf'))

    // The operator gives the target the right credential, then retries only what failed.
    await t.ok(`mutation($id: ID!, $i: UpdateTargetInput!) { updateTarget(id: $id, input: $i) { id } }`, { id: locked, i: { credentialId } })
    const retry = (await t.ok(`mutation($id: ID!) { retryJobRun(id: $id, onlyFailedTargets: true) { id trigger retryOf { id } targets { name } } }`, { id })).retryJobRun
    expect(retry).toMatchObject({ trigger: 'RETRY', retryOf: { id }, targets: [{ name: 'ft-locked' }] })
    const again = await finished(retry.id)
    expect(again.status, JSON.stringify(again)).toBe('SUCCEEDED')
    const hash = createHash('sha256').update(payload).digest('hex')
    expect(again.targets).toEqual([
      expect.objectContaining({ name: 'ft-locked', status: 'SUCCEEDED', result: { direction: 'upload', files: [expect.objectContaining({ destination: `${uploads}/ft-locked.conf`, status: 'written', sha256: hash })] } }),
    ])
    expect(await readFile(join(uploads, 'ft-locked.conf'), 'utf8')).toBe(payload)
    expect(existsSync(join(uploads, 'ft-ok.conf'))).toBe(false)
  }, 90_000)

  it('a parameter that climbs out of the destination directory (../x) is refused: nothing is written outside', async () => {
    const base = join(dir, 'sites')
    await mkdir(join(base, 'ams'), { recursive: true })
    await chmod(base, 0o777)
    await chmod(join(base, 'ams'), 0o777)
    const tpl = (
      await t.ok(CREATE_TPL, {
        i: {
          name: 'ft-traversal',
          jobType: 'file_transfer',
          visibility: 'GLOBAL',
          config: { direction: 'upload', files: [{ destination: `${base}/{{ site }}/app.conf`, content: 'x=1\n' }] },
          parameters: [{ name: 'site', type: 'STRING', required: true }],
          targetSelector: { tags: ['ft'] },
        },
      })
    ).createJobTemplate.id
    const run = async (site: string) => {
      const id = (await t.ok(`mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id } }`, { id: tpl, p: { site } })).triggerJobRun.id
      return eventually(
        async () => {
          const r = (await t.ok(`query($id: ID!) { jobRun(id: $id) { status attempt targets { status error retryable } } }`, { id })).jobRun
          return ['SUCCEEDED', 'FAILED'].includes(r.status) ? r : null
        },
        { timeoutMs: 60_000, what: 'the upload run to finish' },
      )
    }
    for (const site of ['../escaped', 'ams/../../escaped']) {
      const r = await run(site)
      expect(r.status).toBe('FAILED')
      expect(r.targets[0]).toMatchObject({ status: 'FAILED', retryable: false })
      expect(r.targets[0].error).toContain('must not contain ".." segments')
    }
    expect(existsSync(join(dir, 'escaped'))).toBe(false)
    expect(existsSync(join(base, 'escaped'))).toBe(false)
    // A value that stays inside is written as before.
    expect((await run('ams')).status).toBe('SUCCEEDED')
    expect(await readFile(join(base, 'ams', 'app.conf'), 'utf8')).toBe('x=1\n')
  }, 120_000)

  it('a config whose paths contain ".." segments is refused at save, with the field named', async () => {
    const save = (files: unknown[], direction = 'upload') =>
      t.gql(CREATE_TPL, { i: { name: 'ft-dots', jobType: 'file_transfer', visibility: 'GLOBAL', config: { direction, files }, targetSelector: { tags: ['ft'] } } })
    const fields = (r: Awaited<ReturnType<typeof save>>) => r.errors?.[0]?.extensions?.fields?.map((f) => f.field)
    expect(fields(await save([{ destination: '/srv/../etc/passwd', content: 'x' }]))).toEqual(['input.config.files.0.destination'])
    expect(fields(await save([{ source: '/var/log/../../etc/shadow' }], 'download'))).toEqual(['input.config.files.0.source'])
    expect(fields(await save([{ source: '/var/log/syslog', name: '../../x' }], 'download'))).toEqual(['input.config.files.0.name'])
  })
})
