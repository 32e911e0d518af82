/** Which TEMPLATE nodes an actor may not run: shared by every way a workflow (or part of one) starts. */
import type { Prisma, PrismaClient, WorkflowNode } from '../../generated/prisma/client.ts'
import { visibleTo, type Actor } from '../actor.ts'

/** TEMPLATE nodes whose template was deleted or is not visible to the actor (who then may not run it), by key. */
export async function blockedNodes(db: PrismaClient | Prisma.TransactionClient, wf: { nodes: ReadonlyArray<Pick<WorkflowNode, 'key' | 'kind' | 'templateId'>> }, actor: Actor): Promise<string[]> {
  const templateIds = wf.nodes.flatMap((n) => (n.templateId ? [n.templateId] : []))
  const visible = new Set((await db.jobTemplate.findMany({ where: { id: { in: templateIds }, AND: [visibleTo(actor)] }, select: { id: true } })).map((t) => t.id))
  return wf.nodes.filter((n) => n.kind === 'TEMPLATE' && (!n.templateId || !visible.has(n.templateId))).map((n) => n.key)
}
