/**
 * `inventory_sync`: syncs targets from an inventory source (modules/inventory-sources). A job type like the
 * others, so schedules, logs, notifications and audit apply; `syncInventorySource` triggers one.
 *
 * The work needs the database (one transaction applies the diff), which executors never touch directly:
 * it goes through the InventorySyncPort the composition root hands in (app.ts).
 */
import { z } from 'zod'
import { coerceError } from '../../util/errors.ts'
import type { JobExecutor, LogLevel } from './types.ts'

export interface InventorySyncRequest {
  runId: string
  sourceId: string
  force: boolean
  signal: AbortSignal
  log: (text: string, level?: LogLevel) => void
}

export interface InventorySyncSummary {
  deviceCount: number
  created: number
  updated: number
  removed: number
  unchanged: number
  skipped: number
  changed: boolean
}

export interface InventorySyncPort {
  /** Fetches, plans and applies; throws (having changed nothing) when the source fails or the safety valve refuses. */
  sync(request: InventorySyncRequest): Promise<InventorySyncSummary>
}

const configSchema = z
  .object({
    sourceId: z.uuid().describe('The inventory source to sync (its UUID).'),
    force: z.boolean().default(false).describe('Apply an authoritative sync even when the safety valve would refuse it.'),
  })
  .strict()

export function createInventorySyncExecutor(port: InventorySyncPort): JobExecutor<typeof configSchema> {
  return {
    type: 'inventory_sync',
    label: 'Inventory sync',
    description: 'Creates, updates and (authoritative sources) removes targets to match an inventory source such as Nautobot.',
    configSchema,
    usesTargets: false,
    async execute(ctx) {
      try {
        const summary = await port.sync({
          runId: ctx.runId,
          sourceId: ctx.config.sourceId,
          force: ctx.config.force,
          signal: ctx.signal,
          log: (text, level) => ctx.log.system(text, level ? { level } : undefined),
        })
        return { ok: true, result: summary }
      } catch (e) {
        const err = coerceError(e)
        const transient = (err as { transient?: unknown }).transient === true
        ctx.log.system(err.message, { level: 'ERROR' })
        return { ok: false, error: err.message, retryable: transient }
      }
    },
  }
}
