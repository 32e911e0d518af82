/** Bearer tokens: random, shown once, stored only as a SHA-256 hash. */
import crypto from 'node:crypto'

export const TOKEN_PREFIX = 'sy_'

export function newToken(): { token: string; hash: string; prefix: string } {
  const token = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url')
  return { token, hash: hashToken(token), prefix: token.slice(0, 10) }
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex')
}

/** Accepts `Bearer <token>` or a bare token (graphql-ws connectionParams often carry it bare). */
export function tokenFromHeader(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const v = value.trim()
  const m = /^Bearer\s+(.+)$/i.exec(v)
  const token = (m ? m[1]! : v).trim()
  return token.length > 0 ? token : null
}
