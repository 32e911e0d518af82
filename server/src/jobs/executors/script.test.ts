/**
 * The script executor against a real OpenSSH server (the sshd runs on this machine, so the remote temp
 * directory can be checked from here). Only the dispatcher side (the ExecutionContext) is faked
 * (test/harness/fake-execution-context.ts).
 */
import { existsSync } from 'node:fs'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { fakeExecutionContext, sshdTarget } from '../../../test/harness/fake-execution-context.ts'
import { remoteProcesses, startSshd, type TestSshd } from '../../../test/harness/sshd.ts'
import { scriptExecutor } from './script.ts'
import { AbortReason, type RunTargetHandle } from './types.ts'

let sshd: TestSshd

beforeAll(async () => {
  sshd = await startSshd({ count: 2 })
}, 60_000)
afterAll(async () => {
  await sshd?.stop()
})

function target(name: string, overrides: Partial<RunTargetHandle> = {}): RunTargetHandle {
  return sshdTarget(sshd, name, overrides)
}

function fakeContext(config: Record<string, unknown>, targets: RunTargetHandle[], options: { parameters?: Record<string, unknown>; signal?: AbortSignal } = {}) {
  const run = fakeExecutionContext(scriptExecutor.configSchema.parse(config), { ...options, targets, maxParallelTargets: 4 })
  return Object.assign(run, {
    /** The remote temp directory, from the "uploaded the script … to <dir>/script" line. */
    remoteDir: (id: string) => {
      const line = run.system.find((s) => s.runTargetId === id && s.text.startsWith('uploaded the script'))
      return line?.text.match(/ to (\/\S+)\/script$/)?.[1] ?? null
    },
  })
}

type Recorder = ReturnType<typeof fakeContext>

async function execute(r: Recorder) {
  await expect(scriptExecutor.execute(r.ctx)).resolves.toEqual({})
  expect([...r.reports.keys()].sort()).toEqual(r.ctx.targets.map((t) => t.id).sort())
  return r
}

describe('script executor', () => {
  it('validates its config and names the field', () => {
    const issues = (config: unknown) => {
      const r = scriptExecutor.configSchema.safeParse(config)
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'))
    }
    expect(issues({ script: 'echo hi' })).toEqual([])
    expect(scriptExecutor.configSchema.parse({ script: 'echo hi' })).toMatchObject({ interpreter: 'sh', arguments: [], connectTimeoutSeconds: 15 })
    expect(issues({ script: 'echo hi', interpreter: 'perl' })).toEqual(['interpreter'])
    expect(issues({ script: '  \n' })).toEqual(['script'])
    expect(issues({ script: 'x', interpreter: 'custom' })).toEqual(['shebang'])
    expect(issues({ script: 'x', interpreter: 'custom', shebang: 'perl' })).toEqual(['shebang'])
    expect(issues({ script: 'x', interpreter: 'bash', shebang: '#!/bin/sh' })).toEqual(['shebang'])
    const schema = z.toJSONSchema(scriptExecutor.configSchema, { io: 'input' }) as { properties: Record<string, { description?: string }> }
    expect(schema.properties.interpreter?.description).toContain('python3')
  })

  it('uploads into a private temp dir, passes quoted arguments, streams output, and removes the dir', async () => {
    const t = target('one', { attributes: { location: "o'hare; echo INJECTED" } })
    const script = [
      'echo "mode $(stat -c %a "$0") $(stat -c %a "$(dirname "$0")")"',
      'for a in "$@"; do printf "arg:%s\\n" "$a"; done',
      'echo "env $GREETING"',
      'echo oops >&2',
    ].join('\n')
    const config = { script, arguments: ['{{ message }}', '--site={{ target.attributes.location }}', 'plain'], env: { GREETING: 'hi {{ target.name }}' } }
    const r = await execute(fakeContext(config, [t], { parameters: { message: 'hello $(id) `id` "x"' } }))
    expect(r.reports.get(t.id)).toMatchObject({ status: 'SUCCEEDED', exitCode: 0, error: null })
    expect(r.lines(t.id, 'STDOUT')).toEqual(['mode 700 700', 'arg:hello $(id) `id` "x"', "arg:--site=o'hare; echo INJECTED", 'arg:plain', 'env hi one'])
    expect(r.lines(t.id, 'STDERR')).toEqual(['oops'])
    expect(r.reports.get(t.id)!.outputTail).toContain('oops')
    const dir = r.remoteDir(t.id)
    expect(dir).toMatch(/^\/tmp\/switchyard-script-[0-9a-f]{12}\.\w{8}$/)
    expect(existsSync(dir!)).toBe(false)
    expect(r.systemLines(t.id)).toContain(`removed ${dir}`)
  })

  it('runs bash, python3 and a custom shebang', async () => {
    const bash = target('bash', { id: 'rt-bash' })
    const python = target('python', { id: 'rt-python', host: sshd.hosts[1]! })
    const bashRun = execute(fakeContext({ script: 'arr=(a b c); echo "bash ${#arr[@]} $1"', interpreter: 'bash', arguments: ['x'] }, [bash]))
    const pyRun = execute(fakeContext({ script: 'import sys\nprint("py", sys.argv[1:])', interpreter: 'python3', arguments: ['a b'] }, [python]))
    const [b, p] = await Promise.all([bashRun, pyRun])
    expect(b.lines(bash.id)).toEqual(['bash 3 x'])
    expect(p.lines(python.id)).toEqual(["py ['a b']"])
    const custom = target('custom')
    const c = await execute(fakeContext({ script: 'print "perl $ARGV[0]\\n";', interpreter: 'custom', shebang: '#!/usr/bin/perl -w', arguments: ['ok'] }, [custom]))
    expect(c.reports.get(custom.id)).toMatchObject({ status: 'SUCCEEDED' })
    expect(c.lines(custom.id)).toEqual(['perl ok'])
    for (const [r, id] of [[b, bash.id], [p, python.id], [c, custom.id]] as const) expect(existsSync(r.remoteDir(id)!)).toBe(false)
  })

  it('fails the target with the exit code and still removes the dir', async () => {
    const t = target('fails')
    const r = await execute(fakeContext({ script: 'echo before\nexit 3\necho never' }, [t]))
    expect(r.reports.get(t.id)).toMatchObject({ status: 'FAILED', exitCode: 3, error: 'the script exited with code 3', retryable: true })
    expect(r.lines(t.id)).toEqual(['before'])
    expect(existsSync(r.remoteDir(t.id)!)).toBe(false)
  })

  it('fails permanently on an unknown placeholder, before connecting', async () => {
    const t = target('placeholder')
    const r = await execute(fakeContext({ script: 'true', arguments: ['{{ missing }}'] }, [t]))
    expect(r.reports.get(t.id)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(r.reports.get(t.id)!.error).toContain('unknown template variable "missing"')
    expect(r.systemLines(t.id).some((l) => l.startsWith('connecting'))).toBe(false)
  })

  it.each([
    ['a script that stops on TERM', 'sleep 61.81', 'cancelled' as const, 'CANCELLED'],
    ['a script that ignores TERM (killed, then cleaned by a fresh exec)', "trap '' TERM HUP\nsleep 61.82\necho survived", 'cancelled' as const, 'CANCELLED'],
    ['a timed-out script', 'sleep 61.83', 'timeout' as const, 'TIMED_OUT'],
  ])('on abort stops %s and removes the dir', async (_name, script, cause, status) => {
    const marker = script.match(/sleep [\d.]+/)![0]
    const controller = new AbortController()
    const t = target(`abort-${cause}`)
    const r = fakeContext({ script: `echo started\n${script}` }, [t], { signal: controller.signal })
    const running = execute(r)
    await vi.waitFor(async () => expect(await remoteProcesses(sshd.user, marker)).not.toEqual([]), { timeout: 20_000, interval: 100 })
    const dir = r.remoteDir(t.id)!
    expect(existsSync(`${dir}/script`)).toBe(true)
    controller.abort(new AbortReason(cause))
    await running
    expect(r.reports.get(t.id)).toMatchObject({ status })
    expect(r.lines(t.id)).not.toContain('survived')
    expect(existsSync(dir)).toBe(false)
    await vi.waitFor(async () => expect(await remoteProcesses(sshd.user, marker)).toEqual([]), { timeout: 10_000 })
  }, 60_000)
})
