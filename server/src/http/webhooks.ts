/**
 * POST /hooks/<token>: inbound webhook calls. The token is the endpoint's secret URL part (looked up by
 * its SHA-256); the body is read up to the endpoint's cap and handed to the receiver
 * (modules/webhooks/webhook-receiver.ts). Every answer is JSON `{ status, … }` or `{ error, fields? }`:
 * a bad call gets a 4xx with the reason, and an unexpected failure a bare 500 (logged, never a stack).
 */
import type http from 'node:http'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'
import type { WebhookReceiver } from '../modules/webhooks/webhook-receiver.ts'
import { hashToken, WEBHOOK_PATH } from '../modules/webhooks/webhooks.service.ts'

export { WEBHOOK_PATH }

const TOKEN = /^whk_[A-Za-z0-9_-]{20,100}$/

export function createWebhookHandler(deps: { prisma: PrismaClient; receiver: WebhookReceiver; logger: Logger }) {
  const answer = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.headersSent) return
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body))
  }
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    try {
      const token = decodeURIComponent((req.url ?? '').slice(WEBHOOK_PATH.length).split('?')[0] ?? '')
      // Unknown, malformed and disabled look alike: the URL is the credential.
      const endpoint = TOKEN.test(token) ? await deps.prisma.webhookEndpoint.findUnique({ where: { tokenHash: hashToken(token) } }) : null
      if (!endpoint || !endpoint.enabled) {
        req.resume()
        return answer(res, 404, { error: 'no such webhook endpoint (or it is disabled)' })
      }
      if (req.method !== 'POST') {
        req.resume()
        return answer(res, 405, { error: 'use POST' }, { allow: 'POST' })
      }
      const header = (name: string) => {
        const v = req.headers[name]
        return Array.isArray(v) ? v[0] : v
      }
      const body = await readBody(req, endpoint.maxBodyBytes)
      if (!body) {
        // Stop reading: the rest of an oversized body is not worth the bandwidth.
        res.setHeader('connection', 'close')
        const a = await deps.receiver.tooLarge(endpoint, header('x-switchyard-delivery'))
        return answer(res, a.status, a.body, a.headers)
      }
      const a = await deps.receiver.receive(endpoint, { contentType: header('content-type'), signature: header('x-switchyard-signature'), deliveryId: header('x-switchyard-delivery'), body })
      answer(res, a.status, a.body, a.headers)
    } catch (e) {
      deps.logger.error('webhook call failed', { error: coerceError(e).message })
      answer(res, 500, { error: 'internal error; the call was not handled (retry later)' })
    }
  }
}

/** The body, or null when it exceeds `limit` bytes (by Content-Length or as it streams). */
async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return null
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) return null
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
