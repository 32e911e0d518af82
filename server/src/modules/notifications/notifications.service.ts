/**
 * Notification channels (webhooks), rules and the delivery log. Admins only: a channel sends run data to
 * any URL and signs it with a credential's secret. The signing secret is a PASSWORD credential's password,
 * named by id and never returned (the credential stays write-only). Deliveries themselves are written by
 * the job_run trigger and sent by webhook-delivery.ts.
 */
import { z } from 'zod'
import { httpUrlSchema } from '../http-url.ts'
import type { NotificationChannel, NotificationDelivery, NotificationRule, Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import { ConflictError, InvalidStateError, NotFoundError, ValidationError, isUniqueViolation } from '../../errors.ts'
import { requireAdmin, type Actor } from '../actor.ts'
import { audited, entity, record } from '../audit/audit.service.ts'
import { changed, created } from '../audit/changes.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { NOTIFICATION_CHANNEL } from './webhook-delivery.ts'

const headerName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'x-switchyard-signature', 'x-switchyard-delivery'])

const channelInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  url: httpUrlSchema(),
  headers: z
    .record(z.string(), z.string().max(4000).refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks'))
    .refine((h) => Object.keys(h).length <= 50, 'at most 50 headers')
    .refine((h) => Object.keys(h).every((k) => headerName.test(k) && !RESERVED_HEADERS.has(k.toLowerCase())), 'header names must be tokens, and not Content-Type, Content-Length, Host or X-Switchyard-*')
    .default({}),
  secretCredentialId: z.uuid(),
})

const CHANNEL_FIELDS = ['name', 'url', 'headers', 'secretCredentialId']
const RULE_FIELDS = ['name', 'events', 'templateIds', 'channelIds', 'enabled']

const EVENTS = ['RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_CANCELLED', 'RUN_RECOVERED'] as const
const ruleInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  events: z.array(z.enum(EVENTS)).min(1, 'name at least one event').max(EVENTS.length),
  templateIds: z.array(z.uuid()).max(1000).default([]),
  channelIds: z.array(z.uuid()).min(1, 'name at least one channel').max(100),
  enabled: z.boolean().default(true),
})

export class NotificationsService {
  constructor(private readonly prisma: PrismaClient) {}

  listChannels(actor: Actor | null): Promise<NotificationChannel[]> {
    requireAdmin(actor)
    return this.prisma.notificationChannel.findMany({ orderBy: { name: 'asc' } })
  }

  async createChannel(actor: Actor | null, raw: unknown): Promise<NotificationChannel> {
    const a = requireAdmin(actor)
    const input = parseInput(channelInput, raw)
    await this.checkSecret(input.secretCredentialId)
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
    if (input.secretCredentialId) await this.checkSecret(input.secretCredentialId)
    return this.unique('notification channel', input.name, () =>
      audited(
        this.prisma,
        (tx) => tx.notificationChannel.update({ where: { id }, data: input as Prisma.NotificationChannelUncheckedUpdateInput }),
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

  private async checkSecret(id: string): Promise<void> {
    const c = await this.prisma.credential.findUnique({ where: { id }, select: { kind: true } })
    if (!c) throw ValidationError.field('input.secretCredentialId', 'no such credential')
    if (c.kind !== 'PASSWORD') throw ValidationError.field('input.secretCredentialId', 'must be a PASSWORD credential (its password is the signing secret)')
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
