/**
 * Sync before a run: a run whose targets come from an inventory source with `syncBeforeRunMaxAgeSeconds`
 * set first syncs that source when its last applied sync is older than that. The dispatcher calls
 * `beforeTargets` after claiming the run and before it loads the targets, so the run uses the synced
 * addresses, ports, credentials and attributes. Devices the sync found new join the run when the run's
 * selector (recorded when it was triggered, RunSpec.targetSelector) matches them — not a run given its
 * targets (explicit ids, a retry). A target the sync removed stays in the run with the address the run
 * recorded for it.
 *
 * One sync per source at a time across every process: a session advisory lock on the source, held from the
 * freshness re-check to the end of the sync. A run that waited for another's sync re-reads the source under
 * the lock and, finding it fresh, reuses that sync instead of syncing again. If the process dies, Postgres
 * ends the session and the lock with it.
 *
 * When the sync fails (source down, token refused, the safety valve): with `syncBeforeRunRequired` the run
 * fails with the source's error and nothing runs; without it (the default) the run goes on with the
 * last-known targets and a WARNING naming the source, its error and how old its inventory is.
 */
import type pg from 'pg'
import type { PrismaClient } from '../../generated/prisma/client.ts'
import type { BeforeTargetsRequest } from '../../jobs/dispatcher.ts'
import { addRunTargets } from '../../jobs/run-store.ts'
import { coerceError } from '../../util/errors.ts'
import { resolveSelector, targetSelectorSchema } from '../targets/target-selector.ts'
import type { InventorySync } from './inventory-sync.ts'

const LOCK_POLL_MS = 500
/** Names listed in the run's log line about targets that joined it. */
const NAMES_SHOWN = 20

interface StaleCandidate {
  id: string
  name: string
  ttl: number
}

export class PreRunSync {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: pg.Pool,
    private readonly sync: InventorySync,
  ) {}

  /** Syncs each stale source of the run's open targets, one at a time, in name order. */
  async beforeTargets(req: BeforeTargetsRequest): Promise<void> {
    const sources = await this.prisma.$queryRaw<StaleCandidate[]>`
      SELECT DISTINCT s.id::text AS id, s.name, s.sync_before_run_max_age_seconds AS ttl
        FROM run_target rt
        JOIN target t ON t.id = rt.target_id
        JOIN inventory_source s ON s.id = t.source_id
       WHERE rt.run_id = ${req.runId}::uuid AND rt.status IN ('PENDING', 'RUNNING')
         AND s.sync_before_run_max_age_seconds IS NOT NULL
         AND (s.last_sync_at IS NULL OR s.last_sync_at < now() - make_interval(secs => s.sync_before_run_max_age_seconds))
       ORDER BY s.name`
    for (const s of sources) await this.refresh(s, req)
    if (sources.length) await this.joinNewTargets(req, new Set(sources.map((s) => s.id)))
  }

  /** The synced sources' targets the run's selector matches and the run does not have yet join it. */
  private async joinNewTargets(req: BeforeTargetsRequest, sourceIds: ReadonlySet<string>): Promise<void> {
    const [run] = await this.prisma.$queryRaw<Array<{ selector: unknown }>>`SELECT spec->'targetSelector' AS selector FROM job_run WHERE id = ${req.runId}::uuid`
    const selector = targetSelectorSchema.safeParse(run?.selector)
    if (!run?.selector || !selector.success) return
    const matched = (await resolveSelector(this.prisma, selector.data)).filter((t) => t.sourceId !== null && sourceIds.has(t.sourceId))
    const added = await addRunTargets(this.pool, req.runId, matched.map((t) => t.id))
    if (!added.length) return
    const shown = added.length > NAMES_SHOWN ? `${added.slice(0, NAMES_SHOWN).join(', ')} and ${added.length - NAMES_SHOWN} more` : added.join(', ')
    req.log(`${added.length === 1 ? '1 target' : `${added.length} targets`} new from the sync ${added.length === 1 ? 'joins' : 'join'} this run (its selector matches): ${shown}`)
  }

  private async refresh(candidate: StaleCandidate, req: BeforeTargetsRequest): Promise<void> {
    await this.withSourceLock(candidate, req, async (waited) => {
      // Re-read under the lock: the sync another run did while this one waited is reused.
      const source = await this.prisma.inventorySource.findUnique({ where: { id: candidate.id } })
      if (!source || source.syncBeforeRunMaxAgeSeconds === null) return
      const age = source.lastSyncAt ? (Date.now() - source.lastSyncAt.getTime()) / 1000 : null
      if (age !== null && age < source.syncBeforeRunMaxAgeSeconds) {
        if (waited) req.log(`inventory source "${source.name}" was synced ${Math.round(age)} s ago while this run waited for that sync; using it`)
        return
      }
      req.log(
        `inventory source "${source.name}" ${age === null ? 'was never synced' : `was last synced ${describeAge(age)} ago`}, more than its ${source.syncBeforeRunMaxAgeSeconds} s limit: syncing it before the run`,
      )
      try {
        await this.sync.syncBeforeRun({ runId: req.runId, sourceId: source.id, signal: req.signal, log: req.log })
      } catch (e) {
        if (req.signal.aborted) throw e
        const message = coerceError(e).message
        const known = source.lastSyncAt ? `its targets as last synced ${describeAge(age!)} ago (${source.lastSyncAt.toISOString()})` : 'its targets as they are (the source was never synced)'
        if (source.syncBeforeRunRequired) throw new Error(`not started: the sync of inventory source "${source.name}" before the run failed: ${message}`)
        req.log(`the sync of inventory source "${source.name}" before the run failed: ${message}; the run goes on with ${known}`, 'WARNING')
      }
    })
  }

  /**
   * Holds the source's advisory lock (a session lock on a pooled connection) around `fn`. A run that has to
   * wait polls with a connection borrowed per try, so many waiting runs do not hold the pool, and it notices
   * a cancel between tries.
   */
  private async withSourceLock(source: StaleCandidate, req: BeforeTargetsRequest, fn: (waited: boolean) => Promise<void>): Promise<void> {
    const key = `switchyard:inventory-source-sync:${source.id}`
    let waited = false
    let client: pg.PoolClient
    for (;;) {
      client = await this.pool.connect()
      let ok = false
      try {
        ok = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [key])).rows[0]?.ok === true
      } catch (e) {
        client.release(coerceError(e))
        throw e
      }
      if (ok) break
      client.release()
      if (!waited) req.log(`waiting for another run's sync of inventory source "${source.name}"`)
      waited = true
      if (req.signal.aborted) throw new Error(`cancelled while waiting for the sync of inventory source "${source.name}"`)
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS))
    }
    try {
      await fn(waited)
    } finally {
      let broken: Error | undefined
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch((e: unknown) => {
        broken = coerceError(e)
      })
      // A connection whose unlock failed may still hold the lock: destroy it rather than pool it.
      client.release(broken)
    }
  }
}

function describeAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`
  return `${Math.round(seconds / 86_400)} days`
}
