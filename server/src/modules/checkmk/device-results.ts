/**
 * The database side of `compare_devices` and `sync_devices` (the CheckmkDevicesPort): devices come from an
 * inventory source through InventorySync (owner and credential checks included), per-device results are
 * rows of `device_result`, written in multi-row inserts (10,000 devices are a handful of statements).
 */
import type { Prisma, PrismaClient } from '../../generated/prisma/client.ts'
import type { CheckmkDevicesPort, DeviceResultRow } from '../../jobs/executors/checkmk/port.ts'
import type { SourceDevice } from '../../checkmk/host-plan.ts'
import type { InventorySync } from '../inventory-sources/inventory-sync.ts'

const INSERT_CHUNK = 2000

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

/** Replaces a run's per-device results: one transaction, a delete and one multi-row insert per 2,000 rows. */
export async function recordDeviceResults(prisma: PrismaClient, runId: string, rows: readonly DeviceResultRow[]): Promise<void> {
  await prisma.$transaction(
    async (tx) => {
      await tx.deviceResult.deleteMany({ where: { runId } })
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await tx.deviceResult.createMany({
          data: rows.slice(i, i + INSERT_CHUNK).map((r, j) => ({
            runId,
            position: i + j,
            device: r.device.slice(0, 500),
            status: r.status,
            action: r.action,
            folder: r.folder,
            diffs: r.diffs as unknown as Prisma.InputJsonValue,
            error: r.error?.slice(0, 2000) ?? null,
          })),
        })
      }
    },
    { timeout: 120_000 },
  )
}
