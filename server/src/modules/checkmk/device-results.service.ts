/**
 * The per-device results of compare_devices / sync_devices runs, for the API (the comparison dashboard):
 * counts per status and action for the whole run, a filtered page of devices with their field diffs, and
 * "sync selected" — a sync_devices run with the comparison's own config, restricted to chosen devices.
 */
import type { JobRun, Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import { ValidationError } from '../../errors.ts'
import { retryConflicts } from '../../db/transient.ts'
import { credentialUuid } from '../../jobs/executors/credential-ref.ts'
import { requireWriter, type Actor } from '../actor.ts'
import { entity, record } from '../audit/audit.service.ts'
import { created } from '../audit/changes.ts'
import { requireMayUse } from '../credentials/credential-access.ts'
import { runAuditChanges, type RunsService } from '../runs/runs.service.ts'

export const COMPARISON_STATUSES = ['EQUAL', 'DIFFERENT', 'MISSING_IN_CHECKMK', 'EXTRA_IN_CHECKMK', 'SKIPPED'] as const
export const SYNC_ACTIONS = ['CREATED', 'UPDATED', 'UNCHANGED', 'REMOVED', 'FAILED', 'SKIPPED'] as const

export interface DeviceResultFilter {
  statuses?: readonly string[] | null
  actions?: readonly string[] | null
  /** Part of the device name (case-insensitive). */
  search?: string | null
}

export interface DeviceResultCounts {
  total: number
  equal: number
  different: number
  missingInCheckmk: number
  extraInCheckmk: number
  skipped: number
  created: number
  updated: number
  unchanged: number
  removed: number
  failed: number
  actionSkipped: number
}

const MAX_SELECTED = 10_000

export class DeviceResultsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly runs: RunsService,
  ) {}

  where(runId: string, f: DeviceResultFilter): Prisma.DeviceResultWhereInput {
    return {
      runId,
      ...(f.statuses?.length ? { status: { in: [...f.statuses] } } : {}),
      ...(f.actions?.length ? { action: { in: [...f.actions] } } : {}),
      ...(f.search?.trim() ? { device: { contains: f.search.trim(), mode: 'insensitive' as const } } : {}),
    }
  }

  async page(runId: string, f: DeviceResultFilter, first: number, offset: number) {
    if (first < 1 || first > 1000) throw ValidationError.field('first', 'must be 1-1000')
    if (offset < 0) throw ValidationError.field('offset', 'must be >= 0')
    const where = this.where(runId, f)
    const [rows, totalCount] = await Promise.all([this.prisma.deviceResult.findMany({ where, orderBy: { position: 'asc' }, take: first, skip: offset }), this.prisma.deviceResult.count({ where })])
    return { rows, totalCount }
  }

  /** Counts for the whole run (unfiltered). */
  async counts(runId: string): Promise<DeviceResultCounts> {
    return (await this.countsOfRuns([runId])).get(runId)!
  }

  /** Counts for each of the runs (unfiltered): one grouped query per column, for all of them at once. */
  async countsOfRuns(runIds: readonly string[]): Promise<Map<string, DeviceResultCounts>> {
    const where = { runId: { in: [...runIds] } }
    const [byStatus, byAction] = await Promise.all([
      this.prisma.deviceResult.groupBy({ by: ['runId', 'status'], where, _count: { _all: true } }),
      this.prisma.deviceResult.groupBy({ by: ['runId', 'action'], where, _count: { _all: true } }),
    ])
    return new Map(runIds.map((runId) => [runId, countsOf(byStatus.filter((g) => g.runId === runId), byAction.filter((g) => g.runId === runId))]))
  }

  /**
   * "Sync selected": a sync_devices run (owned by the caller) with the config of a compare_devices or
   * sync_devices run, restricted to `devices`. Removal is never part of it: extras are not selected devices.
   */
  async syncSelected(actor: Actor | null, runId: string, devices: readonly string[], options: { dryRun: boolean; activate: boolean }): Promise<JobRun> {
    const a = requireWriter(actor)
    const source = await this.runs.get(a, runId)
    if (source.jobType !== 'compare_devices' && source.jobType !== 'sync_devices') throw ValidationError.field('runId', 'must be a compare_devices or sync_devices run')
    const names = [...new Set(devices.map((d) => d.trim()).filter(Boolean))]
    if (!names.length) throw ValidationError.field('devices', 'select at least one device')
    if (names.length > MAX_SELECTED) throw ValidationError.field('devices', `at most ${MAX_SELECTED} devices`)
    const spec = source.spec as { config: Record<string, unknown> } & Record<string, unknown>
    const base = spec.config as { checkmk?: { credentialId?: string } } & Record<string, unknown>
    const { removeExtra: _r, dryRun: _d, activate: _a, ...mapping } = base
    const config = { ...mapping, devices: names, dryRun: options.dryRun, activate: options.activate, removeExtra: false }
    const credential = credentialUuid(base.checkmk?.credentialId ?? '')
    if (credential) await requireMayUse(this.prisma, a.userId, [{ field: 'runId', id: credential }], (name) => `the run's Checkmk credential is "${name}", which you may not use`)
    return retryConflicts(() =>
      this.prisma.$transaction(async (tx) => {
        const run = await this.runs.createRunIn(tx, {
          actor: a,
          trigger: a.via === 'SESSION' ? 'MANUAL' : 'API',
          template: { id: null, name: `sync selected devices (from run #${source.number})`.slice(0, 200), jobType: 'sync_devices', ownerId: a.userId, visibility: 'GLOBAL' },
          spec: {
            config,
            timeoutSeconds: 1800,
            retry: { maxAttempts: 1, delaySeconds: 0, backoff: 'FIXED' },
            maxParallelTargets: 1,
            successThreshold: null,
            usesTargets: false,
          },
          parameters: {},
          secretParameters: null,
          targets: [],
          scheduleId: null,
          retryOfId: null,
          concurrencyKey: null,
          maxConcurrent: null,
        })
        await record(tx, { actor: a, action: 'run.trigger', entity: entity.run(run), changes: { ...runAuditChanges(run), ...created({ devices: names.length, fromRun: source.number }, ['devices', 'fromRun']) } })
        return run
      }),
    )
  }
}

type Grouped<K extends string> = Array<{ _count: { _all: number } } & { [key in K]: string | null }>

function countsOf(byStatus: Grouped<'status'>, byAction: Grouped<'action'>): DeviceResultCounts {
  const s = (k: string) => byStatus.find((g) => g.status === k)?._count._all ?? 0
  const a = (k: string) => byAction.find((g) => g.action === k)?._count._all ?? 0
  return {
    total: byStatus.reduce((n, g) => n + g._count._all, 0),
    equal: s('EQUAL'),
    different: s('DIFFERENT'),
    missingInCheckmk: s('MISSING_IN_CHECKMK'),
    extraInCheckmk: s('EXTRA_IN_CHECKMK'),
    skipped: s('SKIPPED'),
    created: a('CREATED'),
    updated: a('UPDATED'),
    unchanged: a('UNCHANGED'),
    removed: a('REMOVED'),
    failed: a('FAILED'),
    actionSkipped: a('SKIPPED'),
  }
}
