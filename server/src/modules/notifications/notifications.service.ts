/**
 * Notification channels, rules and the delivery log. Admins only: a channel sends run data to any URL or
 * mailbox. Channel kinds: WEBHOOK (signed JSON), SLACK / TEAMS / MATTERMOST (their incoming-webhook
 * layouts), EMAIL (SMTP). Secrets are PASSWORD credentials named by id and never returned (credentials
 * stay write-only): a webhook's signing secret — two during a rotation (add/retire) — and the SMTP login.
 * Message templates are checked when saved (syntax, unknown variables, and that a webhook's body renders
 * to JSON). Deliveries themselves are written by the job_run trigger and sent by webhook-delivery.ts.
 */
import crypto from 'node:crypto'
import { z } from 'zod'
import { httpUrlSchema } from '../http-url.ts'
import type { NotificationChannel, NotificationDelivery, NotificationRule, Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import { ConflictError, InvalidStateError, NotFoundError, ValidationError, isUniqueViolation } from '../../errors.ts'
import { prismaQuery } from '../../db/credential-use.ts'
import { requireAdmin, type Actor } from '../actor.ts'
import { audited, entity } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { buildMessage, type ChannelKind } from './channel-message.ts'
import { loadSendableChannel, type ChannelSender, type SendOutcome } from './channel-sender.ts'
import { MAX_TEMPLATE_CHARS, TEMPLATE_FIELDS, checkTemplate, samplePayload, type RunPayload, type TemplateField } from './message-templates.ts'

const headerName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'x-switchyard-signature', 'x-switchyard-delivery'])
const KINDS = ['WEBHOOK', 'EMAIL', 'SLACK', 'TEAMS', 'MATTERMOST'] as const
/** `ops@example.com` or `Switchyard <ops@example.com>`. */
const MAILBOX = /^(?:[^<>\r\n@]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/
const HOST = /^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$/

const template = z.string().max(MAX_TEMPLATE_CHARS, `at most ${MAX_TEMPLATE_CHARS} characters`).nullable()
const channelInput = z.object({
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
type ChannelInput = z.output<typeof channelInput>

const CHANNEL_FIELDS = [
  'name', 'kind', 'url', 'headers', 'secretCredentialId', 'secondarySecretCredentialId', 'smtpHost', 'smtpPort', 'smtpSecurity',
  'smtpCredentialId', 'smtpCaCertificate', 'emailFrom', 'emailTo', 'subjectTemplate', 'bodyTemplate', 'htmlTemplate',
]
/** Update fields whose null means "clear" (templates fall back to the defaults). */
export const CLEARABLE_CHANNEL_FIELDS = ['url', 'secretCredentialId', 'smtpCredentialId', 'smtpCaCertificate', 'smtpPort', 'smtpSecurity', 'subjectTemplate', 'bodyTemplate', 'htmlTemplate']
const RULE_FIELDS = ['name', 'events', 'templateIds', 'channelIds', 'enabled', 'durationLimitSeconds', 'durationP95Factor', 'consecutiveFailures']

const EVENTS = ['RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_CANCELLED', 'RUN_RECOVERED', 'RUN_STARTED', 'RUN_TIMED_OUT', 'DURATION_EXCEEDED', 'CONSECUTIVE_FAILURES'] as const
const EVENT_OF_STATUS: Record<string, string> = { SUCCEEDED: 'RUN_SUCCEEDED', FAILED: 'RUN_FAILED', TIMED_OUT: 'RUN_TIMED_OUT', CANCELLED: 'RUN_CANCELLED', RUNNING: 'RUN_STARTED' }
const ruleInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  events: z.array(z.enum(EVENTS)).min(1, 'name at least one event').max(EVENTS.length),
  templateIds: z.array(z.uuid()).max(1000).default([]),
  channelIds: z.array(z.uuid()).min(1, 'name at least one channel').max(100),
  enabled: z.boolean().default(true),
  durationLimitSeconds: z.number().int().min(1, 'at least 1 second').max(30 * 86400, 'at most 30 days').nullable().default(null),
  durationP95Factor: z.number().min(1, 'at least 1 (the p95 itself)').max(100, 'at most 100').nullable().default(null),
  consecutiveFailures: z.number().int().min(2, 'at least 2').max(1000, 'at most 1000').nullable().default(null),
})
type RuleInput = z.output<typeof ruleInput>
/** Update fields whose null means "clear". */
export const CLEARABLE_RULE_FIELDS = ['durationLimitSeconds', 'durationP95Factor', 'consecutiveFailures']

function checkRuleThresholds(r: Pick<RuleInput, 'events' | 'durationLimitSeconds' | 'durationP95Factor'>): void {
  if (r.events.includes('DURATION_EXCEEDED') && r.durationLimitSeconds == null && r.durationP95Factor == null) {
    throw ValidationError.field('input.durationLimitSeconds', 'DURATION_EXCEEDED needs durationLimitSeconds or durationP95Factor')
  }
}

/**
 * A channel that changes kind lets go of the credentials only its old kind used, so they stop counting as
 * "in use" (a credential in use cannot be deleted): signing secrets belong to WEBHOOK, the SMTP login to EMAIL.
 */
function credentialsKindDrops(from: string, to: string | undefined): Record<string, null> {
  if (!to || to === from) return {}
  const out: Record<string, null> = {}
  if (to !== 'WEBHOOK') Object.assign(out, { secretCredentialId: null, secondarySecretCredentialId: null })
  if (to !== 'EMAIL') out.smtpCredentialId = null
  return out
}

export class NotificationsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sender: ChannelSender,
    private readonly publicUrl: string | null,
  ) {}

  listChannels(actor: Actor | null): Promise<NotificationChannel[]> {
    requireAdmin(actor)
    return this.prisma.notificationChannel.findMany({ orderBy: { name: 'asc' } })
  }

  async createChannel(actor: Actor | null, raw: unknown): Promise<NotificationChannel> {
    const a = requireAdmin(actor)
    const input = parseInput(channelInput, raw)
    await this.checkChannel(input)
    return this.unique('notification channel', input.name, () =>
      audited(
        this.prisma,
        (tx) => tx.notificationChannel.create({ data: input }),
        (row) => ({ actor: a, action: 'notification-channel.create', entity: entity.of('NotificationChannel', row), changes: created(row, CHANNEL_FIELDS) }),
      ),
    )
  }

  async updateChannel(actor: Actor | null, id: string, raw: unknown): Promise<NotificationChannel> {
    const a = requireAdmin(actor)
    const input = parsePatch(channelInput, raw)
    const existing = await this.prisma.notificationChannel.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('notification channel')
    await this.checkChannel({ ...(existing as unknown as ChannelInput), ...input }, input)
    return this.unique('notification channel', input.name, () =>
      audited(
        this.prisma,
        (tx) => tx.notificationChannel.update({ where: { id }, data: { ...credentialsKindDrops(existing.kind, input.kind), ...input } as Prisma.NotificationChannelUncheckedUpdateInput }),
        (row) => ({ actor: a, action: 'notification-channel.update', entity: entity.of('NotificationChannel', row), changes: changed(existing, row, CHANNEL_FIELDS) }),
      ),
    )
  }

  async deleteChannel(actor: Actor | null, id: string): Promise<void> {
    const a = requireAdmin(actor)
    const existing = await this.prisma.notificationChannel.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('notification channel')
    await audited(
      this.prisma,
      (tx) => tx.notificationChannel.delete({ where: { id } }),
      (row) => ({ actor: a, action: 'notification-channel.delete', entity: entity.of('NotificationChannel', row) }),
    )
  }

  listRules(actor: Actor | null): Promise<NotificationRule[]> {
    requireAdmin(actor)
    return this.prisma.notificationRule.findMany({ orderBy: { name: 'asc' } })
  }

  async createRule(actor: Actor | null, raw: unknown): Promise<NotificationRule> {
    const a = requireAdmin(actor)
    const input = parseInput(ruleInput, raw)
    checkRuleThresholds(input)
    await this.checkRefs(input)
    return this.unique('notification rule', input.name, () =>
      audited(
        this.prisma,
        (tx) => tx.notificationRule.create({ data: { ...input, events: [...new Set(input.events)] } }),
        (row) => ({ actor: a, action: 'notification-rule.create', entity: entity.of('NotificationRule', row), changes: created(row, RULE_FIELDS) }),
      ),
    )
  }

  async updateRule(actor: Actor | null, id: string, raw: unknown): Promise<NotificationRule> {
    const a = requireAdmin(actor)
    const input = parsePatch(ruleInput, raw)
    const existing = await this.prisma.notificationRule.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('notification rule')
    checkRuleThresholds({ ...(existing as unknown as RuleInput), ...input })
    await this.checkRefs(input)
    const data = input.events ? { ...input, events: [...new Set(input.events)] } : input
    return this.unique('notification rule', input.name, () =>
      audited(
        this.prisma,
        (tx) => tx.notificationRule.update({ where: { id }, data }),
        (row) => ({ actor: a, action: 'notification-rule.update', entity: entity.of('NotificationRule', row), changes: changed(existing, row, RULE_FIELDS) }),
      ),
    )
  }

  async deleteRule(actor: Actor | null, id: string): Promise<void> {
    const a = requireAdmin(actor)
    const existing = await this.prisma.notificationRule.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('notification rule')
    await audited(
      this.prisma,
      (tx) => tx.notificationRule.delete({ where: { id } }),
      (row) => ({ actor: a, action: 'notification-rule.delete', entity: entity.of('NotificationRule', row) }),
    )
  }

  /**
   * Sends a DELIVERED or FAILED notification again (same delivery id, so receivers can still deduplicate),
   * with the same payload and retries bounded from now. Audited on its channel.
   */
  async redeliver(actor: Actor | null, id: string): Promise<NotificationDelivery> {
    const a = requireAdmin(actor)
    const existing = await this.prisma.notificationDelivery.findUnique({ where: { id }, include: { channel: true } })
    if (!existing) throw new NotFoundError('notification delivery')
    if (existing.status === 'PENDING') throw new InvalidStateError('the notification is still being delivered')
    const row = await audited(
      this.prisma,
      async (tx) => {
        const updated = await tx.notificationDelivery.update({
          where: { id, status: { not: 'PENDING' } },
          data: { status: 'PENDING', enqueuedAt: null, nextAttemptAt: null, deliveredAt: null, redeliveredAt: new Date(), updatedAt: new Date() },
        })
        // Wakes the relay in every worker at commit, as the trigger does for new rows.
        await tx.$executeRawUnsafe(`SELECT pg_notify('switchyard_notification', '')`)
        return updated
      },
      () => ({ actor: a, action: 'notification-delivery.redeliver', entity: entity.of('NotificationChannel', existing.channel), changes: { delivery: { new: id } } }),
    )
    return row
  }

  /** The delivery log, newest first; optionally one run's. */
  listDeliveries(actor: Actor | null, filter: { jobRunId?: string; first: number }): Promise<NotificationDelivery[]> {
    requireAdmin(actor)
    return this.prisma.notificationDelivery.findMany({
      where: filter.jobRunId ? { jobRunId: filter.jobRunId } : {},
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: Math.min(Math.max(filter.first, 1), 500),
    })
  }

  /**
   * Another signing secret for a webhook, for a rotation: while two are active every request carries a
   * `v1=` signature for each, so receivers can switch to the new secret before the old one is retired.
   */
  async addChannelSecret(actor: Actor | null, id: string, credentialId: string): Promise<NotificationChannel> {
    const a = requireAdmin(actor)
    const existing = await this.prisma.notificationChannel.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('notification channel')
    if (existing.kind !== 'WEBHOOK') throw new InvalidStateError('only WEBHOOK channels sign their requests')
    await this.checkCredential(credentialId, 'secretCredentialId')
    if (credentialId === existing.secretCredentialId || credentialId === existing.secondarySecretCredentialId) throw ValidationError.field('secretCredentialId', 'already an active secret of this channel')
    if (existing.secretCredentialId && existing.secondarySecretCredentialId) throw new InvalidStateError('the channel already has two active secrets; retire one first')
    const data = existing.secretCredentialId ? { secondarySecretCredentialId: credentialId } : { secretCredentialId: credentialId }
    return this.writeChannel(a, existing, data, 'notification-channel.add-secret')
  }

  /** Stops signing with one of the active secrets; the last one cannot go (add its successor first). */
  async retireChannelSecret(actor: Actor | null, id: string, credentialId: string): Promise<NotificationChannel> {
    const a = requireAdmin(actor)
    const existing = await this.prisma.notificationChannel.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('notification channel')
    if (credentialId !== existing.secretCredentialId && credentialId !== existing.secondarySecretCredentialId) throw ValidationError.field('secretCredentialId', 'not an active secret of this channel')
    if (!existing.secretCredentialId || !existing.secondarySecretCredentialId) throw new InvalidStateError('the channel\'s only secret cannot be retired; add the next one first')
    // The remaining secret becomes the current one (signed first).
    const data = credentialId === existing.secretCredentialId
      ? { secretCredentialId: existing.secondarySecretCredentialId, secondarySecretCredentialId: null }
      : { secondarySecretCredentialId: null }
    return this.writeChannel(a, existing, data, 'notification-channel.retire-secret')
  }

  /**
   * A channel's messages for a real run (or a sample one), rendered exactly as delivery would, with the
   * channel's templates or `templates` given here (unsaved edits; null restores a default).
   */
  async preview(actor: Actor | null, id: string, opts: { jobRunId?: string; event?: string; templates?: Partial<Record<TemplateField, string | null>> }): Promise<NotificationPreview> {
    requireAdmin(actor)
    const channel = await this.prisma.notificationChannel.findUnique({ where: { id } })
    if (!channel) throw new NotFoundError('notification channel')
    const payload = await this.payloadFor(opts.jobRunId, opts.event)
    const shape = { name: channel.name, kind: channel.kind as ChannelKind, subjectTemplate: channel.subjectTemplate, bodyTemplate: channel.bodyTemplate, htmlTemplate: channel.htmlTemplate, ...(opts.templates ?? {}) }
    const m = await buildMessage(shape, payload, { publicUrl: this.publicUrl, deliveryId: '00000000-0000-4000-8000-00000000d00d', fieldPrefix: 'templates.' })
    return m.kind === 'email'
      ? { event: payload.event, subject: m.subject, text: m.text, html: m.html, body: null }
      : { event: payload.event, subject: null, text: null, html: null, body: m.body }
  }

  /** Sends one message through the channel now (not through the outbox) and returns the receiver's answer. */
  async sendTest(actor: Actor | null, id: string, opts: { jobRunId?: string; event?: string }): Promise<SendOutcome> {
    requireAdmin(actor)
    const channel = await loadSendableChannel(prismaQuery(this.prisma), id)
    if (!channel) throw new NotFoundError('notification channel')
    const payload = await this.payloadFor(opts.jobRunId, opts.event)
    return this.sender.send(channel, payload, { deliveryId: crypto.randomUUID(), test: true })
  }

  private async payloadFor(jobRunId: string | undefined, event: string | undefined): Promise<RunPayload> {
    if (!jobRunId) return samplePayload(event ?? 'RUN_FAILED')
    const rows = await this.prisma.$queryRawUnsafe<Array<{ run: RunPayload['run'] }>>('SELECT notification_run_payload(j) AS run FROM job_run j WHERE j.id = $1::uuid', jobRunId)
    const run = rows[0]?.run
    if (!run) throw new NotFoundError('job run', 'jobRunId')
    return { event: event ?? EVENT_OF_STATUS[run.status] ?? 'RUN_FAILED', run }
  }

  private writeChannel(a: Actor, existing: NotificationChannel, data: Prisma.NotificationChannelUncheckedUpdateInput, action: string): Promise<NotificationChannel> {
    return audited(
      this.prisma,
      (tx) => tx.notificationChannel.update({ where: { id: existing.id }, data }),
      (row) => ({ actor: a, action, entity: entity.of('NotificationChannel', row), changes: changed(existing, row, CHANNEL_FIELDS) }),
    )
  }

  /** The channel as it will be saved: what its kind needs, credentials that exist, templates that render. */
  private async checkChannel(c: ChannelInput, given: Partial<ChannelInput> = c): Promise<void> {
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
    if (given.secretCredentialId) await this.checkCredential(given.secretCredentialId, 'input.secretCredentialId')
    if (given.smtpCredentialId) await this.checkCredential(given.smtpCredentialId, 'input.smtpCredentialId')
    for (const f of TEMPLATE_FIELDS) {
      const source = given[f]
      if (source != null) checkTemplate(f, source)
    }
    if (c.kind !== 'EMAIL' && given.htmlTemplate) throw missing('htmlTemplate', 'only EMAIL channels send HTML')
    if (c.kind === 'WEBHOOK' && given.subjectTemplate) throw missing('subjectTemplate', 'a WEBHOOK channel has no subject (its body template is the whole JSON body)')
    // Renders against a sample run: a webhook body that is not JSON, or a template failing at render time, is refused now.
    await buildMessage({ name: c.name, kind: c.kind, subjectTemplate: c.subjectTemplate, bodyTemplate: c.bodyTemplate, htmlTemplate: c.htmlTemplate }, samplePayload(), { publicUrl: this.publicUrl, deliveryId: null, fieldPrefix: 'input.' })
  }

  private async checkCredential(id: string, field: string): Promise<void> {
    const c = await this.prisma.credential.findUnique({ where: { id }, select: { kind: true } })
    if (!c) throw ValidationError.field(field, 'no such credential')
    if (c.kind !== 'PASSWORD') throw ValidationError.field(field, 'must be a PASSWORD credential')
  }

  private async checkRefs(input: { templateIds?: string[]; channelIds?: string[] }): Promise<void> {
    if (input.channelIds?.length) {
      const found = await this.prisma.notificationChannel.count({ where: { id: { in: input.channelIds } } })
      if (found !== new Set(input.channelIds).size) throw ValidationError.field('input.channelIds', 'no such notification channel')
    }
    if (input.templateIds?.length) {
      const found = await this.prisma.jobTemplate.count({ where: { id: { in: input.templateIds } } })
      if (found !== new Set(input.templateIds).size) throw ValidationError.field('input.templateIds', 'no such job template')
    }
  }

  private async unique<T>(what: string, name: string | undefined, write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `a ${what} named "${name}" already exists`)
      throw e
    }
  }
}

export interface NotificationPreview {
  event: string
  subject: string | null
  text: string | null
  html: string | null
  body: string | null
}
