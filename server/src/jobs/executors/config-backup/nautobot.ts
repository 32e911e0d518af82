/**
 * config_backup's write-back: sets a Nautobot device custom field to the backup time on every target whose
 * backup is stored and that came from a Nautobot inventory source (its `sourceId`, and the device id the
 * sync keeps in the `nautobot_id` attribute). One session per source, a few writes at a time.
 *
 * Never fails the backup: each target gets a result — written / unchanged / skipped (why) / failed (why) —
 * and a failure is a warning on that target, unless `strict` (then the target fails; the backup stays stored).
 */
import { coerceError } from '../../../util/errors.ts'
import { Semaphore } from '../../../util/semaphore.ts'
import { customFieldTime, type NautobotSession, type NautobotWriteBackPort } from '../nautobot-port.ts'
import type { RunTargetHandle } from '../types.ts'
import type { Context } from './schema.ts'

export interface DeviceWriteResult {
  status: 'WRITTEN' | 'UNCHANGED' | 'SKIPPED' | 'FAILED'
  field: string
  value?: string
  deviceId?: string
  reason?: string
}

const WRITES_AT_ONCE = 4

export async function writeBackupTimes(ctx: Context, port: NautobotWriteBackPort | undefined, targets: readonly RunTargetHandle[], at: Date): Promise<Map<string, DeviceWriteResult>> {
  const results = new Map<string, DeviceWriteResult>()
  const opts = ctx.config.nautobotWriteBack
  if (!opts) return results
  const field = opts.customField
  const value = customFieldTime(opts.fieldType, at)
  const bySource = new Map<string, Array<{ target: RunTargetHandle; deviceId: string }>>()
  for (const target of targets) {
    const deviceId = target.attributes.nautobot_id
    if (!target.sourceId) results.set(target.id, { status: 'SKIPPED', field, reason: 'the target did not come from an inventory source' })
    else if (typeof deviceId !== 'string' || !deviceId) results.set(target.id, { status: 'SKIPPED', field, reason: 'the target has no nautobot_id attribute (sync its source again)' })
    else if (!port) results.set(target.id, { status: 'SKIPPED', field, reason: 'this worker has no Nautobot write-back' })
    else bySource.set(target.sourceId, [...(bySource.get(target.sourceId) ?? []), { target, deviceId }])
  }
  const slots = new Semaphore(WRITES_AT_ONCE)
  await Promise.all(
    [...bySource].map(async ([sourceId, items]) => {
      let session: NautobotSession
      try {
        session = await port!.open({ runId: ctx.runId, sourceId, signal: ctx.signal })
      } catch (err) {
        const reason = `cannot write to the inventory source: ${coerceError(err).message}`
        for (const { target, deviceId } of items) results.set(target.id, { status: 'FAILED', field, deviceId, reason })
        return
      }
      await Promise.all(
        items.map(({ target, deviceId }) =>
          slots.use(async () => {
            try {
              const did = await session.setDeviceField(deviceId, field, value)
              results.set(
                target.id,
                did === 'missing'
                  ? { status: 'SKIPPED', field, deviceId, reason: `device ${deviceId} is no longer in Nautobot (${session.sourceName})` }
                  : { status: did === 'written' ? 'WRITTEN' : 'UNCHANGED', field, value, deviceId },
              )
            } catch (err) {
              results.set(target.id, { status: 'FAILED', field, deviceId, reason: coerceError(err).message })
            }
          }, ctx.signal).catch(() => results.set(target.id, { status: 'FAILED', field, deviceId, reason: 'run cancelled before the write' })),
        ),
      )
    }),
  )
  for (const target of targets) {
    const r = results.get(target.id)!
    const text =
      r.status === 'WRITTEN' ? `Nautobot: ${field} set to ${value}`
      : r.status === 'UNCHANGED' ? `Nautobot: ${field} already ${value}`
      : `Nautobot: ${field} ${r.status === 'SKIPPED' ? 'not written' : 'write failed'}: ${r.reason}`
    ctx.log.system(text, { runTargetId: target.id, ...(r.status === 'FAILED' ? { level: 'WARNING' as const } : {}) })
  }
  return results
}
