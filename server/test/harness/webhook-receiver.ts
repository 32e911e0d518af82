/** A local HTTP receiver for notification tests: records every POST, answers 200. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  path: string
  headers: http.IncomingHttpHeaders
  body: string
  at: number
}

export class WebhookReceiver {
  readonly received: Received[] = []
  url = ''
  readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString(), at: performance.now() })
      this.onReceive?.(this.received.at(-1)!)
      res.end('ok')
    })
  })
  onReceive: ((r: Received) => void) | null = null

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path)
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of the caller's shape
  bodies(path: string): any[] {
    return this.at(path).map((r) => JSON.parse(r.body))
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }
}
