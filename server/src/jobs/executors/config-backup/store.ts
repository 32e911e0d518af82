/**
 * The store phase: the Git remote (with its authentication) from the config, then one commit of every
 * fetched output, pushed (retried on a fresh clone when the branch moved), and the backup time recorded
 * on the targets.
 */
import { GitError, withGitWorkdir, type FileChange, type GitRemote } from '../../../git/workdir.ts'
import { remoteKind } from '../../../git/remote.ts'
import { sshFingerprint } from '../../../ssh/known-hosts.ts'
import { coerceError } from '../../../util/errors.ts'
import { requireCredential } from '../credential-ref.ts'
import type { Fetched } from './files.ts'
import { renderPlain, today } from './placeholders.ts'
import type { Context } from './schema.ts'

const PUSH_ATTEMPTS = 3

export interface TargetSummary {
  changed: boolean
  added: number
  deleted: number
}

/** Writes, compares, commits and pushes; retried on a fresh clone when a concurrent push got there first. */
export async function store(ctx: Context, remote: GitRemote, fetched: Fetched[], failed: Map<string, string>): Promise<{ commit: string | null; summaries: Map<string, TargetSummary> }> {
  const { repository, branch } = ctx.config
  const reported = new Set<string>()
  // An unpinned SSH remote: say which key was accepted, so it can be checked and pinned (repositoryHostKeys).
  const onHostKey = (key: string) => {
    if (reported.has(key)) return
    reported.add(key)
    ctx.log.system(`remote host key ${sshFingerprint(key)} accepted without pinning; to pin it, set repositoryHostKeys to ["${key}"]`, { level: 'WARNING' })
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await withGitWorkdir(remote, ctx.sandbox, ctx.signal, async (wd) => {
        ctx.log.system(`checked out ${wd.branchExisted ? `branch ${branch}` : `new branch ${branch}`} of ${repository}`)
        for (const f of fetched) for (const file of f.files) await wd.writeFile(file.path, file.content)
        await wd.stage(fetched.flatMap((f) => f.files.map((x) => x.path)))
        const changes = await wd.stagedChanges()
        const summaries = new Map(fetched.map((f) => [f.target.id, summarise(f.files.map((x) => changes.get(x.path)))]))
        const changed = [...summaries.values()].filter((s) => s.changed).length
        if (changed === 0) {
          ctx.log.system(`no configuration changed on ${fetched.length} ${fetched.length === 1 ? 'target' : 'targets'}: nothing committed`)
          return { commit: null, summaries }
        }
        const message = commitMessage(ctx, fetched, summaries, failed)
        ctx.signal.throwIfAborted()
        const commit = await wd.commit(message, { name: ctx.config.authorName, email: ctx.config.authorEmail })
        // Last point of no return: a cancel from here on still leaves the remote as it was.
        ctx.signal.throwIfAborted()
        await wd.push()
        ctx.log.system(`committed ${commit.slice(0, 12)} (${changed} of ${fetched.length} ${fetched.length === 1 ? 'target' : 'targets'} changed) and pushed to ${branch}`)
        return { commit, summaries }
      }, { onHostKey })
    } catch (err) {
      if (err instanceof GitError && err.kind === 'rejected' && attempt < PUSH_ATTEMPTS && !ctx.signal.aborted) {
        ctx.log.system(`push rejected (the branch moved meanwhile): retrying on a fresh clone (${attempt}/${PUSH_ATTEMPTS - 1})`, { level: 'WARNING' })
        continue
      }
      throw err
    }
  }
}


/**
 * The remote to store into, with its authentication: the stored credential named by
 * `repositoryCredentialId`, or (SSH only) the private key in the SECRET template parameter named by
 * `repositoryKeyParameter`. Secrets are never logged and never put in an error.
 */
export function gitRemote(ctx: Context): GitRemote {
  const { repository, branch, repositoryKeyParameter, repositoryCredentialId, repositoryHostKeys, repositoryCaCertificate, connectTimeoutSeconds } = ctx.config
  const remote: GitRemote = { url: repository, branch, connectTimeoutSeconds, hostKeys: repositoryHostKeys, caCertificate: repositoryCaCertificate }
  const kind = remoteKind(repository)
  if (kind === 'local') return { url: repository, branch }
  if (repositoryCredentialId) {
    const c = requireCredential(ctx.credentials, repositoryCredentialId, 'repositoryCredentialId')
    if (kind === 'ssh') {
      if (c.kind !== 'PRIVATE_KEY') throw new Error('repositoryCredentialId: an ssh repository needs a PRIVATE_KEY credential')
      return { ...remote, auth: { kind: 'ssh-key', privateKey: c.privateKey, passphrase: c.passphrase, user: c.username } }
    }
    if (c.kind !== 'PASSWORD') throw new Error('repositoryCredentialId: an https repository needs a PASSWORD credential (user name + password or access token)')
    return { ...remote, auth: { kind: 'password', username: c.username, password: c.password } }
  }
  if (kind === 'https') return remote
  const source = `template parameter "${repositoryKeyParameter ?? ''}" (repositoryKeyParameter)`
  if (!repositoryKeyParameter) throw new Error(`${repository} is an ssh remote: it needs repositoryCredentialId or repositoryKeyParameter`)
  const value = ctx.parameters[repositoryKeyParameter]
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`${source} is missing or empty: it must hold the private key that may push to ${repository}`)
  }
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(value)) {
    throw new Error(`${source} does not hold a private key (expected "-----BEGIN … PRIVATE KEY-----")`)
  }
  return { ...remote, auth: { kind: 'ssh-key', privateKey: value } }
}

/** Sets `backupTimeAttribute` on every target whose backup is now in the repository (changed or unchanged). */
export async function recordBackupTime(ctx: Context, stored: Fetched[], when: Date): Promise<void> {
  const attribute = ctx.config.backupTimeAttribute
  if (!attribute) return
  const at = when.toISOString()
  for (const f of stored) {
    try {
      await ctx.setTargetAttributes(f.target.id, { [attribute]: at })
    } catch (err) {
      // The backup itself is stored: a failed attribute update is worth a warning, not a failed target.
      ctx.log.system(`could not set attribute ${attribute}: ${coerceError(err).message}`, { level: 'WARNING', runTargetId: f.target.id })
    }
  }
  ctx.log.system(`attribute ${attribute} set to ${at} on ${stored.length} ${stored.length === 1 ? 'target' : 'targets'}`)
}

function summarise(changes: Array<FileChange | undefined>): TargetSummary {
  const present = changes.filter((c): c is FileChange => c !== undefined)
  return {
    changed: present.length > 0,
    added: present.reduce((n, c) => n + (c.added ?? 0), 0),
    deleted: present.reduce((n, c) => n + (c.deleted ?? 0), 0),
  }
}

function commitMessage(ctx: Context, fetched: Fetched[], summaries: Map<string, TargetSummary>, failed: Map<string, string>): string {
  const changed = [...summaries.values()].filter((s) => s.changed).length
  const vars = {
    targets: fetched.length + failed.size,
    changed,
    unchanged: summaries.size - changed,
    failed: failed.size,
    date: today(),
    branch: ctx.config.branch,
    run: { id: ctx.runId, attempt: ctx.attempt },
  }
  const subject = renderPlain(ctx.config.messageTemplate, vars).replace(/\s*\n\s*/g, ' ')
  const body = [
    ...fetched.map((f) => {
      const s = summaries.get(f.target.id)!
      return `${f.target.name}: ${s.changed ? `changed (+${s.added} -${s.deleted})` : 'unchanged'}`
    }),
    ...[...failed].map(([name, error]) => `${name}: FAILED (${error})`),
  ]
  return `${subject}\n\n${body.join('\n')}\n`
}
