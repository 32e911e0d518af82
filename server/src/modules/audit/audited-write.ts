/**
 * The admin writes of named entities (notification channels and rules, ticket trackers and rules): a row
 * that must exist (else NotFoundError naming it), and a create, update or delete in one transaction with
 * its audit entry (`<action>.create|update|delete`), a duplicate name refused naming the field.
 */
import type { Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import { NotFoundError, withUniqueName } from '../../errors.ts'
import type { Actor } from '../actor.ts'
import { audited, entity, type AuditEntityType } from './audit.service.ts'
import type { Changes } from './changes.ts'

/** How one kind of entity is named: in errors ("ticket rule"), as the audit log's entity type and action prefix. */
export interface AuditedKind {
  what: string
  type: AuditEntityType
  action: string
}

interface Named {
  id: string
  name: string
}

/** The row `find` resolves to, or NotFoundError naming the kind. */
export async function mustExist<T>(kind: AuditedKind, find: Promise<T | null>): Promise<T> {
  const row = await find
  if (!row) throw new NotFoundError(kind.what)
  return row
}

/** Creates or updates a row (`name`: the new name, if one is given) with its audit entry and `changes`. */
export function auditedSave<R extends Named>(
  prisma: PrismaClient,
  actor: Actor,
  kind: AuditedKind,
  verb: 'create' | 'update',
  name: string | undefined,
  write: (tx: Prisma.TransactionClient) => Promise<R>,
  changes: (row: R) => Changes,
): Promise<R> {
  return withUniqueName(kind.what, name, () =>
    audited(prisma, write, (row) => ({ actor, action: `${kind.action}.${verb}`, entity: entity.of(kind.type, row), changes: changes(row) })),
  )
}

/** Deletes the row `find` finds (NotFoundError if none) with its audit entry. */
export async function auditedDelete<R extends Named>(
  prisma: PrismaClient,
  actor: Actor,
  kind: AuditedKind,
  find: Promise<R | null>,
  remove: (tx: Prisma.TransactionClient) => Promise<R>,
): Promise<void> {
  await mustExist(kind, find)
  try {
    await audited(prisma, remove, (row) => ({ actor, action: `${kind.action}.delete`, entity: entity.of(kind.type, row) }))
  } catch (e) {
    // Deleted by someone else between the lookup and the delete: as gone as if the lookup had missed it.
    if ((e as { code?: unknown } | null)?.code === 'P2025') throw new NotFoundError(kind.what)
    throw e
  }
}
