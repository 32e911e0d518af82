/**
 * Verifies `X-Switchyard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>`
 * — the scheme Switchyard's own notifications sign with (notifications/webhook-delivery.ts), so one
 * Switchyard can call another. The timestamp is inside the MAC, so it cannot be moved: a capture replayed
 * outside the window is refused, and within it the delivery id dedupe refuses it (webhook-receiver.ts).
 */
import crypto from 'node:crypto'

/** Null when the signature is valid; otherwise why not (for the caller's 401). */
export function signatureProblem(secret: string, header: string | undefined, body: Buffer, nowSeconds: number, windowSeconds: number): string | null {
  if (!header) return 'missing X-Switchyard-Signature header (t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">)'
  const parts = new Map(header.split(',').map((p) => {
    const i = p.indexOf('=')
    return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const
  }))
  const t = Number(parts.get('t'))
  const v1 = parts.get('v1') ?? ''
  if (!Number.isSafeInteger(t) || !/^[0-9a-f]{64}$/i.test(v1)) return 'malformed X-Switchyard-Signature header: expected t=<unix seconds>,v1=<64 hex digits>'
  if (Math.abs(nowSeconds - t) > windowSeconds) return `signature timestamp is outside the replay window (±${windowSeconds} s of the server's clock)`
  const expected = crypto.createHmac('sha256', secret).update(`${t}.`).update(body).digest()
  const given = Buffer.from(v1, 'hex')
  return crypto.timingSafeEqual(expected, given) ? null : 'signature does not match the body'
}
