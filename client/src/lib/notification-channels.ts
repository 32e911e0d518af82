/**
 * Notification channels in the console, the parts worth testing without a browser: the kinds and what
 * each sends, an EMAIL channel's form fields and back to the API's input (recipients one per line, the
 * port as a whole number, the checks the API would only make after a round trip), a channel's
 * destination in a list cell, and the answer to "Send test" in words.
 */

export const CHANNEL_KIND_VALUES = ['WEBHOOK', 'EMAIL', 'SLACK', 'TEAMS', 'MATTERMOST'] as const
export type ChannelKindValue = (typeof CHANNEL_KIND_VALUES)[number]

export const CHANNEL_KIND_LABELS: Record<ChannelKindValue, string> = {
  WEBHOOK: 'Webhook',
  EMAIL: 'Email',
  SLACK: 'Slack',
  TEAMS: 'Teams',
  MATTERMOST: 'Mattermost',
}

/** A kind in words; one a newer server adds, as its name. */
export function channelKindLabel(kind: string | null | undefined): string {
  return CHANNEL_KIND_LABELS[(kind ?? 'WEBHOOK') as ChannelKindValue] ?? String(kind)
}

export function isChatKind(kind: string): boolean {
  return kind === 'SLACK' || kind === 'TEAMS' || kind === 'MATTERMOST'
}

export const SMTP_SECURITIES = ['STARTTLS', 'TLS', 'NONE'] as const
export type SmtpSecurityValue = (typeof SMTP_SECURITIES)[number]

export const SMTP_SECURITY_LABELS: Record<SmtpSecurityValue, string> = { STARTTLS: 'STARTTLS', TLS: 'TLS', NONE: 'None' }
export const SMTP_SECURITY_HINTS: Record<SmtpSecurityValue, string> = {
  STARTTLS: 'Upgrades the connection with STARTTLS and refuses to send without it (port 587 unless set).',
  TLS: 'Implicit TLS from the first byte (port 465 unless set).',
  NONE: 'Plain SMTP, no TLS even if offered: only for a relay on a trusted network.',
}

/** The port SMTP uses when none is set, as the server chooses it. */
export function defaultSmtpPort(security: SmtpSecurityValue): number {
  return security === 'TLS' ? 465 : 587
}

export interface EmailDraft {
  smtpHost: string
  /** As typed; blank: the security's default port. */
  smtpPort: string
  smtpSecurity: SmtpSecurityValue
  /** '' for no SMTP AUTH. */
  smtpCredentialId: string
  smtpCaCertificate: string
  emailFrom: string
  /** One address per line (commas work too). */
  emailTo: string
}

export interface EmailChannelLike {
  smtpHost?: string | null
  smtpPort?: number | null
  smtpSecurity?: string | null
  smtpCredential?: { id: string } | null
  smtpCaCertificate?: string | null
  emailFrom?: string | null
  emailTo?: readonly string[] | null
}

export function emailDraft(channel: EmailChannelLike | null): EmailDraft {
  return {
    smtpHost: channel?.smtpHost ?? '',
    smtpPort: channel?.smtpPort != null ? String(channel.smtpPort) : '',
    smtpSecurity: (SMTP_SECURITIES as readonly string[]).includes(channel?.smtpSecurity ?? '') ? (channel!.smtpSecurity as SmtpSecurityValue) : 'STARTTLS',
    smtpCredentialId: channel?.smtpCredential?.id ?? '',
    smtpCaCertificate: channel?.smtpCaCertificate ?? '',
    emailFrom: channel?.emailFrom ?? '',
    emailTo: (channel?.emailTo ?? []).join('\n'),
  }
}

/** Recipients as typed (one per line, or separated by commas or semicolons), blanks dropped, each once. */
export function parseRecipients(text: string): string[] {
  const out: string[] = []
  for (const raw of text.split(/[\n,;]+/)) {
    const r = raw.trim()
    if (r && !out.some((x) => x.toLowerCase() === r.toLowerCase())) out.push(r)
  }
  return out
}

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/

export type EmailInput = {
  url: null
  /** Blank is null, so the API's answer is "required" rather than "not a host name". */
  smtpHost: string | null
  smtpPort: number | null
  smtpSecurity: SmtpSecurityValue
  smtpCredentialId: string | null
  smtpCaCertificate: string | null
  emailFrom: string | null
  emailTo: string[]
}

/**
 * The EMAIL part of the API's input, or the problems to show first, keyed by the API's field names.
 * `url: null` lets a channel that was another kind drop its URL (an EMAIL channel has none).
 */
export function emailInput(d: EmailDraft): { input: EmailInput; errors: Record<string, string> } {
  const errors: Record<string, string> = {}
  const port = d.smtpPort.trim()
  let smtpPort: number | null = null
  if (port) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) errors.smtpPort = 'A port is a whole number from 1 to 65535.'
    else smtpPort = Number(port)
  }
  const emailTo = parseRecipients(d.emailTo)
  const bad = emailTo.find((r) => !ADDRESS.test(r.replace(/^[^<]*<([^>]*)>$/, '$1')))
  if (bad) errors.emailTo = `“${bad}” is not an email address.`
  const ca = d.smtpCaCertificate.trim()
  if (ca && !ca.includes('-----BEGIN CERTIFICATE-----')) errors.smtpCaCertificate = 'Paste a PEM certificate (it starts with -----BEGIN CERTIFICATE-----).'
  return {
    input: {
      url: null,
      smtpHost: d.smtpHost.trim() || null,
      smtpPort,
      smtpSecurity: d.smtpSecurity,
      smtpCredentialId: d.smtpCredentialId || null,
      smtpCaCertificate: ca ? `${ca}\n` : null,
      emailFrom: d.emailFrom.trim() || null,
      emailTo,
    },
    errors,
  }
}

export interface ChannelSummaryLike extends EmailChannelLike {
  kind?: string | null
  url?: string | null
  urlHost?: string | null
  hasUrl?: boolean
}

/**
 * Where a channel sends, for a list cell. A chat channel's URL carries the service's token: the API never
 * returns it (write-only), only its host. A webhook URL comes with its query values masked.
 */
export function channelDestination(c: ChannelSummaryLike): string {
  const kind = c.kind ?? 'WEBHOOK'
  if (kind === 'EMAIL') {
    const to = c.emailTo ?? []
    const security = (c.smtpSecurity ?? 'STARTTLS') as SmtpSecurityValue
    const port = c.smtpPort ?? defaultSmtpPort(security)
    const rcpt = to.length ? ` → ${to[0]}${to.length > 1 ? ` +${to.length - 1}` : ''}` : ''
    return `${c.smtpHost ?? '?'}:${port}${rcpt}`
  }
  if (isChatKind(kind)) {
    if (c.hasUrl === false) return '(no URL)'
    return c.urlHost ? `${c.urlHost}/…` : '(URL set)'
  }
  return c.url ?? ''
}

export interface TestResultLike {
  ok: boolean
  statusCode: number | null
  error: string | null
  response: string | null
  retryable: boolean
}

/**
 * "Send test"'s outcome in words: whether it arrived, the receiver's answer (HTTP status or SMTP reply
 * code) and, when it failed, the error and whether a real delivery would have tried again.
 */
export function testResultWords(r: TestResultLike, kind: string): { title: string; detail: string } {
  const smtp = kind === 'EMAIL'
  const code = r.statusCode != null ? (smtp ? `SMTP ${r.statusCode}` : `HTTP ${r.statusCode}`) : null
  const title = r.ok
    ? smtp
      ? `The mail server accepted the test message${code ? ` (${code})` : ''}.`
      : `The receiver accepted the test message${code ? ` (${code})` : ''}.`
    : code
      ? `The ${smtp ? 'mail server' : 'receiver'} refused the test message (${code}).`
      : `Nothing answered: the test message was not delivered.`
  const parts: string[] = []
  if (!r.ok && r.error) parts.push(sentence(r.error))
  if (!r.ok) parts.push(r.retryable ? 'A real delivery would try again later.' : 'A real delivery would give up at once.')
  return { title, detail: parts.join(' ') }
}

function sentence(s: string): string {
  const t = s.trim()
  if (!t) return t
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.')
}

/**
 * A chat channel's URL field → the API input. The stored URL is write-only (never shown): a blank field
 * keeps it (url omitted); with none stored, blank is null, so the API answers "required" rather than
 * "not a URL".
 */
export function chatUrlInput(draft: { url?: unknown; keepUrl?: unknown }): { url?: string | null } {
  const url = String(draft.url ?? '').trim()
  if (url) return { url }
  return draft.keepUrl ? {} : { url: null }
}
