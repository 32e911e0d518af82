/**
 * Idle memory of one server process with every role (api + worker + scheduler, serving the web UI),
 * started the way `npm start` starts it: the node flags and dist/main.js of server/package.json's start
 * script (built first with `npm run build`). The process gets its own database clone, serves one UI page and one GraphQL query,
 * then the scenario waits until it is idle (under 2 % of a core for 3 s) and samples its resident set
 * (/proc/<pid>/status VmRSS) several times; the figure is the median. The same is measured before the
 * first UI request (Next.js is loaded on the first page) and, with `tsx`, for the TypeScript loader the
 * server used to run under. /metrics' heap figures are recorded beside RSS to show where memory goes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { unusedLoopbackPort } from '../../test/harness/sshd.ts'
import { serverStartScript } from '../../test/harness/start-script.ts'
import { BENCH_ADMIN_PASSWORD, benchEnv } from '../lib/config.ts'
import { track, withDatabase } from '../lib/resources.ts'
import { median } from '../lib/stats.ts'

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const MIB = 1024 * 1024

export type IdleRssMode = 'compiled' | 'tsx'

export interface IdleRssOptions {
  modes: IdleRssMode[]
  samples: number
  sampleIntervalMs: number
  /** Longest wait for the process to go idle before sampling anyway (reported). */
  idleTimeoutMs: number
}

export interface RssFigures {
  /** Median, min and max of the samples, MiB. */
  medianMiB: number
  minMiB: number
  maxMiB: number
  samples: number[]
  /** Whether the process reached idle (false: sampled after idleTimeoutMs anyway). */
  idle: boolean
  /** From /metrics at the end of the phase (prom-client's process metrics), MiB. */
  heapUsedMiB: number | null
  heapTotalMiB: number | null
  externalMiB: number | null
}

export interface IdleRssResult {
  mode: IdleRssMode
  command: string
  startupMs: number
  /** Ready, before any UI request (Next.js not loaded yet). */
  beforeUi: RssFigures
  /** After serving a UI page and a GraphQL query: every role doing what it does. */
  afterUi: RssFigures
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? NaN) * 1024
}

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(f[11]) + Number(f[12])
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until the process used < 2 % of a core over each of 6 consecutive 500 ms windows. */
async function waitIdle(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  let quiet = 0
  let last = cpuTicks(pid)
  while (Date.now() < deadline) {
    await sleep(500)
    const now = cpuTicks(pid)
    // 10 ms ticks: 2 % of 500 ms is one tick.
    quiet = now - last <= 1 ? quiet + 1 : 0
    last = now
    if (quiet >= 6) return true
  }
  return false
}

async function processMetrics(url: string): Promise<Pick<RssFigures, 'heapUsedMiB' | 'heapTotalMiB' | 'externalMiB'>> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const value = (name: string) => {
    const m = new RegExp(`^${name} ([0-9.e+]+)`, 'm').exec(text)
    return m ? Math.round((Number(m[1]) / MIB) * 10) / 10 : null
  }
  return { heapUsedMiB: value('nodejs_heap_size_used_bytes'), heapTotalMiB: value('nodejs_heap_size_total_bytes'), externalMiB: value('nodejs_external_memory_bytes') }
}

async function measure(pid: number, url: string, o: IdleRssOptions): Promise<RssFigures> {
  const idle = await waitIdle(pid, o.idleTimeoutMs)
  const samples: number[] = []
  for (let i = 0; i < o.samples; i++) {
    if (i) await sleep(o.sampleIntervalMs)
    samples.push(Math.round((rssBytes(pid) / MIB) * 10) / 10)
  }
  return { medianMiB: median(samples), minMiB: Math.min(...samples), maxMiB: Math.max(...samples), samples, idle, ...(await processMetrics(url)) }
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output()}`)
    try {
      if ((await fetch(`${url}/readyz`)).ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server not ready after 90 s:\n${output()}`)
    await sleep(200)
  }
}

/** `npm run build` once per benchmark (seconds), so the compiled mode measures the current source. */
let built = false
function buildServer(): void {
  if (built) return
  const r = spawnSync(process.execPath, [path.join(serverDir, 'scripts', 'build.mjs')], { cwd: serverDir, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`)
  built = true
}

export async function runIdleRss(mode: IdleRssMode, o: IdleRssOptions): Promise<IdleRssResult> {
  if (mode === 'compiled') buildServer()
  if (!fs.existsSync(path.join(serverDir, '..', 'client', 'out', 'index.html'))) {
    throw new Error('the web UI is not built: run `npm run build --workspace @switchyard/client` first')
  }
  const start = mode === 'compiled' ? serverStartScript() : { env: {}, args: ['--import', 'tsx', 'src/main.ts'] }
  const args = start.args
  return withDatabase(async (db) => {
    const port = await unusedLoopbackPort()
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-idle-rss-'))
    let output = ''
    const started = Date.now()
    const child = spawn(process.execPath, args, {
      cwd: serverDir,
      env: { ...process.env, ...start.env, ...benchEnv(db.url), PORT: String(port), SWITCHYARD_DATA_DIR: dataDir, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-64 * 1024))
    child.stdout!.on('data', collect)
    child.stderr!.on('data', collect)
    const stop = track('idle-rss server', async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(t)
      }
      fs.rmSync(dataDir, { recursive: true, force: true })
    })
    try {
      const url = `http://127.0.0.1:${port}`
      await waitReady(url, child, () => output)
      const startupMs = Date.now() - started
      const beforeUi = await measure(child.pid!, url, o)
      const page = await fetch(`${url}/`)
      if (!page.ok) throw new Error(`GET / answered ${page.status}`)
      await page.text()
      const login = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'mutation($p:String!){ login(username:"admin", password:$p){ token } }', variables: { p: BENCH_ADMIN_PASSWORD } }),
      })
      if (!login.ok) throw new Error(`login answered ${login.status}`)
      await login.text()
      const afterUi = await measure(child.pid!, url, o)
      return { mode, command: [...Object.entries(start.env).map(([k, v]) => `${k}=${v}`), 'node', ...args].join(' '), startupMs, beforeUi, afterUi }
    } finally {
      await stop()
    }
  })
}

export function formatIdleRss(results: IdleRssResult[]): string {
  if (!results.length) return ''
  const f = (r: RssFigures) =>
    `${r.medianMiB.toFixed(1)} MiB (min ${r.minMiB.toFixed(1)}, max ${r.maxMiB.toFixed(1)}${r.idle ? '' : ', never idle'}; heap ${r.heapUsedMiB ?? '?'}/${r.heapTotalMiB ?? '?'} MiB, external ${r.externalMiB ?? '?'} MiB)`
  const lines = ['', 'Idle RSS, one process with every role (api, worker, scheduler, web UI) — median of samples:']
  for (const r of results) {
    lines.push(`  ${r.mode.padEnd(8)} ${r.command}  (ready in ${(r.startupMs / 1000).toFixed(1)} s)`)
    lines.push(`    before the first UI request   ${f(r.beforeUi)}`)
    lines.push(`    after serving the UI          ${f(r.afterUi)}`)
  }
  return lines.join('\n') + '\n'
}
