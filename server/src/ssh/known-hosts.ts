/** known_hosts text and key fingerprints for the places that hand host keys to OpenSSH (git, ansible). */
import { createHash } from 'node:crypto'

/** OpenSSH's fingerprint of a public key line (`ssh-ed25519 AAAA…` → `SHA256:…`), as `ssh-keygen -l` prints it. */
export function sshFingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64')
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** known_hosts lines pinning the given public keys (`ssh-ed25519 AAAA…`) for host and port. */
export function knownHostsLines(host: string, port: number, publicKeys: readonly string[]): string {
  const pattern = port === 22 ? host : `[${host}]:${port}`
  return publicKeys.map((k) => `${pattern} ${k}\n`).join('')
}
