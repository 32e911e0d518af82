/**
 * The test sshd with more hosts than one OpenSSH process can listen on (16): one sshd per 16 loopback
 * addresses, same port and host key, so every address is a distinct host that really answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withSshConnection } from '../../src/ssh/connection.ts'
import { Semaphore } from '../../src/util/semaphore.ts'
import { loopbackHosts, startSshd, type TestSshd } from './sshd.ts'

let sshd: TestSshd

beforeAll(async () => {
  sshd = await startSshd({ count: 40 })
})
afterAll(async () => {
  await sshd?.stop()
})

describe('test sshd with many hosts', () => {
  it('numbers loopback addresses past 127.0.0.254, skipping .0 and .255', () => {
    const hosts = loopbackHosts(300)
    expect(new Set(hosts).size).toBe(300)
    expect(hosts[0]).toBe('127.0.0.2')
    expect(hosts[252]).toBe('127.0.0.254')
    expect(hosts[253]).toBe('127.0.1.1')
    expect(hosts.every((h) => !/\.(0|255)$/.test(h))).toBe(true)
  })

  it('serves every address from one sshd per 16, with one host key', async () => {
    expect(sshd.hosts).toHaveLength(40)
    expect(sshd.pids).toHaveLength(3)
    const limiter = new Semaphore(8)
    const signal = new AbortController().signal
    const seen = await Promise.all(
      [sshd.hosts[0]!, sshd.hosts[17]!, sshd.hosts[39]!].map((host) =>
        withSshConnection(
          { host, port: sshd.port, credential: { kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.privateKey, passphrase: undefined }, knownHostKey: { fingerprint: sshd.hostKeyFingerprint, algorithm: null }, readyTimeoutMs: 15_000 },
          { signal, handshakeLimiter: limiter, onNewHostKey: async () => {} },
          async (c) => {
            const out: Buffer[] = []
            const r = await c.exec('echo "$SSH_CONNECTION"', { signal, onStdout: (b) => out.push(b), onStderr: () => {} })
            expect(r.exitCode).toBe(0)
            return Buffer.concat(out).toString().trim().split(' ')[2] // the server address the client reached
          },
        ),
      ),
    )
    expect(seen).toEqual([sshd.hosts[0], sshd.hosts[17], sshd.hosts[39]])
  })
})
