/**
 * The step before the playbook: each target's host key read with ssh-keyscan and checked against the
 * key Switchyard trusts, so ansible's OpenSSH can be given exactly that key.
 */
import { choosePinnedKey, scanHostKeys, type ScannedHostKey } from '../../../ssh/host-key-scan.ts'
import { SshError } from '../../../ssh/ssh-error.ts'
import { coerceError } from '../../../util/errors.ts'
import { Semaphore } from '../../../util/semaphore.ts'
import { recordHostKey } from '../target-support.ts'
import type { RunTargetHandle, TargetReport } from '../types.ts'
import type { AnsibleToolPaths, Context } from './config.ts'

/**
 * Pins each target's host key for ansible's OpenSSH (see ssh/host-key-scan.ts): the key Switchyard
 * recorded, or on first contact the key offered now, which is then recorded. A target whose server
 * cannot be read or offers another key fails here, before the playbook runs.
 */
export async function pinHostKeys(
  ctx: Context,
  tools: Required<AnsibleToolPaths>,
  targets: RunTargetHandle[],
  finish: (target: RunTargetHandle, report: TargetReport) => void,
): Promise<Map<string, ScannedHostKey>> {
  const pinned = new Map<string, ScannedHostKey>()
  const slots = new Semaphore(Math.max(1, Math.min(32, Math.floor(ctx.maxParallelTargets))))
  await Promise.all(
    targets.map((t) =>
      slots
        .use(async () => {
          const scanned = await scanHostKeys(t.host, t.port, { timeoutSeconds: ctx.config.connectTimeoutSeconds, signal: ctx.signal, command: tools.sshKeyscan, sandbox: ctx.sandbox })
          const { key, isNew } = choosePinnedKey(t.host, t.port, t.knownHostKey, scanned)
          if (isNew) await recordHostKey(ctx, t, key, (text, level) => ctx.log.system(text, { level, runTargetId: t.id }))
          pinned.set(t.id, key)
        }, ctx.signal)
        .catch((thrown: unknown) => {
          if (ctx.signal.aborted) return
          const err = coerceError(thrown)
          finish(t, { status: 'FAILED', error: err.message, retryable: err instanceof SshError ? err.retryable : false })
        }),
    ),
  )
  return pinned
}
