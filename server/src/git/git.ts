/**
 * Runs the real `git` CLI: argument vectors through execFile (never a shell), a clean environment (no
 * user or system config, no prompts, no inherited GIT_* variables), an AbortSignal that kills the process,
 * and errors that carry the end of git's stderr so operators see why it failed.
 */
import { execFile } from 'node:child_process'

export type GitErrorKind = 'rejected' | 'not_found' | 'cancelled' | 'failed'

export class GitError extends Error {
  constructor(
    readonly kind: GitErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'GitError'
  }
}

export interface GitRunOptions {
  /** Working directory (a repository or the directory to create one in). */
  cwd: string
  /** Private HOME for this invocation: git must never read the worker's own ~/.gitconfig or credentials. */
  home: string
  signal?: AbortSignal
  /** Extra environment variables (author/committer identity). */
  env?: Readonly<Record<string, string>>
  /** Stdout larger than this fails the command. */
  maxBuffer?: number
}

const STDERR_TAIL = 600

export function gitEnvironment(home: string, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    ...extra,
  }
}

/** Runs `git <args>` and resolves with its stdout. */
export function runGit(args: readonly string[], options: GitRunOptions): Promise<string> {
  const { signal } = options
  if (signal?.aborted) return Promise.reject(new GitError('cancelled', `git ${args[0] ?? ''} not started: cancelled`))
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      // Options that make every invocation predictable whatever git version or defaults are installed.
      ['-c', 'core.autocrlf=false', '-c', 'core.quotepath=off', '-c', 'init.defaultBranch=main', '-c', 'advice.detachedHead=false', ...args],
      { cwd: options.cwd, env: gitEnvironment(options.home, options.env), signal, maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024, encoding: 'utf8', windowsHide: true },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout)
          return
        }
        if (signal?.aborted) {
          reject(new GitError('cancelled', `git ${args[0] ?? ''} stopped: cancelled`, { cause: error }))
          return
        }
        const detail = tail(String(stderr || stdout || error.message))
        reject(new GitError(classify(detail), `git ${args[0] ?? ''} failed: ${detail}`, { cause: error }))
      },
    )
  })
}

function classify(stderr: string): GitErrorKind {
  if (/\[rejected\]|non-fast-forward|fetch first|failed to push some refs/i.test(stderr)) return 'rejected'
  if (/does not appear to be a git repository|not found|no such file or directory|does not exist/i.test(stderr)) return 'not_found'
  return 'failed'
}

function tail(text: string): string {
  const trimmed = text.trim().replace(/\s*\n\s*/g, ' | ')
  return trimmed.length > STDERR_TAIL ? `…${trimmed.slice(-STDERR_TAIL)}` : trimmed
}
