/**
 * `sync_devices`: makes Checkmk hosts match Nautobot — the comparison of compare_devices, applied.
 *
 * - MISSING_IN_CHECKMK → bulk create in chunks (folders created first), with the marker label.
 * - DIFFERENT → only the managed attributes are written. Plain attributes (ipaddress, site, tag groups)
 *   go through bulk update with `update_attributes`, which leaves every other attribute alone. Labels are
 *   one whole-dict attribute in Checkmk, so a label change is merged into the host's current labels and
 *   written as a single-host edit with `If-Match` (re-read and retried on 412: no lost update of labels
 *   a person set meanwhile); a folder change is a single-host move, also with `If-Match`.
 * - EXTRA_IN_CHECKMK (managed hosts only) → bulk delete when `removeExtra` is on.
 * - `dryRun` computes and records the same actions and changes nothing.
 * - `activate` activates the pending changes afterwards (their ETag; "nothing to activate" is success)
 *   and waits for the activation with a timeout; its id is recorded in the run's result.
 * A second run with nothing changed finds every device EQUAL and writes nothing.
 */
import { z } from 'zod'
import { CheckmkError, type BulkOutcome, type CheckmkClient, type HostAttributes } from '../../../checkmk/checkmk-client.ts'
import { diffHost, isManaged, type DeviceComparison, type DesiredHost } from '../../../checkmk/host-plan.ts'
import { coerceError } from '../../../util/errors.ts'
import type { ExecutionContext, JobExecutor } from '../types.ts'
import { checkmkCredentialRefs, checkmkSourceRefs, mappingFields, refineMapping } from './config.ts'
import type { OutboundPolicy } from '../../../net/outbound-policy.ts'
import { clientFor, comparisonRow, failure, readAndCompare } from './compare-devices.ts'
import type { CheckmkDevicesPort, DeviceResultRow, SyncAction } from './port.ts'

const configSchema = z
  .object({
    ...mappingFields,
    dryRun: z.boolean().default(false).describe('Compute and record what would be done; change nothing.'),
    removeExtra: z.boolean().default(false).describe('Delete hosts Switchyard manages whose device is gone from Nautobot (never other hosts).'),
    activate: z.boolean().default(false).describe('Activate pending changes after the sync and wait for the activation.'),
    activationTimeoutSeconds: z.number().int().min(5).max(3600).default(300),
    chunkSize: z.number().int().min(1).max(2000).default(500).describe('Hosts per bulk create/update/delete request.'),
    maxRemoveFraction: z
      .number()
      .min(0, 'must be between 0 and 1')
      .max(1, 'must be between 0 and 1')
      .default(0.2)
      .describe('With removeExtra: refuse the sync when it would remove more than this share of the managed hosts (or any, when the source has no devices) unless forced.'),
    force: z.boolean().default(false).describe('Apply a removal the safety valve would refuse.'),
  })
  .strict()
  .superRefine(refineMapping)
type SyncConfig = z.output<typeof configSchema>

const EDIT_ATTEMPTS = 3
const EDIT_PARALLEL = 8

/** `outbound`: the SSRF guard for the Checkmk site's requests (net/outbound-policy.ts). */
export function createSyncDevicesExecutor(port: CheckmkDevicesPort, outbound?: OutboundPolicy): JobExecutor<typeof configSchema> {
  return {
    type: 'sync_devices',
    label: 'Sync devices (Nautobot → Checkmk)',
    description: 'Creates and updates Checkmk hosts to match Nautobot devices (only the attributes Switchyard manages), optionally removes managed hosts gone from Nautobot and activates the changes.',
    configSchema,
    usesTargets: false,
    credentialRefs: checkmkCredentialRefs,
    sourceRefs: checkmkSourceRefs,
    async execute(ctx) {
      try {
        const client = clientFor(ctx, outbound)
        const comparisons = await readAndCompare(ctx, port, client)
        const rows = new Map<string, DeviceResultRow>()
        const set = (c: DeviceComparison, action: SyncAction | null, error: string | null = c.reason) => rows.set(c.device, { ...comparisonRow(c), action, error })
        for (const c of comparisons) set(c, plannedAction(c, ctx.config))
        const refusal = removalRefusal(comparisons, ctx.config)
        if (refusal && !ctx.config.force && ctx.config.dryRun) ctx.log.system(`a real sync would be refused: ${refusal} (unless forced)`, { level: 'WARNING' })
        else if (refusal && !ctx.config.force) {
          // Nothing is applied, not even the creates: a source that suddenly lists far fewer devices is
          // more likely misconfigured (a filter, a token seeing less) than right.
          throw new Error(`refused: ${refusal}; nothing was changed (set force to apply it)`)
        }
        if (refusal) ctx.log.system(`forced despite the safety valve: ${refusal}`, { level: 'WARNING' })
        if (!ctx.config.dryRun) await apply(ctx, client, comparisons, set)
        const list = [...rows.values()]
        await port.recordResults(ctx.runId, list)
        for (const action of ['CREATED', 'UPDATED', 'REMOVED', 'FAILED'] as const) {
          const names = list.filter((r) => r.action === action)
          for (const r of names.slice(0, 200)) ctx.log.system(`${ctx.config.dryRun ? 'would be ' : ''}${action.toLowerCase()}: ${r.device}${r.error ? ` (${r.error})` : ''}`, action === 'FAILED' ? { level: 'ERROR' } : undefined)
          if (names.length > 200) ctx.log.system(`… and ${names.length - 200} more ${action.toLowerCase()} (see the per-device results)`)
        }
        const counts = actionCounts(list)
        const changed = counts.created + counts.updated + counts.removed > 0
        ctx.log.system(
          `${ctx.config.dryRun ? 'dry run, nothing changed — would have: ' : ''}${counts.created} created, ${counts.updated} updated, ${counts.removed} removed, ${counts.unchanged} unchanged, ${counts.failed} failed, ${counts.skipped} skipped`,
        )
        let activationId: string | null = null
        if (ctx.config.activate && !ctx.config.dryRun) activationId = await activate(ctx, client)
        const result = { ...counts, dryRun: ctx.config.dryRun, changed: !ctx.config.dryRun && changed, activationId, refusal }
        if (counts.failed) return { ok: false, result, error: `${counts.failed} ${counts.failed === 1 ? 'device' : 'devices'} failed (see the per-device results)` }
        return { ok: true, result }
      } catch (e) {
        return failure(ctx, e)
      }
    },
  }
}

/** Why removing these extras is refused without `force` (the same rule as an authoritative inventory sync). */
function removalRefusal(comparisons: readonly DeviceComparison[], config: SyncConfig): string | null {
  if (!config.removeExtra) return null
  const extra = comparisons.filter((c) => c.status === 'EXTRA_IN_CHECKMK').length
  if (!extra) return null
  const managed = comparisons.filter((c) => c.actual && isManaged(c.actual)).length
  const devices = comparisons.filter((c) => c.status !== 'EXTRA_IN_CHECKMK').length
  if (devices === 0) return `the inventory source returned no devices, so all ${extra} managed ${extra === 1 ? 'host' : 'hosts'} would be removed`
  if (extra > config.maxRemoveFraction * managed) return `it would remove ${extra} of ${managed} managed hosts (more than ${Math.round(config.maxRemoveFraction * 100)}%)`
  return null
}

function plannedAction(c: DeviceComparison, config: SyncConfig): SyncAction | null {
  switch (c.status) {
    case 'MISSING_IN_CHECKMK':
      return 'CREATED'
    case 'DIFFERENT':
      return 'UPDATED'
    case 'EQUAL':
      return 'UNCHANGED'
    case 'SKIPPED':
      return 'SKIPPED'
    case 'EXTRA_IN_CHECKMK':
      return config.removeExtra ? 'REMOVED' : null
  }
}

function actionCounts(rows: readonly DeviceResultRow[]) {
  const count = (a: SyncAction) => rows.filter((r) => r.action === a).length
  return { created: count('CREATED'), updated: count('UPDATED'), removed: count('REMOVED'), unchanged: count('UNCHANGED'), failed: count('FAILED'), skipped: count('SKIPPED') }
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

type Setter = (c: DeviceComparison, action: SyncAction | null, error?: string | null) => void

async function apply(ctx: ExecutionContext<SyncConfig>, client: CheckmkClient, comparisons: readonly DeviceComparison[], set: Setter): Promise<void> {
  const { chunkSize } = ctx.config
  const creates = comparisons.filter((c) => c.status === 'MISSING_IN_CHECKMK')
  const updates = comparisons.filter((c) => c.status === 'DIFFERENT')
  const removes = ctx.config.removeExtra ? comparisons.filter((c) => c.status === 'EXTRA_IN_CHECKMK') : []

  // Folders first: Checkmk refuses a host in a folder that does not exist.
  const folderFailed = new Map<string, string>()
  const folders = new Set([...creates, ...updates.filter((u) => u.diffs.some((d) => d.field === 'folder'))].map((c) => c.desired!.folder))
  for (const folder of [...folders].sort()) {
    ctx.signal.throwIfAborted()
    if (folder === '/') continue
    try {
      await client.ensureFolder(folder)
    } catch (e) {
      if (!(e instanceof CheckmkError) || e.status === null || e.status === 401) throw e
      folderFailed.set(folder, `folder ${folder}: ${e.message}`)
    }
  }
  const blocked = (c: DeviceComparison) => {
    const why = folderFailed.get(c.desired!.folder)
    if (why) set(c, 'FAILED', why)
    return !!why
  }

  for (const chunk of chunks(creates.filter((c) => !blocked(c)), chunkSize)) {
    ctx.signal.throwIfAborted()
    const outcome = await isolating(chunk, (part) => client.bulkCreate(part.map((c) => ({ host_name: c.desired!.name, folder: c.desired!.folder, attributes: c.desired!.attributes }))))
    for (const c of chunk) if (outcome.failed[c.device]) set(c, 'FAILED', outcome.failed[c.device])
    ctx.log.system(`created ${outcome.succeeded.length} ${outcome.succeeded.length === 1 ? 'host' : 'hosts'}${Object.keys(outcome.failed).length ? `, ${Object.keys(outcome.failed).length} refused` : ''}`)
  }

  // Plain attribute changes in bulk; label and folder changes one host at a time with If-Match.
  const single = updates.filter((c) => c.diffs.some((d) => d.field === 'folder' || d.field.startsWith('labels.')))
  const singleSet = new Set(single)
  const bulk = updates.filter((c) => !singleSet.has(c))
  for (const chunk of chunks(bulk, chunkSize)) {
    ctx.signal.throwIfAborted()
    const outcome = await isolating(chunk, (part) => client.bulkUpdate(part.map((c) => ({ host_name: c.device, update_attributes: changedAttributes(c.desired!, c.diffs.map((d) => d.field)) }))))
    for (const c of chunk) if (outcome.failed[c.device]) set(c, 'FAILED', outcome.failed[c.device])
  }
  let next = 0
  const worker = async () => {
    while (next < single.length) {
      const c = single[next++]!
      ctx.signal.throwIfAborted()
      if (blocked(c)) continue
      try {
        const action = await editOne(client, c.desired!)
        set(c, action)
      } catch (e) {
        const err = coerceError(e)
        if (!(e instanceof CheckmkError) || e.status === null || e.status === 401) throw err
        set(c, 'FAILED', err.message)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(EDIT_PARALLEL, single.length) }, worker))
  if (updates.length) ctx.log.system(`updated ${updates.length} ${updates.length === 1 ? 'host' : 'hosts'} (${bulk.length} in bulk, ${single.length} one by one with If-Match)`)

  for (const chunk of chunks(removes, chunkSize)) {
    ctx.signal.throwIfAborted()
    await client.bulkDelete(chunk.map((c) => c.device))
    ctx.log.system(`removed ${chunk.length} managed ${chunk.length === 1 ? 'host' : 'hosts'} gone from Nautobot`)
  }
}

/**
 * A bulk call, and when Checkmk refuses the whole request (400 without `failed_hosts`: it validates the
 * entire body before doing anything, so one device with, say, a tag id that does not exist spoils its
 * chunk), the same call one device at a time, so the refusal lands on the device that caused it.
 */
async function isolating(chunk: readonly DeviceComparison[], call: (part: DeviceComparison[]) => Promise<BulkOutcome>): Promise<BulkOutcome> {
  try {
    return await call([...chunk])
  } catch (e) {
    if (!(e instanceof CheckmkError) || e.status !== 400) throw e
    const outcome: BulkOutcome = { succeeded: [], failed: {} }
    for (const c of chunk) {
      try {
        const one = await call([c])
        outcome.succeeded.push(...one.succeeded)
        Object.assign(outcome.failed, one.failed)
      } catch (single) {
        if (!(single instanceof CheckmkError) || single.status !== 400) throw single
        outcome.failed[c.device] = single.message
      }
    }
    return outcome
  }
}

/** The managed attributes among `fields` (diff field names), as `update_attributes`. */
function changedAttributes(desired: DesiredHost, fields: readonly string[]): HostAttributes {
  const out: HostAttributes = {}
  for (const f of fields) if (f !== 'folder' && !f.startsWith('labels.')) out[f] = desired.attributes[f]
  return out
}

/**
 * One host: read it with its ETag, write the managed attributes (labels merged into what it has), move it
 * if its folder is wrong. A 412 means it changed between our read and write: read again and redo the diff.
 */
async function editOne(client: CheckmkClient, desired: DesiredHost): Promise<SyncAction> {
  let wroteAttributes = false
  let conflicts = 0
  // Bounded: at most one attribute write and one move succeed, plus EDIT_ATTEMPTS - 1 re-reads after 412s.
  for (;;) {
    const current = await client.getHost(desired.name)
    if (!current) throw new CheckmkError(`host ${desired.name} disappeared from Checkmk during the sync`, 404, false)
    const diffs = diffHost(desired, current.host)
    if (!diffs.length) return wroteAttributes ? 'UPDATED' : 'UNCHANGED'
    const attrs = diffs.filter((d) => d.field !== 'folder')
    if (attrs.length && wroteAttributes) {
      // Checkmk accepted the write but keeps another value (it normalises it, or something rewrites it):
      // writing again would loop forever.
      throw new CheckmkError(`Checkmk kept ${attrs.map((d) => `${d.field}=${d.actual ?? '∅'}`).join(', ')} after Switchyard wrote ${attrs.map((d) => d.expected ?? '∅').join(', ')}`, 200, false)
    }
    try {
      if (attrs.length) {
        const update = changedAttributes(desired, attrs.map((d) => d.field))
        if (attrs.some((d) => d.field.startsWith('labels.'))) update.labels = { ...(current.host.attributes.labels ?? {}), ...desired.attributes.labels }
        await client.editHost(desired.name, current.etag, { update_attributes: update })
        wroteAttributes = true
        continue // re-read: check it took, and the move needs the new ETag
      }
      await client.moveHost(desired.name, current.etag, desired.folder)
      return 'UPDATED'
    } catch (e) {
      if (e instanceof CheckmkError && e.status === 412 && ++conflicts < EDIT_ATTEMPTS) continue
      throw e
    }
  }
}

async function activate(ctx: ExecutionContext<SyncConfig>, client: CheckmkClient): Promise<string | null> {
  const pending = await client.pendingChanges()
  const started = await client.activate(pending.etag, ctx.config.site ? [ctx.config.site] : [])
  if (!started) {
    ctx.log.system('nothing to activate: Checkmk has no pending changes')
    return null
  }
  ctx.log.system(`activation ${started.activationId} started (${pending.count} pending ${pending.count === 1 ? 'change' : 'changes'}); waiting up to ${ctx.config.activationTimeoutSeconds} s`)
  await client.waitForActivation(started.activationId, ctx.config.activationTimeoutSeconds * 1000)
  ctx.log.system(`activation ${started.activationId} completed`)
  return started.activationId
}
