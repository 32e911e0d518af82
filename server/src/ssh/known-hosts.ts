/** known_hosts text, key fingerprints and key files for the places that hand keys to OpenSSH (git, ansible). */
import { describeHostKey } from './connection.ts'

/** OpenSSH's fingerprint of a public key line (`ssh-ed25519 AAAA…` → `SHA256:…`), as `ssh-keygen -l` prints it. */
export function sshFingerprint(publicKey: string): string {
  return describeHostKey(Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64')).fingerprint
}

/** known_hosts lines pinning the given public keys (`ssh-ed25519 AAAA…`) for host and port. */
export function knownHostsLines(host: string, port: number, publicKeys: readonly string[]): string {
  const pattern = port === 22 ? host : `[${host}]:${port}`
  return publicKeys.map((k) => `${pattern} ${k}\n`).join('')
}

/** Private key text as ssh expects it in a file: Unix line ends and a final newline (ssh refuses the key otherwise). */
export function normalisePrivateKey(text: string): string {
  const key = text.replace(/\r\n?/g, '\n').trim()
  return `${key}\n`
}
