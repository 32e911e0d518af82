/**
 * Host keys for tools that run OpenSSH themselves (ansible): they cannot use our ssh2 host verifier, so
 * we give them a known_hosts file holding exactly the key Switchyard trusts for each target and make
 * them strict. `ssh-keyscan` reads the keys a server offers (no login); the one matching the recorded
 * fingerprint is pinned, or — first contact — the one ssh2 would have chosen is recorded (trust on
 * first use), so every job type agrees on a target's key.
 */
import type { ProcessSandbox } from '../sandbox/process-sandbox.ts'
import { describeHostKey, hostKeyMatches, type HostKey } from './connection.ts'
import { SshError } from './ssh-error.ts'

export interface ScannedHostKey extends HostKey {
  /** `type base64`, as in known_hosts without the host. */
  publicKey: string
}

/** ssh2's own preference among host key types: what it negotiates, and so what first contact records elsewhere. */
const PREFERENCE = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']

/**
 * The host keys a server offers, read with `ssh-keyscan` (no authentication; in the sandbox, like every
 * process a run starts). Empty if none could be read.
 */
export function scanHostKeys(host: string, port: number, options: { timeoutSeconds: number; signal: AbortSignal; sandbox: ProcessSandbox; command?: string }): Promise<{ keys: ScannedHostKey[]; diagnostics: string }> {
  const args = ['-T', String(Math.max(1, Math.floor(options.timeoutSeconds))), '-p', String(port), '-t', 'ed25519,ecdsa,rsa', '--', host]
  return new Promise((resolve, reject) => {
    options.sandbox.execFile(options.command ?? 'ssh-keyscan', args, { signal: options.signal, timeout: (options.timeoutSeconds + 5) * 1000 }, (err, stdout, stderr) => {
      if (options.signal.aborted) return reject(options.signal.reason)
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error('ssh-keyscan is not installed (Debian: openssh-client)'))
      const keys: ScannedHostKey[] = []
      for (const line of stdout.split('\n')) {
        const [, type, data] = line.trim().split(/\s+/)
        if (!type || !data || line.startsWith('#')) continue
        const described = describeHostKey(Buffer.from(data, 'base64'))
        keys.push({ ...described, publicKey: `${type} ${data}` })
      }
      const diagnostics = stderr
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .join(' | ')
      resolve({ keys, diagnostics })
    })
  })
}

/**
 * The key to pin for a target: the scanned key matching the recorded one, or on first contact the
 * preferred scanned key (`isNew`). Throws an SshError when the server offers no key or not the recorded one.
 */
export function choosePinnedKey(
  host: string,
  port: number,
  known: { fingerprint: string; algorithm: string | null } | null,
  scanned: { keys: ScannedHostKey[]; diagnostics: string },
): { key: ScannedHostKey; isNew: boolean } {
  const { keys, diagnostics } = scanned
  if (keys.length === 0) {
    throw SshError.unreachable(host, port, `could not read its SSH host key${diagnostics ? ` (${diagnostics})` : ' (no SSH server answered)'}`)
  }
  if (known) {
    const match = keys.find((k) => hostKeyMatches(known, k))
    if (match) return { key: match, isNew: false }
    const sameType = keys.find((k) => k.algorithm === known.algorithm) ?? keys[0]!
    throw SshError.hostKeyMismatch(host, port, known, sameType)
  }
  const rank = (k: ScannedHostKey) => {
    const i = PREFERENCE.indexOf(k.algorithm)
    return i < 0 ? PREFERENCE.length : i
  }
  const key = [...keys].sort((a, b) => rank(a) - rank(b))[0]!
  return { key, isNew: true }
}
