/**
 * A real Prometheus (Debian's `prometheus` package, /usr/bin/prometheus) for tests: its own config and
 * storage in a temp dir, listening on a free loopback port, run as a process group this harness owns
 * (stopped by that group, never by name). `query` asks its HTTP API for an instant vector.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { unusedLoopbackPort } from './sshd.ts'

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus'

export interface ScrapeJob {
  name: string
  /** host:port */
  target: string
  bearerToken?: string
}

export interface TestPrometheus {
  url: string
  /** Instant query: each series' labels and value. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>>
  stop(): Promise<void>
}

export async function startPrometheus(jobs: ScrapeJob[]): Promise<TestPrometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-prom-'))
  const lines = ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:']
  for (const j of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(j.name)}`, '    scrape_interval: 1s')
    if (j.bearerToken) lines.push('    authorization:', '      type: Bearer', `      credentials: ${JSON.stringify(j.bearerToken)}`)
    lines.push('    static_configs:', `      - targets: [${JSON.stringify(j.target)}]`)
  }
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), lines.join('\n') + '\n')
  const port = await unusedLoopbackPort()
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          /* gone */
        }
      }, 5000)
      await exited
      clearTimeout(timer)
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  // Ready when its readiness endpoint says so (it replays no WAL here: a fresh dir).
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`)
    const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)
    if (ok) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`prometheus did not become ready: ${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)
      const body = (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }
      if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`)
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
    },
    stop,
  }
}
