/**
 * SFTP on an open SSH connection, scoped to a callback: `withSftp(connection, signal, fn)` opens the SFTP
 * subsystem, hands `fn` a small promise-based client and always ends the SFTP channel afterwards.
 */
import type { SFTPWrapper } from 'ssh2'
import { SshError } from './ssh-error.ts'
import type { SshConnection } from './connection.ts'

export interface SftpClient {
  /** Writes `data` to `remotePath` (created or truncated) with the given mode, then enforces that mode. */
  writeFile(remotePath: string, data: string | Buffer, mode: number): Promise<void>
  /** Whether a path exists (follows symlinks). */
  exists(remotePath: string): Promise<boolean>
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

function createClient(sftp: SFTPWrapper, connection: SshConnection, signal: AbortSignal): SftpClient {
  const fail = (what: string, err: Error) =>
    signal.aborted ? SshError.cancelled(signal.reason) : SshError.protocol(connection.host, connection.port, `SFTP ${what} failed: ${err.message}`, true)
  const call = (what: string, start: (done: (err?: Error | null) => void) => void) =>
    new Promise<void>((resolve, reject) => start((err) => (err ? reject(fail(what, err)) : resolve())))
  return {
    async writeFile(remotePath, data, mode) {
      await call(`write of ${remotePath}`, (done) => sftp.writeFile(remotePath, data, { mode }, done))
      // The mode on open is subject to the server's umask handling: set it explicitly.
      await call(`chmod of ${remotePath}`, (done) => sftp.chmod(remotePath, mode, done))
    },
    exists(remotePath) {
      return new Promise<boolean>((resolve) => sftp.stat(remotePath, (err) => resolve(!err)))
    },
  }
}
