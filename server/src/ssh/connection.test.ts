import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { remoteProcesses, startSilentServer, startSshd, unusedLoopbackPort, type TestSshd } from '../../test/harness/sshd.ts'
import type { DecryptedCredential } from '../jobs/executors/types.ts'
import { Semaphore } from '../util/semaphore.ts'
import { withSshConnection, type HostKey, type SshConnection, type SshEndpoint } from './connection.ts'
import { SshError } from './ssh-error.ts'

let sshd: TestSshd
let host: string

beforeAll(async () => {
  sshd = await startSshd({ count: 1 })
  host = sshd.hosts[0]!
})
afterAll(async () => {
  await sshd?.stop()
})

const password = (): DecryptedCredential => ({ kind: 'PASSWORD', username: sshd.user, password: sshd.password })

function endpoint(overrides: Partial<SshEndpoint> = {}): SshEndpoint {
  return { host, port: sshd.port, credential: password(), knownHostKey: null, readyTimeoutMs: 10_000, ...overrides }
}

function connect<T>(ep: SshEndpoint, fn: (c: SshConnection) => Promise<T>, extra: { signal?: AbortSignal; limiter?: Semaphore } = {}) {
  const recorded: HostKey[] = []
  const promise = withSshConnection(
    ep,
    {
      signal: extra.signal ?? new AbortController().signal,
      handshakeLimiter: extra.limiter ?? new Semaphore(4),
      onNewHostKey: async (key) => {
        recorded.push(key)
      },
    },
    fn,
  )
  return { promise, recorded }
}

async function run(c: SshConnection, command: string, options: { pty?: boolean; signal?: AbortSignal } = {}) {
  let stdout = ''
  let stderr = ''
  const result = await c.exec(command, {
    signal: options.signal ?? new AbortController().signal,
    pty: options.pty,
    onStdout: (chunk) => (stdout += chunk.toString('utf8')),
    onStderr: (chunk) => (stderr += chunk.toString('utf8')),
  })
  return { ...result, stdout, stderr }
}

async function expectSshError(promise: Promise<unknown>): Promise<SshError> {
  const err = await promise.then(
    () => {
      throw new Error('expected an SshError, but the call succeeded')
    },
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(SshError)
  return err as SshError
}

describe('authentication', () => {
  it('logs in with a password and reports exit codes and both streams', async () => {
    const { promise } = connect(endpoint(), (c) => run(c, 'whoami; echo oops >&2; exit 3'))
    const result = await promise
    expect(result).toEqual({ exitCode: 3, signal: null, stdout: `${sshd.user}\n`, stderr: 'oops\n' })
  })

  it('logs in with a private key', async () => {
    const ep = endpoint({ credential: { kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.privateKey } })
    const { promise } = connect(ep, (c) => run(c, 'echo key-ok'))
    expect((await promise).stdout).toBe('key-ok\n')
  })

  it('logs in with a passphrase-protected private key', async () => {
    const credential: DecryptedCredential = { kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.encryptedPrivateKey, passphrase: sshd.passphrase }
    const { promise } = connect(endpoint({ credential }), (c) => run(c, 'echo enc-ok'))
    expect((await promise).stdout).toBe('enc-ok\n')
  })

  it('fails permanently on a wrong password, without revealing it', async () => {
    const credential: DecryptedCredential = { kind: 'PASSWORD', username: sshd.user, password: 'not-the-Password-123' }
    const fn = vi.fn(async () => 'never')
    const err = await expectSshError(connect(endpoint({ credential }), fn).promise)
    expect(err.kind).toBe('auth')
    expect(err.retryable).toBe(false)
    expect(err.message).toBe(`authentication failed for user ${sshd.user} on ${host}:${sshd.port}`)
    expect(err.message).not.toContain('not-the-Password-123')
    expect(fn).not.toHaveBeenCalled()
  })

  it('fails permanently on a wrong passphrase, without revealing it', async () => {
    const credential: DecryptedCredential = { kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.encryptedPrivateKey, passphrase: 'wrong-Passphrase-xyz' }
    const err = await expectSshError(connect(endpoint({ credential }), async () => 'never').promise)
    expect(err.kind).toBe('auth')
    expect(err.retryable).toBe(false)
    expect(err.message).toContain('private key could not be used')
    expect(err.message).not.toContain('wrong-Passphrase-xyz')
    expect(err.message).not.toContain('PRIVATE KEY')
  })
})

describe('private keys', () => {
  it('parses a credential\'s key once, however many connections use it', async () => {
    // The passphrase-protected key is the one where it matters: opening it costs ~300 ms of CPU.
    const ssh2 = createRequire(import.meta.url)('ssh2') as typeof import('ssh2')
    const parse = vi.spyOn(ssh2.utils, 'parseKey')
    try {
      const credential: DecryptedCredential = { kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.encryptedPrivateKey, passphrase: sshd.passphrase }
      for (let i = 0; i < 3; i++) expect((await connect(endpoint({ credential }), (c) => run(c, 'echo once')).promise).stdout).toBe('once\n')
      expect(parse).toHaveBeenCalledTimes(1)
      // Another credential object (another run) opens its own: nothing is kept beyond the object's life.
      const again = { ...credential }
      expect((await connect(endpoint({ credential: again }), (c) => run(c, 'echo again')).promise).stdout).toBe('again\n')
      expect(parse).toHaveBeenCalledTimes(2)
    } finally {
      parse.mockRestore()
    }
  })

  it('reports an unusable key the same way on every connection that tries it', async () => {
    const credential: DecryptedCredential = { kind: 'PRIVATE_KEY', username: sshd.user, privateKey: 'not a key', passphrase: undefined }
    for (let i = 0; i < 2; i++) {
      const err = await expectSshError(connect(endpoint({ credential }), async () => 'never').promise)
      expect(err.kind).toBe('auth')
      expect(err.retryable).toBe(false)
      expect(err.message).toContain('private key could not be used')
    }
  })
})

describe('host keys', () => {
  it('trusts a host on first use and reports its key after login, then accepts the recorded key', async () => {
    const first = connect(endpoint(), async () => 'ok')
    await first.promise
    expect(first.recorded).toEqual([{ fingerprint: sshd.hostKeyFingerprint, algorithm: 'ssh-ed25519' }])

    const second = connect(endpoint({ knownHostKey: first.recorded[0]! }), async () => 'ok')
    expect(await second.promise).toBe('ok')
    expect(second.recorded).toEqual([])
  })

  it('does not record a host key when authentication fails', async () => {
    const attempt = connect(endpoint({ credential: { kind: 'PASSWORD', username: sshd.user, password: 'nope-nope' } }), async () => 'never')
    await expectSshError(attempt.promise)
    expect(attempt.recorded).toEqual([])
  })

  it('rejects a changed host key permanently, naming both fingerprints', async () => {
    const expected = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    const fn = vi.fn(async () => 'never')
    const attempt = connect(endpoint({ knownHostKey: { fingerprint: expected, algorithm: 'ssh-ed25519' } }), fn)
    const err = await expectSshError(attempt.promise)
    expect(err.kind).toBe('host_key_mismatch')
    expect(err.retryable).toBe(false)
    expect(err.message).toContain(`expected ${expected}`)
    expect(err.message).toContain(`got ${sshd.hostKeyFingerprint}`)
    expect(err.message).toContain("clear the target's recorded host key")
    expect(fn).not.toHaveBeenCalled()
    expect(attempt.recorded).toEqual([])
  })
})

describe('unreachable servers', () => {
  it('reports a refused connection as transient', async () => {
    const port = await unusedLoopbackPort()
    const err = await expectSshError(connect(endpoint({ host: '127.0.0.1', port }), async () => 'never').promise)
    expect(err.kind).toBe('refused')
    expect(err.retryable).toBe(true)
    expect(err.message).toContain(`connection refused by 127.0.0.1:${port}`)
  })

  it('times out on a server that accepts TCP but never speaks SSH', async () => {
    const silent = await startSilentServer()
    try {
      const err = await expectSshError(connect(endpoint({ host: silent.host, port: silent.port, readyTimeoutMs: 1_000 }), async () => 'never').promise)
      expect(err.kind).toBe('timeout')
      expect(err.retryable).toBe(true)
      expect(err.message).toBe(`connection to ${silent.host}:${silent.port} timed out after 1s (no SSH handshake)`)
      expect(silent.connections()).toBe(1)
    } finally {
      await silent.stop()
    }
  })

  it('aborts a handshake in progress', async () => {
    const silent = await startSilentServer()
    try {
      const controller = new AbortController()
      const attempt = connect(endpoint({ host: silent.host, port: silent.port, readyTimeoutMs: 60_000 }), async () => 'never', { signal: controller.signal })
      await vi.waitFor(() => expect(silent.connections()).toBe(1))
      controller.abort(new Error('stop now'))
      const err = await expectSshError(attempt.promise)
      expect(err.kind).toBe('cancelled')
      expect(err.cause).toBeInstanceOf(Error)
    } finally {
      await silent.stop()
    }
  })
})

describe('handshake limiter', () => {
  it('holds a slot only until the session is ready', async () => {
    const limiter = new Semaphore(1)
    const { promise } = connect(endpoint(), async (c) => {
      const during = limiter.available
      await run(c, 'true')
      return during
    }, { limiter })
    expect(await promise).toBe(1)
    expect(limiter.available).toBe(1)
  })

  it('gives up waiting for a slot when aborted', async () => {
    const limiter = new Semaphore(1)
    await limiter.acquire()
    const controller = new AbortController()
    const attempt = connect(endpoint(), async () => 'never', { limiter, signal: controller.signal })
    controller.abort(new Error('cancelled while queued'))
    const err = await expectSshError(attempt.promise)
    expect(err.kind).toBe('cancelled')
    limiter.release()
    expect(limiter.available).toBe(1)
  })
})

describe('exec', () => {
  it('closes stdin, so a command reading it ends instead of hanging', async () => {
    const { promise } = connect(endpoint(), (c) => run(c, 'cat; echo after-cat'))
    expect(await promise).toMatchObject({ exitCode: 0, stdout: 'after-cat\n' })
  })

  it('merges stderr into stdout with a pty', async () => {
    const { promise } = connect(endpoint(), (c) => run(c, 'echo out; echo err >&2; exit 4', { pty: true }))
    const result = await promise
    expect(result.exitCode).toBe(4)
    expect(result.stderr).toBe('')
    expect(result.stdout.replaceAll('\r\n', '\n')).toBe('out\nerr\n')
  })

  it('runs several commands on one session', async () => {
    const { promise } = connect(endpoint(), async (c) => [await run(c, 'echo 1'), await run(c, 'echo 2; false')])
    const [a, b] = await promise
    expect(a).toMatchObject({ exitCode: 0, stdout: '1\n' })
    expect(b).toMatchObject({ exitCode: 1, stdout: '2\n' })
  })

  it('reports a session lost mid-command as transient', async () => {
    // $PPID of the remote shell is sshd's per-session process: killing it drops the connection.
    const { promise } = connect(endpoint(), (c) => run(c, 'echo bye; kill -9 $PPID'))
    const err = await expectSshError(promise)
    expect(err.kind).toBe('reset')
    expect(err.retryable).toBe(true)
    expect(err.message).toContain(`connection to ${host}:${sshd.port} lost`)
  })

  for (const pty of [false, true]) {
    it(`stops the remote process on abort (pty: ${pty})`, async () => {
      // A marker argument unique to this test, so parallel test files never see each other's processes.
      const marker = pty ? '60.31' : '60.32'
      const controller = new AbortController()
      const { promise } = connect(endpoint(), (c) => run(c, `echo started; sleep ${marker}; echo never`, { signal: controller.signal, pty }))
      await vi.waitFor(async () => expect(await remoteProcesses(sshd.user, `sleep ${marker}`)).not.toEqual([]), { timeout: 10_000 })
      controller.abort(new Error('operator cancelled'))
      const err = await expectSshError(promise)
      expect(err.kind).toBe('cancelled')
      await vi.waitFor(async () => expect(await remoteProcesses(sshd.user, `sleep ${marker}`)).toEqual([]), { timeout: 5_000 })
    })
  }
})
