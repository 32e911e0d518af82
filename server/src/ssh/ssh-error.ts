/**
 * One error type for everything that can go wrong talking SSH, so executors can decide "fail for good"
 * versus "let the retry policy try again" from `retryable` alone, and show `message` to operators as is.
 *
 * Messages never contain secrets (passwords, keys, passphrases): only user names, addresses and
 * host key fingerprints, which are public.
 */
export type SshErrorKind =
  | 'auth'
  | 'host_key_mismatch'
  | 'unreachable'
  | 'refused'
  | 'timeout'
  /** The TCP connection or the SSH session was dropped (reset, closed) by the other side or the network. */
  | 'reset'
  | 'protocol'
  | 'cancelled'
  | 'no_credential'

/** Kinds that will not get better by trying again: a human has to fix something first. */
const PERMANENT_KINDS: ReadonlySet<SshErrorKind> = new Set(['auth', 'host_key_mismatch', 'no_credential', 'cancelled'])

export interface HostKeyFingerprint {
  fingerprint: string
  algorithm: string | null
}

export class SshError extends Error {
  readonly retryable: boolean

  constructor(
    readonly kind: SshErrorKind,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SshError'
    this.retryable = options?.retryable ?? !PERMANENT_KINDS.has(kind)
  }

  static auth(username: string, host: string, port: number, detail?: string): SshError {
    return new SshError('auth', `authentication failed for user ${username} on ${host}:${port}${detail ? ` (${detail})` : ''}`)
  }

  static hostKeyMismatch(host: string, port: number, expected: HostKeyFingerprint, got: HostKeyFingerprint): SshError {
    return new SshError(
      'host_key_mismatch',
      `host key mismatch on ${host}:${port}: expected ${describeKey(expected)}, got ${describeKey(got)}` +
        ` — if the device was re-keyed, clear the target's recorded host key`,
    )
  }

  static refused(host: string, port: number): SshError {
    return new SshError('refused', `connection refused by ${host}:${port} (is an SSH server listening on that port?)`)
  }

  static unreachable(host: string, port: number, detail: string): SshError {
    return new SshError('unreachable', `host unreachable: ${host}:${port} (${detail})`)
  }

  static timeout(host: string, port: number, afterMs: number): SshError {
    return new SshError('timeout', `connection to ${host}:${port} timed out after ${formatSeconds(afterMs)} (no SSH handshake)`)
  }

  static reset(host: string, port: number, detail: string): SshError {
    return new SshError('reset', `connection to ${host}:${port} lost: ${detail}`)
  }

  static protocol(host: string, port: number, detail: string, retryable = false): SshError {
    return new SshError('protocol', `SSH protocol error with ${host}:${port}: ${detail}`, { retryable })
  }

  static cancelled(reason?: unknown): SshError {
    const why = reason instanceof Error ? reason.message : 'aborted'
    return new SshError('cancelled', `cancelled (${why})`, { cause: reason })
  }

  static noCredential(targetName: string): SshError {
    return new SshError('no_credential', `target ${targetName} has no credential: assign an SSH credential to the target`)
  }
}

export function isSshError(thrown: unknown): thrown is SshError {
  return thrown instanceof SshError
}

function describeKey(key: HostKeyFingerprint): string {
  return key.algorithm ? `${key.fingerprint} (${key.algorithm})` : key.fingerprint
}

function formatSeconds(ms: number): string {
  const s = ms / 1000
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`
}
