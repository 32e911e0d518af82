/**
 * Runs the real `git` CLI: argument vectors (never a shell) in the sandbox — the run-as user and a clean
 * environment (no user or system config, no prompts, nothing of the server's environment) —, an
 * AbortSignal that kills the process, and errors that carry the end of git's stderr so operators see why
 * it failed.
 */
import type { ProcessSandbox } from '../sandbox/process-sandbox.ts'

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
  /** Where git runs: as which user, with which environment (see sandbox/process-sandbox.ts). */
  sandbox: ProcessSandbox
  signal?: AbortSignal
  /** Extra environment variables (author/committer identity). */
  env?: Readonly<Record<string, string>>
  /** Stdout larger than this fails the command. */
  maxBuffer?: number
}

const STDERR_TAIL = 600

/** git's own variables, on top of the sandbox's clean environment (PATH, HOME, locale). */
export function gitEnvironment(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
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
    options.sandbox.execFile(
      'git',
      // Options that make every invocation predictable whatever git version or defaults are installed.
      ['-c', 'core.autocrlf=false', '-c', 'core.quotepath=off', '-c', 'init.defaultBranch=main', '-c', 'advice.detachedHead=false', ...args],
      { cwd: options.cwd, home: options.home, env: gitEnvironment(options.env), signal, maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout)
          return
        }
        if (signal?.aborted) {
          reject(new GitError('cancelled', `git ${args[0] ?? ''} stopped: cancelled`, { cause: error }))
          return
        }
        let detail = tail(String(stderr || stdout || error.message))
        if (/dubious ownership/.test(detail)) detail += ' (a local repository must belong to the user git runs as: SWITCHYARD_RUN_AS_USER when the server is root)'
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
