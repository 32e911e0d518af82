/**
 * auditedDelete when another request deletes the row between its lookup and its delete: Prisma's P2025
 * becomes the same NotFoundError a missed lookup gives. Prisma is faked (the boundary); the admin
 * services' deletes go through the real database in their integration tests.
 */
import { describe, expect, it } from 'vitest'
import type { PrismaClient } from '../../generated/prisma/client.ts'
import { NotFoundError } from '../../errors.ts'
import type { Actor } from '../actor.ts'
import { auditedDelete, type AuditedKind } from './audited-write.ts'

const kind: AuditedKind = { what: 'ticket rule', type: 'TicketRule', action: 'ticketRule' }
const actor: Actor = { userId: '00000000-0000-4000-8000-000000000001', username: 'admin', role: 'ADMIN', via: 'SESSION' }

function prismaFailing(error: unknown): PrismaClient {
  return { $transaction: async () => Promise.reject(error) } as unknown as PrismaClient
}

describe('auditedDelete', () => {
  it('a row deleted meanwhile (P2025) is not found, like one the lookup missed', async () => {
    const gone = Object.assign(new Error('No record was found for a delete.'), { code: 'P2025' })
    const deleting = auditedDelete(prismaFailing(gone), actor, kind, Promise.resolve({ id: 'r1', name: 'r' }), async () => ({ id: 'r1', name: 'r' }))
    await expect(deleting).rejects.toBeInstanceOf(NotFoundError)
    await expect(auditedDelete(prismaFailing(gone), actor, kind, Promise.resolve(null), async () => ({ id: 'r1', name: 'r' }))).rejects.toBeInstanceOf(NotFoundError)
  })

  it('other failures stay what they are', async () => {
    const other = Object.assign(new Error('boom'), { code: 'P2003' })
    await expect(auditedDelete(prismaFailing(other), actor, kind, Promise.resolve({ id: 'r1', name: 'r' }), async () => ({ id: 'r1', name: 'r' }))).rejects.toBe(other)
  })
})
