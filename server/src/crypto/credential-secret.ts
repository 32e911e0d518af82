/** Opens a stored credential for an executor. Only workers call this, right before connecting. */
import type { DecryptedCredential } from '../jobs/executors/types.ts'
import type { SecretBox } from './secret-box.ts'

export function decryptCredential(box: SecretBox, row: { kind: 'PASSWORD' | 'PRIVATE_KEY'; username: string; secret: Uint8Array; passphrase: Uint8Array | null }): DecryptedCredential {
  if (row.kind === 'PASSWORD') return { kind: 'PASSWORD', username: row.username, password: box.open(row.secret) }
  return {
    kind: 'PRIVATE_KEY',
    username: row.username,
    privateKey: box.open(row.secret),
    passphrase: row.passphrase ? box.open(row.passphrase) : undefined,
  }
}

/** The secret strings of a credential, for masking them in logs should a device echo them. */
export function credentialSecrets(c: DecryptedCredential | null): string[] {
  if (!c) return []
  // The private key too: a command that prints it must not put it in the log (masked line by line).
  return c.kind === 'PASSWORD' ? [c.password] : [c.privateKey, ...(c.passphrase ? [c.passphrase] : [])]
}
