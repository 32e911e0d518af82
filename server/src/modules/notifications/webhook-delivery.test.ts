import crypto from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { retryable, signWebhook } from './webhook-delivery.ts'
import { backoffMs } from '../outbox-relay.ts'

describe('webhook signature', () => {
  it('is t=<ts>,v1=<hex HMAC-SHA256(secret, ts + "." + body)>, as README documents', () => {
    const body = '{"event":"RUN_FAILED"}'
    const sig = signWebhook('s3cret', body, 1767225600)
    const expected = crypto.createHmac('sha256', 's3cret').update('1767225600.{"event":"RUN_FAILED"}').digest('hex')
    expect(sig).toBe(`t=1767225600,v1=${expected}`)
    expect(signWebhook('other', body, 1767225600)).not.toBe(sig)
    expect(signWebhook('s3cret', body, 1767225601)).not.toBe(sig)
  })
})

describe('retry policy', () => {
  it('retries network errors, 408, 429 and 5xx; nothing else', () => {
    for (const s of [null, 408, 429, 500, 502, 503, 504]) expect(retryable(s), String(s)).toBe(true)
    for (const s of [200, 301, 400, 401, 403, 404, 410, 422]) expect(retryable(s), String(s)).toBe(false)
  })

  it('backs off exponentially with jitter, capped at the maximum', () => {
    const retry = { baseMs: 1000, maxMs: 8000, giveUpMs: 3600_000, logRetentionDays: 30 }
    for (let attempt = 1; attempt <= 10; attempt++) {
      const cap = Math.min(8000, 1000 * 2 ** (attempt - 1))
      const samples = Array.from({ length: 200 }, () => backoffMs(retry, attempt))
      for (const d of samples) expect(d).toBeGreaterThanOrEqual(500)
      for (const d of samples) expect(d).toBeLessThanOrEqual(Math.max(cap, 500))
      if (cap > 500) expect(new Set(samples).size).toBeGreaterThan(1) // jittered, not fixed
    }
  })
})
