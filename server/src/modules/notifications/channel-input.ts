/**
 * What a notification channel may be, checked before it is saved: the input schema (every field, each
 * error naming it), what each kind needs, and templates that parse, use only known variables and render
 * against a sample run (a webhook body must render to JSON). No database here: the service checks that
 * the credentials named exist.
 */
import { z } from 'zod'
import { ValidationError } from '../../errors.ts'
import { httpUrlSchema } from '../http-url.ts'
import { buildMessage } from './channel-message.ts'
import { MAX_TEMPLATE_CHARS, TEMPLATE_FIELDS, checkTemplate, samplePayload } from './message-templates.ts'

const headerName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'x-switchyard-signature', 'x-switchyard-delivery'])
const KINDS = ['WEBHOOK', 'EMAIL', 'SLACK', 'TEAMS', 'MATTERMOST'] as const
/** `ops@example.com` or `Switchyard <ops@example.com>`. */
const MAILBOX = /^(?:[^<>\r\n@]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/
const HOST = /^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$/

const template = z.string().max(MAX_TEMPLATE_CHARS, `at most ${MAX_TEMPLATE_CHARS} characters`).nullable()
export const channelInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  kind: z.enum(KINDS).default('WEBHOOK'),
  url: httpUrlSchema().nullable().default(null),
  headers: z
    .record(z.string(), z.string().max(4000).refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks'))
    .refine((h) => Object.keys(h).length <= 50, 'at most 50 headers')
    .refine((h) => Object.keys(h).every((k) => headerName.test(k) && !RESERVED_HEADERS.has(k.toLowerCase())), 'header names must be tokens, and not Content-Type, Content-Length, Host or X-Switchyard-*')
    .default({}),
  secretCredentialId: z.uuid().nullable().default(null),
  smtpHost: z.string().trim().regex(HOST, 'a host name or address').nullable().default(null),
  smtpPort: z.number().int().min(1).max(65535).nullable().default(null),
  smtpSecurity: z.enum(['NONE', 'STARTTLS', 'TLS']).nullable().default(null),
  smtpCredentialId: z.uuid().nullable().default(null),
  smtpCaCertificate: z.string().max(50_000).refine((v) => v.includes('-----BEGIN CERTIFICATE-----'), 'a PEM certificate (-----BEGIN CERTIFICATE-----)').nullable().default(null),
  emailFrom: z.string().trim().max(320).regex(MAILBOX, 'an address, e.g. switchyard@example.com or Switchyard <switchyard@example.com>').nullable().default(null),
  emailTo: z.array(z.string().trim().max(320).regex(MAILBOX, 'an email address')).max(50, 'at most 50 recipients').default([]),
  subjectTemplate: template.default(null),
  bodyTemplate: template.default(null),
  htmlTemplate: template.default(null),
})
export type ChannelInput = z.output<typeof channelInput>

export const CHANNEL_FIELDS = [
  'name', 'kind', 'url', 'headers', 'secretCredentialId', 'secondarySecretCredentialId', 'smtpHost', 'smtpPort', 'smtpSecurity',
  'smtpCredentialId', 'smtpCaCertificate', 'emailFrom', 'emailTo', 'subjectTemplate', 'bodyTemplate', 'htmlTemplate',
]
/** Update fields whose null means "clear" (templates fall back to the defaults). */
export const CLEARABLE_CHANNEL_FIELDS = ['url', 'secretCredentialId', 'smtpCredentialId', 'smtpCaCertificate', 'smtpPort', 'smtpSecurity', 'subjectTemplate', 'bodyTemplate', 'htmlTemplate']

/**
 * A channel that changes kind lets go of the credentials only its old kind used, so they stop counting as
 * "in use" (a credential in use cannot be deleted): signing secrets belong to WEBHOOK, the SMTP login to EMAIL.
 */
export function credentialsKindDrops(from: string, to: string | undefined): Record<string, null> {
  if (!to || to === from) return {}
  const out: Record<string, null> = {}
  if (to !== 'WEBHOOK') Object.assign(out, { secretCredentialId: null, secondarySecretCredentialId: null })
  if (to !== 'EMAIL') out.smtpCredentialId = null
  return out
}

/** What the channel's kind needs, and templates that work; errors name `input.<field>`. */
export async function checkChannelShape(c: ChannelInput, given: Partial<ChannelInput>, publicUrl: string | null): Promise<void> {
  const missing = (field: string, why: string) => ValidationError.field(`input.${field}`, why)
  if (c.kind === 'EMAIL') {
    if (!c.smtpHost) throw missing('smtpHost', 'required for an EMAIL channel')
    if (!c.emailFrom) throw missing('emailFrom', 'required for an EMAIL channel')
    if (!c.emailTo?.length) throw missing('emailTo', 'name at least one recipient')
    if (c.url) throw missing('url', 'an EMAIL channel has no URL')
  } else {
    if (!c.url) throw missing('url', `required for a ${c.kind} channel`)
    if (c.kind === 'WEBHOOK' && !c.secretCredentialId) throw missing('secretCredentialId', 'required for a WEBHOOK channel (its password signs each request)')
  }
  if (c.kind !== 'WEBHOOK' && given.secretCredentialId) throw missing('secretCredentialId', `only WEBHOOK channels are signed (a ${c.kind} channel's URL or login is its secret)`)
  for (const f of TEMPLATE_FIELDS) {
    const source = given[f]
    if (source != null) checkTemplate(f, source)
  }
  if (c.kind !== 'EMAIL' && given.htmlTemplate) throw missing('htmlTemplate', 'only EMAIL channels send HTML')
  if (c.kind === 'WEBHOOK' && given.subjectTemplate) throw missing('subjectTemplate', 'a WEBHOOK channel has no subject (its body template is the whole JSON body)')
  // Renders against a sample run: a webhook body that is not JSON, or a template failing at render time, is refused now.
  await buildMessage({ name: c.name, kind: c.kind, subjectTemplate: c.subjectTemplate, bodyTemplate: c.bodyTemplate, htmlTemplate: c.htmlTemplate }, samplePayload(), { publicUrl, deliveryId: null, fieldPrefix: 'input.' })
}
