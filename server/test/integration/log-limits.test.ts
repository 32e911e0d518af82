/**
 * Bounded run logs, through a real `command` run on the test sshd: a template's log limit stops the
 * stored log at the limit (a prefix of what an unlimited run stores), the run keeps running and ends
 * SUCCEEDED, and exactly one system line — just before the final status line — says exactly how many
 * lines and bytes were dropped; the run reports logTruncated/droppedLogLines. The server default
 * (SWITCHYARD_LOG_LIMIT_LINES) applies when the template sets none. A 1,000,000-line run is counted exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { runHelpers, type LogLine } from '../harness/run-helpers.ts'
import { startSshd, type TestSshd } from '../harness/sshd.ts'

let t: TestApp
let sshd: TestSshd
let targetId = ''
const h = runHelpers(() => t, { runFields: 'status logLineCount logTruncated droppedLogLines droppedLogBytes' })

const SERVER_DEFAULT_LINES = 400
// Each line is distinct and longer than one digit, so byte counts are not line counts in disguise.
const FLOOD = 'for i in $(seq 1 300); do echo "line $i of the flood"; done; echo "to stderr" >&2; echo done'

beforeAll(async () => {
  sshd = await startSshd()
  t = await startTestApp({ env: { SWITCHYARD_LOG_LIMIT_LINES: String(SERVER_DEFAULT_LINES) } })
  const cred = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'c', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
  targetId = (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'box', host: sshd.hosts[0], port: sshd.port, credentialId: cred } })).createTarget.id
  // The first contact records the host key (one more log line): done here, so every run below logs alike.
  const warmUp = await h.createTemplate({ name: 'warm-up', jobType: 'command', config: { commands: ['true'] }, targetSelector: { targetIds: [targetId] } })
  expect((await h.waitFor(await h.trigger(warmUp), ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED')
})

afterAll(async () => {
  await t?.stop()
  await sshd?.stop()
})

async function flood(name: string, limits: Record<string, number | null>, command = FLOOD) {
  const tpl = await h.createTemplate({ name, jobType: 'command', config: { commands: [command] }, targetSelector: { targetIds: [targetId] }, ...limits })
  const id = await h.trigger(tpl)
  const run = await h.waitFor(id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'])
  return { run, lines: await h.logLines(id) }
}

const bytes = (lines: LogLine[]) => lines.reduce((n, l) => n + Buffer.byteLength(l.text), 0)
const withoutStatus = (lines: LogLine[]) => lines.filter((l) => !/^run succeeded/.test(l.text))

describe('per-run log limits', () => {
  it('stores a prefix up to the template limit, keeps running, and records exactly what was dropped', async () => {
    // The unlimited log, for comparison: everything the run produces before its final status line.
    const full = await flood('unlimited', { logLimitLines: 100_000 })
    expect(full.run).toMatchObject({ status: 'SUCCEEDED', logTruncated: false, droppedLogLines: 0, droppedLogBytes: 0 })
    const produced = withoutStatus(full.lines)
    expect(produced.length).toBeGreaterThan(300)
    expect(produced.some((l) => /log limit/.test(l.text))).toBe(false)

    const limit = 50
    const capped = await flood('capped', { logLimitLines: limit })
    // The run went on past the limit to its end (the last command's "done" is dropped, the run succeeded).
    expect(capped.run.status).toBe('SUCCEEDED')
    const dropped = produced.slice(limit)
    expect(capped.run).toMatchObject({ logTruncated: true, droppedLogLines: dropped.length, droppedLogBytes: bytes(dropped) })

    // Stored: the first `limit` lines exactly as the unlimited run stored them, then the count line, then the status.
    expect(capped.lines).toHaveLength(limit + 2)
    expect(capped.lines.slice(0, limit).map((l) => l.text)).toEqual(produced.slice(0, limit).map((l) => l.text))
    const notes = capped.lines.filter((l) => /log limit/.test(l.text))
    expect(notes).toHaveLength(1)
    expect(capped.lines.at(-2)).toMatchObject({ stream: 'SYSTEM', level: 'WARNING' })
    expect(capped.lines.at(-2)!.text).toBe(`log limit reached: ${dropped.length} lines (${bytes(dropped)} bytes) of output were not stored (limit ${limit} lines or 52428800 bytes per run)`)
    expect(capped.lines.at(-1)!.text).toMatch(/^run succeeded/)
  }, 120_000)

  it('caps by bytes too, and falls back to the server default when the template sets no limit', async () => {
    const full = withoutStatus((await flood('unlimited-2', { logLimitLines: 100_000 })).lines)
    // A byte cap that falls inside the 11th line: 10 lines fit.
    const cap = bytes(full.slice(0, 10)) + 3
    const byBytes = await flood('by-bytes', { logLimitBytes: cap })
    expect(byBytes.run).toMatchObject({ status: 'SUCCEEDED', logTruncated: true, droppedLogLines: full.length - 10, droppedLogBytes: bytes(full.slice(10)) })
    expect(byBytes.lines.slice(0, 10).map((l) => l.text)).toEqual(full.slice(0, 10).map((l) => l.text))
    expect(byBytes.lines).toHaveLength(12)

    // No template limit: SWITCHYARD_LOG_LIMIT_LINES (400) is above this run's output, so nothing is dropped…
    const dflt = await flood('default', {})
    expect(dflt.run).toMatchObject({ status: 'SUCCEEDED', logTruncated: false, droppedLogLines: 0 })
    expect(withoutStatus(dflt.lines)).toHaveLength(full.length)
    // …and the template's fields read back as null (the default), and clear back to it.
    const tpl = (await t.ok(`{ jobTemplates { name logLimitLines logLimitBytes } }`)).jobTemplates
    expect(tpl.find((x: { name: string }) => x.name === 'default')).toMatchObject({ logLimitLines: null, logLimitBytes: null })
    expect(tpl.find((x: { name: string }) => x.name === 'by-bytes')).toMatchObject({ logLimitLines: null, logLimitBytes: cap })
  }, 120_000)

  it('a 1,000,000-line run keeps 1,000 lines, ends SUCCEEDED, and counts every dropped line and byte exactly', async () => {
    const capped = await flood('million', { logLimitLines: 1000 }, 'seq 1 1000000')
    expect(capped.run).toMatchObject({ status: 'SUCCEEDED', logTruncated: true })
    expect(capped.lines).toHaveLength(1002)
    // Stored: the system lines before the command's output, then numbers 1..k in order.
    const numbers = capped.lines.filter((l) => l.stream === 'STDOUT').map((l) => Number(l.text))
    const k = numbers.length
    expect(numbers).toEqual(Array.from({ length: k }, (_, i) => i + 1))
    // Dropped: numbers k+1..1,000,000 and the target's closing "exit code 0" line.
    let droppedBytes = Buffer.byteLength('exit code 0')
    for (let i = k + 1; i <= 1_000_000; i++) droppedBytes += String(i).length
    expect(capped.run).toMatchObject({ droppedLogLines: 1_000_000 - k + 1, droppedLogBytes: droppedBytes })
    expect(capped.lines.at(-2)!.text).toMatch(new RegExp(`^log limit reached: ${1_000_000 - k + 1} lines \\(${droppedBytes} bytes\\)`))
  }, 180_000)

  it('rejects a limit below 1 with a typed error naming the field', async () => {
    const r = await t.gql(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'bad', jobType: 'command', config: { commands: ['true'] }, logLimitLines: 0 },
    })
    expect(r.errors?.[0]?.extensions?.code, JSON.stringify(r)).toBe('BAD_USER_INPUT')
    expect(JSON.stringify(r.errors)).toContain('input.logLimitLines')
  })
})
