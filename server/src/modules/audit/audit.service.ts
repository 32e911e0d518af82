/**
 * The audit trail: who did what, when. Services call `record` for every change they make, in the same
 * transaction as the change (a rolled-back change leaves no event, a committed one always has its
 * event). Reading it is for admins only; old events are deleted by the reaper (`deleteExpired`).
 */
import type pg from 'pg'
import type { Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import { ValidationError } from '../../errors.ts'
import { requireAdmin, type Actor } from '../actor.ts'
import { rejectNul } from '../validation.ts'
import { retryConflicts } from '../../db/transient.ts'
import { auditText, type Changes } from './changes.ts'

export type AuditVia = 'SESSION' | 'API_TOKEN' | 'SCHEDULE' | 'SYSTEM'

/** Entity types are the GraphQL type names, so an event's global entity id can be rebuilt and filtered on. */
export const AUDIT_ENTITY_TYPES = ['User', 'ApiToken', 'Credential', 'Target', 'Inventory', 'InventorySource', 'JobTemplate', 'JobSchedule', 'BlackoutWindow', 'JobRun', 'Workflow', 'WorkflowRun', 'NotificationChannel', 'NotificationRule', 'TemplateDependency', 'WebhookEndpoint', 'TicketTracker', 'TicketRule', 'Ticket'] as const
export type AuditEntityType = (typeof AUDIT_ENTITY_TYPES)[number]

export interface AuditEntity {
  type: AuditEntityType
  id: string | null
  /** A snapshot: the entity may be renamed or deleted later. */
  name: string | null
}

export interface AuditEntry {
  /** The signed-in user who acted; null when nobody did (a schedule, a failed login, the system). */
  actor: Actor | null
  /** Defaults to how `actor` authenticated (SYSTEM without one). */
  via?: AuditVia
  /** Defaults to the actor's username; a failed login gives the username that was tried. */
  actorName?: string | null
  /** `<entity>.<verb>`, e.g. `template.update`. */
  action: string
  entity: AuditEntity
  changes?: Changes | null
}

type Db = PrismaClient | Prisma.TransactionClient

/**
 * Writes one event. Pass the transaction client of the change it records. Returns Prisma's lazy
 * promise, so it can also be one step of a batch `$transaction([...])`.
 */
export function record(db: Db, e: AuditEntry) {
  return db.auditEvent.create({ data: eventRow(e), select: { id: true } })
}

/** Writes many events in one statement (changes made together, e.g. a group commit of triggers). */
export async function recordMany(db: Db, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length) await db.auditEvent.createMany({ data: entries.map(eventRow) })
}

/** An audit_event row's columns (camelCase, as Prisma writes them) for an entry. */
export function eventRow(e: AuditEntry) {
  return {
    actorId: e.actor?.userId ?? null,
    actorName: auditText(e.actorName !== undefined ? e.actorName : (e.actor?.username ?? null)),
    via: e.via ?? viaOf(e.actor),
    action: e.action,
    entityType: e.entity.type,
    entityId: e.entity.id,
    entityName: auditText(e.entity.name),
    changes: e.changes && Object.keys(e.changes).length ? (e.changes as Prisma.InputJsonValue) : undefined,
  }
}

/**
 * The common case: one write and its event in one transaction. `event` is built from the written row
 * (its id, its name as saved).
 */
export function audited<T>(prisma: PrismaClient, write: (tx: Prisma.TransactionClient) => Promise<T>, event: (row: T) => AuditEntry): Promise<T> {
  // Retried whole on a deadlock (a delete's ON DELETE SET NULL meeting a worker's run updates).
  return retryConflicts(() =>
    prisma.$transaction(async (tx) => {
      const row = await write(tx)
      await record(tx, event(row))
      return row
    }),
  )
}

function viaOf(actor: Actor | null): AuditVia {
  switch (actor?.via) {
    case 'SESSION':
      return 'SESSION'
    case 'API':
      return 'API_TOKEN'
    default:
      return 'SYSTEM'
  }
}

/** Entity snapshots of the rows services write. */
export const entity = {
  of: (type: AuditEntityType, row: { id: string; name: string }): AuditEntity => ({ type, id: row.id, name: row.name }),
  user: (u: { id: string; username: string }): AuditEntity => ({ type: 'User', id: u.id, name: u.username }),
  run: (r: { id: string; number: number; templateName: string }): AuditEntity => ({ type: 'JobRun', id: r.id, name: `#${r.number} ${r.templateName}` }),
}

export interface AuditFilter {
  /** Each matches exactly, or as a prefix when it ends with "." (`template.` is every template action). */
  actions?: readonly string[] | null
  entityTypes?: readonly AuditEntityType[] | null
  entity?: { type: AuditEntityType; id: string } | null
  actorId?: string | null
  via?: readonly AuditVia[] | null
  since?: Date | null
  until?: Date | null
}

const ACTION = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]*)?$/

export class AuditService {
  constructor(
    private readonly pool: pg.Pool,
  ) {}

  /** The where clause for a filter; only admins may read the trail. */
  whereFor(actor: Actor | null, filter: AuditFilter = {}): Prisma.AuditEventWhereInput {
    requireAdmin(actor)
    rejectNul(filter)
    const and: Prisma.AuditEventWhereInput[] = []
    if (filter.actions?.length) {
      filter.actions.forEach((a, i) => {
        if (!ACTION.test(a)) throw ValidationError.field(`filter.actions.${i}`, 'an action (template.update) or a family ending in "." (template.)')
      })
      and.push({ OR: filter.actions.map((a) => (a.endsWith('.') ? { action: { startsWith: a } } : { action: a })) })
    }
    if (filter.entityTypes?.length) and.push({ entityType: { in: [...filter.entityTypes] } })
    if (filter.entity) and.push({ entityType: filter.entity.type, entityId: filter.entity.id })
    if (filter.actorId) and.push({ actorId: filter.actorId })
    if (filter.via?.length) and.push({ via: { in: [...filter.via] } })
    if (filter.since) and.push({ at: { gte: filter.since } })
    if (filter.until) and.push({ at: { lt: filter.until } })
    if (filter.since && filter.until && filter.until <= filter.since) throw ValidationError.field('filter.until', 'must be after since')
    return { AND: and }
  }

  /**
   * Retention: deletes events older than `retentionDays` (0: keep forever), a slice at a time so no
   * statement holds a long lock or a huge transaction; at most `maxBatches` slices per call, the rest
   * is left for the next pass. Returns how many it deleted.
   */
  async deleteExpired(retentionDays: number, { batch = 1000, maxBatches = 20 } = {}): Promise<number> {
    if (retentionDays <= 0) return 0
    let total = 0
    for (let i = 0; i < maxBatches; i++) {
      const { rowCount } = await this.pool.query(
        `DELETE FROM audit_event WHERE id IN (SELECT id FROM audit_event WHERE at < now() - make_interval(days => $1) LIMIT $2)`,
        [retentionDays, batch],
      )
      total += rowCount ?? 0
      if ((rowCount ?? 0) < batch) break
    }
    return total
  }
}
