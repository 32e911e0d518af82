/**
 * A TCP proxy in front of Postgres that a test can break the way networks and servers break:
 * `cut()` resets every connection and refuses new ones (server down), `freeze()` silently stops
 * forwarding on the open connections while accepting new ones (a half-open connection, a partition).
 */
import net from 'node:net'

export interface TcpProxy {
  /** The target URL with host and port replaced by the proxy's. */
  url: string
  cut(): void
  freeze(): void
  restore(): void
  close(): Promise<void>
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl)
  const pairs = new Set<{ down: net.Socket; up: net.Socket }>()
  const frozen = new Set<net.Socket>()
  let accepting = true
  const server = net.createServer((down) => {
    if (!accepting) return void down.destroy()
    const up = net.connect(Number(target.port || 5432), target.hostname)
    const pair = { down, up }
    pairs.add(pair)
    for (const s of [down, up]) {
      s.on('error', () => {})
      s.on('close', () => {
        pairs.delete(pair)
        down.destroy()
        up.destroy()
      })
    }
    down.pipe(up).pipe(down)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = new URL(targetUrl)
  url.hostname = '127.0.0.1'
  url.port = String((server.address() as net.AddressInfo).port)
  const destroyAll = () => {
    for (const p of pairs) {
      p.down.destroy()
      p.up.destroy()
    }
  }
  return {
    url: url.toString(),
    cut() {
      accepting = false
      destroyAll()
    },
    freeze() {
      for (const p of pairs) {
        p.down.unpipe(p.up)
        p.up.unpipe(p.down)
        p.down.pause()
        p.up.pause()
        frozen.add(p.down).add(p.up)
      }
      pairs.clear() // frozen connections are no longer forwarded, even after restore()
    },
    restore() {
      accepting = true
    },
    close: () =>
      new Promise<void>((resolve) => {
        destroyAll()
        for (const s of frozen) s.destroy()
        server.close(() => resolve())
      }),
  }
}
