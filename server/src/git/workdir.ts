/**
 * A private, throw-away working copy of one branch of a remote repository: `withGitWorkdir(remote, fn)`
 * creates it in a fresh temp directory (mode 0700, its own HOME), checks the branch out (or starts it when
 * the remote does not have it yet), hands `fn` the working copy, and always removes the directory.
 *
 * git runs in the sandbox (the run-as user), and its directory belongs to that user; root does not write
 * into it once git has started (another run's code, as the same user, could swap a path for a symlink).
 * So the files a run stores are written by root into a separate staging directory only root can write
 * (readable by the run-as group) and staged from there with `--work-tree`.
 */
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ProcessSandbox } from '../sandbox/process-sandbox.ts'
import { GitError, runGit } from './git.ts'
import { knownHostsLines, normalisePrivateKey } from '../ssh/known-hosts.ts'
import { remoteKind, sshCommand, sshEndpoint } from './remote.ts'

export interface GitRemote {
  /** An absolute path or file:// URL of a (usually bare) repository, an SSH or an HTTPS remote (see remote.ts). */
  url: string
  branch: string
  /** How to authenticate to an SSH or HTTPS remote; nothing for a local repository. */
  auth?: GitRemoteAuth
  /**
   * For an SSH remote: the server's public keys (`ssh-ed25519 AAAA…`). When given, only they are accepted;
   * otherwise the key is accepted on first contact (a fresh known_hosts per operation) and reported
   * through `onHostKey`, so it can be pinned.
   */
  hostKeys?: readonly string[]
  /** For an HTTPS remote: PEM certificate(s) of the CA to trust instead of the system's (a private CA, a self-signed server). */
  caCertificate?: string
  /** Connect timeout (ssh ConnectTimeout; for https, the time a transfer may stall) in seconds; default 30. */
  connectTimeoutSeconds?: number
}

export type GitRemoteAuth =
  /** SSH remote: a private key (OpenSSH or PEM), its passphrase if encrypted, the user when the URL names none. */
  | { kind: 'ssh-key'; privateKey: string; passphrase?: string; user?: string }
  /** HTTPS remote: user name and password or access token, answered to git's prompts through GIT_ASKPASS. */
  | { kind: 'password'; username: string; password: string }

export interface GitIdentity {
  name: string
  email: string
}

export interface FileChange {
  /** Lines added and removed; null for binary files. */
  added: number | null
  deleted: number | null
}

/**
 * Everything secret lives in the private directory (0700) for the duration of the operation: the key file,
 * the askpass script (it only echoes environment variables: the secrets themselves are never written to
 * it) and known_hosts. Secrets reach git and ssh only through the child's environment.
 */
export async function withGitWorkdir<T>(
  remote: GitRemote,
  sandbox: ProcessSandbox,
  signal: AbortSignal,
  fn: (workdir: GitWorkdir) => Promise<T>,
  hooks: { onHostKey?: (key: string) => void } = {},
): Promise<T> {
  let env: Record<string, string> = {}
  const base = await sandbox.createPrivateDir('switchyard-git-', async (dir) => {
    await mkdir(join(dir, 'home'), { mode: 0o700 })
    await mkdir(join(dir, 'repo'), { mode: 0o700 })
    await mkdir(join(dir, 'auth'), { mode: 0o700 })
    env = await remoteEnvironment(remote, join(dir, 'auth'))
  })
  let staging: string | null = null
  try {
    staging = await mkdtemp(join(tmpdir(), 'switchyard-git-files-'))
    // Root writes here, the run-as user (by group) only reads.
    await chmod(staging, 0o750)
    if (sandbox.runAs) await chown(staging, 0, sandbox.runAs.gid)
    const workdir = new GitWorkdir(join(base, 'repo'), join(base, 'home'), staging, remote, sandbox, signal, env)
    try {
      await workdir.checkout()
      return await fn(workdir)
    } finally {
      if (remoteKind(remote.url) === 'ssh' && !remote.hostKeys?.length && hooks.onHostKey) {
        for (const key of await acceptedHostKeys(sandbox, join(base, 'auth', 'known_hosts'))) hooks.onHostKey(key)
      }
    }
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true })
    await sandbox.removePrivateDir(base)
  }
}

const ASKPASS_SCRIPT = `#!/bin/sh
# Answers git's and ssh's questions from the environment; anything else is refused.
case "$1" in
  Username*) printf '%s\\n' "$SWITCHYARD_GIT_USERNAME" ;;
  Password*) printf '%s\\n' "$SWITCHYARD_GIT_PASSWORD" ;;
  *passphrase*) printf '%s\\n' "$SWITCHYARD_SSH_PASSPHRASE" ;;
  *) exit 1 ;;
esac
`

/** The environment that points git at the remote's credentials, CA and host keys (files inside `dir`). */
async function remoteEnvironment(remote: GitRemote, dir: string): Promise<Record<string, string>> {
  const kind = remoteKind(remote.url)
  const auth = remote.auth
  if (auth && kind === 'local') throw new GitError('failed', 'a local repository takes no credential')
  if (auth?.kind === 'ssh-key' && kind !== 'ssh') throw new GitError('failed', 'a private key is only used with an ssh remote')
  if (auth?.kind === 'password' && kind !== 'https') throw new GitError('failed', 'a user name and password are only used with an https remote')
  if (remote.caCertificate && kind !== 'https') throw new GitError('failed', 'a CA certificate is only used with an https remote')
  const env: Record<string, string> = {}
  const askpass = async () => {
    const file = join(dir, 'askpass')
    await writeFile(file, ASKPASS_SCRIPT, { mode: 0o700 })
    return file
  }
  const timeout = Math.max(1, Math.floor(remote.connectTimeoutSeconds ?? 30))
  if (kind === 'ssh') {
    if (auth?.kind !== 'ssh-key') throw new GitError('failed', 'an ssh remote needs a private key')
    const keyFile = join(dir, 'key')
    const knownHostsFile = join(dir, 'known_hosts')
    await writeFile(keyFile, normalisePrivateKey(auth.privateKey), { mode: 0o600 })
    const { host, port, user } = sshEndpoint(remote.url)
    await writeFile(knownHostsFile, knownHostsLines(host, port, remote.hostKeys ?? []), { mode: 0o600 })
    env.GIT_SSH_COMMAND = sshCommand({
      keyFile,
      knownHostsFile,
      connectTimeoutSeconds: timeout,
      user: user ? null : (auth.user ?? null),
      strictHostKey: (remote.hostKeys?.length ?? 0) > 0,
      passphrase: !!auth.passphrase,
    })
    if (auth.passphrase) {
      Object.assign(env, { SSH_ASKPASS: await askpass(), SSH_ASKPASS_REQUIRE: 'force', SWITCHYARD_SSH_PASSPHRASE: auth.passphrase })
    }
  }
  if (kind === 'https') {
    // Given as configuration through the environment (git ≥ 2.31), so nothing secret is on a command line.
    const config: Array<[string, string]> = [
      // Credentials go to the configured host only: never follow a redirect elsewhere.
      ['http.followRedirects', 'false'],
      // A stalled transfer (below 1 byte/s for the timeout) fails instead of hanging the run.
      ['http.lowSpeedLimit', '1'],
      ['http.lowSpeedTime', String(timeout)],
    ]
    if (remote.caCertificate) {
      const caFile = join(dir, 'ca.pem')
      await writeFile(caFile, `${remote.caCertificate.trim()}\n`, { mode: 0o600 })
      config.push(['http.sslCAInfo', caFile])
    }
    env.GIT_CONFIG_COUNT = String(config.length)
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key
      env[`GIT_CONFIG_VALUE_${i}`] = value
    })
    if (auth?.kind === 'password') {
      Object.assign(env, { GIT_ASKPASS: await askpass(), SWITCHYARD_GIT_USERNAME: auth.username, SWITCHYARD_GIT_PASSWORD: auth.password })
    }
  }
  return env
}

/** The `type base64` keys ssh accepted on first contact into a fresh known_hosts file (ssh wrote it, as the run-as user). */
async function acceptedHostKeys(sandbox: ProcessSandbox, file: string): Promise<string[]> {
  const text = await sandbox.readPrivateFile(file).catch(() => '')
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts.length >= 3 && !parts[0]!.startsWith('#'))
    .map((parts) => `${parts[1]} ${parts[2]}`)
}

export class GitWorkdir {
  /** Whether the branch existed on the remote when it was checked out. */
  branchExisted = false

  constructor(
    /** The repository and its checkout (the run-as user's). */
    readonly dir: string,
    private readonly home: string,
    /** Where writeFile puts files to stage (root's; see the module comment). */
    private readonly staging: string,
    readonly remote: GitRemote,
    private readonly sandbox: ProcessSandbox,
    private readonly signal: AbortSignal,
    /** Environment for every git command (GIT_SSH_COMMAND, askpass, TLS settings for the remote). */
    private readonly env: Readonly<Record<string, string>> = {},
  ) {}

  git(args: readonly string[], env?: Record<string, string>, cwd = this.dir): Promise<string> {
    return runGit(args, { cwd, home: this.home, sandbox: this.sandbox, signal: this.signal, env: { ...this.env, ...env } })
  }

  /** Initialises the working copy and checks out the remote branch, or starts it as a new (orphan) branch. */
  async checkout(): Promise<void> {
    const { url, branch } = this.remote
    await this.git(['init', '-q', '--template=', '.'])
    await this.git(['remote', 'add', 'origin', url])
    const heads = await this.git(['ls-remote', '--heads', 'origin', `refs/heads/${branch}`])
    this.branchExisted = heads.trim() !== ''
    if (this.branchExisted) {
      await this.git(['fetch', '-q', '--no-tags', '--depth=1', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`])
      await this.git(['checkout', '-q', '-B', branch, `refs/remotes/origin/${branch}`])
    } else {
      await this.git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`])
    }
  }

  /** Writes a file to stage at a path relative to the working copy (already validated by the caller). */
  async writeFile(relativePath: string, content: string): Promise<void> {
    const parts = relativePath.split('/')
    let dir = this.staging
    // Readable by the run-as user's git (modes set explicitly: the server's umask may be stricter).
    for (const part of parts.slice(0, -1)) {
      dir = join(dir, part)
      await mkdir(dir, { recursive: true, mode: 0o755 })
      await chmod(dir, 0o755)
    }
    const full = join(dir, parts.at(-1)!)
    await writeFile(full, content, { mode: 0o644 })
    await chmod(full, 0o644)
  }

  /** Stages the written files (from the staging directory) at their paths. */
  async stage(paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return
    await this.git([`--git-dir=${join(this.dir, '.git')}`, `--work-tree=${this.staging}`, 'add', '-A', '--', ...paths], undefined, this.staging)
  }

  /** Staged changes per path, compared with HEAD (or with nothing on a new branch). */
  async stagedChanges(): Promise<Map<string, FileChange>> {
    // Without a commit argument `--cached` compares with HEAD, or shows everything staged on an unborn branch.
    const out = await this.git(['diff', '--cached', '--numstat', '--no-renames', '-z'])
    const changes = new Map<string, FileChange>()
    for (const record of out.split('\0')) {
      const m = /^(\d+|-)\t(\d+|-)\t(.+)$/s.exec(record)
      if (!m) continue
      changes.set(m[3]!, { added: m[1] === '-' ? null : Number(m[1]), deleted: m[2] === '-' ? null : Number(m[2]) })
    }
    return changes
  }

  /** Commits what is staged; resolves with the new commit id. */
  async commit(message: string, author: GitIdentity): Promise<string> {
    const env = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
    }
    await this.git(['commit', '-q', '--no-verify', '--no-gpg-sign', '--cleanup=verbatim', '-m', message], env)
    return (await this.git(['rev-parse', 'HEAD'])).trim()
  }

  /** Pushes the branch; a concurrent update of the remote branch rejects with GitError kind `rejected`. */
  async push(): Promise<void> {
    const { branch } = this.remote
    await this.git(['push', '-q', '--no-verify', 'origin', `HEAD:refs/heads/${branch}`])
  }
}

export { GitError }
