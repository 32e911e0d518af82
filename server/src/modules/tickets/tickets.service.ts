/**
 * Ticket trackers, auto-ticket rules and tickets. Trackers and rules are admin-managed (a tracker sends run
 * data to another system with a stored secret: Redmine's API key or the webhook tracker's signing secret, a
 * PASSWORD credential named by id and never returned). Operators and admins create a ticket from a failed
 * run they can see, and close or reopen tickets. Every change to the tracker goes through the ticket outbox
 * (ticket_action, written in the same transaction; ticket-delivery.ts delivers it), so a tracker that is
 * down delays its tickets and nothing else. Auto-tickets are written by the job_run trigger (see the
 * 20261206030000_tickets migration).
 */
import { z } from 'zod'
import type { Prisma, PrismaClient, Ticket, TicketRule, TicketTracker } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import { ConflictError, InvalidStateError, NotFoundError, ValidationError, isUniqueViolation } from '../../errors.ts'
import { prismaQuery } from '../../db/credential-use.ts'
import { canSee, requireAdmin, requireActor, requireWriter, visibleTo, type Actor } from '../actor.ts'
import { audited } from '../audit/audit.service.ts'
import { auditedDelete, auditedSave, mustExist, type AuditedKind } from '../audit/audited-write.ts'
import { changed, created } from '../audit/changes.ts'
import { parseInput, parsePatch } from '../validation.ts'
import { ticketDraft, type TicketDraft } from './ticket-draft.ts'
import { TICKET_CHANNEL } from './ticket-delivery.ts'
import { TrackerError, trackerFetch } from './tracker-adapter.ts'
import { checkOutboundTarget } from '../http-url.ts'
import type { OutboundPolicy } from '../../net/outbound-policy.ts'
import { RULE_FIELDS, TRACKER_FIELDS, checkTrackerShape, ruleInput, ticketInput, trackerInput, type TrackerInput } from './tracker-input.ts'

export { CLEARABLE_RULE_FIELDS, CLEARABLE_TRACKER_FIELDS } from './tracker-input.ts'

const FAILED_STATUSES = new Set(['FAILED', 'TIMED_OUT'])
/** The longest ticket list one query returns. */
const MAX_TICKETS_LISTED = 500
const commentInput = z.object({ body: z.string().trim().min(1, 'required').max(20_000) })
const ticketEntity = (t: { id: string; title: string }) => ({ type: 'Ticket' as const, id: t.id, name: t.title })

const TRACKER: AuditedKind = { what: 'ticket tracker', type: 'TicketTracker', action: 'ticket-tracker' }
const RULE: AuditedKind = { what: 'ticket rule', type: 'TicketRule', action: 'ticket-rule' }

export class TicketsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly publicUrl: string | null,
    private readonly outbound: OutboundPolicy | null = null,
  ) {}

  /** Operators see them too: the "Create ticket" dialog offers them (no secret is ever part of a tracker). */
  listTrackers(actor: Actor | null): Promise<TicketTracker[]> {
    requireWriter(actor)
    return this.prisma.ticketTracker.findMany({ orderBy: { name: 'asc' } })
  }

  async createTracker(actor: Actor | null, raw: unknown): Promise<TicketTracker> {
    const a = requireAdmin(actor)
    const input = parseInput(trackerInput, raw)
    await this.checkTracker(input)
    return auditedSave(this.prisma, a, TRACKER, 'create', input.name, (tx) => tx.ticketTracker.create({ data: input }), (row) => created(row, TRACKER_FIELDS))
  }

  async updateTracker(actor: Actor | null, id: string, raw: unknown): Promise<TicketTracker> {
    const a = requireAdmin(actor)
    const input = parsePatch(trackerInput, raw)
    const existing = await mustExist(TRACKER, this.prisma.ticketTracker.findUnique({ where: { id } }))
    await this.checkTracker({ ...(existing as unknown as TrackerInput), ...input })
    return auditedSave(this.prisma, a, TRACKER, 'update', input.name, (tx) => tx.ticketTracker.update({ where: { id }, data: input }), (row) => changed(existing, row, TRACKER_FIELDS))
  }

  /** Deletes the tracker with its rules and Switchyard's records of its tickets (the issues stay in the tracker). */
  async deleteTracker(actor: Actor | null, id: string): Promise<void> {
    const a = requireAdmin(actor)
    await auditedDelete(this.prisma, a, TRACKER, this.prisma.ticketTracker.findUnique({ where: { id } }), (tx) => tx.ticketTracker.delete({ where: { id } }))
  }

  listRules(actor: Actor | null): Promise<TicketRule[]> {
    requireAdmin(actor)
    return this.prisma.ticketRule.findMany({ orderBy: { name: 'asc' } })
  }

  async createRule(actor: Actor | null, raw: unknown): Promise<TicketRule> {
    const a = requireAdmin(actor)
    const input = parseInput(ruleInput, raw)
    await this.checkRuleRefs(input)
    const data = { ...input, templateIds: [...new Set(input.templateIds)] }
    return auditedSave(this.prisma, a, RULE, 'create', input.name, (tx) => tx.ticketRule.create({ data }), (row) => created(row, RULE_FIELDS))
  }

  async updateRule(actor: Actor | null, id: string, raw: unknown): Promise<TicketRule> {
    const a = requireAdmin(actor)
    const input = parsePatch(ruleInput, raw)
    const existing = await mustExist(RULE, this.prisma.ticketRule.findUnique({ where: { id } }))
    await this.checkRuleRefs(input)
    const data = input.templateIds ? { ...input, templateIds: [...new Set(input.templateIds)] } : input
    return auditedSave(this.prisma, a, RULE, 'update', input.name, (tx) => tx.ticketRule.update({ where: { id }, data }), (row) => changed(existing, row, RULE_FIELDS))
  }

  async deleteRule(actor: Actor | null, id: string): Promise<void> {
    const a = requireAdmin(actor)
    await auditedDelete(this.prisma, a, RULE, this.prisma.ticketRule.findUnique({ where: { id } }), (tx) => tx.ticketRule.delete({ where: { id } }))
  }

  /** The prefilled title, description (summary, failed targets, log tail) and priority for a failed run. */
  async draft(actor: Actor | null, jobRunId: string): Promise<TicketDraft> {
    const a = requireWriter(actor)
    await this.failedRun(a, jobRunId, 'jobRunId')
    const d = await ticketDraft(prismaQuery(this.prisma), jobRunId, this.publicUrl)
    if (!d) throw new NotFoundError('run', 'jobRunId')
    return d
  }

  /** A ticket for a failed run, created in the tracker by the outbox (externalId and url appear once it is). */
  async createTicket(actor: Actor | null, raw: unknown): Promise<Ticket> {
    const a = requireWriter(actor)
    const input = parseInput(ticketInput, raw)
    const run = await this.failedRun(a, input.jobRunId, 'input.jobRunId')
    const tracker = await this.prisma.ticketTracker.findUnique({ where: { id: input.trackerId }, select: { id: true } })
    if (!tracker) throw ValidationError.field('input.trackerId', 'no such ticket tracker')
    return audited(
      this.prisma,
      async (tx) => {
        const t = await tx.ticket.create({
          data: { trackerId: tracker.id, templateId: run.templateId, title: input.title, description: input.description, priority: input.priority, createdById: a.userId },
        })
        await tx.ticketRun.create({ data: { ticketId: t.id, jobRunId: run.id } })
        await tx.ticketAction.create({ data: { ticketId: t.id, kind: 'CREATE', jobRunId: run.id } })
        await tx.$executeRaw`SELECT pg_notify(${TICKET_CHANNEL}, '')`
        return t
      },
      (row) => ({ actor: a, action: 'ticket.create', entity: ticketEntity(row), changes: created({ ...row, jobRunId: run.id }, ['title', 'priority', 'trackerId', 'jobRunId']) }),
    )
  }

  /** Closes an open ticket here and in the tracker. */
  closeTicket(actor: Actor | null, id: string): Promise<Ticket> {
    return this.setStatus(actor, id, 'CLOSED')
  }

  /** Reopens a closed ticket (refused when its dedup key already has another open ticket). */
  reopenTicket(actor: Actor | null, id: string): Promise<Ticket> {
    return this.setStatus(actor, id, 'OPEN')
  }

  /**
   * Tickets, newest first: admins see every one, others those of runs they can see (as getTicket).
   * Filtered by status and tracker; `first` (1–500) bounds the list.
   */
  listTickets(actor: Actor | null, filter: { status: 'OPEN' | 'CLOSED' | null; trackerId: string | null; first: number }): Promise<Ticket[]> {
    const a = requireActor(actor)
    if (!Number.isInteger(filter.first) || filter.first < 1 || filter.first > MAX_TICKETS_LISTED) throw ValidationError.field('first', `must be 1 to ${MAX_TICKETS_LISTED}`)
    const where: Prisma.TicketWhereInput = {}
    if (filter.status) where.status = filter.status
    if (filter.trackerId) where.trackerId = filter.trackerId
    if (a.role !== 'ADMIN') where.runs = { some: { jobRun: visibleTo(a) } }
    return this.prisma.ticket.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: filter.first })
  }

  /**
   * A comment of the caller's on the ticket's issue, delivered by the outbox like the automatic ones (a
   * COMMENT action with reason MANUAL and the text as body). Open or closed tickets alike: trackers take
   * notes on closed issues too.
   */
  async commentTicket(actor: Actor | null, id: string, rawBody: unknown): Promise<Ticket> {
    const a = requireWriter(actor)
    const body = parseInput(commentInput, { body: rawBody }, '').body
    const ticket = await this.getTicket(a, id)
    return audited(
      this.prisma,
      async (tx) => {
        await tx.ticketAction.create({ data: { ticketId: id, kind: 'COMMENT', reason: 'MANUAL', body } })
        await tx.$executeRaw`SELECT pg_notify(${TICKET_CHANNEL}, '')`
        return tx.ticket.update({ where: { id }, data: { updatedAt: new Date() } })
      },
      () => ({ actor: a, action: 'ticket.comment', entity: ticketEntity(ticket), changes: created({ body }, ['body']) }),
    )
  }

  /** A run's tickets, for anyone who can see the run (the resolver checked that). */
  ticketsOfRun(jobRunId: string): Promise<Ticket[]> {
    return this.prisma.ticket.findMany({ where: { runs: { some: { jobRunId } } }, orderBy: { createdAt: 'asc' } })
  }

  async getTicket(actor: Actor | null, id: string): Promise<Ticket> {
    const a = requireActor(actor)
    const t = await this.prisma.ticket.findUnique({ where: { id }, include: { runs: { select: { jobRun: { select: { visibility: true, ownerId: true } } } } } })
    if (!t || (a.role !== 'ADMIN' && !t.runs.some((r) => canSee(a, r.jobRun)))) throw new NotFoundError('ticket')
    return t
  }

  private async setStatus(actor: Actor | null, id: string, status: 'OPEN' | 'CLOSED'): Promise<Ticket> {
    const a = requireWriter(actor)
    const existing = await this.getTicket(a, id)
    if (existing.status === status) throw new InvalidStateError(`the ticket is already ${status === 'OPEN' ? 'open' : 'closed'}`)
    try {
      return await audited(
        this.prisma,
        async (tx) => {
          const row = await tx.ticket.update({ where: { id }, data: { status, closedAt: status === 'CLOSED' ? new Date() : null, updatedAt: new Date() } })
          await tx.ticketAction.create({ data: { ticketId: id, kind: status === 'CLOSED' ? 'CLOSE' : 'REOPEN' } })
          await tx.$executeRaw`SELECT pg_notify(${TICKET_CHANNEL}, '')`
          return row
        },
        (row) => ({ actor: a, action: status === 'CLOSED' ? 'ticket.close' : 'ticket.reopen', entity: ticketEntity(row), changes: changed(existing, row, ['status']) }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('id', 'another ticket for the same template and rule is open; comment there instead')
      throw e
    }
  }

  /** The run, visible to the actor and ended FAILED or TIMED_OUT. */
  private async failedRun(a: Actor, id: string, field: string) {
    const run = await this.prisma.jobRun.findUnique({ where: { id }, select: { id: true, status: true, templateId: true, visibility: true, ownerId: true } })
    if (!run || !canSee(a, run)) throw new NotFoundError('run', field)
    if (!FAILED_STATUSES.has(run.status)) throw ValidationError.field(field, `the run ended ${run.status}; tickets are for FAILED or TIMED_OUT runs`)
    return run
  }

  /**
   * The tracker as it will be saved: its shape, a PASSWORD credential, and — for Redmine — that the API key
   * is accepted and the project exists, so a typo shows now, next to its field, and not at the first failure.
   */
  private async checkTracker(t: TrackerInput): Promise<void> {
    checkTrackerShape(t)
    const c = await this.prisma.credential.findUnique({ where: { id: t.credentialId }, select: { kind: true, secret: true } })
    if (!c) throw ValidationError.field('input.credentialId', 'no such credential')
    if (c.kind !== 'PASSWORD') throw ValidationError.field('input.credentialId', 'must be a PASSWORD credential (its password is the API key or signing secret)')
    await checkOutboundTarget(this.outbound ?? undefined, 'input.url', t.url)
    if (t.kind !== 'REDMINE') return
    const base = t.url.replace(/\/+$/, '')
    try {
      await trackerFetch(`${base}/projects/${encodeURIComponent(t.project!)}.json`, { method: 'GET', headers: { 'X-Redmine-API-Key': this.box.open(c.secret), Accept: 'application/json' }, outbound: this.outbound })
    } catch (e) {
      if (!(e instanceof TrackerError)) throw e
      if (e.status === 401 || e.status === 403) throw ValidationError.field('input.credentialId', `Redmine refused the API key (HTTP ${e.status}); is the REST API enabled?`)
      if (e.status === 404) throw ValidationError.field('input.project', `Redmine has no project "${t.project}" visible to this API key`)
      throw ValidationError.field('input.url', `could not reach Redmine: ${e.message}`)
    }
  }

  private async checkRuleRefs(input: { trackerId?: string; templateIds?: string[] }): Promise<void> {
    if (input.trackerId && !(await this.prisma.ticketTracker.findUnique({ where: { id: input.trackerId }, select: { id: true } }))) {
      throw ValidationError.field('input.trackerId', 'no such ticket tracker')
    }
    if (input.templateIds?.length) {
      const found = await this.prisma.jobTemplate.count({ where: { id: { in: input.templateIds } } })
      if (found !== new Set(input.templateIds).size) throw ValidationError.field('input.templateIds', 'no such job template')
    }
  }
}

