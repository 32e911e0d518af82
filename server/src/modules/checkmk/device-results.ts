/**
 * The database side of `compare_devices` and `sync_devices` (the CheckmkDevicesPort): devices come from an
 * inventory source through InventorySync (owner and credential checks included), per-device results are
 * rows of `device_result`, written with unnest inserts (10,000 devices are a handful of statements).
 */
import type { PrismaClient } from '../../generated/prisma/client.ts'
import type { CheckmkDevicesPort, DeviceResultRow } from '../../jobs/executors/checkmk/port.ts'
import type { SourceDevice } from '../../checkmk/host-plan.ts'
import type { InventorySync } from '../inventory-sources/inventory-sync.ts'

const INSERT_CHUNK = 5000

export class CheckmkDevices implements CheckmkDevicesPort {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly inventory: InventorySync,
  ) {}

  async devices(request: Parameters<CheckmkDevicesPort['devices']>[0]): Promise<SourceDevice[]> {
    request.log('reading devices from the inventory source')
    return this.inventory.devicesForRun(request.runId, request.sourceId, request.signal)
  }

  recordResults(runId: string, rows: readonly DeviceResultRow[]): Promise<void> {
    return recordDeviceResults(this.prisma, runId, rows)
  }
}

/**
 * Replaces a run's per-device results: one transaction, a delete and one INSERT … SELECT FROM unnest(…)
 * per 5,000 rows (Prisma's createMany binds every value as its own parameter and took seconds for 10,000).
 */
export async function recordDeviceResults(prisma: PrismaClient, runId: string, rows: readonly DeviceResultRow[]): Promise<void> {
  await prisma.$transaction(
    async (tx) => {
      await tx.deviceResult.deleteMany({ where: { runId } })
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const part = rows.slice(i, i + INSERT_CHUNK)
        await tx.$executeRaw`
          INSERT INTO device_result (run_id, position, device, status, action, folder, diffs, error)
          SELECT ${runId}::uuid, u.position, u.device, u.status, u.action, u.folder, u.diffs::jsonb, u.error
          FROM unnest(${part.map((_, j) => i + j)}::int[], ${part.map((r) => r.device.slice(0, 500))}::text[], ${part.map((r) => r.status)}::text[],
                      ${part.map((r) => r.action)}::text[], ${part.map((r) => r.folder)}::text[], ${part.map((r) => JSON.stringify(r.diffs))}::text[],
                      ${part.map((r) => r.error?.slice(0, 2000) ?? null)}::text[])
            AS u(position, device, status, action, folder, diffs, error)`
      }
    },
    { timeout: 120_000 },
  )
}
