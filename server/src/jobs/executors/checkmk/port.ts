/**
 * What `compare_devices` and `sync_devices` need from the database, which executors never touch directly:
 * the devices of an inventory source (read from Nautobot on behalf of the run's owner) and a place for the
 * per-device results of the run. The composition root hands in the implementation (app.ts).
 */
import type { ComparisonStatus, FieldDiff, SourceDevice } from '../../../checkmk/host-plan.ts'
import type { LogLevel } from '../types.ts'

export type SyncAction = 'CREATED' | 'UPDATED' | 'UNCHANGED' | 'REMOVED' | 'FAILED' | 'SKIPPED'

export interface DeviceResultRow {
  device: string
  status: ComparisonStatus
  /** sync_devices only: what was done (or, in a dry run, would be). */
  action: SyncAction | null
  /** The folder the host should be in (or is in, for an extra host). */
  folder: string | null
  diffs: FieldDiff[]
  /** Why it was skipped or failed. */
  error: string | null
}

export interface CheckmkDevicesPort {
  /** The source's devices, all pages, or throws (a SourceError) having read nothing usable. */
  devices(request: { runId: string; sourceId: string; signal: AbortSignal; log: (text: string, level?: LogLevel) => void }): Promise<SourceDevice[]>
  /** Replaces the run's per-device results (a retried attempt writes them afresh). */
  recordResults(runId: string, rows: readonly DeviceResultRow[]): Promise<void>
}
