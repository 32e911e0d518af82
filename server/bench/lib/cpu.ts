/**
 * CPU use over a measured phase, as a percentage of one core: this process (process.cpuUsage), given
 * child processes and the Postgres backends serving the scenario's database (/proc/<pid>/stat), and
 * the whole machine (/proc/stat). Tells a CPU-bound phase from one that waits on locks or commits,
 * and shows when something outside the benchmark (another test run) was using the machine.
 */
import fs from 'node:fs'
import os from 'node:os'
import { withAdmin } from '../../test/harness/database.ts'

const TICK_MS = 10 // USER_HZ is 100 on Linux

interface Snapshot {
  at: number
  self: NodeJS.CpuUsage
  children: Map<number, number>
  backends: Map<number, number>
  database: string | null
  machineBusyMs: number
}

export interface CpuUse {
  /** This process (API, and worker unless split), % of one core. */
  selfPct: number
  /** Each child process given, % of one core. */
  childrenPct: number[]
  /** Postgres backends connected to the scenario's database, % of one core. */
  postgresPct: number
  /** Every process on the machine, % of one core (so up to cores × 100). */
  machinePct: number
  /** What the machine used beyond the above (Postgres background processes, other work on the box). */
  otherPct: number
  cores: number
}

function procTicks(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14, 15 of proc(5))
  } catch {
    return NaN
  }
}

function machineBusyMs(): number {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0)
    return (cpu.reduce((a, b) => a + b, 0) - idle) * TICK_MS
  } catch {
    return NaN
  }
}

async function backendTicks(database: string | null): Promise<Map<number, number>> {
  if (!database) return new Map()
  const pids = await withAdmin(async (c) => (await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])).rows.map((r) => r.pid))
  return new Map(pids.map((pid) => [pid, procTicks(pid)]))
}

export async function cpuSnapshot(options: { children?: number[]; database?: string } = {}): Promise<Snapshot> {
  const backends = await backendTicks(options.database ?? null)
  return {
    at: performance.now(),
    self: process.cpuUsage(),
    children: new Map((options.children ?? []).map((pid) => [pid, procTicks(pid)])),
    backends,
    database: options.database ?? null,
    machineBusyMs: machineBusyMs(),
  }
}

export async function cpuSince(start: Snapshot): Promise<CpuUse> {
  const wall = performance.now() - start.at
  const self = process.cpuUsage(start.self)
  const machine = machineBusyMs() - start.machineBusyMs
  const children = [...start.children].map(([pid, t]) => (procTicks(pid) - t) * TICK_MS)
  const backendsNow = await backendTicks(start.database)
  let postgres = 0
  // A backend that connected during the phase spent all its time in it; one that left is lost (rare: pools keep theirs).
  for (const [pid, t] of backendsNow) if (Number.isFinite(t)) postgres += (t - (start.backends.get(pid) ?? 0)) * TICK_MS
  const pct = (ms: number) => (ms / wall) * 100
  const selfMs = (self.user + self.system) / 1000
  return {
    selfPct: pct(selfMs),
    childrenPct: children.map(pct),
    postgresPct: pct(postgres),
    machinePct: pct(machine),
    otherPct: pct(machine - selfMs - children.reduce((a, b) => a + b, 0) - postgres),
    cores: os.cpus().length,
  }
}

/** CPU the rest of the machine uses (everything but this process) over `ms`, % of one core. */
export async function backgroundLoad(ms = 1000): Promise<number> {
  const start = await cpuSnapshot()
  await new Promise((r) => setTimeout(r, ms))
  const u = await cpuSince(start)
  return u.machinePct - u.selfPct
}

/**
 * Samples other work on the machine for a second; while it uses `thresholdPct` of a core or more,
 * keeps sampling for at most `maxWaitMs` more. Returns the extra time waited and the last sample.
 */
export async function waitForQuiet(thresholdPct: number, maxWaitMs: number): Promise<{ waitedMs: number; backgroundPct: number }> {
  let backgroundPct = await backgroundLoad(1000)
  const t0 = performance.now()
  while (backgroundPct >= thresholdPct && performance.now() - t0 + 1000 <= maxWaitMs) backgroundPct = await backgroundLoad(1000)
  return { waitedMs: performance.now() - t0, backgroundPct }
}
