/**
 * SECRET parameter values never reach what a run stores besides its log either: per-target output
 * tails, errors and results, and the run's own result and error are masked before they are written
 * (checked through the API and in the raw columns).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { runHelpers } from '../harness/run-helpers.ts'
import { startSshd, type TestSshd } from '../harness/sshd.ts'

const SECRET = 'hunter2-very-secret'
let t: TestApp
let sshd: TestSshd
let echo: http.Server
let echoUrl: string
const { createTemplate, trigger, waitFor } = runHelpers(() => t, {
  runFields: 'id status error result targets { name status error outputTail result }',
})

async function rawColumns(globalId: string): Promise<string> {
  const runId = Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]
  const c = new pg.Client({ connectionString: t.db.url })
  await c.connect()
  try {
    const run = await c.query('SELECT error, result::text FROM job_run WHERE id = $1', [runId])
    const targets = await c.query('SELECT output_tail, error, result::text FROM run_target WHERE run_id = $1', [runId])
    return JSON.stringify([run.rows, targets.rows])
  } finally {
    await c.end()
  }
}

beforeAll(async () => {
  sshd = await startSshd({ count: 1 })
  t = await startTestApp()
  // Answers every request with the body it was sent, as JSON: {"data": "<body>"}.
  echo = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: Buffer.concat(chunks).toString('utf8') })))
  })
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/echo`
  const cred = await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'ssh', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })
  await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, {
    i: { name: 'box-1', host: sshd.hosts[0], port: sshd.port, credentialId: cred.createCredential.id, tags: ['masking'] },
  })
})

afterAll(async () => {
  await t?.stop()
  await sshd?.stop()
  await new Promise((resolve) => echo?.close(resolve))
})

describe('secret parameter values are masked wherever a run stores output', () => {
  it('a command echoing a SECRET parameter: the output tail (API and run_target.output_tail) has no secret', async () => {
    const tpl = await createTemplate({
      name: 'echo secret',
      jobType: 'command',
      config: { commands: ['echo "the password is {{ pw }}"'] },
      parameters: [{ name: 'pw', type: 'SECRET', required: true }],
      targetSelector: { tags: ['masking'] },
    })
    const id = await trigger(tpl, { pw: SECRET })
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('SUCCEEDED')
    expect(r.targets[0].outputTail).toMatch(/the password is '?••••••/)
    expect(JSON.stringify(r)).not.toContain(SECRET)
    const raw = await rawColumns(id)
    expect(raw).toMatch(/the password is '?••••••/)
    expect(raw).not.toContain(SECRET)
  })

  it("an http run whose result and error quote a SECRET parameter: the run's result and error are masked", async () => {
    const tpl = await createTemplate({
      name: 'post secret',
      jobType: 'http',
      config: { method: 'POST', url: echoUrl, body: 'token={{ pw }}', check: { jsonPath: 'data', equals: 'something else' } },
      parameters: [{ name: 'pw', type: 'SECRET', required: true }],
    })
    const id = await trigger(tpl, { pw: SECRET })
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('FAILED')
    // The executor put the echoed body in the result and the failed check's value in the error.
    expect(r.result.body).toContain('token=••••••')
    expect(r.error).toContain('token=••••••')
    expect(JSON.stringify(r)).not.toContain(SECRET)
    expect(await rawColumns(id)).not.toContain(SECRET)
  })

  it('a file_transfer download whose artifact name holds a SECRET parameter: the stored name is masked, and it still downloads', async () => {
    const tpl = await createTemplate({
      name: 'download secret name',
      jobType: 'file_transfer',
      config: { direction: 'download', files: [{ source: '/etc/hostname', name: 'cfg-{{ pw }}.txt' }] },
      parameters: [{ name: 'pw', type: 'SECRET', required: true }],
      targetSelector: { tags: ['masking'] },
    })
    const id = await trigger(tpl, { pw: SECRET })
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status, JSON.stringify(r)).toBe('SUCCEEDED')
    const { artifacts } = (await t.ok(`query($id: ID!) { jobRun(id: $id) { artifacts { name downloadPath } } }`, { id })).jobRun
    expect(artifacts).toEqual([{ name: 'cfg-••••••.txt', downloadPath: expect.any(String) }])
    expect(JSON.stringify(r)).not.toContain(SECRET)
    const runId = Buffer.from(id, 'base64').toString('utf8').split(':')[1]
    const raw = await t.app.db.pool.query('SELECT name FROM run_artifact WHERE run_id = $1', [runId])
    expect(raw.rows).toEqual([{ name: 'cfg-••••••.txt' }])
    const res = await fetch(t.url + artifacts[0].downloadPath, { headers: { authorization: `Bearer ${t.adminToken}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="cfg-______.txt"; filename*=UTF-8''cfg-${encodeURIComponent('••••••')}.txt`)
    expect((await res.text()).length).toBeGreaterThan(0)
  })
})
