/**
 * AES-256-GCM for secrets at rest (credential secrets, secret run parameters).
 * Envelope: version byte | 12-byte IV | 16-byte tag | ciphertext. The version byte leaves room for
 * key rotation without guessing formats later.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16

export class SecretBox {
  readonly #key: Buffer

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RangeError('secret key must be 32 bytes')
    this.#key = Buffer.from(key)
  }

  /** A fresh Uint8Array (not a pooled Buffer slice), as Prisma's Bytes fields expect. */
  seal(plaintext: string): Uint8Array<ArrayBuffer> {
    const iv = crypto.randomBytes(IV_BYTES)
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv)
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return new Uint8Array(Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]))
  }

  open(envelope: Uint8Array): string {
    const buf = Buffer.from(envelope)
    if (buf.length < 1 + IV_BYTES + TAG_BYTES || buf[0] !== VERSION) throw new Error('unrecognised secret envelope')
    const iv = buf.subarray(1, 1 + IV_BYTES)
    const tag = buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES)
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, iv)
    decipher.setAuthTag(tag)
    try {
      return Buffer.concat([decipher.update(buf.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      // Never echo ciphertext or key material: the only useful fact is that the key is wrong.
      throw new Error('cannot decrypt secret: SWITCHYARD_SECRET_KEY differs from the key it was encrypted with')
    }
  }
}

/** The configured key, or one generated on first start and kept (0600) in the data directory. */
export function loadOrCreateSecretKey(configured: Buffer | null, dataDir: string): { key: Buffer; generatedAt?: string } {
  if (configured) return { key: configured }
  const file = path.join(dataDir, 'secret.key')
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64')
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`)
    return { key }
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const key = crypto.randomBytes(32)
  fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
  return { key, generatedAt: file }
}
