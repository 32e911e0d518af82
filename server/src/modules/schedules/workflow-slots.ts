/**
 * A schedule slot of a workflow schedule (scheduler.ts handles the row, the misfire policy and
 * blackouts; this decides the slot). Inside the scheduler's transaction, under the schedule's row lock
 * and with the unique (schedule, slot) on workflow_run, so a slot becomes at most one workflow run:
 *  - overlap: SKIP records the slot SKIPPED while a run of the workflow is RUNNING; CANCEL_PREVIOUS
 *    cancels those runs, then starts (QUEUE is refused when the schedule is saved);
 *  - the run acts as the schedule's owner, re-checked now: disabled, or no longer allowed to see the
 *    workflow or one of its templates, and the slot is recorded FAILED with the reason (as a template
 *    schedule's slot is when its run cannot be planned);
 *  - parameters are the schedule's overrides, validated against the workflow's definitions now.
 */
import type { Prisma } from '../../generated/prisma/client.ts'
import { DomainError } from '../../errors.ts'
import { coerceError } from '../../util/errors.ts'
import { canSee, type Actor } from '../actor.ts'
import { resolveParameters, type ParameterDefinition } from '../templates/parameters.ts'
import type { StarterDeps } from '../workflows/node-starter.ts'
import { blockedNodes } from '../workflows/blocked-nodes.ts'
import { createWorkflowRunIn, requestWorkflowCancelIn } from '../workflows/workflow-runs.service.ts'
import type { WorkflowWithGraph } from '../workflows/workflows.service.ts'
import { withoutSecrets } from './schedules.service.ts'

export type DueWorkflow = WorkflowWithGraph

interface SlotSchedule {
  id: string
  name: string
  ownerId: string
  parameters: unknown
  secretParameters: Uint8Array | null
  overlapPolicy: string | null
}

type SlotRecord = { status: 'MISSED' | 'SKIPPED' | 'FAILED'; reason: string }

/** Starts the slot's workflow run, or returns what to record instead. */
export async function fireWorkflowSlot(tx: Prisma.TransactionClient, deps: StarterDeps, s: SlotSchedule, wf: DueWorkflow, slot: Date): Promise<{ record?: SlotRecord }> {
  const policy = s.overlapPolicy ?? 'ALLOW'
  if (policy !== 'ALLOW') {
    const active = await tx.workflowRun.findMany({ where: { workflowId: wf.id, status: 'RUNNING' }, orderBy: { number: 'asc' }, select: { id: true, number: true } })
    if (active.length && policy !== 'CANCEL_PREVIOUS') {
      return { record: { status: 'SKIPPED', reason: `skipped: workflow run #${active[0]!.number} of this workflow is still running (overlap policy ${policy})` } }
    }
    for (const r of active) await requestWorkflowCancelIn(tx, deps.runs, r.id, null, `cancelled: superseded by schedule "${s.name}" (overlap policy CANCEL_PREVIOUS)`)
  }
  const owner = await tx.user.findUnique({ where: { id: s.ownerId }, select: { id: true, username: true, role: true, disabled: true } })
  if (!owner || owner.disabled) return failed(`the schedule's owner ${owner ? `${owner.username} is disabled` : 'no longer exists'}`)
  const actor: Actor = { userId: owner.id, username: owner.username, role: owner.role, via: 'SYSTEM' }
  if (!canSee(actor, wf)) return failed(`workflow "${wf.name}" is not visible to the schedule's owner ${owner.username}`)
  const blocked = await blockedNodes(tx, wf, actor)
  if (blocked.length) return failed(`the job templates of these nodes were deleted or are not visible to ${owner.username}: ${blocked.join(', ')}`)
  let parameters: ReturnType<typeof resolveParameters>
  try {
    const sealed = s.secretParameters ? (JSON.parse(deps.box.open(s.secretParameters)) as Record<string, string>) : {}
    parameters = resolveParameters(wf.parameters as ParameterDefinition[], { ...sealed, ...withoutSecrets(wf, s.parameters) })
  } catch (e) {
    return failed(e instanceof DomainError ? e.message : coerceError(e).message)
  }
  // No audit event, as for template slots: the run row says which schedule and slot fired it.
  await createWorkflowRunIn(tx, deps, { workflow: wf, actor, trigger: 'SCHEDULE', parameters, scheduleId: s.id, slotAt: slot })
  return {}
}

/** A slot that does not run, recorded as a final workflow run with the reason. */
export async function recordWorkflowSlot(tx: Prisma.TransactionClient, deps: StarterDeps, s: SlotSchedule, wf: DueWorkflow, slot: Date, record: SlotRecord): Promise<void> {
  const actor: Actor = { userId: s.ownerId, username: 'scheduler', role: 'OPERATOR', via: 'SYSTEM' }
  await createWorkflowRunIn(tx, deps, {
    workflow: wf,
    actor,
    trigger: 'SCHEDULE',
    parameters: { visible: withoutSecrets(wf, s.parameters), secrets: {} },
    scheduleId: s.id,
    slotAt: slot,
    record,
  })
}

function failed(why: string): { record: SlotRecord } {
  return { record: { status: 'FAILED', reason: `could not start: ${why}` } }
}
