/**
 * The `config_backup` job type: runs read-only commands (`show running-config`, `cat /etc/…`) over SSH on
 * every target, strips volatile lines, writes each output into a Git repository at a path template and
 * makes ONE commit per run, pushed to the configured remote.
 *
 * Two phases. Fetch: targets are independent (at most maxParallelTargets at once); one that cannot be
 * reached fails on its own. Store: the outputs of every target that answered are written into a fresh
 * private clone, staged, compared with the branch head, committed once and pushed (a push rejected by a
 * concurrent update is retried on a fresh clone). A cancel before the push leaves the remote untouched.
 */
import { GitError, type GitRemote } from '../../../git/workdir.ts'
import { SshError } from '../../../ssh/ssh-error.ts'
import { coerceError } from '../../../util/errors.ts'
import { Semaphore } from '../../../util/semaphore.ts'
import type { ExecutionOutcome, JobExecutor, RunTargetHandle } from '../types.ts'
import type { NautobotWriteBackPort } from '../nautobot-port.ts'
import { writeBackupTimes } from './nautobot.ts'
import { abortReport } from '../target-support.ts'
import { fetchTarget } from './fetch.ts'
import { planFiles, type Fetched, type PlannedFile } from './files.ts'
import { configSchema, credentialRefs, type Context } from './schema.ts'
import { gitRemote, recordBackupTime, store, type TargetSummary } from './store.ts'

/** `nautobot`: the write-back to Nautobot (`nautobotWriteBack`); without it such targets are skipped with a reason. */
export function createConfigBackupExecutor(options: { nautobot?: NautobotWriteBackPort } = {}): JobExecutor<typeof configSchema> {
  return { ...configBackupExecutor, execute: (ctx) => execute(ctx, options.nautobot) }
}

export const configBackupExecutor: JobExecutor<typeof configSchema> = {
  type: 'config_backup',
  label: 'Config backup to Git',
  description: 'Fetches device or server configuration over SSH and commits it to a Git repository, one commit per run.',
  configSchema,
  usesTargets: true,
  credentialRefs,
  execute: (ctx) => execute(ctx, undefined),
}

async function execute(ctx: Context, nautobot: NautobotWriteBackPort | undefined): Promise<ExecutionOutcome> {
  const slots = new Semaphore(Math.max(1, Math.floor(ctx.maxParallelTargets)))
  const failed = new Map<string, string>()
  const fail = (target: RunTargetHandle, error: string, retryable: boolean) => {
    failed.set(target.name, error)
    ctx.log.system(error, { level: 'ERROR', runTargetId: target.id })
    ctx.targetFinished(target.id, { status: 'FAILED', error, retryable })
  }
  const base = { repository: ctx.config.repository, branch: ctx.config.branch }
  // A missing key fails the run before any target is contacted: there would be nowhere to store the result.
  let remote: GitRemote
  try {
    remote = gitRemote(ctx)
  } catch (err) {
    const error = coerceError(err).message
    ctx.log.system(error, { level: 'ERROR' })
    for (const target of ctx.targets) {
      ctx.targetStarted(target.id)
      ctx.targetFinished(target.id, { status: 'FAILED', error, retryable: false })
    }
    return { result: { ...base, commit: null, changed: 0, unchanged: 0, failed: ctx.targets.length } }
  }
  // Plan every file first: a template mistake or two targets writing the same file fail before any login.
  const owners = new Map<string, string>()
  const planned: Array<{ target: RunTargetHandle; files: PlannedFile[] }> = []
  for (const target of ctx.targets) {
    try {
      const files = planFiles(ctx, target)
      const clash = files.find((f) => owners.has(f.path))
      if (clash) throw new Error(`file ${clash.path} is also written by target ${owners.get(clash.path)}: make the path template unique per target`)
      for (const f of files) owners.set(f.path, target.name)
      planned.push({ target, files })
    } catch (err) {
      ctx.targetStarted(target.id)
      fail(target, coerceError(err).message, false)
    }
  }

  const fetched: Fetched[] = []
  await Promise.all(
    planned.map(async ({ target, files }) => {
      try {
        const contents = await slots.use(() => {
          ctx.targetStarted(target.id)
          return fetchTarget(ctx, target, files)
        }, ctx.signal)
        fetched.push({ target, files: files.map((f, i) => ({ ...f, content: contents[i]! })) })
      } catch (thrown) {
        if (ctx.signal.aborted) {
          ctx.targetFinished(target.id, abortReport(ctx.signal))
          return
        }
        const err = coerceError(thrown)
        fail(target, err.message, err instanceof SshError ? err.retryable : true)
      }
    }),
  )
  // Keep the run's target order (commit body, result), whatever order the fetches finished in.
  fetched.sort((a, b) => ctx.targets.indexOf(a.target) - ctx.targets.indexOf(b.target))

  const counts = (summaries: Map<string, TargetSummary>) => {
    const changed = [...summaries.values()].filter((s) => s.changed).length
    return { changed, unchanged: summaries.size - changed, failed: failed.size }
  }
  if (ctx.signal.aborted) {
    for (const f of fetched) ctx.targetFinished(f.target.id, abortReport(ctx.signal))
    return { result: { ...base, commit: null, changed: 0, unchanged: 0, failed: failed.size } }
  }
  if (fetched.length === 0) {
    ctx.log.system('no target answered: nothing to commit', { level: 'WARNING' })
    return { result: { ...base, commit: null, changed: 0, unchanged: 0, failed: failed.size } }
  }

  try {
    const { commit, summaries } = await store(ctx, remote, fetched, failed)
    const backupAt = new Date()
    await recordBackupTime(ctx, fetched, backupAt)
    // After the push: the backup is stored whatever Nautobot says.
    const written = await writeBackupTimes(ctx, nautobot, fetched.map((f) => f.target), backupAt)
    for (const f of fetched) {
      const s = summaries.get(f.target.id)!
      const diffSummary = `+${s.added} -${s.deleted}`
      ctx.log.system(s.changed ? `changed (${diffSummary})` : 'unchanged', { runTargetId: f.target.id })
      const nb = written.get(f.target.id)
      const strictFailure = nb?.status === 'FAILED' && ctx.config.nautobotWriteBack?.strict
      ctx.targetFinished(f.target.id, {
        status: strictFailure ? 'FAILED' : 'SUCCEEDED',
        error: strictFailure ? `backup stored, but the Nautobot write-back failed: ${nb.reason}` : null,
        retryable: false,
        result: { changed: s.changed, diffSummary, files: f.files.map((x) => x.path), commit: s.changed ? commit : null, ...(nb ? { nautobot: nb } : {}) },
      })
    }
    return { result: { ...base, commit, ...counts(summaries) } }
  } catch (thrown) {
    if (ctx.signal.aborted) {
      ctx.log.system('cancelled before the backup was pushed: the repository is unchanged', { level: 'WARNING' })
      for (const f of fetched) ctx.targetFinished(f.target.id, abortReport(ctx.signal))
    } else {
      const err = coerceError(thrown)
      const error = `could not store the backup in ${ctx.config.repository} (branch ${ctx.config.branch}): ${err.message}`
      ctx.log.system(error, { level: 'ERROR' })
      for (const f of fetched) ctx.targetFinished(f.target.id, { status: 'FAILED', error, retryable: !(err instanceof GitError && err.kind === 'not_found') })
    }
    return { result: { ...base, commit: null, changed: 0, unchanged: 0, failed: failed.size + fetched.length } }
  }
}
