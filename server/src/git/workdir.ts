/**
 * A private, throw-away working copy of one branch of a remote repository: `withGitWorkdir(remote, fn)`
 * creates it in a fresh temp directory (mode 0700, its own HOME), checks the branch out (or starts it when
 * the remote does not have it yet), hands `fn` the working copy, and always removes the directory.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { GitError, runGit } from './git.ts'
import { normalisePrivateKey, remoteKind, sshCommand } from './remote.ts'

export interface GitRemote {
  /** An absolute path or file:// URL of a (usually bare) repository, or an SSH remote (see remote.ts). */
  url: string
  branch: string
  /**
   * For an SSH remote: the private key text (OpenSSH or PEM, without passphrase). Written to a 0600 file
   * inside the private temp directory for the time of the operation; host keys are accepted on first
   * contact into a known_hosts file in that same directory.
   */
  sshPrivateKey?: string
  /** ssh ConnectTimeout for an SSH remote (default 30 s). */
  connectTimeoutSeconds?: number
}

export interface GitIdentity {
  name: string
  email: string
}

export interface FileChange {
  /** Lines added and removed; null for binary files. */
  added: number | null
  deleted: number | null
}

export async function withGitWorkdir<T>(remote: GitRemote, signal: AbortSignal, fn: (workdir: GitWorkdir) => Promise<T>): Promise<T> {
  const base = await mkdtemp(join(tmpdir(), 'switchyard-git-'))
  try {
    const home = join(base, 'home')
    const dir = join(base, 'repo')
    await mkdir(home, { mode: 0o700 })
    await mkdir(dir, { mode: 0o700 })
    const env: Record<string, string> = {}
    if (remote.sshPrivateKey !== undefined) {
      if (remoteKind(remote.url) !== 'ssh') throw new GitError('failed', 'a private key is only used with an ssh remote')
      const sshDir = join(base, 'ssh')
      await mkdir(sshDir, { mode: 0o700 })
      const keyFile = join(sshDir, 'key')
      await writeFile(keyFile, normalisePrivateKey(remote.sshPrivateKey), { mode: 0o600 })
      env.GIT_SSH_COMMAND = sshCommand(keyFile, join(sshDir, 'known_hosts'), remote.connectTimeoutSeconds)
    }
    const workdir = new GitWorkdir(dir, home, remote, signal, env)
    await workdir.checkout()
    return await fn(workdir)
  } finally {
    await rm(base, { recursive: true, force: true })
  }
}

export class GitWorkdir {
  /** Whether the branch existed on the remote when it was checked out. */
  branchExisted = false

  constructor(
    readonly dir: string,
    private readonly home: string,
    readonly remote: GitRemote,
    private readonly signal: AbortSignal,
    /** Environment for every git command (GIT_SSH_COMMAND for an SSH remote). */
    private readonly env: Readonly<Record<string, string>> = {},
  ) {}

  git(args: readonly string[], env?: Record<string, string>): Promise<string> {
    return runGit(args, { cwd: this.dir, home: this.home, signal: this.signal, env: { ...this.env, ...env } })
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

  /** Writes a file at a path relative to the working copy (already validated by the caller). */
  async writeFile(relativePath: string, content: string): Promise<void> {
    const full = join(this.dir, relativePath)
    await mkdir(dirname(full), { recursive: true })
    await writeFile(full, content)
  }

  async stage(paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return
    await this.git(['add', '-A', '--', ...paths])
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
