/**
 * A Postgres outage (a TCP proxy between a real Switchyard process and Postgres, cut and restored)
 * while a target finishes: the run still ends SUCCEEDED (its result write retries past the outage and
 * the reaper does not take the silence for a dead worker); meanwhile a trigger fails with a retryable
 * SERVICE_UNAVAILABLE, a WebSocket client that connects is told to try again (never the fatal 4500) and
 * recovers on its own; and everything the process prints is one structured log line per event.
 */
import fs from 'node:fs'
import { createClient, type Client } from 'graphql-ws'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_PASSWORD, eventually } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'
import { remoteProcesses, startSshd, type TestSshd } from '../harness/sshd.ts'
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.ts'
import pg from 'pg'
import { survivePostgresRestarts } from '../../src/db/database.ts'

let sshd: TestSshd
let db: TestDatabase
let proxy: TcpProxy
let server: WorkerProcess
let direct: pg.Pool
let token = ''
const clients: Client[] = []

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<{ data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  return res.json() as Promise<any>
}
async function ok(query: string, variables: Record<string, unknown> = {}) {
  const r = await gql(query, variables)
  if (r.errors?.length) throw new Error(JSON.stringify(r.errors))
  return r.data
}

beforeAll(async () => {
  sshd = await startSshd()
  db = await createTestDatabase('outage')
  direct = survivePostgresRestarts(new pg.Pool({ connectionString: db.url, max: 2 }))
  proxy = await startTcpProxy(db.url)
  // A real process (every role), its log captured: the reaper, the worker and the API all go through the proxy.
  server = await spawnWorker(proxy.url, 'api,worker,scheduler', { captureStderr: true, env: { SWITCHYARD_TEST_LOGS: '1' } })
  token = (await ok(`mutation($p: String!) { login(username: "admin", password: $p) { token } }`, { p: ADMIN_PASSWORD })).login.token
})

afterAll(async () => {
  for (const c of clients) await c.dispose()
  await server?.kill()
  await proxy?.close()
  await direct?.end()
  await db?.drop()
  await sshd?.stop()
})

describe('a database outage while a target finishes', () => {
  it('loses nothing: the run succeeds, triggers say "retry", WebSocket clients reconnect, the log stays structured', async () => {
    const flag = `/tmp/switchyard-outage-${process.pid}-${Date.now()}`
    const cred = (await ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'c', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
    const target = (await ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'box', host: sshd.hosts[0], port: sshd.port, credentialId: cred } })).createTarget.id
    const tpl = (
      await ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
        // No retry: only a result that survives the outage can make this run succeed.
        i: { name: 'outage', jobType: 'command', config: { commands: [`while [ ! -e ${flag} ]; do sleep 0.1; done; echo finished`] }, targetSelector: { targetIds: [target] }, retryMaxAttempts: 1 },
      })
    ).createJobTemplate.id
    const runId = (await ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })).triggerJobRun.id
    await eventually(async () => (await remoteProcesses(sshd.user, flag)).length > 0, { what: 'the remote command to start' })

    proxy.cut()
    fs.writeFileSync(flag, '') // the target finishes now, while Postgres is unreachable

    // A trigger during the outage: temporary, retryable, with a code to act on.
    const r = await gql(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: tpl })
    expect(r.errors?.[0]?.extensions, JSON.stringify(r)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true })
    expect(r.errors?.[0]?.message).toMatch(/temporarily unavailable/)

    // A WebSocket client connecting now (as the console does): refused with a code it retries.
    const closeCodes: number[] = []
    const client = createClient({
      url: `${server.url!.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 1000,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 300)),
      on: { closed: (e) => closeCodes.push((e as { code: number }).code) },
    })
    clients.push(client)
    const lines: string[] = []
    const liveLog = new Promise<void>((resolve, reject) => {
      client.subscribe<{ jobRunLogAppended: { lines: Array<{ text: string }> } }>(
        { query: `subscription($id: ID!) { jobRunLogAppended(runId: $id, after: 0) { lines { text } } }`, variables: { id: runId } },
        {
          next: (m) => {
            if (m.errors) return reject(new Error(JSON.stringify(m.errors)))
            lines.push(...m.data!.jobRunLogAppended.lines.map((l) => l.text))
            if (lines.some((l) => /^run (succeeded|failed)/.test(l))) resolve()
          },
          error: (e) => reject(e instanceof Error ? e : new Error(`closed: ${JSON.stringify((e as { code?: number }).code)}`)),
          complete: () => resolve(),
        },
      )
    })
    await eventually(async () => closeCodes.length > 0, { what: 'the WebSocket to be refused during the outage' })

    // Hold the outage past the point where the result write used to give up (8 attempts, ~11 s).
    await eventually(async () => /recording a target result failed; retrying.* attempt=9 /.test(server.stderr()), { timeoutMs: 60_000, what: 'the result write to retry past its old limit' })
    proxy.restore()

    const run = await eventually(async () => {
      const { rows } = await direct.query(`SELECT status, error FROM job_run WHERE id = $1`, [Buffer.from(runId, 'base64').toString().split(':')[1]])
      return ['SUCCEEDED', 'FAILED'].includes(rows[0].status) ? rows[0] : null
    }, { timeoutMs: 60_000, what: 'the run to end' })
    expect(run).toEqual({ status: 'SUCCEEDED', error: null })
    const targets = (await ok(`query($id: ID!) { jobRun(id: $id) { attempt targets { status exitCode } } }`, { id: runId })).jobRun
    expect(targets).toEqual({ attempt: 1, targets: [{ status: 'SUCCEEDED', exitCode: 0 }] })

    // The client that was refused reconnected by itself and receives the live log.
    await liveLog
    expect(lines).toContain('finished')
    expect(lines.at(-1)).toMatch(/^run succeeded/)
    expect(closeCodes).not.toContain(4500)
    expect(closeCodes).toContain(1013)

    // Everything printed is the structured log: one line per event, no stack traces, no Prisma output.
    await server.stop()
    const printed = server.stderr().split('\n').filter(Boolean)
    const unstructured = printed.filter((l) => !/^\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO |WARN |ERROR) \S/.test(l))
    expect(unstructured, printed.join('\n')).toEqual([])
    expect(printed.filter((l) => /unexpected error/i.test(l))).toEqual([])
    fs.rmSync(flag, { force: true })
  }, 180_000)
})
