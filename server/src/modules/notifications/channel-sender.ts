/**
 * Sends one message through one channel and reports the outcome; never throws. HTTP kinds POST JSON
 * (webhooks signed with every active secret); EMAIL goes over SMTP with nodemailer (implicit TLS,
 * STARTTLS required, or plain; AUTH with a PASSWORD credential). Used by the outbox delivery and by
 * "send test". Secrets are opened here, just before use, and never logged or returned.
 */
import crypto from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'
import { lazyModule } from '../../util/lazy-module.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import type { RawQuery } from '../../db/credential-use.ts'
import { DomainError } from '../../errors.ts'
import { isOutboundDenied, type OutboundPolicy } from '../../net/outbound-policy.ts'
import { coerceError } from '../../util/errors.ts'
import { buildMessage, type ChannelKind } from './channel-message.ts'
import { openUrl } from './channel-url.ts'
import type { RunPayload } from './message-templates.ts'

/** Loaded with the first e-mail (see util/lazy-module.ts). */
const nodemailer = lazyModule<typeof import('nodemailer')>('nodemailer')

const ATTEMPT_TIMEOUT_MS = 10_000
/** How much of the receiver's answer is kept (send test shows it; the delivery log keeps errors only). */
const MAX_RESPONSE_CHARS = 2000

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`, one `v1=` per active secret (two during
 * a rotation, the current one first): a receiver accepts the request when any v1 matches its secret.
 */
export function signWebhook(secrets: string | string[], body: string, unixSeconds: number): string {
  const list = Array.isArray(secrets) ? secrets : [secrets]
  return [`t=${unixSeconds}`, ...list.map((s) => `v1=${crypto.createHmac('sha256', s).update(`${unixSeconds}.${body}`).digest('hex')}`)].join(',')
}

export interface SendableChannel {
  id: string
  name: string
  kind: ChannelKind
  url: string | null
  /** A chat kind's URL, sealed (channel-url.ts); opened just before the request. */
  urlSealed: Uint8Array | null
  headers: Record<string, string>
  secrets: Uint8Array[]
  smtpHost: string | null
  smtpPort: number | null
  smtpSecurity: 'NONE' | 'STARTTLS' | 'TLS' | null
  smtpUsername: string | null
  smtpPassword: Uint8Array | null
  smtpCaCertificate: string | null
  emailFrom: string | null
  emailTo: string[]
  subjectTemplate: string | null
  bodyTemplate: string | null
  htmlTemplate: string | null
}

export interface SendOutcome {
  ok: boolean
  /** HTTP status, or the SMTP reply code; null when nothing answered. */
  status: number | null
  error: string | null
  /** Worth another attempt (network errors, 408/429/5xx, SMTP 4xx). */
  retryable: boolean
  /** The receiver's answer (HTTP body or SMTP reply), truncated. */
  response: string | null
}

export function retryableHttp(status: number | null): boolean {
  return status === null || status === 408 || status === 429 || status >= 500
}

const CHANNEL_SQL = `
  SELECT c.id, c.name, c.kind::text AS kind, c.url, c.url_sealed AS "urlSealed", c.headers,
         array_remove(ARRAY[s1.secret, s2.secret], NULL) AS secrets,
         c.smtp_host AS "smtpHost", c.smtp_port AS "smtpPort", c.smtp_security::text AS "smtpSecurity",
         sc.username AS "smtpUsername", sc.secret AS "smtpPassword", c.smtp_ca_certificate AS "smtpCaCertificate",
         c.email_from AS "emailFrom", COALESCE(c.email_to, '{}') AS "emailTo",
         c.subject_template AS "subjectTemplate", c.body_template AS "bodyTemplate", c.html_template AS "htmlTemplate"
    FROM notification_channel c
    LEFT JOIN credential s1 ON s1.id = c.secret_credential_id
    LEFT JOIN credential s2 ON s2.id = c.secondary_secret_credential_id
    LEFT JOIN credential sc ON sc.id = c.smtp_credential_id
   WHERE c.id = $1::uuid`

export async function loadSendableChannel(query: RawQuery, id: string): Promise<SendableChannel | null> {
  const rows = (await query(CHANNEL_SQL, [id])) as SendableChannel[]
  return rows[0] ?? null
}

export class ChannelSender {
  constructor(
    private readonly box: SecretBox,
    private readonly publicUrl: string | null,
    private readonly outbound: OutboundPolicy,
  ) {}

  async send(channel: SendableChannel, payload: RunPayload, opts: { deliveryId: string | null; test?: boolean }): Promise<SendOutcome> {
    let message
    try {
      message = await buildMessage(channel, payload, { publicUrl: this.publicUrl, deliveryId: opts.deliveryId, test: opts.test })
    } catch (e) {
      // A template that fails to render now will fail every time: no retry.
      const err = coerceError(e)
      return { ok: false, status: null, error: err instanceof DomainError ? `message: ${err.message}` : err.message, retryable: false, response: null }
    }
    if (message.kind === 'email') return this.#mail(channel, message, opts.deliveryId)
    return this.#post(channel, message.body, opts.deliveryId)
  }

  async #post(channel: SendableChannel, body: string, deliveryId: string | null): Promise<SendOutcome> {
    const url = openUrl(this.box, channel)
    if (!url) return { ok: false, status: null, error: 'the channel has no URL', retryable: false, response: null }
    const headers: Record<string, string> = { ...channel.headers, 'content-type': 'application/json', 'user-agent': 'Switchyard-Webhook' }
    if (deliveryId) headers['x-switchyard-delivery'] = deliveryId
    if (channel.kind === 'WEBHOOK') {
      if (!channel.secrets.length) return { ok: false, status: null, error: 'the channel has no signing secret', retryable: false, response: null }
      headers['x-switchyard-signature'] = signWebhook(channel.secrets.map((s) => this.box.open(s)), body, Math.floor(Date.now() / 1000))
    }
    try {
      // The dispatcher checks the address the URL's host resolves to when it connects (the SSRF guard).
      const res = await fetch(url, { method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), headers, body, dispatcher: this.outbound.dispatcher } as RequestInit)
      const response = (await res.text().catch(() => '')).slice(0, MAX_RESPONSE_CHARS)
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, error: null, retryable: false, response }
      return { ok: false, status: res.status, error: `the receiver answered ${res.status} ${res.statusText}`.trim(), retryable: retryableHttp(res.status), response }
    } catch (e) {
      const err = coerceError(e)
      const cause = (err as { cause?: unknown }).cause
      // A denied address is denied next time too: no retry.
      return { ok: false, status: null, error: cause instanceof Error ? `${err.message}: ${cause.message}` : err.message, retryable: !isOutboundDenied(err), response: null }
    }
  }

  async #mail(channel: SendableChannel, m: { subject: string; text: string; html: string }, deliveryId: string | null): Promise<SendOutcome> {
    if (!channel.smtpHost || !channel.emailFrom || !channel.emailTo.length) {
      return { ok: false, status: null, error: 'the channel lacks SMTP host, sender or recipients', retryable: false, response: null }
    }
    const security = channel.smtpSecurity ?? 'STARTTLS'
    // nodemailer resolves names itself: the host is resolved (and checked) here and the address given to it,
    // with the name kept for TLS (SNI and certificate checks).
    let address: string
    try {
      address = await this.outbound.resolve(channel.smtpHost)
    } catch (e) {
      const err = coerceError(e)
      return { ok: false, status: null, error: `SMTP: ${err.message}`, retryable: !isOutboundDenied(err), response: null }
    }
    const transport = nodemailer().createTransport({
      host: address,
      ...(net.isIP(channel.smtpHost.replace(/^\[|\]$/g, '')) ? {} : { servername: channel.smtpHost }),
      port: channel.smtpPort ?? (security === 'TLS' ? 465 : 587),
      secure: security === 'TLS',
      requireTLS: security === 'STARTTLS',
      ignoreTLS: security === 'NONE',
      auth: channel.smtpUsername && channel.smtpPassword ? { user: channel.smtpUsername, pass: this.box.open(channel.smtpPassword) } : undefined,
      // A `ca` list replaces Node's trusted roots: the channel's CA is added to them, not swapped in.
      tls: channel.smtpCaCertificate ? { ca: [...tls.rootCertificates, channel.smtpCaCertificate] } : undefined,
      connectionTimeout: ATTEMPT_TIMEOUT_MS,
      greetingTimeout: ATTEMPT_TIMEOUT_MS,
      socketTimeout: 2 * ATTEMPT_TIMEOUT_MS,
      // nodemailer logs nothing unless asked; the password never reaches a log.
      logger: false,
      debug: false,
    })
    try {
      const info = await transport.sendMail({
        from: channel.emailFrom,
        to: channel.emailTo,
        subject: m.subject,
        text: m.text,
        html: m.html,
        // The channel's extra headers go on the mail too (e.g. X-Priority, a ticket system's routing header).
        headers: { ...channel.headers, ...(deliveryId ? { 'X-Switchyard-Delivery': deliveryId } : {}) },
      })
      const response = String(info.response ?? '')
      return { ok: true, status: Number.parseInt(response, 10) || 250, error: null, retryable: false, response: response.slice(0, MAX_RESPONSE_CHARS) }
    } catch (e) {
      const err = coerceError(e) as Error & { code?: string; responseCode?: number; response?: string }
      const code = typeof err.responseCode === 'number' ? err.responseCode : null
      // SMTP 5xx and a refused login are permanent; 4xx and anything on the way (network, TLS) are retried.
      const permanent = (code !== null && code >= 500) || err.code === 'EAUTH' || err.code === 'EENVELOPE'
      return { ok: false, status: code, error: `SMTP: ${err.message}`, retryable: !permanent, response: err.response ? String(err.response).slice(0, MAX_RESPONSE_CHARS) : null }
    } finally {
      transport.close()
    }
  }
}
