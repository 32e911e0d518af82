/**
 * The one way a run starts a local process on the worker (ansible-playbook and its ssh/sshpass, git and its
 * askpass helper, ssh-keyscan, ping). Whatever the job, the child gets:
 *
 * - a clean environment built from an allowlist (PATH, LANG/LC_ALL, HOME and TMPDIR in the run's private dir,
 *   plus what the tool needs): nothing of the server's own environment (DATABASE_URL, SWITCHYARD_*, …);
 * - when the server runs as root, the uid/gid of the unprivileged run-as user (SWITCHYARD_RUN_AS_USER) and
 *   no supplementary groups (libuv drops them when a uid is given), so it cannot read the data directory
 *   (secret.key, postgres.password: root-only), the server's environment (/proc/<pid>/environ of another
 *   user) or anything else only root may.
 *
 * The private directory a tool works in is prepared by root while it is still root-only (0700), then handed
 * over (every entry chowned) in one step. After the hand-over root never writes into, reads through or
 * recursively deletes inside it: another run's code, running as the same user, could swap a path for a
 * symlink and make root follow it. The tool's user removes the directory, and root reads a file back only
 * through `readPrivateFile`, which refuses links and files the run-as user does not own.
 */
import { execFile, spawn, type ChildProcess, type ChildProcessByStdio, type ExecFileException } from 'node:child_process'
import { constants } from 'node:fs'
import { chmod, lchown, mkdtemp, open, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { boundToThisProcess } from '../util/spawn-bound.ts'

export interface RunAsUser {
  name: string
  uid: number
  gid: number
}

/** Where tools are looked up: the system directories only, never the server's own PATH. */
export const TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export interface SandboxEnvOptions {
  /** HOME (and TMPDIR) for the tool: a directory inside the run's private dir. Unset when the tool needs none. */
  home?: string
  /** The variables this tool needs (ANSIBLE_*, GIT_*, askpass secrets…). */
  env?: Readonly<Record<string, string>>
}

/** The whole environment a child gets: the allowlist plus the tool's own variables. Nothing from process.env. */
export function cleanEnvironment(options: SandboxEnvOptions = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: TOOL_PATH, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }
  if (options.home) {
    env.HOME = options.home
    env.TMPDIR = options.home
  }
  return { ...env, ...options.env }
}

export interface SandboxSpawnOptions extends SandboxEnvOptions {
  cwd?: string
  /** Own process group, so the whole tree can be signalled (ansible and its ssh clients). */
  detached?: boolean
  /**
   * Dies with this process (util/spawn-bound.ts): a killed worker must not leave the tool driving the
   * targets while the retry starts the same work elsewhere. Implies its own process group.
   */
  boundToThisProcess?: boolean
}

export interface SandboxExecOptions extends SandboxEnvOptions {
  cwd?: string
  signal?: AbortSignal
  timeout?: number
  maxBuffer?: number
}

export type ExecCallback = (error: ExecFileException | null, stdout: string, stderr: string) => void

export interface SandboxLogger {
  warn(message: string, fields?: Record<string, unknown>): void
}

export class ProcessSandbox {
  constructor(
    /** null: children run as the server's own user (it is not root, so it cannot switch). */
    readonly runAs: RunAsUser | null,
    private readonly logger?: SandboxLogger,
  ) {}

  #identity(): { uid?: number; gid?: number } {
    return this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {}
  }

  /** A long-running tool with streamed output (stdin closed). */
  spawn(command: string, args: readonly string[], options: SandboxSpawnOptions = {}): ChildProcessByStdio<Writable | null, Readable, Readable> {
    const bound = options.boundToThisProcess ? boundToThisProcess(command, args) : { command, args }
    return spawn(bound.command, bound.args, {
      cwd: options.cwd,
      detached: options.detached || options.boundToThisProcess,
      env: cleanEnvironment(options),
      // A bound child's stdin is the lifeline pipe (never written); others get none.
      stdio: [options.boundToThisProcess ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      windowsHide: true,
      ...this.#identity(),
    }) as ChildProcessByStdio<Writable | null, Readable, Readable>
  }

  /** A short tool whose output is collected (argument vector, never a shell). */
  execFile(command: string, args: readonly string[], options: SandboxExecOptions, callback: ExecCallback): ChildProcess {
    return execFile(
      command,
      args,
      {
        cwd: options.cwd,
        signal: options.signal,
        timeout: options.timeout,
        maxBuffer: options.maxBuffer ?? 16 * 1024 * 1024,
        env: cleanEnvironment(options),
        encoding: 'utf8',
        windowsHide: true,
        ...this.#identity(),
      },
      (error, stdout, stderr) => callback(error, String(stdout), String(stderr)),
    )
  }

  /**
   * A fresh private directory (0700) for one tool invocation: `prepare` writes what the tool needs while only
   * root can touch it, then everything is handed to the run-as user.
   */
  async createPrivateDir(prefix: string, prepare?: (dir: string) => Promise<void>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    try {
      await chmod(dir, 0o700)
      await prepare?.(dir)
      if (this.runAs) await this.#handOver(dir)
      return dir
    } catch (err) {
      // Not handed over yet (or only partly, while still root-only): root may remove it itself.
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  /** Removes a private directory: as the run-as user when it was handed over (see the module comment). */
  async removePrivateDir(dir: string): Promise<void> {
    if (!this.runAs) {
      await rm(dir, { recursive: true, force: true })
      return
    }
    await new Promise<void>((resolve) => {
      this.execFile('rm', ['-rf', '--', dir], { timeout: 60_000 }, (error, _stdout, stderr) => {
        if (error) this.logger?.warn('could not remove a private run directory', { dir, error: (stderr || error.message).trim().slice(0, 300) })
        resolve()
      })
    })
  }

  /** `fn` with a private directory (see createPrivateDir) that is always removed afterwards. */
  async withPrivateDir<T>(prefix: string, prepare: ((dir: string) => Promise<void>) | undefined, fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await this.createPrivateDir(prefix, prepare)
    try {
      return await fn(dir)
    } finally {
      await this.removePrivateDir(dir)
    }
  }

  /**
   * Reads back a file a tool wrote into its private directory: never through a symlink, only a regular
   * file the run-as user owns (so a swapped path cannot make root read, say, /etc/shadow into a run log).
   */
  async readPrivateFile(path: string, maxBytes = 1024 * 1024): Promise<string> {
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    try {
      const stat = await handle.stat()
      if (!stat.isFile()) throw new Error(`${path} is not a regular file`)
      if (this.runAs && stat.uid !== this.runAs.uid) throw new Error(`${path} is not owned by ${this.runAs.name}`)
      if (stat.size > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`)
      return await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
  }

  /** chowns every entry (links themselves, never their targets), the directory itself last. */
  async #handOver(dir: string): Promise<void> {
    const { uid, gid } = this.runAs!
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await this.#handOver(path)
      else await lchown(path, uid, gid)
    }
    await lchown(dir, uid, gid)
  }
}
