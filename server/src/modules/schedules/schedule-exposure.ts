/**
 * A PRIVATE workflow is seen by its owner (and admins) only, so every schedule of it must be too: a
 * GLOBAL schedule, or anyone else's, would expose it (`jobSchedule.workflow`). As for templates
 * (templates.service.ts), the change to PRIVATE is refused and the schedules are named. The workflow row
 * is locked so a schedule cannot be made GLOBAL meanwhile (saving a schedule takes a share lock on it).
 */
import type { Prisma } from '../../generated/prisma/client.ts'
import { ValidationError } from '../../errors.ts'

export async function checkWorkflowCanBecomePrivate(tx: Prisma.TransactionClient, workflow: { id: string; ownerId: string }): Promise<void> {
  await tx.$queryRaw`SELECT id FROM workflow WHERE id = ${workflow.id}::uuid FOR UPDATE`
  const exposing = await tx.jobSchedule.findMany({
    where: { workflowId: workflow.id, OR: [{ visibility: 'GLOBAL' }, { ownerId: { not: workflow.ownerId } }] },
    select: { name: true, visibility: true, owner: { select: { username: true } } },
    orderBy: { name: 'asc' },
  })
  if (!exposing.length) return
  const names = exposing.map((s) => `"${s.name}" (${s.visibility === 'GLOBAL' ? 'GLOBAL' : `owned by ${s.owner.username}`})`)
  throw ValidationError.field(
    'input.visibility',
    `cannot make the workflow PRIVATE while other users can see ${names.length > 1 ? 'these schedules' : 'its schedule'}: ${names.join(', ')}. Make GLOBAL schedules PRIVATE and delete other users' schedules of it first`,
  )
}
