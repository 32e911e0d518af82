/**
 * Fetching a source's devices and applying the sync plan. Used by the dry run (fetch + plan) and by the
 * `inventory_sync` executor (fetch + plan + apply, through the InventorySyncPort it implements).
 *
 * Applying re-reads the targets and recomputes the plan inside one transaction that holds the source's row
 * lock, so two syncs of a source never interleave and what is applied is exactly `planSync` of that moment.
 * The device list is complete before the transaction starts (the client returns all pages or fails).
 */
import type { InventorySource, Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import { decryptCredential } from '../../crypto/credential-secret.ts'
import { credentialUse, prismaQuery } from '../../db/credential-use.ts'
import { retryConflicts } from '../../db/transient.ts'
import type { InventorySyncPort, InventorySyncRequest, InventorySyncSummary } from '../../jobs/executors/inventory-sync.ts'
import { auditValue } from '../audit/changes.ts'
import { fetchNautobotDevices, SourceError, type DeviceFilter, type NautobotConnection, type NautobotDevice } from './nautobot-client.ts'
import type { OutboundPolicy } from '../../net/outbound-policy.ts'
import { customFieldMappingsOf, planSync, type ExistingTarget, type SourceMapping, type SyncPlan } from './sync-plan.ts'

export function mappingOf(s: InventorySource): SourceMapping {
  return {
    id: s.id,
    syncMode: s.syncMode,
    defaultPort: s.defaultPort,
    extraTags: s.extraTags,
    maxDeleteFraction: s.maxDeleteFraction,
    customFieldMappings: customFieldMappingsOf(s),
  }
}


export class InventorySync implements InventorySyncPort {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly outbound?: OutboundPolicy,
  ) {}

  /** The connection for a source, its token opened. The token never leaves this module except to Nautobot. */
  async connection(source: InventorySource, signal?: AbortSignal): Promise<NautobotConnection> {
    const c = await this.prisma.credential.findUnique({ where: { id: source.tokenCredentialId } })
    if (!c) throw new SourceError(`the source's API token credential no longer exists`, false)
    const opened = decryptCredential(this.box, c)
    if (opened.kind !== 'PASSWORD') throw new SourceError(`the source's API token credential "${c.name}" is not a PASSWORD credential`, false)
    return { url: source.url, token: opened.password, tlsVerify: source.tlsVerify, caCertificate: source.caCertificate, signal, outbound: this.outbound }
  }

  async fetch(source: InventorySource, signal?: AbortSignal): Promise<{ devices: NautobotDevice[]; pages: number }> {
    const conn = await this.connection(source, signal)
    try {
      return await fetchNautobotDevices(conn, source.filter as DeviceFilter, 500, 200_000, customFieldMappingsOf(source).length > 0)
    } catch (e) {
      if (e instanceof SourceError) throw new SourceError(e.message.split(conn.token).join('••••••'), e.transient)
      throw e
    }
  }

  /** The dry run: the plan as it stands now. */
  async preview(source: InventorySource, signal?: AbortSignal): Promise<SyncPlan> {
    const { devices } = await this.fetch(source, signal)
    return planSync(devices, await this.relevantTargets(this.prisma, source.id, devices), mappingOf(source))
  }

  async sync(req: InventorySyncRequest): Promise<InventorySyncSummary> {
    const source = await this.prisma.inventorySource.findUnique({ where: { id: req.sourceId } })
    if (!source) throw new SourceError('the inventory source no longer exists', false)
    await this.checkRunOwner(req.runId, source)
    return this.apply(source, req, 'inventory sync')
  }

  /**
   * The sync a run does before it starts because the source is older than its TTL (pre-run-sync.ts). The
   * source's owner set that TTL, so the sync acts for the source as its owner — who must still be active and
   * allowed to use its credentials — not for the run's owner (who may merely use its targets). Never forced.
   */
  async syncBeforeRun(req: Omit<InventorySyncRequest, 'force'>): Promise<InventorySyncSummary> {
    const source = await this.prisma.inventorySource.findUnique({ where: { id: req.sourceId } })
    if (!source) throw new SourceError('the inventory source no longer exists', false)
    const owner = source.ownerId ? await this.prisma.user.findUnique({ where: { id: source.ownerId } }) : null
    if (!owner || owner.disabled) throw new SourceError(`the source "${source.name}" has no active owner to sync it for`, false)
    await this.checkCredentialUse(owner, source)
    return this.apply(source, { ...req, force: false }, 'sync before run')
  }

  private async apply(source: InventorySource, req: InventorySyncRequest, what: string): Promise<InventorySyncSummary> {
    req.log(`fetching devices from Nautobot at ${source.url} (source "${source.name}", ${source.syncMode.toLowerCase()})`)
    const { devices, pages } = await this.fetch(source, req.signal)
    req.log(`fetched ${devices.length} ${devices.length === 1 ? 'device' : 'devices'} in ${pages} ${pages === 1 ? 'page' : 'pages'}`)
    const run = await this.prisma.jobRun.findUnique({ where: { id: req.runId }, select: { number: true } })
    const byRun = `run #${run?.number ?? '?'} (${what}: ${source.name})`.slice(0, 200)

    const plan = await retryConflicts(() =>
      this.prisma.$transaction(
        async (tx) => {
          // One sync of a source at a time; what it applies is the plan computed under this lock.
          await tx.$queryRaw`SELECT id FROM inventory_source WHERE id = ${source.id}::uuid FOR UPDATE`
          const plan = planSync(devices, await this.relevantTargets(tx, source.id, devices), mappingOf(source))
          if (plan.refusal && !req.force) return plan
          await applyPlan(tx, plan, source, byRun)
          await tx.inventorySource.update({
            where: { id: source.id },
            data: { lastSyncAt: new Date(), lastSyncRunId: req.runId, lastSyncResult: counts(plan) as Prisma.InputJsonValue },
          })
          return plan
        },
        { timeout: 120_000, maxWait: 10_000 },
      ),
    )
    for (const s of plan.skipped.slice(0, 100)) req.log(`skipped ${s.name}: ${s.reason}`, 'WARNING')
    if (plan.refusal && !req.force) throw new SourceError(`refused: ${plan.refusal}; nothing was changed (sync with force to apply it)`, false)
    if (plan.refusal) req.log(`forced despite the safety valve: ${plan.refusal}`, 'WARNING')
    for (const c of plan.create.slice(0, 200)) req.log(`created ${c.name} (${c.host})`)
    for (const u of plan.update.slice(0, 200)) req.log(`updated ${u.name}: ${u.changes.map((c) => c.field).join(', ')}`)
    for (const r of plan.remove.slice(0, 200)) req.log(`removed ${r.name} (${r.host})`)
    const summary = { ...counts(plan), deviceCount: plan.deviceCount, changed: plan.create.length + plan.update.length + plan.remove.length > 0 }
    req.log(
      summary.changed
        ? `sync applied: ${summary.created} created, ${summary.updated} updated, ${summary.removed} removed, ${summary.unchanged} unchanged, ${summary.skipped} skipped`
        : `nothing changed: ${summary.unchanged} ${summary.unchanged === 1 ? 'target is' : 'targets are'} up to date (${summary.skipped} skipped)`,
    )
    return summary
  }

  /**
   * The devices of a source for another job type's run (compare_devices, sync_devices): the same owner and
   * credential checks as a sync, then every page or a SourceError.
   */
  async devicesForRun(runId: string, sourceId: string, signal?: AbortSignal): Promise<NautobotDevice[]> {
    const source = await this.prisma.inventorySource.findUnique({ where: { id: sourceId } })
    if (!source) throw new SourceError('config.sourceId: the inventory source no longer exists', false)
    await this.checkRunOwner(runId, source)
    return (await this.fetch(source, signal)).devices
  }

  /**
   * A source's connection for another job type's run that writes to it (config_backup, prefix_scan write-back):
   * the same owner and credential checks as a sync, before the token is opened.
   */
  async connectionForRun(runId: string, sourceId: string, signal?: AbortSignal): Promise<{ source: InventorySource; conn: NautobotConnection }> {
    const source = await this.prisma.inventorySource.findUnique({ where: { id: sourceId } })
    if (!source) throw new SourceError('the inventory source no longer exists', false)
    await this.checkRunOwner(runId, source)
    return { source, conn: await this.connection(source, signal) }
  }

  /**
   * At run time, for the run's owner (who may have lost rights since): they must own the source or be an
   * admin, and be allowed to use its credentials — checked before the token is opened.
   */
  private async checkRunOwner(runId: string, source: InventorySource): Promise<void> {
    const run = await this.prisma.jobRun.findUnique({ where: { id: runId }, select: { ownerId: true } })
    const owner = run?.ownerId ? await this.prisma.user.findUnique({ where: { id: run.ownerId } }) : null
    if (!owner || owner.disabled) throw new SourceError('not started: the run has no active owner', false)
    if (owner.role !== 'ADMIN' && source.ownerId !== owner.id) throw new SourceError(`not started: ${owner.username} may not use inventory source "${source.name}" (only its owner or an admin)`, false)
    await this.checkCredentialUse(owner, source)
  }

  private async checkCredentialUse(owner: { id: string; username: string }, source: InventorySource): Promise<void> {
    const ids = [source.tokenCredentialId, ...(source.defaultCredentialId ? [source.defaultCredentialId] : [])]
    const use = await credentialUse(prismaQuery(this.prisma), owner.id, ids)
    const refused = [...use.values()].filter((c) => !c.usable)
    if (refused.length) throw new SourceError(`not started: ${owner.username} may no longer use credential ${refused.map((c) => `"${c.name}"`).join(', ')}; the credential was not opened`, false)
  }

  /** The targets a plan needs: the source's own, and any with the name of a device (to find conflicts). */
  private async relevantTargets(db: PrismaClient | Prisma.TransactionClient, sourceId: string, devices: readonly NautobotDevice[]): Promise<ExistingTarget[]> {
    const names = devices.flatMap((d) => (d.name ? [d.name.trim()] : []))
    return db.target.findMany({
      where: { OR: [{ sourceId }, { name: { in: names } }] },
      select: { id: true, name: true, host: true, port: true, tags: true, attributes: true, sourceId: true },
    })
  }
}

function counts(plan: SyncPlan) {
  return { created: plan.create.length, updated: plan.update.length, removed: plan.remove.length, unchanged: plan.unchanged.length, skipped: plan.skipped.length }
}

/** Targets per UPDATE: a few hundred KB of JSON at most, one round trip for most sources. */
const UPDATE_CHUNK = 1000

async function applyPlan(tx: Prisma.TransactionClient, plan: SyncPlan, source: InventorySource, byRun: string): Promise<void> {
  const audit: Prisma.AuditEventCreateManyInput[] = []
  const event = (action: string, id: string, name: string, changes?: Record<string, unknown>) =>
    audit.push({ actorName: byRun, via: 'SYSTEM', action, entityType: 'Target', entityId: id, entityName: name.slice(0, 200), changes: changes as Prisma.InputJsonValue | undefined })
  if (plan.create.length) {
    const rows = await tx.target.createManyAndReturn({
      data: plan.create.map((d) => ({ ...d, credentialId: source.defaultCredentialId, ownerId: source.ownerId, sourceId: source.id })),
      select: { id: true, name: true, host: true, port: true, tags: true },
    })
    for (const r of rows) event('target.create', r.id, r.name, { host: { new: r.host }, port: { new: r.port }, tags: { new: auditValue(r.tags) }, source: { new: source.name } })
  }
  // One statement per chunk of changed targets instead of a read and a write each. The merge happens in
  // SQL, on the value the row has now: `attributes || next` is the shallow merge the sync always did
  // (mapped keys replaced, keys set by hand kept), and a target whose address changed forgets the host
  // key trusted for the old one (a new address is a new machine).
  for (let i = 0; i < plan.update.length; i += UPDATE_CHUNK) {
    const chunk = plan.update.slice(i, i + UPDATE_CHUNK)
    const rows = JSON.stringify(chunk.map((u) => ({ id: u.id, host: u.next.host, port: u.next.port, tags: u.next.tags, attributes: u.next.attributes })))
    const updated = await tx.$queryRaw<Array<{ id: string }>>`
      UPDATE target t
         SET host = v.host, port = v.port, tags = v.tags, attributes = t.attributes || v.attributes,
             host_key_fingerprint = CASE WHEN t.host = v.host AND t.port = v.port THEN t.host_key_fingerprint END,
             host_key_algorithm = CASE WHEN t.host = v.host AND t.port = v.port THEN t.host_key_algorithm END,
             updated_at = now()
        FROM jsonb_to_recordset(${rows}::jsonb) AS v(id uuid, host text, port int, tags text[], attributes jsonb)
       WHERE t.id = v.id
      RETURNING t.id::text AS id`
    // The plan was read in this transaction, but a target is not locked by the source's lock: one deleted
    // by hand meanwhile must fail the sync (rolled back, nothing half-applied), as the per-row update did.
    if (updated.length !== chunk.length) {
      const seen = new Set(updated.map((r) => r.id))
      const gone = chunk.filter((u) => !seen.has(u.id)).map((u) => u.name)
      throw new SourceError(`target ${gone.map((n) => `"${n}"`).join(', ')} was deleted during the sync; nothing was changed (sync again)`, true)
    }
    for (const u of chunk) event('target.update', u.id, u.name, Object.fromEntries(u.changes.map((c) => [c.field, { old: auditValue(c.old), new: auditValue(c.new) }])))
  }
  if (plan.remove.length) {
    // Only rows still this source's: the plan was computed in this transaction, under the source's lock.
    await tx.target.deleteMany({ where: { id: { in: plan.remove.map((r) => r.id) }, sourceId: source.id } })
    for (const r of plan.remove) event('target.delete', r.id, r.name)
  }
  if (audit.length) await tx.auditEvent.createMany({ data: audit })
}
