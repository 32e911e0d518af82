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
import { z } from 'zod'
import { remoteKind } from '../../git/remote.ts'
import { sshFingerprint } from '../../ssh/known-hosts.ts'
import { credentialIdField, credentialUuid, requireCredential } from './credential-ref.ts'
import { GitError, withGitWorkdir, type FileChange, type GitRemote } from '../../git/workdir.ts'
import { createLineSplitter } from '../../logs/line-splitter.ts'
import { withSshConnection, type HostKey, type SshConnection } from '../../ssh/connection.ts'
import { SshError } from '../../ssh/ssh-error.ts'
import { coerceError } from '../../util/errors.ts'
import { Semaphore } from '../../util/semaphore.ts'
import { renderTemplate, templateVariables } from '../../util/template.ts'
import type { AbortReason, ExecutionContext, JobExecutor, LogLevel, RunTargetHandle, TargetReport } from './types.ts'
import { abortReport } from './target-support.ts'

const MAX_OUTPUT_BYTES = 16 * 1024 * 1024
const PUSH_ATTEMPTS = 3
const PATH_ROOTS = new Set(['target', 'date', 'command', 'params', 'run'])
const MESSAGE_ROOTS = new Set(['targets', 'changed', 'unchanged', 'failed', 'date', 'run', 'branch'])

const commandEntry = z.union([
  z.string().trim().min(1, 'a command must not be empty'),
  z
    .object({
      command: z.string().trim().min(1, 'a command must not be empty').describe('The command to run.'),
      path: z.string().trim().min(1).optional().describe('Where this command\'s output goes (a path template); overrides `pathTemplate`.'),
    })
    .strict(),
])

const configSchema = z
  .object({
    commands: z
      .array(commandEntry)
      .min(1)
      .max(20)
      .describe(
        'Read-only commands run on each target, one file per command: `show running-config`, `cat /etc/hostname`. ' +
          'A plain string is stored at `pathTemplate`; `{ "command": …, "path": … }` names its own file. Placeholders ' +
          '`{{ target.name }}`, `{{ params.x }}` in a command are replaced by single-quoted values.',
      ),
    repository: z
      .string()
      .trim()
      .superRefine((v, issues) => {
        if (remoteKind(v) === 'unsupported') {
          issues.addIssue({
            code: 'custom',
            message:
              'must be an absolute path, a file:/// URL, ssh://user@host[:port]/path, user@host:path or https://host[:port]/path ' +
              '(no spaces; no user or password in an https URL: use repositoryCredentialId)',
          })
        }
      })
      .describe(
        'The Git repository to push to: an absolute path or file:/// URL of a (bare) repository on the worker host; an SSH remote ' +
          '(`ssh://user@host:port/path/repo.git` or `user@host:path/repo.git`) authenticated with a key from `repositoryCredentialId` ' +
          'or `repositoryKeyParameter`; or an HTTPS remote (`https://git.example.net/net/configs.git`) authenticated with the user name ' +
          'and password or access token of `repositoryCredentialId`.',
      ),
    repositoryCredentialId: credentialIdField(
      'A stored credential for the remote: a PRIVATE_KEY credential for an SSH remote (its user name is used when the URL names none; ' +
        'an encrypted key works with its passphrase), a PASSWORD credential (user name + password or access token) for an HTTPS remote.',
    ).optional(),
    repositoryKeyParameter: z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of a template parameter')
      .optional()
      .describe(
        'For an SSH repository, instead of a stored credential: the name of a SECRET template parameter whose value is the private key ' +
          '(OpenSSH or PEM, without passphrase) that may push to the repository.',
      ),
    repositoryHostKeys: z
      .array(z.string().trim().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}$/, 'must be a public key line like "ssh-ed25519 AAAA…" (as in known_hosts, without the host)'))
      .max(10)
      .optional()
      .describe(
        'For an SSH repository: the server\'s host public key(s) (`ssh-ed25519 AAAA…`); only these are accepted. Without them the key ' +
          'is accepted on first contact in each run and written to the run log, ready to be pinned here.',
      ),
    repositoryCaCertificate: z
      .string()
      .trim()
      .regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, 'must be a PEM certificate (-----BEGIN CERTIFICATE----- …)')
      .max(65536)
      .optional()
      .describe('For an HTTPS repository: the PEM certificate of the CA (or of the self-signed server) to trust instead of the system\'s CAs.'),
    backupTimeAttribute: z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'must be an attribute name (letters, digits, _ and -, starting with a letter or _)')
      .optional()
      .describe(
        'When set (e.g. `lastBackupAt`), every target whose backup was stored (changed or unchanged) gets this attribute set to the ' +
          'time of the backup (ISO 8601, UTC). Failed targets keep their previous value.',
      ),
    branch: z
      .string()
      .trim()
      .regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._/-]+$/, 'must be a valid branch name')
      .refine((v) => !v.endsWith('/') && !v.endsWith('.') && !v.endsWith('.lock') && !v.startsWith('/'), 'must be a valid branch name')
      .default('main')
      .describe('Branch to commit to; created when the repository does not have it yet.'),
    pathTemplate: z
      .string()
      .trim()
      .min(1)
      .default('{target.name}/{command.index}.txt')
      .describe(
        'File path in the repository for each output. Placeholders: `{target.name}`, `{target.host}`, ' +
          '`{target.attributes.<name>}`, `{date}` (YYYY-MM-DD, UTC), `{command.index}` (1, 2, …), `{params.<name>}`, `{run.id}`.',
      ),
    stripPatterns: z
      .array(z.string().min(1).refine(isValidRegex, 'must be a valid regular expression'))
      .max(100)
      .default([])
      .describe('Regular expressions (JavaScript syntax); output lines matching any of them are dropped before writing — timestamps, uptime, counters.'),
    authorName: z.string().trim().min(1).max(200).default('Switchyard').describe('Commit author and committer name.'),
    authorEmail: z
      .string()
      .trim()
      .regex(/^[^\s<>@]+@[^\s<>@]+$/, 'must be an e-mail address')
      .default('switchyard@localhost')
      .describe('Commit author and committer e-mail.'),
    messageTemplate: z
      .string()
      .trim()
      .min(1)
      .max(1000)
      .default('Config backup: {targets} targets, {changed} changed, {failed} failed (run {run.id})')
      .describe(
        'First line of the commit message. Placeholders: `{targets}`, `{changed}`, `{unchanged}`, `{failed}`, `{date}`, ' +
          '`{branch}`, `{run.id}`. A line per target (changed, unchanged or failed) follows in the body.',
      ),
    connectTimeoutSeconds: z.number().int().min(1).max(300).default(15).describe('Time allowed per target to connect and log in.'),
  })
  .strict()
  .superRefine((config, issues) => {
    const kind = remoteKind(config.repository)
    const problem = (field: string, message: string) => issues.addIssue({ code: 'custom', path: [field], message })
    if (kind === 'ssh' && !config.repositoryKeyParameter && !config.repositoryCredentialId) {
      problem('repositoryCredentialId', 'an ssh repository needs a credential (or repositoryKeyParameter naming a SECRET parameter that holds the private key)')
    }
    if (config.repositoryKeyParameter && config.repositoryCredentialId) problem('repositoryKeyParameter', 'give either repositoryCredentialId or repositoryKeyParameter, not both')
    if (config.repositoryKeyParameter && kind !== 'ssh') problem('repositoryKeyParameter', 'only used with an ssh repository')
    if (config.repositoryCredentialId && kind === 'local') problem('repositoryCredentialId', 'a local repository takes no credential')
    if (config.repositoryHostKeys?.length && kind !== 'ssh') problem('repositoryHostKeys', 'only used with an ssh repository')
    if (config.repositoryCaCertificate && kind !== 'https') problem('repositoryCaCertificate', 'only used with an https repository')
    checkVariables(config.pathTemplate, PATH_ROOTS, ['pathTemplate'], issues)
    checkVariables(config.messageTemplate, MESSAGE_ROOTS, ['messageTemplate'], issues)
    config.commands.forEach((c, i) => {
      if (typeof c !== 'string' && c.path) checkVariables(c.path, PATH_ROOTS, ['commands', i, 'path'], issues)
    })
    const sharesTemplate = config.commands.filter((c) => typeof c === 'string' || !c.path).length
    if (sharesTemplate > 1 && !placeholders(config.pathTemplate).some((v) => v.startsWith('command.'))) {
      issues.addIssue({
        code: 'custom',
        path: ['pathTemplate'],
        message: 'several commands share this template: it must contain {command.index} (or give each command its own path)',
      })
    }
  })

export type ConfigBackupConfig = z.output<typeof configSchema>
type Context = ExecutionContext<ConfigBackupConfig>

interface PlannedFile {
  index: number
  command: string
  path: string
}
interface Fetched {
  target: RunTargetHandle
  files: Array<PlannedFile & { content: string }>
}
interface TargetSummary {
  changed: boolean
  added: number
  deleted: number
}

export const configBackupExecutor: JobExecutor<typeof configSchema> = {
  type: 'config_backup',
  label: 'Config backup to Git',
  description: 'Fetches device or server configuration over SSH and commits it to a Git repository, one commit per run.',
  configSchema,
  usesTargets: true,
  credentialRefs(config) {
    if (!config.repositoryCredentialId) return []
    const ssh = remoteKind(config.repository) === 'ssh'
    return [
      {
        path: ['repositoryCredentialId'],
        id: credentialUuid(config.repositoryCredentialId)!,
        kinds: ssh ? ['PRIVATE_KEY'] : ['PASSWORD'],
        purpose: ssh ? 'an ssh repository needs a PRIVATE_KEY credential' : 'an https repository needs a PASSWORD credential (user name + password or access token)',
      },
    ]
  },
  async execute(ctx) {
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
      await recordBackupTime(ctx, fetched)
      for (const f of fetched) {
        const s = summaries.get(f.target.id)!
        const diffSummary = `+${s.added} -${s.deleted}`
        ctx.log.system(s.changed ? `changed (${diffSummary})` : 'unchanged', { runTargetId: f.target.id })
        ctx.targetFinished(f.target.id, {
          status: 'SUCCEEDED',
          error: null,
          result: { changed: s.changed, diffSummary, files: f.files.map((x) => x.path), commit: s.changed ? commit : null },
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
  },
}

/** Writes, compares, commits and pushes; retried on a fresh clone when a concurrent push got there first. */
async function store(ctx: Context, remote: GitRemote, fetched: Fetched[], failed: Map<string, string>): Promise<{ commit: string | null; summaries: Map<string, TargetSummary> }> {
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
      return await withGitWorkdir(remote, ctx.signal, async (wd) => {
        ctx.log.system(`checked out ${wd.branchExisted ? `branch ${branch}` : `new branch ${branch}`} of ${repository}`)
        for (const f of fetched) for (const file of f.files) await wd.writeFile(file.path, file.content)
        await wd.stage(fetched.flatMap((f) => f.files.map((x) => x.path)))
        const changes = await wd.stagedChanges()
        const summaries = new Map(fetched.map((f) => [f.target.id, summarise(f.files.map((x) => changes.get(x.path)))]))
        const changed = [...summaries.values()].filter((s) => s.changed).length
        if (changed === 0) {
          ctx.log.system(`no configuration changed on ${fetched.length} target(s): nothing committed`)
          return { commit: null, summaries }
        }
        const message = commitMessage(ctx, fetched, summaries, failed)
        ctx.signal.throwIfAborted()
        const commit = await wd.commit(message, { name: ctx.config.authorName, email: ctx.config.authorEmail })
        // Last point of no return: a cancel from here on still leaves the remote as it was.
        ctx.signal.throwIfAborted()
        await wd.push()
        ctx.log.system(`committed ${commit.slice(0, 12)} (${changed} of ${fetched.length} target(s) changed) and pushed to ${branch}`)
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
function gitRemote(ctx: Context): GitRemote {
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
async function recordBackupTime(ctx: Context, stored: Fetched[]): Promise<void> {
  const attribute = ctx.config.backupTimeAttribute
  if (!attribute) return
  const at = new Date().toISOString()
  for (const f of stored) {
    try {
      await ctx.setTargetAttributes(f.target.id, { [attribute]: at })
    } catch (err) {
      // The backup itself is stored: a failed attribute update is worth a warning, not a failed target.
      ctx.log.system(`could not set attribute ${attribute}: ${coerceError(err).message}`, { level: 'WARNING', runTargetId: f.target.id })
    }
  }
  ctx.log.system(`attribute ${attribute} set to ${at} on ${stored.length} target(s)`)
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

function planFiles(ctx: Context, target: RunTargetHandle): PlannedFile[] {
  const vars = {
    target: { name: target.name, host: target.host, port: target.port, tags: target.tags, attributes: target.attributes },
    date: today(),
    params: ctx.parameters,
    run: { id: ctx.runId, attempt: ctx.attempt },
  }
  const shellVars = { ...ctx.parameters, params: ctx.parameters, target: vars.target }
  const files = ctx.config.commands.map((entry, i) => {
    const raw = typeof entry === 'string' ? entry : entry.command
    const template = typeof entry === 'string' ? ctx.config.pathTemplate : (entry.path ?? ctx.config.pathTemplate)
    const command = renderTemplate(raw, shellVars, { quote: 'shell' })
    const path = safeRelativePath(renderPlain(template, { ...vars, command: { index: i + 1 } }))
    return { index: i + 1, command, path }
  })
  const dup = files.find((f, i) => files.findIndex((g) => g.path === f.path) !== i)
  if (dup) throw new Error(`two commands write the same file ${dup.path}: use {command.index} or per-command paths`)
  return files
}

/** Runs every command on one target and returns each one's output, cleaned. */
async function fetchTarget(ctx: Context, target: RunTargetHandle, files: PlannedFile[]): Promise<string[]> {
  const log = (text: string, level?: LogLevel) => ctx.log.system(text, { level, runTargetId: target.id })
  if (!target.credential) throw SshError.noCredential(target.name)
  log(`connecting to ${target.host}:${target.port}`)
  const endpoint = {
    host: target.host,
    port: target.port,
    credential: target.credential,
    knownHostKey: target.knownHostKey,
    readyTimeoutMs: ctx.config.connectTimeoutSeconds * 1000,
  }
  const options = {
    signal: ctx.signal,
    handshakeLimiter: ctx.handshakeLimiter,
    onNewHostKey: async (key: HostKey) => {
      try {
        await ctx.recordHostKey(target.id, key)
        log(`host key ${key.fingerprint} (${key.algorithm}) recorded on first contact`)
      } catch (err) {
        log(`could not record the host key ${key.fingerprint}: ${coerceError(err).message}`, 'WARNING')
      }
    },
  }
  const patterns = ctx.config.stripPatterns.map((p) => new RegExp(p))
  return withSshConnection(endpoint, options, async (connection) => {
    const outputs: string[] = []
    for (const file of files) outputs.push(await fetchOne(ctx, connection, target, file, files.length, patterns, log))
    return outputs
  })
}

async function fetchOne(
  ctx: Context,
  connection: SshConnection,
  target: RunTargetHandle,
  file: PlannedFile,
  total: number,
  patterns: RegExp[],
  log: (text: string, level?: LogLevel) => void,
): Promise<string> {
  log(`$ ${file.command}`)
  const chunks: Buffer[] = []
  let size = 0
  const stderr = createLineSplitter((line) => ctx.log.output(target.id, 'STDERR', line))
  let result
  try {
    result = await connection.exec(file.command, {
      signal: ctx.signal,
      onStdout: (chunk) => {
        size += chunk.length
        if (size <= MAX_OUTPUT_BYTES) chunks.push(chunk)
      },
      onStderr: (chunk) => stderr.push(chunk),
    })
  } finally {
    stderr.flush()
  }
  const which = `command ${file.index} of ${total} (${file.command})`
  if (result.exitCode !== null && result.exitCode !== 0) throw new Error(`${which} exited with code ${result.exitCode}`)
  if (result.exitCode === null && result.signal !== null) throw new Error(`${which} was terminated by signal ${result.signal}`)
  if (size > MAX_OUTPUT_BYTES) throw new Error(`${which} printed more than ${MAX_OUTPUT_BYTES / 1024 / 1024} MiB`)
  const { text, lines, stripped } = clean(Buffer.concat(chunks).toString('utf8'), patterns)
  log(`${lines} line(s) for ${file.path}${stripped ? `, ${stripped} volatile line(s) stripped` : ''}`)
  return text
}

/** Unix line ends, volatile lines removed, a final newline. */
export function clean(output: string, patterns: readonly RegExp[]): { text: string; lines: number; stripped: number } {
  const all = output.replace(/\r\n?/g, '\n').split('\n')
  if (all.at(-1) === '') all.pop()
  const kept = all.filter((line) => !patterns.some((p) => p.test(line)))
  return { text: kept.length ? `${kept.join('\n')}\n` : '', lines: kept.length, stripped: all.length - kept.length }
}

/** `{a.b}` (the documented form) and `{{ a.b }}` (as in commands) both work in paths and messages. */
function toDoubleBraces(text: string): string {
  return text.replace(/\{\{?\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.(?:[A-Za-z_][A-Za-z0-9_-]*|\d+))*)\s*\}?\}/g, '{{$1}}')
}

function renderPlain(text: string, vars: Record<string, unknown>): string {
  return renderTemplate(toDoubleBraces(text), vars, { quote: 'none' })
}

function placeholders(text: string): string[] {
  return templateVariables(toDoubleBraces(text))
}

function checkVariables(text: string, roots: ReadonlySet<string>, path: Array<string | number>, issues: z.RefinementCtx): void {
  for (const v of placeholders(text)) {
    const root = v.split('.')[0]!
    if (!roots.has(root)) issues.addIssue({ code: 'custom', path, message: `unknown placeholder {${v}}; known: ${[...roots].map((r) => `{${r}…}`).join(', ')}` })
    else if (root === 'command' && v !== 'command.index') issues.addIssue({ code: 'custom', path, message: `unknown placeholder {${v}}; use {command.index}` })
  }
}

/** A relative path inside the working copy: no absolute paths, no `..`, nothing inside `.git`. */
function safeRelativePath(path: string): string {
  if (path.startsWith('/') || path.includes('\\') || /[\u0000-\u001f]/.test(path)) {
    throw new Error(`file path "${path}" must be relative, without backslashes or control characters`)
  }
  const parts = path.split('/').filter((p) => p !== '')
  if (parts.length === 0) throw new Error('the file path is empty')
  for (const part of parts) {
    if (part === '.' || part === '..' || part.toLowerCase() === '.git') throw new Error(`file path "${path}" must not contain "${part}"`)
  }
  return parts.join('/')
}

function isValidRegex(pattern: string): boolean {
  try {
    new RegExp(pattern)
    return true
  } catch {
    return false
  }
}

function today(): string {
  return new Date().toISOString().slice(0, 10)
}
