/**
 * The job types this process knows. Each executor module declares its config schema; the registry
 * validates template configs against it and publishes it as JSON Schema for clients (the UI builds
 * its forms from it).
 */
import { z } from 'zod'
import type { JobExecutor } from './types.ts'
import { commandExecutor } from './command.ts'
import type { OutboundPolicy } from '../../net/outbound-policy.ts'
import { createHttpExecutor, httpExecutor } from './http.ts'
import { scriptExecutor } from './script.ts'
import { fileTransferExecutor } from './file-transfer.ts'
import { createConfigBackupExecutor } from './config-backup/index.ts'
import { noopExecutor } from './noop.ts'
import { createPrefixScanExecutor } from './prefix-scan.ts'
import type { NautobotWriteBackPort } from './nautobot-port.ts'
import { ansiblePlaybookExecutor } from './ansible-playbook/index.ts'
import { createInventorySyncExecutor, type InventorySyncPort } from './inventory-sync.ts'
import { createCompareDevicesExecutor } from './checkmk/compare-devices.ts'
import { createSyncDevicesExecutor } from './checkmk/sync-devices.ts'
import type { CheckmkDevicesPort } from './checkmk/port.ts'

export interface JobTypeInfo {
  type: string
  label: string
  description: string
  usesTargets: boolean
  /** The type runs user-supplied code on the worker (authoring it needs SWITCHYARD_WORKER_CODE_ROLES). */
  executesWorkerCode: boolean
  /** Its targets may publish step outputs (templates may declare them). */
  publishesOutputs: boolean
  configSchema: Record<string, unknown>
}

export class ExecutorRegistry {
  readonly #executors = new Map<string, JobExecutor>()

  constructor(executors: readonly JobExecutor[]) {
    for (const e of executors) {
      if (this.#executors.has(e.type)) throw new Error(`job type ${e.type} registered twice`)
      this.#executors.set(e.type, e)
    }
  }

  get(type: string): JobExecutor | undefined {
    return this.#executors.get(type)
  }

  types(): string[] {
    return [...this.#executors.keys()]
  }

  describe(): JobTypeInfo[] {
    return [...this.#executors.values()].map((e) => ({
      type: e.type,
      label: e.label,
      description: e.description,
      usesTargets: e.usesTargets,
      executesWorkerCode: e.executesWorkerCode ?? false,
      publishesOutputs: e.publishesOutputs ?? false,
      configSchema: z.toJSONSchema(e.configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
    }))
  }
}

/**
 * `inventorySync`: the database side of `inventory_sync`; `checkmkDevices`: that of `compare_devices` and
 * `sync_devices` (without its port, a job type is not offered); `nautobot`: the write-back of `config_backup` and
 * `prefix_scan` (without it, those options skip or fail with a reason).
 */
export function createDefaultRegistry(ports: { inventorySync?: InventorySyncPort; checkmkDevices?: CheckmkDevicesPort; nautobot?: NautobotWriteBackPort; outbound?: OutboundPolicy } = {}): ExecutorRegistry {
  return new ExecutorRegistry([
    commandExecutor as JobExecutor,
    createConfigBackupExecutor({ nautobot: ports.nautobot }) as JobExecutor,
    noopExecutor as JobExecutor,
    scriptExecutor as JobExecutor,
    fileTransferExecutor as JobExecutor,
    (ports.outbound ? createHttpExecutor(ports.outbound) : httpExecutor) as JobExecutor,
    createPrefixScanExecutor({ nautobot: ports.nautobot }) as JobExecutor,
    ansiblePlaybookExecutor as JobExecutor,
    ...(ports.inventorySync ? [createInventorySyncExecutor(ports.inventorySync) as JobExecutor] : []),
    ...(ports.checkmkDevices ? [createCompareDevicesExecutor(ports.checkmkDevices, ports.outbound) as JobExecutor, createSyncDevicesExecutor(ports.checkmkDevices, ports.outbound) as JobExecutor] : []),
  ])
}
