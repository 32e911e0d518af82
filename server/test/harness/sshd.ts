/**
 * A real OpenSSH server for tests: one sshd process listening on one or more loopback addresses (each
 * address is a distinct "host" to the code under test), a fresh host key, and a test user that can log in
 * with a password, a plain key or a passphrase-protected key.
 *
 * Requires root (creates the user, runs sshd) and /usr/sbin/sshd (`apt-get install -y openssh-server`;
 * `.ci/run` installs it). Only loopback addresses are ever used.
 *
 * Also: `unusedLoopbackPort()` (a "connection refused" endpoint), `startSilentServer()` (accepts TCP and
 * never speaks: a handshake timeout) and `remoteProcesses()` (pgrep, to prove remote work was stopped).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

const SSHD = '/usr/sbin/sshd'
/** Shared by every test file: they may run in parallel workers, so the password must not vary per start. */
export const TEST_USER = 'swtest'
export const TEST_PASSWORD = 'swtest-Pa55word'
const TEST_PASSPHRASE = 'correct horse battery staple'
const START_TIMEOUT_MS = 15_000

export interface SshdOptions {
  /** Loopback addresses to listen on (each one a distinct "host"). Default: one, 127.0.0.2. */
  hosts?: string[]
  /**
   * Alternative to `hosts`: listen on `count` loopback addresses from 127.0.0.2 upwards (past
   * 127.0.0.254 they continue in 127.0.1.x, …, skipping .0 and .255).
   */
  count?: number
  /** 0 (default) picks a free port. */
  port?: number
}

export interface TestSshd {
  port: number
  hosts: string[]
  user: string
  password: string
  /** OpenSSH-format ed25519 private key without passphrase, authorised for `user`. */
  privateKey: string
  /** Another authorised ed25519 key, encrypted with `passphrase`. */
  encryptedPrivateKey: string
  passphrase: string
  /** `SHA256:…` as printed by `ssh-keygen -lf`. */
  hostKeyFingerprint: string
  /** The host's public key as `ssh-ed25519 AAAA…` (a known_hosts entry without the host). */
  hostPublicKey: string
  hostKeyAlgorithm: string
  /** sshd's own log so far (LogLevel VERBOSE), for diagnosing a failing test. */
  log(): string
  /** The listening sshd processes (one per 16 hosts); their children serve the connections. */
  pids: number[]
  stop(): Promise<void>
}

export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  if (!existsSync(SSHD)) {
    throw new Error(`${SSHD} not found: install OpenSSH server (apt-get install -y openssh-server) to run SSH tests`)
  }
  const hosts = options.hosts ?? loopbackHosts(options.count ?? 1)
  for (const host of hosts) {
    if (!host.startsWith('127.')) throw new Error(`test sshd only listens on loopback, got ${host}`)
  }
  await ensureTestUser()
  await mkdir('/run/sshd', { recursive: true })

  const dir = await mkdtemp(join(tmpdir(), 'switchyard-sshd-'))
  try {
    // sshd reads AuthorizedKeysFile as the logged-in user: the directory must be traversable by it.
    await chmod(dir, 0o755)
    const hostKeyPath = join(dir, 'ssh_host_ed25519_key')
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'switchyard-test-host', '-f', hostKeyPath])
    // `256 SHA256:… <comment> (ED25519)`: the type is the last word, whatever the comment.
    const printed = (await run('ssh-keygen', ['-lf', `${hostKeyPath}.pub`])).stdout.trim().split(/\s+/)
    const hostKeyFingerprint = printed[1] ?? ''
    const hostKeyType = printed.at(-1) ?? ''
    const clientKey = join(dir, 'id_ed25519')
    const encryptedKey = join(dir, 'id_ed25519_encrypted')
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'switchyard-test-client', '-f', clientKey])
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', TEST_PASSPHRASE, '-C', 'switchyard-test-client-enc', '-f', encryptedKey])
    const authorizedKeys = join(dir, 'authorized_keys')
    await writeFile(authorizedKeys, (await readFile(`${clientKey}.pub`, 'utf8')) + (await readFile(`${encryptedKey}.pub`, 'utf8')), { mode: 0o644 })

    const { children, port, log } = await spawnSshd(dir, hosts, hostKeyPath, authorizedKeys, options.port ?? 0)
    let stopped = false
    return {
      port,
      hosts,
      user: TEST_USER,
      password: TEST_PASSWORD,
      privateKey: await readFile(clientKey, 'utf8'),
      encryptedPrivateKey: await readFile(encryptedKey, 'utf8'),
      passphrase: TEST_PASSPHRASE,
      hostKeyFingerprint,
      hostPublicKey: (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' '),
      hostKeyAlgorithm: hostKeyType === '(ED25519)' ? 'ssh-ed25519' : hostKeyType,
      log,
      pids: children.map((c) => c.pid!),
      async stop() {
        if (stopped) return
        stopped = true
        await Promise.all(children.map((child) => stopProcess(child)))
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

/**
 * OpenSSH listens on at most 16 sockets per process (MAX_LISTEN_SOCKS): more hosts than that get one
 * sshd per group of 16 addresses, all on the same port with the same host key, so to the code under
 * test they are still one port and one key on many hosts.
 */
const LISTEN_SOCKETS_PER_SSHD = 16

/** `count` distinct loopback addresses from 127.0.0.2 (all of 127.0.0.0/8 reaches `lo` on Linux). */
export function loopbackHosts(count: number): string[] {
  const hosts: string[] = []
  for (let n = 2; hosts.length < count; n++) {
    const last = n & 255
    if (last === 0 || last === 255) continue
    if (n >= 1 << 24) throw new Error(`no more loopback addresses after ${hosts.length}`)
    hosts.push(`127.${(n >> 16) & 255}.${(n >> 8) & 255}.${last}`)
  }
  return hosts
}

async function spawnSshd(dir: string, hosts: string[], hostKey: string, authorizedKeys: string, requestedPort: number) {
  const attempts = requestedPort === 0 ? 5 : 1
  const groups: string[][] = []
  for (let i = 0; i < hosts.length; i += LISTEN_SOCKETS_PER_SSHD) groups.push(hosts.slice(i, i + LISTEN_SOCKETS_PER_SSHD))
  let lastError: Error | undefined
  for (let attempt = 0; attempt < attempts; attempt++) {
    // Port 0 is not something sshd understands: pick one that is free now (a race with other processes
    // is possible, hence the retries).
    const port = requestedPort || (await unusedLoopbackPort(hosts[0]))
    const started: Array<{ child: ChildProcess; log: () => string }> = []
    try {
      for (const [index, group] of groups.entries()) {
        const suffix = groups.length > 1 ? `.${index}` : ''
        const configPath = join(dir, `sshd_config${suffix}`)
        await writeFile(configPath, await sshdConfig(dir, group, port, hostKey, authorizedKeys, suffix))
        const child = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] })
        const log = boundedLog(256 * 1024)
        child.stderr!.setEncoding('utf8')
        child.stderr!.on('data', log.add)
        started.push({ child, log: log.text })
        await waitUntilListening(child, group, port, log.text)
      }
      const log = () => started.map((s) => s.log()).join('')
      return { children: started.map((s) => s.child), port, log }
    } catch (err) {
      lastError = err as Error
      for (const s of started) await stopProcess(s.child)
    }
  }
  throw lastError ?? new Error('sshd did not start')
}

/**
 * Keeps the last ~`max` characters of a log, bounded so a long test run with VERBOSE logging does not
 * grow memory without limit. Chunks are trimmed only once they reach twice the bound: slicing the whole
 * tail on every chunk copied 256 KiB per log line, which a 500-host fan-out (thousands of lines, read in
 * the benchmark's own process) paid in its CPU figure.
 */
export function boundedLog(max: number): { add(text: string): void; text(): string } {
  let chunks: string[] = []
  let length = 0
  return {
    add(text: string) {
      chunks.push(text)
      length += text.length
      if (length > 2 * max) {
        const kept = chunks.join('').slice(-max)
        chunks = [kept]
        length = kept.length
      }
    },
    text: () => {
      const all = chunks.join('').slice(-max)
      chunks = [all]
      length = all.length
      return all
    },
  }
}

async function sshdConfig(dir: string, hosts: string[], port: number, hostKey: string, authorizedKeys: string, suffix = ''): Promise<string> {
  const lines = [
    `Port ${port}`,
    ...hosts.map((host) => `ListenAddress ${host}`),
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, `sshd${suffix}.pid`)}`,
    'UsePAM no',
    'StrictModes no',
    'PasswordAuthentication yes',
    'PubkeyAuthentication yes',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    `AllowUsers ${TEST_USER}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'LogLevel VERBOSE',
    'MaxStartups 100:30:200',
    'MaxSessions 100',
    'MaxAuthTries 10',
    'PrintMotd no',
    'PrintLastLog no',
    'Subsystem sftp internal-sftp',
  ]
  // OpenSSH >= 9.8 penalises sources that fail authentication; tests fail it on purpose, repeatedly.
  penaltiesOption ??= sshdAccepts(dir, lines, 'PerSourcePenalties no')
  if (await penaltiesOption) lines.push('PerSourcePenalties no')
  return lines.join('\n') + '\n'
}

/** Whether this sshd knows PerSourcePenalties: asked once per process (a group of sshds asks 30 times). */
let penaltiesOption: Promise<boolean> | undefined

async function sshdAccepts(dir: string, lines: string[], option: string): Promise<boolean> {
  const probe = join(dir, 'sshd_config.probe')
  await writeFile(probe, [...lines, option].join('\n') + '\n')
  try {
    await run(SSHD, ['-t', '-f', probe])
    return true
  } catch {
    return false
  } finally {
    await rm(probe, { force: true })
  }
}

/** Resolves once sshd logged "Server listening on <host> port <port>" for every host; rejects if it dies. */
function waitUntilListening(child: ChildProcess, hosts: string[], port: number, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      cleanup()
      reject(new Error(`sshd did not start (${why}); its log:\n${log()}`))
    }
    const check = () => {
      const text = log()
      if (/Bind to port \d+ on \S+ failed|Cannot bind any address/.test(text)) return fail(`could not bind port ${port}`)
      if (hosts.every((host) => text.includes(`Server listening on ${host} port ${port}.`))) {
        cleanup()
        resolve()
      }
    }
    const onExit = (code: number | null) => fail(`exited with ${code}`)
    const timer = setTimeout(() => fail(`not listening after ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS)
    const cleanup = () => {
      clearTimeout(timer)
      child.stderr!.off('data', check)
      child.off('exit', onExit)
    }
    child.stderr!.on('data', check)
    child.once('exit', onExit)
    check()
  })
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  await exited
}

/**
 * Creates the test user when missing, unlocks it and sets the known password. Several test workers may do
 * this at once: useradd/chpasswd then fail on the passwd lock or "already exists", hence the retries.
 */
async function ensureTestUser(): Promise<void> {
  await withRetries(async () => {
    if (!(await userExists(TEST_USER))) {
      try {
        await run('useradd', ['-m', '-s', '/bin/bash', TEST_USER])
      } catch (err) {
        if (!(await userExists(TEST_USER))) throw err
      }
    }
  })
  // A fresh useradd account is locked, which blocks even key logins under `UsePAM no`; setting the password
  // unlocks it. Only ever write the same known password: another worker's tests may be logging in right now
  // (an intermediate `usermod -p '*'` here once made their password logins fail).
  await withRetries(() => runWithInput('chpasswd', [], `${TEST_USER}:${TEST_PASSWORD}\n`))
}

async function userExists(user: string): Promise<boolean> {
  try {
    await run('id', ['-u', user])
    return true
  } catch {
    return false
  }
}

async function withRetries<T>(fn: () => Promise<T>, attempts = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn()
    } catch (err) {
      if (i >= attempts) throw err
      // Lock contention with another worker: back off a little and try again.
      await new Promise((resolve) => setTimeout(resolve, 50 * i))
    }
  }
}

function runWithInput(command: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`))))
    child.stdin.end(input)
  })
}

/** A port nothing listens on right now (connecting to it is refused). */
export function unusedLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface SilentServer {
  host: string
  port: number
  /** How many TCP connections it accepted so far. */
  connections(): number
  stop(): Promise<void>
}

/** Accepts TCP connections and never sends a byte: an SSH client can only time out waiting for the handshake. */
export function startSilentServer(host = '127.0.0.1'): Promise<SilentServer> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      resolve({
        host,
        port: typeof address === 'object' && address ? address.port : 0,
        connections: () => accepted,
        stop: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          }),
      })
    })
  })
}

/** PIDs of `user`'s processes whose full command line matches `pattern` (pgrep -f); empty when none. */
export async function remoteProcesses(user: string, pattern: string): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-u', user, '-f', pattern])
    return stdout.split('\n').filter(Boolean).map(Number)
  } catch (err) {
    if ((err as { code?: number }).code === 1) return []
    throw err
  }
}
