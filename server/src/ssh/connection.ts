/**
 * One SSH session to one target, scoped to a callback: `withSshConnection(endpoint, options, fn)` connects,
 * verifies the host key (trust on first use), hands `fn` a connection to run commands on, and always tears
 * the session down afterwards — on success, failure and abort alike.
 */
import { createHash } from 'node:crypto'
import type { AuthMethod, Client, ClientChannel, ConnectConfig, NoAuthMethod, ParsedKey, PublicKeyAuthMethod, SFTPWrapper } from 'ssh2'
import { lazyModule } from '../util/lazy-module.ts'
import type { DecryptedCredential } from '../jobs/executors/types.ts'
import { boundToSession, isPosixProbeOutput, POSIX_PROBE, posixShellLikely } from './session-bound.ts'
import type { Semaphore } from '../util/semaphore.ts'
import { SshError, type SshErrorKind } from './ssh-error.ts'

export interface HostKey {
  /** `SHA256:<base64 without padding>`, the form `ssh-keygen -lf` and OpenSSH print. */
  fingerprint: string
  /** Key type from the key blob, e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`. */
  algorithm: string
}

export interface SshEndpoint {
  host: string
  port: number
  credential: DecryptedCredential
  /** The key recorded at first contact; null means "trust whatever we see now and report it". */
  knownHostKey: { fingerprint: string; algorithm: string | null } | null
  /** Budget for TCP connect + key exchange + authentication. */
  readyTimeoutMs: number
}

export interface SshConnectOptions {
  signal: AbortSignal
  /** Held only from TCP connect until the session is ready: key exchange is what costs CPU. */
  handshakeLimiter: Semaphore
  /** Called once the session is authenticated, when the endpoint had no recorded host key. */
  onNewHostKey(key: HostKey): Promise<void>
  /** Told the kind of each failure to establish the session (metrics). */
  onConnectFailed?(kind: SshErrorKind): void
}

export interface ExecOptions {
  signal: AbortSignal
  onStdout(chunk: Buffer): void
  onStderr(chunk: Buffer): void
  /** Allocate a pseudo-terminal: stderr arrives merged into stdout, and closing the channel hangs up (SIGHUP). */
  pty?: boolean
  /**
   * Stop the remote command when the SSH session ends (see session-bound.ts), so a crashed worker leaves
   * nothing running. Needs a POSIX shell (see `posixShell()`); a pty hangs up by itself, so ignored with one.
   */
  boundToSession?: boolean
}

export interface ExecResult {
  /** Null when the process died from a signal or the server never reported an exit status. */
  exitCode: number | null
  /** Signal name without the `SIG` prefix (e.g. `TERM`) when the process was killed by one. */
  signal: string | null
}

// curve25519/ECDH first: classic Diffie-Hellman is what saturates a CPU when many handshakes run at once
// (ssh2 issue #934). The DH groups stay as fallbacks for older network devices; group14-sha1 last, because
// plenty of deployed switch/router firmware offers nothing newer.
const KEX_PREFERENCE: NonNullable<NonNullable<ConnectConfig['algorithms']>['kex']> = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group14-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group14-sha1',
]
const KEEPALIVE_INTERVAL_MS = 15_000
const KEEPALIVE_COUNT_MAX = 4
/** After TERM, how long a command gets to exit before KILL and closing the channel. */
const KILL_AFTER_MS = 2_000
/** After an abort, the longest `exec` waits for the channel to close before giving up on the server. */
const GIVE_UP_AFTER_MS = 3_500
/** After an abort, how long `fn` may keep the session before it is torn down under it. */
const ABORT_GRACE_MS = 5_000
/** How long a polite disconnect may take before the socket is destroyed. */
const END_GRACE_MS = 2_000

/** Loaded on the first connection (a process that never runs an SSH job never loads it). */
const ssh2 = lazyModule<typeof import('ssh2')>('ssh2')

export async function withSshConnection<T>(
  endpoint: SshEndpoint,
  options: SshConnectOptions,
  fn: (connection: SshConnection) => Promise<T>,
): Promise<T> {
  const { signal } = options
  if (signal.aborted) throw SshError.cancelled(signal.reason)
  const client = new (ssh2().Client)()
  // ssh2 emits 'error' at any time (even after we stopped caring); an emitter without a listener would
  // crash the process. The connection object reads the last error to explain a dropped session.
  let lastError: Error | undefined
  client.on('error', (err: Error) => {
    lastError = err
  })
  let closed = false
  client.once('close', () => {
    closed = true
  })
  let graceTimer: NodeJS.Timeout | undefined
  try {
    let newHostKey: HostKey | null
    try {
      newHostKey = await options.handshakeLimiter.use(() => handshake(client, endpoint, signal), signal)
    } catch (err) {
      const e = err instanceof SshError ? err : signal.aborted ? SshError.cancelled(signal.reason) : null
      options.onConnectFailed?.(e ? e.kind : 'protocol')
      throw e ?? err
    }
    const connection = new SshConnection(client, endpoint.host, endpoint.port, () => lastError)
    if (newHostKey) await options.onNewHostKey(newHostKey)
    // `exec` stops remote commands politely on abort (TERM, then KILL); this is the backstop for a
    // callback that ignores the signal, so an aborted run never holds a session open indefinitely.
    const onAbort = () => {
      graceTimer = setTimeout(() => client.destroy(), ABORT_GRACE_MS)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      return await fn(connection)
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  } finally {
    clearTimeout(graceTimer)
    if (!closed) disconnect(client)
  }
}

/** Polite disconnect, destroying the socket if the server does not close its side soon. */
function disconnect(client: Client): void {
  const timer = setTimeout(() => client.destroy(), END_GRACE_MS)
  client.once('close', () => clearTimeout(timer))
  try {
    client.end()
  } catch {
    client.destroy()
  }
}

/** Connects and authenticates; resolves with the host key to record when it was seen for the first time. */
function handshake(client: Client, endpoint: SshEndpoint, signal: AbortSignal): Promise<HostKey | null> {
  const { host, port, credential } = endpoint
  return new Promise<HostKey | null>((resolve, reject) => {
    let seen: HostKey | undefined
    let mismatch = false
    let settled = false
    const settle = (err: SshError | null) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      client.off('ready', onReady).off('error', onError).off('close', onClose)
      if (err) {
        client.destroy()
        reject(err)
      } else {
        resolve(endpoint.knownHostKey === null && seen ? seen : null)
      }
    }
    const onAbort = () => settle(SshError.cancelled(signal.reason))
    const onReady = () => settle(null)
    const onError = (err: Error) => {
      if (mismatch && seen && endpoint.knownHostKey) {
        settle(SshError.hostKeyMismatch(host, port, endpoint.knownHostKey, seen))
      } else {
        settle(mapConnectError(err, endpoint))
      }
    }
    const onClose = () => settle(SshError.reset(host, port, 'the server closed the connection during the SSH handshake'))
    signal.addEventListener('abort', onAbort, { once: true })
    client.on('ready', onReady).on('error', onError).on('close', onClose)

    const hostVerifier = (blob: Buffer): boolean => {
      seen = describeHostKey(blob)
      if (endpoint.knownHostKey === null) return true
      mismatch = !hostKeyMatches(endpoint.knownHostKey, seen)
      return !mismatch
    }
    let auth: Pick<ConnectConfig, 'password' | 'tryKeyboard' | 'authHandler'>
    if (credential.kind === 'PASSWORD') {
      // Many network devices only offer keyboard-interactive for passwords: answer its prompts with it.
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
        finish(prompts.map(() => credential.password))
      })
      auth = { password: credential.password, tryKeyboard: true }
    } else {
      const key = parsedPrivateKey(credential)
      // Its messages name the problem, never the key material.
      if (key instanceof Error) return settle(SshError.auth(credential.username, host, port, `the private key could not be used: ${key.message}`))
      // What ssh2 does with a `privateKey` (the "none" probe, then the key), with the key parsed already.
      const none: NoAuthMethod = { type: 'none', username: credential.username }
      const publicKey: PublicKeyAuthMethod = { type: 'publickey', username: credential.username, key }
      auth = { authHandler: [none, publicKey] satisfies AuthMethod[] }
    }
    const config: ConnectConfig = {
      host,
      port,
      username: credential.username,
      readyTimeout: endpoint.readyTimeoutMs,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      algorithms: { kex: KEX_PREFERENCE },
      hostVerifier,
      ...auth,
    }
    try {
      client.connect(config)
      // ssh2 writes each SSH packet with its own write and never sets TCP_NODELAY. With Nagle's algorithm
      // on, a packet written while an earlier one is unacknowledged waits for the peer's delayed ACK
      // (~40 ms on Linux), and the handshake and each exec hit that pattern several times: measured on
      // the test sshd, one connection + handshake took ~270 ms with Nagle and ~130 ms without, and each
      // exec ~40-60 ms more with it. (Go's SSH client, on Go's default TCP_NODELAY, never waits there.)
      client.setNoDelay(true)
    } catch (err) {
      settle(SshError.protocol(host, port, `could not start the connection: ${err instanceof Error ? err.message : String(err)}`, false))
    }
  })
}

/**
 * The credential's private key, parsed once per credential object. Parsing is not free: a
 * passphrase-protected OpenSSH key goes through bcrypt-pbkdf in JavaScript (~300 ms of CPU here, and
 * the event loop blocked for all of it), which a fan-out used to pay again for every target. The
 * dispatcher hands one credential object to all targets of a run that share the credential, so the
 * parsed key lives as long as the decrypted one already does, and no longer.
 */
const parsedKeys = new WeakMap<object, ParsedKey | Error>()

function parsedPrivateKey(credential: Extract<DecryptedCredential, { kind: 'PRIVATE_KEY' }>): ParsedKey | Error {
  let key = parsedKeys.get(credential)
  if (!key) {
    key = parseKeyOnce(credential.privateKey, credential.passphrase)
    parsedKeys.set(credential, key)
  }
  return key
}

function parseKeyOnce(privateKey: string, passphrase: string | undefined): ParsedKey | Error {
  let parsed: ParsedKey | ParsedKey[] | Error
  try {
    parsed = ssh2().utils.parseKey(privateKey, passphrase)
  } catch (err) {
    return new Error(err instanceof Error ? err.message : 'unknown error')
  }
  if (parsed instanceof Error) return new Error(parsed.message)
  // A file with several keys: ssh2 uses the first, and so do we.
  const key = Array.isArray(parsed) ? parsed[0] : parsed
  if (!key || !key.isPrivateKey()) return new Error('privateKey value does not contain a (valid) private key')
  return key
}

type Ssh2Error = Error & { level?: string; code?: string | number }

function mapConnectError(thrown: Error, endpoint: SshEndpoint): SshError {
  const { host, port } = endpoint
  const err = thrown as Ssh2Error
  if (err.level === 'client-authentication') return SshError.auth(endpoint.credential.username, host, port)
  if (err.level === 'client-timeout') return SshError.timeout(host, port, endpoint.readyTimeoutMs)
  switch (err.code) {
    case 'ECONNREFUSED':
      return SshError.refused(host, port)
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return SshError.unreachable(host, port, err.code)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return SshError.unreachable(host, port, 'host name could not be resolved')
    case 'ETIMEDOUT':
      return SshError.timeout(host, port, endpoint.readyTimeoutMs)
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return SshError.reset(host, port, err.code)
    // SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE: the server gave up on our credentials.
    case 14:
      return SshError.auth(endpoint.credential.username, host, port, err.message)
  }
  if (err.level === 'client-socket') return SshError.reset(host, port, err.message)
  // Handshake failures (no common algorithm, bad signature) do not fix themselves by retrying.
  if (err.level === 'handshake') return SshError.protocol(host, port, err.message, false)
  return SshError.protocol(host, port, err.message, true)
}

export function describeHostKey(blob: Buffer): HostKey {
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
  return { fingerprint, algorithm: readKeyType(blob) }
}

/** A key blob starts with an SSH string (uint32 length + bytes) naming the key type. */
function readKeyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown'
  const len = blob.readUInt32BE(0)
  if (len === 0 || len > 64 || 4 + len > blob.length) return 'unknown'
  return blob.toString('latin1', 4, 4 + len)
}

/** A recorded algorithm (when known) must match too, so a switch to another key type is caught as well. */
export function hostKeyMatches(known: { fingerprint: string; algorithm: string | null }, seen: HostKey): boolean {
  if (known.fingerprint.trim().replace(/=+$/, '') !== seen.fingerprint) return false
  return known.algorithm === null || known.algorithm === seen.algorithm
}

export class SshConnection {
  #closed = false
  readonly #lostListeners = new Set<(err: SshError) => void>()

  constructor(
    private readonly client: Client,
    readonly host: string,
    readonly port: number,
    private readonly lastError: () => Error | undefined,
  ) {
    client.once('close', () => {
      this.#closed = true
      const err = this.#lostError()
      for (const listener of [...this.#lostListeners]) listener(err)
    })
  }

  /**
   * Runs one command on its own channel. Resolves when the channel closes with the exit status; rejects
   * with SshError `cancelled` on abort (after stopping the remote process) or when the session is lost.
   */
  exec(command: string, options: ExecOptions): Promise<ExecResult> {
    const { signal } = options
    const bound = options.boundToSession === true && !options.pty
    if (bound) command = boundToSession(command)
    if (signal.aborted) return Promise.reject(SshError.cancelled(signal.reason))
    if (this.#closed) return Promise.reject(this.#lostError())
    return new Promise<ExecResult>((resolve, reject) => {
      let channel: ClientChannel | undefined
      let aborted = false
      let result: ExecResult | null = null
      let settled = false
      const timers: NodeJS.Timeout[] = []
      const settle = (err: SshError | null) => {
        if (settled) return
        settled = true
        for (const t of timers) clearTimeout(t)
        signal.removeEventListener('abort', onAbort)
        this.#lostListeners.delete(onLost)
        if (err) reject(err)
        else resolve(result ?? { exitCode: null, signal: null })
      }
      const stopRemote = (ch: ClientChannel) => {
        sendSignal(ch, 'TERM')
        timers.push(
          setTimeout(() => {
            sendSignal(ch, 'KILL')
            ch.close()
          }, KILL_AFTER_MS),
        )
      }
      const onAbort = () => {
        if (aborted) return
        aborted = true
        // Never hang on a server that ignores signals and close requests.
        timers.push(
          setTimeout(() => {
            channel?.close()
            settle(SshError.cancelled(signal.reason))
          }, GIVE_UP_AFTER_MS),
        )
        if (channel) stopRemote(channel)
      }
      const onLost = (err: SshError) => settle(aborted ? SshError.cancelled(signal.reason) : err)
      signal.addEventListener('abort', onAbort, { once: true })
      this.#lostListeners.add(onLost)

      const execOptions = options.pty ? { pty: { term: 'dumb', rows: 24, cols: 200 } } : {}
      const onChannel = (err: Error | undefined, ch: ClientChannel) => {
        if (err) {
          settle(SshError.protocol(this.host, this.port, `could not start the command: ${err.message}`, true))
          return
        }
        if (settled) {
          // We already gave up (abort deadline or lost session): make sure nothing keeps running.
          sendSignal(ch, 'KILL')
          ch.close()
          return
        }
        channel = ch
        ch.on('data', (chunk: Buffer) => options.onStdout(chunk))
        ch.stderr.on('data', (chunk: Buffer) => options.onStderr(chunk))
        ch.on('exit', (code: number | null, exitSignal?: string) => {
          result = { exitCode: typeof code === 'number' ? code : null, signal: exitSignal ?? null }
        })
        ch.on('close', () => {
          if (aborted) settle(SshError.cancelled(signal.reason))
          else if (result === null && this.#closed) settle(this.#lostError())
          else settle(null)
        })
        // Jobs are non-interactive: EOF on stdin makes a command that reads it fail fast instead of
        // waiting for the run timeout (like `ssh -n`). With a pty, stdin is the terminal: leave it open.
        // A session-bound command gets its EOF from the wrapper; the channel's stdin stays open, as the
        // wrapper's sign that the session lives.
        if (!options.pty && !bound) ch.end()
        if (aborted) stopRemote(ch)
      }
      try {
        this.client.exec(command, execOptions, onChannel)
      } catch {
        // ssh2 throws "Not connected" when the socket is already going away.
        settle(this.#lostError())
      }
    })
  }

  #posix: Promise<boolean> | null = null

  /**
   * Whether commands here run in a POSIX shell (so they can be bound to the session): asked once per
   * connection, and only of server software that usually gives a login shell — a device CLI may accept
   * a single exec request per connection, which a probe must not use up.
   */
  posixShell(signal: AbortSignal): Promise<boolean> {
    const software = (this.client as unknown as { _remoteVer?: string })._remoteVer // ssh2 keeps the server's ident here only
    if (!posixShellLikely(software)) return Promise.resolve(false)
    this.#posix ??= (async () => {
      const out: Buffer[] = []
      const r = await this.exec(POSIX_PROBE, { signal, onStdout: (c) => out.push(c), onStderr: () => {} })
      return r.exitCode === 0 && isPosixProbeOutput(Buffer.concat(out).toString('utf8'))
    })()
    return this.#posix
  }

  /**
   * `posixShell()` with `command` run in the same exec right after the probe (one round trip and one
   * remote shell fewer per target). `after` holds the command's output and exit code when it ran in a
   * POSIX shell; null when no probe was sent (already known, or not a POSIX-likely server: then
   * nothing was sent at all) or the probe showed no POSIX shell (its output is then meaningless).
   */
  async posixShellThen(signal: AbortSignal, command: string): Promise<{ posix: boolean; after: { stdout: string; stderr: string; exitCode: number | null } | null }> {
    const software = (this.client as unknown as { _remoteVer?: string })._remoteVer
    if (this.#posix || !posixShellLikely(software)) return { posix: await this.posixShell(signal), after: null }
    const out: Buffer[] = []
    const err: Buffer[] = []
    const run = this.exec(`${POSIX_PROBE}; ${command}`, { signal, onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) })
    this.#posix = run.then(() => isPosixProbeOutput(Buffer.concat(out).toString('utf8')))
    const r = await run
    const stdout = Buffer.concat(out).toString('utf8')
    if (!isPosixProbeOutput(stdout)) return { posix: false, after: null }
    // The probe prints two lines first; what follows is the command's.
    const rest = stdout.replace(/^[\s\S]*?switchyard-sh\r?\n?/, '')
    return { posix: true, after: { stdout: rest, stderr: Buffer.concat(err).toString('utf8'), exitCode: r.exitCode } }
  }

  /**
   * Opens an SFTP session on this connection's (already authenticated) SSH session, for the `script` and
   * `file_transfer` job types (see ssh/sftp.ts, which always ends it); the only way to reach SFTP without
   * a second login.
   */
  sftp(): Promise<SFTPWrapper> {
    if (this.#closed) return Promise.reject(this.#lostError())
    return new Promise<SFTPWrapper>((resolve, reject) => {
      try {
        this.client.sftp((err, sftp) => {
          if (err) reject(SshError.protocol(this.host, this.port, `could not start SFTP: ${err.message}`))
          else resolve(sftp)
        })
      } catch {
        reject(this.#lostError())
      }
    })
  }

  #lostError(): SshError {
    const last = this.lastError() as Ssh2Error | undefined
    if (last?.level === 'client-timeout') {
      return new SshError('timeout', `connection to ${this.host}:${this.port} stopped responding (keepalive timeout)`)
    }
    return SshError.reset(this.host, this.port, last ? last.message : 'the connection was closed')
  }
}

/**
 * Sends a signal request on the channel. ssh2's public `Channel#signal` refuses once our side sent EOF
 * (stdin closed), although the protocol allows signals until the channel is closed and OpenSSH honours
 * them (killpg of the session). So after EOF we go one level down, to ssh2 1.x internals; the
 * cancel tests prove the remote process is really gone, so an ssh2 upgrade that breaks this is caught.
 */
function sendSignal(ch: ClientChannel, name: 'TERM' | 'KILL'): void {
  try {
    if (ch.writable) {
      ch.signal(name)
      return
    }
    const internal = ch as unknown as {
      outgoing?: { id: number; state: string }
      _client?: { _protocol?: { signal?: (channelId: number, signalName: string) => void } }
    }
    const protocol = internal._client?._protocol
    const outgoing = internal.outgoing
    if (outgoing && (outgoing.state === 'open' || outgoing.state === 'eof') && typeof protocol?.signal === 'function') {
      protocol.signal(outgoing.id, name)
    }
  } catch {
    // The channel or session is already going away: closing it is all that is left to do.
  }
}
