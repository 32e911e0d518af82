/**
 * User regular expressions run in linear time: an `http` body check `^(a+)+$` against a large
 * `aaa…b` body (catastrophic backtracking on the default engine, which stalled every request of the
 * process) ends with the right answer while the API keeps answering; patterns the linear engine cannot
 * run are refused when the template is saved, naming the field.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'

let t: TestApp
let server: http.Server
let url: string
let served: () => void
const bodyServed = new Promise<void>((resolve) => (served = resolve))
const { createTemplate, trigger, waitFor } = runHelpers(() => t, { runFields: 'id status error result' })

beforeAll(async () => {
  t = await startTestApp()
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('a'.repeat(200_000) + 'b', () => served())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/evil`
})
afterAll(async () => {
  await t?.stop()
  await new Promise((resolve) => server?.close(resolve))
})

describe('user regexes', () => {
  it('an http body check ^(a+)+$ against a huge aaa…b body fails correctly, and the API answers meanwhile', async () => {
    const tpl = await createTemplate({ name: 'redos', jobType: 'http', config: { url, check: { regex: '^(a+)+$' } } })
    const id = await trigger(tpl)
    // The body has been sent, so the check is about to run (or running): the API must still answer.
    await bodyServed
    const me = await t.ok('{ me { username } jobRuns { totalCount } }')
    expect(me.me.username).toBe('admin')
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('FAILED')
    expect(r.error).toBe('body check failed: the body does not match /^(a+)+$/')
  })

  it('patterns the linear engine cannot run are refused at save, naming the field', async () => {
    const r1 = await t.gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'backref', jobType: 'http', config: { url, check: { regex: '(a)\\1' } } },
    })
    expectFieldError(r1, 'input.config.check.regex')
    expect(r1.errors![0]!.message).toContain('input.config.check.regex: cannot be evaluated in linear time (backreferences, lookaheads')
    const r2 = await t.gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'lookahead', jobType: 'config_backup', config: { commands: ['show run'], repository: '/tmp/x.git', stripPatterns: ['uptime', '^(?!keep).*$'] } },
    })
    expectFieldError(r2, 'input.config.stripPatterns.1')
    expect(r2.errors![0]!.message).toContain('input.config.stripPatterns.1: cannot be evaluated in linear time')
  })
})
