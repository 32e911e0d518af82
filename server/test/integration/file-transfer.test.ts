/**
 * The `file_transfer` job type through the GraphQL API against a real sshd: listed in jobTypes, a bad config
 * rejected at template save with the field named, and a download run whose file becomes a run artifact
 * listed on the run and downloadable with the API token.
 */
import { createHash } from 'node:crypto'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { startSshd, type TestSshd } from '../harness/sshd.ts'

let t: TestApp
let sshd: TestSshd
let dir: string
const content = 'hostname edge-1\nntp server 192.0.2.1\n'

const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`

beforeAll(async () => {
  sshd = await startSshd({ count: 1 })
  dir = await mkdtemp('/tmp/switchyard-ft-it-')
  await chmod(dir, 0o755)
  await writeFile(join(dir, 'running.conf'), content, { mode: 0o644 })
  t = await startTestApp()
  const cred = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'ft', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
  await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'edge-1', host: sshd.hosts[0]!, port: sshd.port, credentialId: cred, tags: ['ft'] } })
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
})
