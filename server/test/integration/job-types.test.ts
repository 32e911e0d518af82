/**
 * The `script` and `http` job types through the GraphQL API: config validation at template save (with the
 * field named), JSON Schema in `jobTypes`, runs against a real sshd and a real HTTP server on loopback,
 * results, logs (secrets masked), retry policy for transient HTTP failures, script cleanup on cancel, and a
 * script retried for its failed targets only.
 */
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { remoteProcesses, startSshd, unusedLoopbackPort, type TestSshd } from '../harness/sshd.ts'

let t: TestApp
let sshd: TestSshd
let http: Server
let base: string
let flakyHits = 0
/** Where the retry test's script leaves one line per execution per target (written by the sshd user). */
let markDir: string
const hanging = new Set<ServerResponse>()
const ids: Record<string, string> = {}

const CREATE_TPL = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`

const { createTemplate, trigger, waitFor, logLines } = runHelpers(() => t, { runFields: 'id status attempt error result targets { name status exitCode error outputTail }', defaultTimeoutMs: 60000 })

beforeAll(async () => {
  sshd = await startSshd({ count: 1 })
  http = createServer((req, res) => {
    if (req.url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ service: { state: 'up' }, auth: req.headers.authorization ?? null }))
    } else if (req.url === '/flaky') {
      flakyHits++
      res.writeHead(flakyHits < 2 ? 503 : 200).end(flakyHits < 2 ? 'try later' : 'fine now')
    } else if (req.url === '/hang') {
      hanging.add(res)
    } else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  t = await startTestApp()
  ids.cred = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'sc', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
  ids.target = (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'script-1', host: sshd.hosts[0]!, port: sshd.port, credentialId: ids.cred, tags: ['scripts'] } })).createTarget.id
  markDir = await mkdtemp('/tmp/switchyard-script-retry-')
  await chmod(markDir, 0o777)
}, 120_000)

afterAll(async () => {
  await t?.stop()
  await sshd?.stop()
  if (markDir) await rm(markDir, { recursive: true, force: true })
  for (const res of hanging) res.destroy()
  http?.closeAllConnections()
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)))
})

describe('job types script and http', () => {
  it('are listed in jobTypes with a JSON Schema of their config', async () => {
    const { jobTypes } = await t.ok(`{ jobTypes { type usesTargets configSchema } }`)
    const byType = Object.fromEntries(jobTypes.map((j: { type: string }) => [j.type, j]))
    expect(byType.script).toMatchObject({ usesTargets: true, configSchema: { type: 'object', required: ['script'], properties: { interpreter: { enum: ['sh', 'bash', 'python3', 'custom'] } } } })
    expect(byType.script.configSchema.properties.arguments.description).toMatch(/shell-quoted/)
    expect(byType.http).toMatchObject({ usesTargets: false, configSchema: { type: 'object', required: ['url'], properties: { method: { default: 'GET' } } } })
  })

  it('reject bad config at template save, naming the field', async () => {
    const script = { name: 'bad-script', jobType: 'script', targetSelector: { tags: ['scripts'] } }
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...script, config: { script: 'echo', interpreter: 'perl' } } }), 'input.config.interpreter')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...script, config: { script: 'echo', interpreter: 'custom' } } }), 'input.config.shebang')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...script, config: {} } }), 'input.config.script')
    const http = { name: 'bad-http', jobType: 'http' }
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...http, config: { url: 'ftp://example.test' } } }), 'input.config.url')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...http, config: { url: base, expectedStatus: ['2xy'] } } }), 'input.config.expectedStatus.0')
    expectFieldError(await t.gql(CREATE_TPL, { i: { ...http, config: { url: base, auth: { type: 'basic', username: 'u' } } } }), 'input.config.auth.passwordParameter')
  })

  it('script: runs on the target with arguments from parameters, records status and log, removes its file', async () => {
    const tpl = await createTemplate({
      name: 'script-ok',
      jobType: 'script',
      config: { script: 'import sys\nprint("hello", sys.argv[1])\nprint("warn", file=sys.stderr)', interpreter: 'python3', arguments: ['{{ who }}'] },
      targetSelector: { tags: ['scripts'] },
      parameters: [{ name: 'who', type: 'STRING', default: 'world' }],
    })
    const id = await trigger(tpl, { who: "o'brien; id" })
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('SUCCEEDED')
    expect(r.targets).toEqual([expect.objectContaining({ name: 'script-1', status: 'SUCCEEDED', exitCode: 0 })])
    expect(r.targets[0].outputTail).toContain("hello o'brien; id")
    const lines = await logLines(id)
    expect(lines.find((l) => l.text === "hello o'brien; id")).toMatchObject({ stream: 'STDOUT' })
    expect(lines.find((l) => l.text === 'warn')).toMatchObject({ stream: 'STDERR', level: 'WARNING' })
    const dir = lines.map((l) => l.text.match(/^uploaded the script \(\d+ bytes\) to (\/\S+)\/script$/)?.[1]).find(Boolean)!
    expect(dir).toBeTruthy()
    expect(existsSync(dir)).toBe(false)

    const failing = await createTemplate({ name: 'script-fails', jobType: 'script', config: { script: 'exit 4' }, targetSelector: { tags: ['scripts'] } })
    const f = await waitFor(await trigger(failing), ['SUCCEEDED', 'FAILED'])
    expect(f.status).toBe('FAILED')
    expect(f.targets[0]).toMatchObject({ status: 'FAILED', exitCode: 4, error: 'the script exited with code 4' })
  })

  it('script: cancel stops the script and removes the temp dir', async () => {
    const marker = 'sleep 61.91'
    const tpl = await createTemplate({ name: 'script-long', jobType: 'script', config: { script: `echo started\n${marker}`, interpreter: 'bash' }, targetSelector: { tags: ['scripts'] } })
    const id = await trigger(tpl)
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length > 0, { timeoutMs: 30_000, what: 'remote script to start' })
    await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id })
    const r = await waitFor(id, ['CANCELLED', 'FAILED', 'SUCCEEDED'], 30_000)
    expect(r.status).toBe('CANCELLED')
    expect(r.targets[0].status).toBe('CANCELLED')
    const dir = (await logLines(id)).map((l) => l.text.match(/^uploaded the script \(\d+ bytes\) to (\/\S+)\/script$/)?.[1]).find(Boolean)!
    expect(dir).toBeTruthy()
    expect(existsSync(dir)).toBe(false)
    await eventually(async () => (await remoteProcesses(sshd.user, marker)).length === 0, { timeoutMs: 10_000, what: 'remote script to be gone' })
  })

  it('script: retrying only the failed targets runs the script on those alone, at their corrected address', async () => {
    const create = `mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`
    const target = async (name: string, host: string, port: number) =>
      (await t.ok(create, { i: { name, host, port, credentialId: ids.cred, tags: ['script-retry'] } })).createTarget.id
    await target('retry-a', sshd.hosts[0]!, sshd.port)
    await target('retry-b', sshd.hosts[0]!, sshd.port)
    const down = await target('retry-down', '127.0.0.1', await unusedLoopbackPort())
    // One line per execution on a target, naming the sshd address it really ran behind ($SSH_CONNECTION).
    const script = 'set -e\nname=$2\nout="$1/$2"\nset -- $SSH_CONNECTION\necho "$3:$4" >> "$out"\necho "marked $name"\n'
    const tpl = await createTemplate({
      name: 'script-retry',
      jobType: 'script',
      config: { script, arguments: [markDir, '{{ target.name }}'] },
      targetSelector: { tags: ['script-retry'] },
      maxParallelTargets: 3,
    })
    const marks = async (name: string) => {
      const path = `${markDir}/${name}`
      return existsSync(path) ? (await readFile(path, 'utf8')).trim().split('\n') : []
    }
    const reached = `${sshd.hosts[0]}:${sshd.port}`

    const id = await trigger(tpl)
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status, JSON.stringify(r)).toBe('FAILED')
    const byName = Object.fromEntries(r.targets.map((x: { name: string }) => [x.name, x]))
    expect(byName['retry-a']).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 })
    expect(byName['retry-b']).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 })
    expect(byName['retry-down'].status).toBe('FAILED')
    expect(byName['retry-down'].error).toMatch(/refused/i)
    expect(await marks('retry-a')).toEqual([reached])
    expect(await marks('retry-b')).toEqual([reached])
    expect(await marks('retry-down')).toEqual([])

    // The operator fixes the address, then retries only what failed.
    await t.ok(`mutation($id: ID!, $i: UpdateTargetInput!) { updateTarget(id: $id, input: $i) { id } }`, { id: down, i: { host: sshd.hosts[0], port: sshd.port } })
    const retry = (await t.ok(`mutation($id: ID!) { retryJobRun(id: $id, onlyFailedTargets: true) { id trigger retryOf { id } targets { name host port } } }`, { id })).retryJobRun
    // The new run records the address it will use (the corrected one), not the failed run's.
    expect(retry).toMatchObject({ trigger: 'RETRY', retryOf: { id }, targets: [{ name: 'retry-down', host: sshd.hosts[0], port: sshd.port }] })
    const again = await waitFor(retry.id, ['SUCCEEDED', 'FAILED'])
    expect(again.status, JSON.stringify(again)).toBe('SUCCEEDED')
    expect(again.targets).toEqual([expect.objectContaining({ name: 'retry-down', status: 'SUCCEEDED', exitCode: 0 })])
    // The script ran once more in all, on the retried target, behind the corrected address; the targets that
    // had succeeded still show their single first-run line (a rerun of them would have added a second).
    expect(await marks('retry-down')).toEqual([reached])
    expect(await marks('retry-a')).toEqual([reached])
    expect(await marks('retry-b')).toEqual([reached])
    const stdout = (await logLines(retry.id)).filter((l) => l.stream === 'STDOUT').map((l) => l.text)
    expect(stdout).toEqual(['marked retry-down'])
  })

  it('http: succeeds with a bearer token from a SECRET parameter, records the response, masks the secret', async () => {
    const tpl = await createTemplate({
      name: 'http-ok',
      jobType: 'http',
      config: { url: `${base}/{{ path }}`, auth: { type: 'bearer', tokenParameter: 'token' }, check: { jsonPath: 'service.state', equals: 'up' } },
      parameters: [{ name: 'path', type: 'STRING', default: 'status' }, { name: 'token', type: 'SECRET', required: true }],
    })
    const id = await trigger(tpl, { token: 'tok-Very-Secret-1' })
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('SUCCEEDED')
    expect(r.result).toMatchObject({ method: 'GET', url: `${base}/status`, status: 200, check: 'passed' })
    expect(typeof r.result.durationMs).toBe('number')
    expect(JSON.parse(r.result.body)).toEqual({ service: { state: 'up' }, auth: 'Bearer ***' })
    const lines = await logLines(id)
    expect(lines.some((l) => /^HTTP 200 OK in \d+ ms/.test(l.text))).toBe(true)
    expect(JSON.stringify([r, lines])).not.toContain('tok-Very-Secret-1')
  })

  it('http: a 503 is transient and follows the retry policy; a failed check fails the run', async () => {
    const tpl = await createTemplate({ name: 'http-flaky', jobType: 'http', config: { url: `${base}/flaky` }, retryMaxAttempts: 3, retryDelaySeconds: 0 })
    const r = await waitFor(await trigger(tpl), ['SUCCEEDED', 'FAILED'])
    expect(r).toMatchObject({ status: 'SUCCEEDED', attempt: 2, result: { status: 200, body: 'fine now' } })

    const check = await createTemplate({ name: 'http-check', jobType: 'http', config: { url: `${base}/status`, check: { jsonPath: 'service.state', regex: '^down$' } }, retryMaxAttempts: 3 })
    const c = await waitFor(await trigger(check), ['SUCCEEDED', 'FAILED'])
    expect(c).toMatchObject({ status: 'FAILED', attempt: 1, error: 'body check failed: service.state does not match /^down$/' })
  })

  it('http: cancel ends a hanging request', async () => {
    const tpl = await createTemplate({ name: 'http-hang', jobType: 'http', config: { url: `${base}/hang`, timeoutSeconds: 600 } })
    const id = await trigger(tpl)
    await eventually(async () => hanging.size > 0, { timeoutMs: 30_000, what: 'request to arrive' })
    await t.ok(`mutation($id: ID!) { cancelJobRun(id: $id) { id } }`, { id })
    expect((await waitFor(id, ['CANCELLED', 'FAILED', 'SUCCEEDED'], 30_000)).status).toBe('CANCELLED')
  })
})
