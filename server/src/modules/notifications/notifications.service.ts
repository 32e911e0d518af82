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
import type { NotificationChannel, NotificationDelivery, NotificationRule, Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import { InvalidStateError, NotFoundError, ValidationError } from '../../errors.ts'
import { prismaQuery } from '../../db/credential-use.ts'
import { requireAdmin, type Actor } from '../actor.ts'
import { audited, entity, record } from '../audit/audit.service.ts'
import { auditedDelete, auditedSave, mustExist, type AuditedKind } from '../audit/audited-write.ts'
import { changed, created, secretsChanged, type Changes } from '../audit/changes.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import type { OutboundPolicy } from '../../net/outbound-policy.ts'
import { checkOutboundTarget } from '../http-url.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { tag } from '../targets/targets.service.ts'
import { CHANNEL_FIELDS, channelInput, checkChannelShape, credentialsKindDrops, type ChannelInput } from './channel-input.ts'
import { buildMessage, type ChannelKind } from './channel-message.ts'
import { maskQuery, openUrl, shownUrl, storedUrl } from './channel-url.ts'
import { loadSendableChannel, type ChannelSender, type SendOutcome } from './channel-sender.ts'
import { samplePayload, type RunPayload, type TemplateField } from './message-templates.ts'
import { NOTIFICATION_CHANNEL } from './webhook-delivery.ts'

export { CLEARABLE_CHANNEL_FIELDS } from './channel-input.ts'

const RULE_FIELDS = ['name', 'events', 'templateIds', 'workflowIds', 'scheduleIds', 'tags', 'channelIds', 'enabled', 'durationLimitSeconds', 'durationP95Factor', 'consecutiveFailures', 'queueBacklogSeconds']

const EVENTS = [
  'RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_CANCELLED', 'RUN_RECOVERED', 'RUN_STARTED', 'RUN_TIMED_OUT', 'DURATION_EXCEEDED', 'CONSECUTIVE_FAILURES',
  'SCHEDULE_SLOT_MISSED', 'SCHEDULE_SLOT_SKIPPED', 'CONFIG_CHANGED', 'WORKER_DOWN', 'WORKER_RECOVERED', 'QUEUE_BACKLOG',
] as const
const EVENT_OF_STATUS: Record<string, string> = { SUCCEEDED: 'RUN_SUCCEEDED', FAILED: 'RUN_FAILED', TIMED_OUT: 'RUN_TIMED_OUT', CANCELLED: 'RUN_CANCELLED', RUNNING: 'RUN_STARTED', MISSED: 'SCHEDULE_SLOT_MISSED', SKIPPED: 'SCHEDULE_SLOT_SKIPPED' }
const ruleInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  events: z.array(z.enum(EVENTS)).min(1, 'name at least one event').max(EVENTS.length),
  templateIds: z.array(z.uuid()).max(1000).default([]),
  workflowIds: z.array(z.uuid()).max(1000).default([]),
  scheduleIds: z.array(z.uuid()).max(1000).default([]),
  tags: z.array(tag).max(100).default([]),
  channelIds: z.array(z.uuid()).min(1, 'name at least one channel').max(100),
  enabled: z.boolean().default(true),
  durationLimitSeconds: z.number().int().min(1, 'at least 1 second').max(30 * 86400, 'at most 30 days').nullable().default(null),
  durationP95Factor: z.number().min(1, 'at least 1 (the p95 itself)').max(100, 'at most 100').nullable().default(null),
  consecutiveFailures: z.number().int().min(2, 'at least 2').max(1000, 'at most 1000').nullable().default(null),
  queueBacklogSeconds: z.number().int().min(1, 'at least 1 second').max(7 * 86400, 'at most 7 days').nullable().default(null),
})
type RuleInput = z.output<typeof ruleInput>
/** Update fields whose null means "clear". */
export const CLEARABLE_RULE_FIELDS = ['durationLimitSeconds', 'durationP95Factor', 'consecutiveFailures', 'queueBacklogSeconds']

function checkRuleThresholds(r: Pick<RuleInput, 'events' | 'durationLimitSeconds' | 'durationP95Factor' | 'queueBacklogSeconds'>): void {
  if (r.events.includes('DURATION_EXCEEDED') && r.durationLimitSeconds == null && r.durationP95Factor == null) {
    throw ValidationError.field('input.durationLimitSeconds', 'DURATION_EXCEEDED needs durationLimitSeconds or durationP95Factor')
  }
  if (r.events.includes('QUEUE_BACKLOG') && r.queueBacklogSeconds == null) {
    throw ValidationError.field('input.queueBacklogSeconds', 'QUEUE_BACKLOG needs queueBacklogSeconds (how long the oldest queued run may wait)')
  }
}

const dedupe = <T,>(xs: T[] | undefined): T[] | undefined => (xs ? [...new Set(xs)] : xs)
/** Lists stored as sets (a repeated id or tag would only be noise in the audit trail). */
function ruleData<T extends Partial<RuleInput>>(input: T): T {
  return { ...input, events: dedupe(input.events), templateIds: dedupe(input.templateIds), workflowIds: dedupe(input.workflowIds), scheduleIds: dedupe(input.scheduleIds), tags: dedupe(input.tags) }
}

/**
 * A channel's audit changes, with the URL as the API shows it: a Slack/Teams/Mattermost URL carries the
 * service's token, so the trail records only that it changed (and the host); a webhook URL's query values
 * are masked (a change hidden by the mask is recorded as "changed").
 */
function channelChanges(before: NotificationChannel | null, row: NotificationChannel, urlChanged: boolean): Changes {
  const view = (c: NotificationChannel) => ({ ...c, url: shownUrl(c) })
  const fields = [...CHANNEL_FIELDS, 'urlHost']
  const out = before ? changed(view(before), view(row), fields) : created(view(row), fields)
  if (urlChanged && !out.url) Object.assign(out, secretsChanged(['url']))
  return out
}

const CHANNEL: AuditedKind = { what: 'notification channel', type: 'NotificationChannel', action: 'notification-channel' }
const RULE: AuditedKind = { what: 'notification rule', type: 'NotificationRule', action: 'notification-rule' }

export class NotificationsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sender: ChannelSender,
    private readonly box: SecretBox,
    private readonly publicUrl: string | null,
    private readonly outbound?: OutboundPolicy,
  ) {}

  listChannels(actor: Actor | null): Promise<NotificationChannel[]> {
    requireAdmin(actor)
    return this.prisma.notificationChannel.findMany({ orderBy: { name: 'asc' } })
  }

  async createChannel(actor: Actor | null, raw: unknown): Promise<NotificationChannel> {
    const a = requireAdmin(actor)
    const input = parseInput(channelInput, raw)
    await this.checkChannel(input)
    const data = { ...input, ...storedUrl(this.box, input.kind, input.url) }
    return auditedSave(this.prisma, a, CHANNEL, 'create', input.name, (tx) => tx.notificationChannel.create({ data }), (row) => channelChanges(null, row, !!input.url))
  }

  async updateChannel(actor: Actor | null, id: string, raw: unknown): Promise<NotificationChannel> {
    const a = requireAdmin(actor)
    const input = parsePatch(channelInput, raw)
    const existing = await mustExist(CHANNEL, this.prisma.notificationChannel.findUnique({ where: { id } }))
    const existingUrl = openUrl(this.box, existing)
    // A webhook URL sent back as the API showed it (query values masked) is the stored one, unchanged.
    if (input.url && existing.url && input.url !== existing.url && input.url === maskQuery(existing.url)) delete input.url
    // No url given: the stored one is kept (a chat URL is never shown, so a form cannot send it back).
    const url = input.url !== undefined ? input.url : existingUrl
    await this.checkChannel({ ...(existing as unknown as ChannelInput), ...input, url }, input)
    const kind = input.kind ?? existing.kind
    const storage = input.url !== undefined || (input.kind !== undefined && input.kind !== existing.kind) ? storedUrl(this.box, kind, url) : {}
    const urlChanged = input.url !== undefined && input.url !== existingUrl
    const data = { ...credentialsKindDrops(existing.kind, input.kind), ...input, ...storage } as Prisma.NotificationChannelUncheckedUpdateInput
    return auditedSave(this.prisma, a, CHANNEL, 'update', input.name, (tx) => tx.notificationChannel.update({ where: { id }, data }), (row) => channelChanges(existing, row, urlChanged))
  }

  async deleteChannel(actor: Actor | null, id: string): Promise<void> {
    const a = requireAdmin(actor)
    await auditedDelete(this.prisma, a, CHANNEL, this.prisma.notificationChannel.findUnique({ where: { id } }), (tx) => tx.notificationChannel.delete({ where: { id } }))
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
    return auditedSave(this.prisma, a, RULE, 'create', input.name, (tx) => tx.notificationRule.create({ data: ruleData(input) }), (row) => created(row, RULE_FIELDS))
  }

  async updateRule(actor: Actor | null, id: string, raw: unknown): Promise<NotificationRule> {
    const a = requireAdmin(actor)
    const input = parsePatch(ruleInput, raw)
    const existing = await mustExist(RULE, this.prisma.notificationRule.findUnique({ where: { id } }))
    checkRuleThresholds({ ...(existing as unknown as RuleInput), ...input })
    await this.checkRefs(input)
    // A changed rule judges the queue afresh: a backlog it had raised notifies again if it still holds.
    const data = { ...ruleData(input), backlogRaisedAt: null }
    return auditedSave(this.prisma, a, RULE, 'update', input.name, (tx) => tx.notificationRule.update({ where: { id }, data }), (row) => changed(existing, row, RULE_FIELDS))
  }

  async deleteRule(actor: Actor | null, id: string): Promise<void> {
    const a = requireAdmin(actor)
    await auditedDelete(this.prisma, a, RULE, this.prisma.notificationRule.findUnique({ where: { id } }), (tx) => tx.notificationRule.delete({ where: { id } }))
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
   * Sends a delivered or failed notification again, as a new outbox row with the same frozen payload: a new
   * delivery id (receivers deduplicating by it take it as a new message, which a resend asked for by a person
   * is), its own attempts and its own give-up time. The relay is woken in the same transaction, as the
   * job_run trigger does. A pending one is refused: it is still being delivered.
   */
  async redeliver(actor: Actor | null, id: string): Promise<NotificationDelivery> {
    const a = requireAdmin(actor)
    const existing = await this.prisma.notificationDelivery.findUnique({ where: { id }, include: { channel: { select: { id: true, name: true } } } })
    if (!existing) throw new NotFoundError('notification delivery')
    if (existing.status === 'PENDING') throw new InvalidStateError('this notification is still being delivered; redeliver it once it is delivered or has failed')
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.notificationDelivery.create({
        data: { channelId: existing.channelId, ruleId: existing.ruleId, jobRunId: existing.jobRunId, event: existing.event, payload: existing.payload as Prisma.InputJsonValue },
      })
      await record(tx, {
        actor: a,
        action: 'notification-channel.redeliver',
        entity: entity.of('NotificationChannel', existing.channel),
        changes: created({ event: existing.event, redeliveryOf: existing.id, delivery: row.id }, ['event', 'redeliveryOf', 'delivery']),
      })
      await tx.$executeRaw`SELECT pg_notify(${NOTIFICATION_CHANNEL}, '')`
      return row
    })
  }

  /**
   * Another signing secret for a webhook, for a rotation: while two are active every request carries a
   * `v1=` signature for each, so receivers can switch to the new secret before the old one is retired.
   */
  async addChannelSecret(actor: Actor | null, id: string, credentialId: string): Promise<NotificationChannel> {
    const a = requireAdmin(actor)
    const existing = await mustExist(CHANNEL, this.prisma.notificationChannel.findUnique({ where: { id } }))
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
    const existing = await mustExist(CHANNEL, this.prisma.notificationChannel.findUnique({ where: { id } }))
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
      (row) => ({ actor: a, action, entity: entity.of('NotificationChannel', row), changes: channelChanges(existing, row, false) }),
    )
  }

  /** The channel as it will be saved (see checkChannelShape), with credentials that exist and are PASSWORDs. */
  private async checkChannel(c: ChannelInput, given: Partial<ChannelInput> = c): Promise<void> {
    await checkChannelShape(c, given, this.publicUrl)
    if (given.url) await checkOutboundTarget(this.outbound, 'input.url', given.url)
    if (given.smtpHost) await checkOutboundTarget(this.outbound, 'input.smtpHost', given.smtpHost)
    if (given.secretCredentialId) await this.checkCredential(given.secretCredentialId, 'input.secretCredentialId')
    if (given.smtpCredentialId) await this.checkCredential(given.smtpCredentialId, 'input.smtpCredentialId')
  }

  private async checkCredential(id: string, field: string): Promise<void> {
    const c = await this.prisma.credential.findUnique({ where: { id }, select: { kind: true } })
    if (!c) throw ValidationError.field(field, 'no such credential')
    if (c.kind !== 'PASSWORD') throw ValidationError.field(field, 'must be a PASSWORD credential')
  }

  private async checkRefs(input: { templateIds?: string[]; workflowIds?: string[]; scheduleIds?: string[]; channelIds?: string[] }): Promise<void> {
    if (input.workflowIds?.length) {
      const found = await this.prisma.workflow.count({ where: { id: { in: input.workflowIds } } })
      if (found !== new Set(input.workflowIds).size) throw ValidationError.field('input.workflowIds', 'no such workflow')
    }
    if (input.scheduleIds?.length) {
      const found = await this.prisma.jobSchedule.count({ where: { id: { in: input.scheduleIds } } })
      if (found !== new Set(input.scheduleIds).size) throw ValidationError.field('input.scheduleIds', 'no such schedule')
    }
    if (input.channelIds?.length) {
      const found = await this.prisma.notificationChannel.count({ where: { id: { in: input.channelIds } } })
      if (found !== new Set(input.channelIds).size) throw ValidationError.field('input.channelIds', 'no such notification channel')
    }
    if (input.templateIds?.length) {
      const found = await this.prisma.jobTemplate.count({ where: { id: { in: input.templateIds } } })
      if (found !== new Set(input.templateIds).size) throw ValidationError.field('input.templateIds', 'no such job template')
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
