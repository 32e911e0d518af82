/**
 * SFTP on an open SSH connection, scoped to a callback: `withSftp(connection, signal, fn)` opens the SFTP
 * subsystem, hands `fn` a small promise-based client and always ends the SFTP channel afterwards.
 *
 * Failures are SshErrors. A status the server answered for one path — no such file, permission denied —
 * is an `SftpError` (not retryable: a human has to fix the path or the rights); anything else (channel
 * closed, connection lost) stays retryable.
 */
import type { SFTPWrapper, Stats } from 'ssh2'
import { SshError } from './ssh-error.ts'
import type { SshConnection } from './connection.ts'

export type SftpStatus = 'no_such_file' | 'permission_denied' | 'failure'

/** The server refused an operation on a path (SFTP status code), e.g. a missing file. */
export class SftpError extends SshError {
  constructor(
    readonly status: SftpStatus,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super('protocol', message, { retryable: options?.retryable ?? false, cause: options?.cause })
    this.name = 'SftpError'
  }
}

/** A read refused because the file is larger than the caller allows. */
export class SftpSizeLimitError extends SftpError {
  constructor(
    readonly remotePath: string,
    readonly maxBytes: number,
    readonly size: number,
  ) {
    super('failure', `${remotePath} is larger than the limit of ${maxBytes} bytes (${size} bytes)`)
    this.name = 'SftpSizeLimitError'
  }
}

export interface RemoteStat {
  size: number
  /** Permission bits only (e.g. 0o644). */
  mode: number
  isFile: boolean
  isDirectory: boolean
}

export interface SftpClient {
  /** Writes `data` to `remotePath` (created or truncated) with the given mode, then enforces that mode. */
  writeFile(remotePath: string, data: string | Buffer, mode: number): Promise<void>
  /** Whether a path exists (follows symlinks). */
  exists(remotePath: string): Promise<boolean>
  /** Stat (follows symlinks); null when the path does not exist. */
  stat(remotePath: string): Promise<RemoteStat | null>
  /**
   * Reads a whole file. With `maxBytes`, fails with SftpSizeLimitError as soon as the file is known to be
   * larger (by its size, or while reading a file that grows), without reading the rest.
   */
  readFile(remotePath: string, options?: { maxBytes?: number }): Promise<Buffer>
  chmod(remotePath: string, mode: number): Promise<void>
  mkdir(remotePath: string, mode?: number): Promise<void>
  unlink(remotePath: string): Promise<void>
  /**
   * Renames `from` to `to`. `replace: true` atomically replaces an existing `to` (OpenSSH's
   * posix-rename extension); `replace: false` fails if `to` exists (plain SFTP rename).
   */
  rename(from: string, to: string, options: { replace: boolean }): Promise<void>
}

export async function withSftp<T>(connection: SshConnection, signal: AbortSignal, fn: (sftp: SftpClient) => Promise<T>): Promise<T> {
  if (signal.aborted) throw SshError.cancelled(signal.reason)
  const wrapper = await connection.sftp()
  // An SFTP call has no cancel of its own: on abort, ending the channel makes pending calls fail.
  const onAbort = () => wrapper.end()
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await fn(createClient(wrapper, connection, signal))
  } finally {
    signal.removeEventListener('abort', onAbort)
    try {
      wrapper.end()
    } catch {
      // Already closed with the session.
    }
  }
}

const SFTP_NO_SUCH_FILE = 2
const SFTP_PERMISSION_DENIED = 3
const READ_CHUNK = 64 * 1024

function createClient(sftp: SFTPWrapper, connection: SshConnection, signal: AbortSignal): SftpClient {
  const where = `${connection.host}:${connection.port}`
  const fail = (what: string, err: Error & { code?: unknown }): SshError => {
    if (signal.aborted) return SshError.cancelled(signal.reason)
    if (err instanceof SshError) return err
    if (err.code === SFTP_NO_SUCH_FILE) return new SftpError('no_such_file', `SFTP ${what} failed on ${where}: no such file or directory`, { cause: err })
    if (err.code === SFTP_PERMISSION_DENIED) return new SftpError('permission_denied', `SFTP ${what} failed on ${where}: permission denied`, { cause: err })
    return SshError.protocol(connection.host, connection.port, `SFTP ${what} failed: ${err.message}`, true)
  }
  /**
   * Runs one ssh2 call; a synchronous throw (channel already closed) becomes a rejection too. An abort
   * settles it at once: ssh2 does not always call back a transfer whose channel was ended under it.
   */
  const op = <R>(what: string, start: (done: (err: Error | null | undefined, value?: R) => void) => void) =>
    new Promise<R>((resolve, reject) => {
      const onAbort = () => reject(SshError.cancelled(signal.reason))
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      const settle = (fn: () => void) => {
        signal.removeEventListener('abort', onAbort)
        fn()
      }
      try {
        start((err, value) => settle(() => (err ? reject(fail(what, err)) : resolve(value as R))))
      } catch (err) {
        settle(() => reject(fail(what, err instanceof Error ? err : new Error(String(err)))))
      }
    })
  const toStat = (s: Stats): RemoteStat => ({ size: s.size, mode: s.mode & 0o7777, isFile: s.isFile(), isDirectory: s.isDirectory() })

  return {
    async writeFile(remotePath, data, mode) {
      await op<void>(`write of ${remotePath}`, (done) => sftp.writeFile(remotePath, data, { mode }, done))
      // The mode on open is subject to the server's umask handling: set it explicitly.
      await op<void>(`chmod of ${remotePath}`, (done) => sftp.chmod(remotePath, mode, done))
    },
    exists(remotePath) {
      return new Promise<boolean>((resolve) => sftp.stat(remotePath, (err) => resolve(!err)))
    },
    async stat(remotePath) {
      try {
        return toStat(await op<Stats>(`stat of ${remotePath}`, (done) => sftp.stat(remotePath, done)))
      } catch (err) {
        if (err instanceof SftpError && err.status === 'no_such_file') return null
        throw err
      }
    },
    async readFile(remotePath, options = {}) {
      const what = `read of ${remotePath}`
      const max = options.maxBytes ?? Number.MAX_SAFE_INTEGER
      const handle = await op<Buffer>(what, (done) => sftp.open(remotePath, 'r', done))
      try {
        const stats = await op<Stats>(what, (done) => sftp.fstat(handle, done))
        if (stats.isDirectory()) throw new SftpError('failure', `SFTP ${what} failed on ${where}: it is a directory`)
        if (stats.size > max) throw new SftpSizeLimitError(remotePath, max, stats.size)
        const chunks: Buffer[] = []
        let total = 0
        for (;;) {
          if (signal.aborted) throw SshError.cancelled(signal.reason)
          const buf = Buffer.allocUnsafe(READ_CHUNK)
          const n = await op<number>(what, (done) => sftp.read(handle, buf, 0, READ_CHUNK, total, (err, bytesRead) => done(err, bytesRead)))
          if (!n) break
          total += n
          if (total > max) throw new SftpSizeLimitError(remotePath, max, total)
          chunks.push(buf.subarray(0, n))
        }
        return Buffer.concat(chunks, total)
      } finally {
        try {
          sftp.close(handle, () => {})
        } catch {
          // The channel is gone: so is the handle.
        }
      }
    },
    chmod(remotePath, mode) {
      return op<void>(`chmod of ${remotePath}`, (done) => sftp.chmod(remotePath, mode, done))
    },
    mkdir(remotePath, mode) {
      return op<void>(`mkdir of ${remotePath}`, (done) => (mode === undefined ? sftp.mkdir(remotePath, done) : sftp.mkdir(remotePath, { mode }, done)))
    },
    unlink(remotePath) {
      return op<void>(`removal of ${remotePath}`, (done) => sftp.unlink(remotePath, done))
    },
    rename(from, to, { replace }) {
      return op<void>(`rename of ${from} to ${to}`, (done) => (replace ? sftp.ext_openssh_rename(from, to, done) : sftp.rename(from, to, done)))
    },
  }
}
