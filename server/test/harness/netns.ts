/**
 * A private network for tests: a fresh network namespace joined to the test's own (root) namespace by a
 * veth pair, with addresses that answer (ping, TCP reset or a listener) and addresses on the same link that
 * answer nothing. Loopback cannot stand in for this: every 127.0.0.0/8 address answers ping, so "this host
 * is down" could never be observed there. Exists for the `prefix_scan` tests through the real system `ping`.
 *
 * Layout (x.y from `10.213.0.0/16`, chosen from process.pid plus a random part, skipping blocks in use):
 *   IPv4 10.213.x.y/29:  .y+1 host side (root namespace), .y+2 and .y+3 in the namespace, .y+4 – .y+6 unused.
 *   IPv6 fd21:3:<n>::/125: ::1 host side, ::2 in the namespace, ::3 – ::7 unused.
 *
 * Requires root (creates namespaces and interfaces) and iproute2 (`ip`; `apt-get install -y iproute2`,
 * `.ci/run` installs it). Names carry process.pid plus a random suffix, so test files running in parallel
 * workers never collide; namespaces left behind by a dead process are removed by the next one. Always call
 * `destroy()` (in `afterAll`); a process exiting without it still removes its namespace on the way out.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

const NS_PREFIX = 'swtest-'
const BLOCKS = 8192 // /29 blocks in 10.213.0.0/16

export interface TestNetworkFamily {
  /** The whole link prefix in CIDR notation (`10.213.7.8/29`, `fd21:3:e8::/125`). */
  prefix: string
  /** The root namespace's (the test process's) own address on the link: it answers ping too. */
  hostAddress: string
  /** Addresses configured inside the namespace. */
  nsAddresses: string[]
  /** Addresses of the prefix that nobody holds: no ping reply, TCP connects time out. */
  unusedAddresses: string[]
}

export interface TestNetwork {
  /** The network namespace's name (`ip netns exec <namespace> …`). */
  namespace: string
  ipv4: TestNetworkFamily
  ipv6: TestNetworkFamily
  /** Runs a command inside the namespace to completion; rejects on a non-zero exit. */
  exec(argv: string[], options?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>
  /** Starts a long-running command inside the namespace; it is killed by `destroy()`. */
  spawn(argv: string[]): ChildProcess
  /**
   * Starts a TCP listener inside the namespace on `address` (one of the namespace's) that accepts and closes
   * every connection. Port 0 picks a free one. Resolves with the port once it is listening.
   */
  listenTcp(address: string, port?: number): Promise<number>
  /** Kills what `spawn`/`listenTcp` started and removes the namespace and both veth ends. Idempotent. */
  destroy(): Promise<void>
}

export async function createTestNetwork(): Promise<TestNetwork> {
  await removeStaleNamespaces()
  const block = await pickFreeBlock()
  const id = `${process.pid.toString(36)}${randomInt(36 ** 3).toString(36).padStart(3, '0')}`
  const namespace = `${NS_PREFIX}${process.pid}-${id}`
  // Interface names are limited to 15 characters: 'sw' + ≤ 8 + 'h'/'n' stays well below.
  const hostIf = `sw${id}h`
  const nsIf = `sw${id}n`
  const base4 = `10.213.${block >> 5}`
  const y = (block & 31) * 8
  const v4 = (i: number) => `${base4}.${y + i}`
  const base6 = `fd21:3:${block.toString(16)}::`
  const v6 = (i: number) => `${base6}${i}`
  const ipv4: TestNetworkFamily = { prefix: `${v4(0)}/29`, hostAddress: v4(1), nsAddresses: [v4(2), v4(3)], unusedAddresses: [v4(4), v4(5), v4(6)] }
  const ipv6: TestNetworkFamily = { prefix: `${base6}/125`, hostAddress: v6(1), nsAddresses: [v6(2)], unusedAddresses: [3, 4, 5, 6, 7].map(v6) }

  const children = new Set<ChildProcess>()
  const removeNow = () => {
    for (const child of children) child.kill('SIGKILL')
    for (const args of [['netns', 'del', namespace], ['link', 'del', hostIf]]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore' })
      } catch {
        // already gone
      }
    }
  }
  process.once('exit', removeNow)

  const ip = async (args: string[]) => {
    try {
      await run('ip', args, { timeout: 15_000 })
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string }
      const why = e.code === 'ENOENT' ? '`ip` not found' : (e.stderr?.trim() || e.message)
      throw new Error(`test network: \`ip ${args.join(' ')}\` failed: ${why} (needs root and iproute2: apt-get install -y iproute2)`)
    }
  }
  try {
    await ip(['netns', 'add', namespace])
    await ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', namespace])
    await ip(['addr', 'add', `${ipv4.hostAddress}/29`, 'dev', hostIf])
    // nodad: usable at once instead of "tentative" for a second or two.
    await ip(['-6', 'addr', 'add', `${ipv6.hostAddress}/125`, 'dev', hostIf, 'nodad'])
    await ip(['link', 'set', hostIf, 'up'])
    await ip(['-n', namespace, 'link', 'set', 'lo', 'up'])
    for (const a of ipv4.nsAddresses) await ip(['-n', namespace, 'addr', 'add', `${a}/29`, 'dev', nsIf])
    for (const a of ipv6.nsAddresses) await ip(['-n', namespace, '-6', 'addr', 'add', `${a}/125`, 'dev', nsIf, 'nodad'])
    await ip(['-n', namespace, 'link', 'set', nsIf, 'up'])
    await waitForCarrier(hostIf)
  } catch (err) {
    removeNow()
    process.removeListener('exit', removeNow)
    throw err
  }

  let destroyed = false
  const spawnIn = (argv: string[]) => {
    const child = spawn('ip', ['netns', 'exec', namespace, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    child.once('exit', () => children.delete(child))
    return child
  }
  return {
    namespace,
    ipv4,
    ipv6,
    async exec(argv, options = {}) {
      const { stdout, stderr } = await run('ip', ['netns', 'exec', namespace, ...argv], { timeout: options.timeoutMs ?? 30_000 })
      return { stdout: String(stdout), stderr: String(stderr) }
    },
    spawn: spawnIn,
    listenTcp(address, port = 0) {
      const child = spawnIn(['python3', '-c', LISTENER, address, String(port)])
      return new Promise<number>((resolve, reject) => {
        let out = ''
        let err = ''
        const timer = setTimeout(() => fail(new Error('did not start within 15 s')), 15_000)
        const fail = (e: Error) => {
          clearTimeout(timer)
          child.kill('SIGKILL')
          reject(new Error(`test network: TCP listener on ${address}:${port} in ${namespace}: ${e.message}${err ? `: ${err.trim()}` : ''}`))
        }
        child.stderr!.setEncoding('utf8').on('data', (t: string) => (err = (err + t).slice(-4096)))
        child.stdout!.setEncoding('utf8').on('data', (t: string) => {
          out += t
          const line = out.match(/^(\d+)\n/)
          if (line) {
            clearTimeout(timer)
            resolve(Number(line[1]))
          }
        })
        child.once('error', fail)
        child.once('exit', (code, signal) => fail(new Error(`exited (${signal ?? code})`)))
      })
    },
    async destroy() {
      if (destroyed) return
      destroyed = true
      // A namespace lives on while a process is inside it: stop those first.
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve()
              child.once('exit', () => resolve())
              child.kill('SIGKILL')
            }),
        ),
      )
      // Deleting the namespace deletes the veth end inside it, and with it the pair; the second is a safety net.
      await run('ip', ['netns', 'del', namespace]).catch(() => {})
      await run('ip', ['link', 'del', hostIf]).catch(() => {})
      process.removeListener('exit', removeNow)
    },
  }
}

/** Accepts TCP connections and closes them; prints the port once listening. argv: address port. */
const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
print(s.getsockname()[1], flush=True)
while True:
    s.accept()[0].close()
`

/** Removes `swtest-<pid>-…` namespaces whose process is gone (killed before its cleanup ran). */
async function removeStaleNamespaces(): Promise<void> {
  let listing: string
  try {
    listing = (await run('ip', ['netns', 'list'])).stdout
  } catch {
    return // reported clearly by the first `ip` call that matters
  }
  for (const name of listing.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '')) {
    const pid = Number(name.match(/^swtest-(\d+)-/)?.[1])
    if (!pid || pid === process.pid || isAlive(pid)) continue
    await run('ip', ['netns', 'del', name]).catch(() => {})
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A /29 block of 10.213.0.0/16 (and its IPv6 twin) that no interface of this namespace uses yet. */
async function pickFreeBlock(): Promise<number> {
  const used = new Set<number>()
  try {
    const { stdout } = await run('ip', ['-o', 'addr', 'show'])
    for (const m of stdout.matchAll(/inet 10\.213\.(\d+)\.(\d+)\//g)) used.add(Number(m[1]) * 32 + (Number(m[2]) >> 3))
    for (const m of stdout.matchAll(/inet6 fd21:3:([0-9a-f]+)::/g)) used.add(parseInt(m[1]!, 16))
  } catch {
    // `ip` missing: the first real command fails with a clear message
  }
  const start = (process.pid % 256) * 32 + randomInt(32)
  for (let i = 0; i < BLOCKS; i++) {
    const block = (start + i) % BLOCKS
    if (!used.has(block)) return block
  }
  throw new Error('test network: every /29 of 10.213.0.0/16 is in use')
}

/** Waits until the host end of the veth pair reports carrier (both ends up). */
async function waitForCarrier(ifName: string): Promise<void> {
  const deadline = Date.now() + 10_000
  let state = ''
  while (Date.now() < deadline) {
    state = (await readFile(`/sys/class/net/${ifName}/operstate`, 'utf8').catch(() => '')).trim()
    if (state === 'up') return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`test network: ${ifName} did not come up (operstate ${state || 'unknown'})`)
}
