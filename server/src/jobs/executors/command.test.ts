/**
 * The command executor against a real OpenSSH server. Only the dispatcher side (the ExecutionContext) is
 * faked (test/harness/fake-execution-context.ts); SSH, shells and processes are real.
 */
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { fakeExecutionContext, sshdTarget } from '../../../test/harness/fake-execution-context.ts'
import { remoteProcesses, startSshd, unusedLoopbackPort, type TestSshd } from '../../../test/harness/sshd.ts'
import { commandExecutor } from './command.ts'
import { AbortReason, type RunTargetHandle } from './types.ts'

let sshd: TestSshd

beforeAll(async () => {
  sshd = await startSshd({ count: 3 })
})
afterAll(async () => {
  await sshd?.stop()
})


function target(name: string, overrides: Partial<RunTargetHandle> = {}): RunTargetHandle {
  return sshdTarget(sshd, name, overrides)
}

function fakeContext(
  config: Record<string, unknown>,
  targets: RunTargetHandle[],
  options: { maxParallelTargets?: number; parameters?: Record<string, unknown>; signal?: AbortSignal } = {},
) {
  return fakeExecutionContext(commandExecutor.configSchema.parse(config), { ...options, targets })
}

type Recorder = ReturnType<typeof fakeContext>

async function execute(recorder: Recorder) {
  await expect(commandExecutor.execute(recorder.ctx)).resolves.toEqual({})
  // Every target is reported exactly once, whatever happened to it.
  expect([...recorder.reports.keys()].sort()).toEqual(recorder.ctx.targets.map((t) => t.id).sort())
  return recorder
}

describe('command executor', () => {
  it('describes its config as JSON Schema with defaults and descriptions', () => {
    const schema = z.toJSONSchema(commandExecutor.configSchema, { io: 'input' }) as { properties: Record<string, { description?: string; default?: unknown }> }
    expect(schema.properties.pty?.description).toContain('SIGHUP')
    expect(schema.properties.connectTimeoutSeconds?.default).toBe(15)
    expect(commandExecutor.configSchema.safeParse({ commands: [] }).success).toBe(false)
    expect(commandExecutor.configSchema.safeParse({ commands: ['  '] }).success).toBe(false)
    expect(commandExecutor.configSchema.safeParse({ commands: ['ls'], env: { 'BAD-NAME': 'x' } }).success).toBe(false)
  })

  it('gives every command the same outputs file, returns its bytes on success, and removes it either way', async () => {
    const t = target('outputs')
    const ok = await execute(fakeContext({ commands: ['echo "a=1" >> "$SWITCHYARD_OUTPUTS"; echo "file $SWITCHYARD_OUTPUTS"', 'echo "b=2" >> "$SWITCHYARD_OUTPUTS"'], pty: true }, [t]))
    expect(ok.reports.get(t.id)).toMatchObject({ status: 'SUCCEEDED' })
    expect(ok.reports.get(t.id)!.outputsFile!.toString()).toBe('a=1\nb=2\n')
    const path = ok.lines(t.id)[0]!.replace(/^file /, '').trim()
    expect(path).toMatch(/^\/tmp\/switchyard-outputs\./)
    expect(existsSync(path)).toBe(false)
    const failed = await execute(fakeContext({ commands: ['echo "file $SWITCHYARD_OUTPUTS"; echo x=1 > "$SWITCHYARD_OUTPUTS"; exit 3'] }, [t]))
    expect(failed.reports.get(t.id)).toMatchObject({ status: 'FAILED' })
    expect(failed.reports.get(t.id)!.outputsFile).toBeUndefined()
    expect(existsSync(failed.lines(t.id)[0]!.replace(/^file /, ''))).toBe(false)
  })

  it('streams stdout and stderr line by line, in order, with exit codes and a bounded tail', async () => {
    const t = target('one')
    const r = await execute(fakeContext({ commands: ['echo first; echo warn >&2; printf "a\\r\\nb"', 'seq 1 20000', 'true'] }, [t]))
    expect(r.reports.get(t.id)).toMatchObject({ status: 'SUCCEEDED', exitCode: 0, error: null })
    expect(r.lines(t.id, 'STDERR')).toEqual(['warn'])
    const stdout = r.lines(t.id, 'STDOUT')
    expect(stdout.slice(0, 3)).toEqual(['first', 'a', 'b'])
    expect(stdout.slice(3)).toEqual(Array.from({ length: 20000 }, (_, i) => String(i + 1)))
    expect(r.systemLines(t.id)).toEqual([
      `connecting to ${t.host}:${t.port}`,
      `host key ${sshd.hostKeyFingerprint} (ssh-ed25519) recorded on first contact`,
      `connected as ${sshd.user}`,
      '$ echo first; echo warn >&2; printf "a\\r\\nb"',
      'exit code 0',
      '$ seq 1 20000',
      'exit code 0',
      '$ true',
      'exit code 0',
    ])
    // Output of a command is complete before the next command starts.
    const firstSeq = r.output.findIndex((o) => o.text === '1')
    expect(r.output.slice(firstSeq).every((o) => o.stream === 'STDOUT')).toBe(true)
    const tail = r.reports.get(t.id)!.outputTail!.split('\n')
    expect(tail).toEqual(Array.from({ length: 50 }, (_, i) => String(19951 + i)))
    expect(r.hostKeys).toEqual([{ runTargetId: t.id, fingerprint: sshd.hostKeyFingerprint, algorithm: 'ssh-ed25519' }])
  })

  it('stops at the first failing command', async () => {
    const t = target('fails')
    const r = await execute(fakeContext({ commands: ['echo before', 'echo boom >&2; exit 3', 'echo never'] }, [t]))
    expect(r.reports.get(t.id)).toMatchObject({ status: 'FAILED', exitCode: 3, error: 'command 2 of 3 exited with code 3', retryable: true })
    expect(r.lines(t.id)).toEqual(['before', 'boom'])
    expect(r.systemLines(t.id)).toContain('exit code 3')
    expect(r.reports.get(t.id)!.outputTail).toBe('before\nboom')
  })

  it('runs the remaining commands with continueOnError, still failing the target', async () => {
    const t = target('continues')
    const r = await execute(fakeContext({ commands: ['exit 3', 'echo still-ran', 'exit 0'], continueOnError: true }, [t]))
    expect(r.reports.get(t.id)).toMatchObject({ status: 'FAILED', exitCode: 3, error: 'command 1 of 3 exited with code 3' })
    expect(r.lines(t.id)).toEqual(['still-ran'])
  })

  it('keeps going on the other targets when one has a bad password and one is unreachable', async () => {
    const refusedPort = await unusedLoopbackPort()
    const good = target('good', { host: sshd.hosts[0]! })
    const badPassword = target('bad-password', { host: sshd.hosts[1]!, credential: { kind: 'PASSWORD', username: sshd.user, password: 'Wr0ng-secret' } })
    const unreachable = target('unreachable', { host: '127.0.0.1', port: refusedPort })
    const noCredential = target('no-credential', { host: sshd.hosts[2]!, credential: null })
    const r = await execute(fakeContext({ commands: ['hostname >/dev/null && echo ok'] }, [good, badPassword, unreachable, noCredential]))

    expect(r.reports.get(good.id)).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 })
    expect(r.lines(good.id)).toEqual(['ok'])
    expect(r.reports.get(badPassword.id)).toMatchObject({
      status: 'FAILED',
      retryable: false,
      error: `authentication failed for user ${sshd.user} on ${sshd.hosts[1]}:${sshd.port}`,
    })
    expect(r.reports.get(unreachable.id)).toMatchObject({ status: 'FAILED', retryable: true })
    expect(r.reports.get(unreachable.id)!.error).toContain(`connection refused by 127.0.0.1:${refusedPort}`)
    expect(r.reports.get(noCredential.id)).toMatchObject({ status: 'FAILED', retryable: false })
    expect(r.reports.get(noCredential.id)!.error).toContain('has no credential')
    expect(r.systemLines(noCredential.id).some((l) => l.startsWith('connecting'))).toBe(false)
    // Errors are in the log too, and no secret is anywhere.
    expect(r.system.filter((s) => s.level === 'ERROR').map((s) => s.runTargetId).sort()).toEqual([badPassword.id, noCredential.id, unreachable.id].sort())
    expect(JSON.stringify([r.system, r.output, [...r.reports.values()]])).not.toContain('Wr0ng-secret')
  })

  it('honours maxParallelTargets', async () => {
    // Each command waits (remotely) until at least two targets have arrived, so two really do overlap;
    // the executor must never let a third one in at the same time.
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-barrier-'))
    await chmod(dir, 0o777)
    try {
      const targets = Array.from({ length: 6 }, (_, i) => target(`p${i}`, { host: sshd.hosts[i % 3]! }))
      const command = 'touch {{ dir }}/{{ target.name }}; for i in $(seq 200); do [ "$(ls {{ dir }} | wc -l)" -ge 2 ] && break; sleep 0.05; done; echo done'
      const r = await execute(fakeContext({ commands: [command] }, targets, { maxParallelTargets: 2, parameters: { dir } }))
      for (const t of targets) expect(r.reports.get(t.id)).toMatchObject({ status: 'SUCCEEDED' })
      expect(r.maxActive).toBe(2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('renders parameters and target fields shell-quoted, and exports env', async () => {
    const t = target('sw-01', { attributes: { location: "o'hare; echo INJECTED" } })
    const parameters = { message: 'hello $(id) `id` "x"', count: 3 }
    const config = {
      commands: ["printf '%s\\n' {{ message }} {{ params.count }} {{ target.name }} {{ target.attributes.location }}", 'echo "$GREETING"'],
      env: { GREETING: 'hi from {{ target.name }}' },
    }
    const r = await execute(fakeContext(config, [t], { parameters }))
    expect(r.reports.get(t.id)).toMatchObject({ status: 'SUCCEEDED' })
    expect(r.lines(t.id)).toEqual(['hello $(id) `id` "x"', '3', 'sw-01', "o'hare; echo INJECTED", 'hi from sw-01'])
    expect(r.systemLines(t.id)).toContain(`$ printf '%s\\n' 'hello $(id) \`id\` "x"' '3' 'sw-01' 'o'\\''hare; echo INJECTED'`)
  })

  it('fails a target permanently on an unknown placeholder, before connecting', async () => {
    const t = target('typo')
    const r = await execute(fakeContext({ commands: ['echo {{ params.vlna }}'] }, [t], { parameters: { vlan: 1 } }))
    expect(r.reports.get(t.id)).toMatchObject({ status: 'FAILED', retryable: false, error: 'unknown template variable "params.vlna"' })
    expect(r.systemLines(t.id).some((l) => l.startsWith('connecting'))).toBe(false)
  })

  it('cancels: stops the remote sleep, reports CANCELLED, and never starts queued targets', async () => {
    const marker = 'sleep 60.41'
    const controller = new AbortController()
    const running = target('running')
    const queued = target('queued')
    const r = fakeContext({ commands: [`echo started; ${marker}`] }, [running, queued], { maxParallelTargets: 1, signal: controller.signal })
    const done = execute(r)
    await vi.waitFor(() => expect(r.lines(running.id)).toEqual(['started']), { timeout: 10_000 })
    await vi.waitFor(async () => expect(await remoteProcesses(sshd.user, marker)).not.toEqual([]), { timeout: 10_000 })
    controller.abort(new AbortReason('cancelled'))
    await done
    expect(r.reports.get(running.id)).toMatchObject({ status: 'CANCELLED', error: 'run cancelled' })
    expect(r.reports.get(running.id)!.outputTail).toBe('started')
    expect(r.reports.get(queued.id)).toMatchObject({ status: 'CANCELLED' })
    expect(r.started).toEqual([running.id])
    await vi.waitFor(async () => expect(await remoteProcesses(sshd.user, marker)).toEqual([]), { timeout: 5_000 })
  })

  it('reports TIMED_OUT when the run times out', async () => {
    const marker = 'sleep 60.42'
    const controller = new AbortController()
    const t = target('slow')
    const r = fakeContext({ commands: [`echo started; ${marker}`] }, [t], { signal: controller.signal })
    const done = execute(r)
    await vi.waitFor(() => expect(r.lines(t.id)).toEqual(['started']), { timeout: 10_000 })
    controller.abort(new AbortReason('timeout'))
    await done
    expect(r.reports.get(t.id)).toMatchObject({ status: 'TIMED_OUT', error: 'run timed out' })
    await vi.waitFor(async () => expect(await remoteProcesses(sshd.user, marker)).toEqual([]), { timeout: 5_000 })
  })

  it('reports every target when the run was aborted before it began', async () => {
    const controller = new AbortController()
    controller.abort(new AbortReason('timeout'))
    const targets = [target('a'), target('b')]
    const r = await execute(fakeContext({ commands: ['echo never'] }, targets, { signal: controller.signal }))
    for (const t of targets) expect(r.reports.get(t.id)).toMatchObject({ status: 'TIMED_OUT' })
    expect(r.started).toEqual([])
    expect(r.output).toEqual([])
  })
})
