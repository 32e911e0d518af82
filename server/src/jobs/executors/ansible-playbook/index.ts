/**
 * The `ansible_playbook` job type: runs Debian's `ansible-playbook` once for the whole run, with an inventory
 * generated from the run's targets (host names = target names, or an alias for a name that is not a plain
 * host name: see inventory.ts) and their credentials.
 *
 * Host keys are pinned: ansible's OpenSSH gets a known_hosts with exactly the key Switchyard trusts for each
 * target (recorded on first contact, by this or any other job type) and strict checking.
 *
 * Everything ansible needs (playbook, inventory, keys, extra vars, known_hosts, HOME, local temp) lives in a
 * private temp dir (0700, files 0600) that is always removed, also on cancel. ansible-playbook runs in the
 * sandbox (sandbox/process-sandbox.ts): as the unprivileged run-as user, with a clean environment. The
 * playbook is code that runs on the worker (lookups, `delegate_to: localhost`, `connection: local`), so only
 * the roles in SWITCHYARD_WORKER_CODE_ROLES may author these templates (`executesWorkerCode`). Output lines are classified
 * (PLAY/TASK/ok → INFO, changed → WARNING, fatal/failed/unreachable → ERROR) and tagged with the target when
 * they name a host; the PLAY RECAP gives each target its counts and status.
 */
import { existsSync } from 'node:fs'
import { coerceError } from '../../../util/errors.ts'
import { abortReport } from '../target-support.ts'
import type { JobExecutor, RunTargetHandle, TargetReport } from '../types.ts'
import { configSchema, type AnsibleToolPaths, type Context } from './config.ts'
import { pinHostKeys } from './host-keys.ts'
import { inventoryNames, prepareDir, renderExtraVars } from './inventory.ts'
import { runPlaybook } from './run.ts'

export function createAnsiblePlaybookExecutor(paths: AnsibleToolPaths = {}): JobExecutor<typeof configSchema> {
  const tools = { ansiblePlaybook: paths.ansiblePlaybook ?? '/usr/bin/ansible-playbook', sshpass: paths.sshpass ?? '/usr/bin/sshpass', sshKeyscan: paths.sshKeyscan ?? 'ssh-keyscan' }
  return {
    type: 'ansible_playbook',
    label: 'Ansible playbook',
    description: 'Runs an Ansible playbook against the targets (inventory and credentials generated per run).',
    configSchema,
    usesTargets: true,
    executesWorkerCode: true,
    execute: (ctx) => execute(ctx, tools),
  }
}

export const ansiblePlaybookExecutor = createAnsiblePlaybookExecutor()

async function execute(ctx: Context, tools: Required<AnsibleToolPaths>) {
  const reported = new Set<string>()
  const finish = (target: RunTargetHandle, report: TargetReport) => {
    if (reported.has(target.id)) return
    reported.add(target.id)
    if (report.status === 'FAILED' && report.error) ctx.log.system(`${target.name}: ${report.error}`, { level: 'ERROR', runTargetId: target.id })
    ctx.targetFinished(target.id, report)
  }
  if (ctx.signal.aborted) {
    for (const t of ctx.targets) finish(t, abortReport(ctx.signal))
    return {}
  }
  let extraVars: Record<string, unknown>
  try {
    extraVars = renderExtraVars(ctx)
  } catch (err) {
    const error = `extra vars: ${coerceError(err).message}`
    for (const t of ctx.targets) finish(t, { status: 'FAILED', error, retryable: false })
    return { error }
  }
  const hasSshpass = existsSync(tools.sshpass)
  const usable: RunTargetHandle[] = []
  const seen = new Set<string>()
  for (const t of ctx.targets) {
    if (!t.credential) finish(t, { status: 'FAILED', error: `target ${t.name} has no credential`, retryable: false })
    else if (t.credential.kind === 'PASSWORD' && !hasSshpass)
      finish(t, { status: 'FAILED', error: `password login needs sshpass, which is not installed (${tools.sshpass}); use a key credential or install sshpass`, retryable: false })
    else if (t.credential.kind === 'PRIVATE_KEY' && t.credential.passphrase)
      finish(t, { status: 'FAILED', error: 'passphrase-protected keys are not supported by ansible_playbook; use a key without passphrase', retryable: false })
    else if (seen.has(t.name)) finish(t, { status: 'FAILED', error: `another target of this run is also named ${t.name}`, retryable: false })
    else {
      seen.add(t.name)
      usable.push(t)
    }
  }
  if (usable.length === 0) return {}

  for (const t of usable) ctx.targetStarted(t.id)
  const pinned = await pinHostKeys(ctx, tools, usable, finish)
  const reachable = usable.filter((t) => pinned.has(t.id))
  if (ctx.signal.aborted) {
    for (const t of usable) finish(t, abortReport(ctx.signal))
    return {}
  }
  if (reachable.length === 0) return {}

  const hosts = inventoryNames(reachable)
  for (const [name, t] of hosts) {
    if (name !== t.name) ctx.log.system(`${t.name} is not a plain host name: it is ${name} in the inventory and the output`, { level: 'INFO', runTargetId: t.id })
  }
  try {
    return await ctx.sandbox.withPrivateDir(
      'switchyard-ansible-',
      (dir) => prepareDir(ctx, dir, hosts, extraVars, pinned),
      async (dir) => {
        if (ctx.sandbox.runAs) ctx.log.system(`local processes of this run run as ${ctx.sandbox.runAs.name} (SWITCHYARD_RUN_AS_USER)`, { level: 'INFO' })
        ctx.log.system(`running ansible-playbook on ${reachable.length} host(s) in ${dir}`, { level: 'INFO' })
        const run = await runPlaybook(ctx, tools, dir, hosts)
        if (ctx.signal.aborted) {
          for (const t of reachable) finish(t, { ...abortReport(ctx.signal), outputTail: run.tails.get(t.id)?.join('\n') ?? '' })
          return { result: { exitCode: run.exitCode } }
        }
        const abnormal = run.exitCode !== 0 && run.exitCode !== 2 && run.exitCode !== 4
        const exitText = run.exitCode === null ? `ansible-playbook was killed by ${run.signal}` : `ansible-playbook exited with code ${run.exitCode}`
        for (const t of reachable) {
          const counts = run.recap.get(t.id)
          const outputTail = run.tails.get(t.id)?.join('\n') ?? ''
          if (!counts) {
            if (run.exitCode === 0 && ctx.config.limit) finish(t, { status: 'SKIPPED', exitCode: 0, error: 'not matched by the limit', outputTail })
            else finish(t, { status: 'FAILED', exitCode: run.exitCode, error: `not in the PLAY RECAP: ${exitText}${run.lastError ? ` (${run.lastError})` : ''}`, retryable: false, outputTail })
          } else if (counts.unreachable > 0) {
            finish(t, { status: 'FAILED', exitCode: run.exitCode, error: run.hostErrors.get(t.id) ?? 'host unreachable', retryable: true, outputTail, result: counts })
          } else if (counts.failed > 0) {
            finish(t, { status: 'FAILED', exitCode: run.exitCode, error: run.hostErrors.get(t.id) ?? `${counts.failed} task(s) failed`, retryable: false, outputTail, result: counts })
          } else if (abnormal) {
            finish(t, { status: 'FAILED', exitCode: run.exitCode, error: exitText, retryable: false, outputTail, result: counts })
          } else {
            finish(t, { status: 'SUCCEEDED', exitCode: run.exitCode, error: null, outputTail, result: counts })
          }
        }
        return { result: { exitCode: run.exitCode, checkMode: ctx.config.checkMode } }
      },
    )
  } catch (err) {
    const report: TargetReport = ctx.signal.aborted ? abortReport(ctx.signal) : { status: 'FAILED', error: coerceError(err).message, retryable: false }
    for (const t of reachable) finish(t, report)
    return {}
  }
}
