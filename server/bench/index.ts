/**
 * `npm run bench`: measures Switchyard against the machine's Postgres and prints a report (also
 * written as JSON to bench/results/latest.json). Every scenario runs on a fresh clone of the migrated
 * template database, with the app started in-process by the product's `startApp`. Scenarios are
 * interleaved round by round, so drift (page cache, autovacuum, thermal) touches them alike; each
 * figure is the median over the rounds with its min and max.
 *
 *   npm run bench                      3 rounds, full sizes (~2-3 minutes)
 *   npm run bench -- --rounds 5
 *   npm run bench -- --quick           1 round, small sizes (smoke test)
 *   npm run bench -- --only e2e,log    scenarios: pgboss, e2e, latency, log, schedules, workflow, checkmk, nautobot, notifications, retention, outbox, ssh-fanout, subscribers, idle-rss
 *   npm run bench -- --only e2e --e2e-modes service,split   only these end-to-end modes
 *   npm run bench -- --only e2e --statements   also list the statements each end-to-end run sends
 *   npm run bench -- --only subscribers --subscribers 300 --lines-per-sec 2000
 *   npm run bench -- --no-wait-idle    don't wait for other work on the machine to calm down first
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import globalSetup from '../test/harness/global-setup.ts'
import { withAdmin } from '../test/harness/database.ts'
import { appProblems } from './lib/app.ts'
import { dropOrphanDatabases, releaseAll, releaseOnSignals } from './lib/resources.ts'
import { waitForQuiet } from './lib/cpu.ts'
import { now } from './lib/stats.ts'
import { formatReport, summarise, type RoundResult } from './report.ts'
import { runE2E, type E2EOptions, type TriggerMode } from './scenarios/e2e-throughput.ts'
import { runLogThroughput, type LogOptions } from './scenarios/log-throughput.ts'
import { runPgBossRaw, type PgBossRawOptions } from './scenarios/pgboss-raw.ts'
import { runLatency, type LatencyOptions } from './scenarios/start-latency.ts'
import { formatScheduleLateness, runScheduleLateness, type ScheduleLatenessOptions, type ScheduleLatenessResult } from './scenarios/schedule-lateness.ts'
import { formatCheckmkDevices, runCheckmkDevices, type CheckmkDevicesOptions, type CheckmkDevicesResult } from './scenarios/checkmk-devices.ts'
import { formatNautobotSync, runNautobotSync, type NautobotSyncOptions, type NautobotSyncResult } from './scenarios/nautobot-sync.ts'
import { formatOutboxTrigger, runOutboxTrigger, type OutboxTriggerOptions, type OutboxTriggerResult } from './scenarios/outbox-trigger.ts'
import { formatWorkflowAdvance, runWorkflowAdvance, type WorkflowAdvanceOptions, type WorkflowAdvanceResult } from './scenarios/workflow-advance.ts'
import { formatRetention, runRetention, type RetentionOptions, type RetentionResult } from './scenarios/retention.ts'
import { formatSshFanout, runSshFanout, type SshFanoutOptions, type SshFanoutResult } from './scenarios/ssh-fanout.ts'
import { formatSubscribers, runSubscribers, type SubscribersOptions, type SubscribersResult } from './scenarios/subscribers.ts'
import { formatIdleRss, runIdleRss, type IdleRssOptions, type IdleRssResult } from './scenarios/idle-rss.ts'
import { formatNotifications, runNotifications, type NotificationsOptions, type NotificationsResult } from './scenarios/notifications.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const SCENARIOS = ['pgboss', 'e2e', 'latency', 'log', 'schedules', 'workflow', 'checkmk', 'nautobot', 'notifications', 'retention', 'outbox', 'ssh-fanout', 'subscribers', 'idle-rss'] as const
type Scenario = (typeof SCENARIOS)[number]

export interface BenchSettings {
  rounds: number
  /** Before each scenario, wait for other work on the machine to drop below this (% of a core)… */
  quietThresholdPct: number
  /** …for at most this long per scenario, and this long in all. */
  quietMaxWaitMs: number
  quietBudgetMs: number
  scenarios: Scenario[]
  pgboss: PgBossRawOptions
  e2e: E2EOptions & { modes: TriggerMode[] }
  latency: LatencyOptions
  log: LogOptions
  schedules: ScheduleLatenessOptions
  workflow: WorkflowAdvanceOptions
  checkmk: CheckmkDevicesOptions
  notifications: NotificationsOptions
  sshFanout: SshFanoutOptions
  subscribers: SubscribersOptions
  nautobot: NautobotSyncOptions
  idleRss: IdleRssOptions
  retention: RetentionOptions
  outbox: OutboxTriggerOptions
}

function parseArgs(argv: string[]): BenchSettings {
  const arg = (name: string) => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
    if (i < 0) return null
    return argv[i]!.includes('=') ? argv[i]!.slice(argv[i]!.indexOf('=') + 1) : (argv[i + 1] ?? '')
  }
  const quick = argv.includes('--quick')
  const k = quick ? 10 : 1
  const only = arg('only')
  const scenarios = only ? only.split(',').map((s) => s.trim()) : [...SCENARIOS]
  for (const s of scenarios) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}" (expected ${SCENARIOS.join(', ')})`)
  const rounds = Number(arg('rounds') ?? (quick ? 1 : 3))
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer')
  const waitIdle = !argv.includes('--no-wait-idle')
  return {
    rounds,
    quietThresholdPct: 30,
    quietMaxWaitMs: waitIdle ? 15_000 : 0,
    quietBudgetMs: waitIdle ? 90_000 : 0,
    scenarios: scenarios as Scenario[],
    pgboss: { jobs: 20_000 / k, insertBatch: 1000, singleSends: 2000 / k, concurrency: 8, batchSize: 250, localConcurrency: 2, poolSize: 10 },
    e2e: { modes: (arg('e2e-modes')?.split(',').map((m) => m.trim()) ?? ['service', 'http', 'split', 'spread']) as TriggerMode[], runs: 1000 / k, concurrency: 8, warmupRuns: 100 / k, spreadTemplates: 20, timeoutMs: 120_000 },
    latency: { samples: 200 / k, warmup: 20 / k, idleGapMs: 20, timeoutMs: 10_000 },
    log: { lines: 100_000 / k, chunk: 500, warmupLines: 5000 / k, timeoutMs: 120_000 },
    // Long (it waits on wall-clock slots): measured once, after the rounds.
    schedules: quick ? { counts: [1000], windowSeconds: 10, idleSeconds: 5 } : { counts: [1000, 10_000], windowSeconds: 30, idleSeconds: 10 },
    // The shape (1 + 100 + 1 + 98 = 200 nodes) at every size: it is what the figures are about.
    // At the default 20 worker slots and at 100 (≥ the fan-out): engine latency apart from slot queueing.
    workflow: { runs: quick ? 1 : 3, fanOut: 100, chain: 98, timeoutMs: 300_000, slots: [null, 100] },
    // The size: compare + sync_devices of 10,000 devices against the Checkmk contract server.
    checkmk: { devices: quick ? 1000 : 10_000, chunkSize: 500, timeoutMs: 600_000 },
    // The size: 1,000 failing runs, with and without a webhook rule, in the same round.
    notifications: { runs: 1000 / k, concurrency: 8, rounds: Number(arg('rounds') ?? (quick ? 1 : 3)), timeoutMs: 300_000 },
    // The size: dry run + sync of at least 2,000 devices loaded into the real Nautobot.
    nautobot: { devices: quick ? 200 : 2000, chunk: 250, timeoutMs: 600_000 },
    // The compiled server (what `npm start` runs) and, for comparison, the same source under tsx.
    // 2,000,000 log lines freed per method and round (1,000 runs × 2,000 lines) in retention's default
    // batches of 500 runs, a writer going on meanwhile.
    retention: quick ? { rounds: 1, runs: 100, linesPerRun: 2000, batch: 50, idleMs: 1000 } : { rounds, runs: 1000, linesPerRun: 2000, batch: 500, idleMs: 3000 },
    sshFanout: { targets: quick ? 100 : 500, maxParallelTargets: 50, singleRuns: quick ? 3 : 5, command: 'uname -n', timeoutMs: 600_000, encryptedKey: argv.includes('--ssh-encrypted-key') },
    subscribers: {
      subscribers: Number(arg('subscribers') ?? (quick ? 100 : 1000)),
      processes: Number(arg('subscriber-processes') ?? 2),
      verifyEvery: Number(arg('verify-every') ?? 50),
      linesPerSec: Number(arg('lines-per-sec') ?? (quick ? 1000 : 10_000)),
      seconds: quick ? 5 : 10,
      timeoutMs: 300_000,
    },
    // What the outbox trigger costs a run with no notification rule enabled, before/after its early exit.
    outbox: { runs: quick ? 500 : 2000, rounds: quick ? 2 : 3 },
    idleRss: { modes: argv.includes('--idle-rss-tsx') ? ['compiled', 'tsx'] : ['compiled'], samples: quick ? 3 : 7, sampleIntervalMs: 1000, idleTimeoutMs: 30_000 },
  }
}

/** The installed version of a dependency (its package.json, found upwards from its entry point). */
function packageVersion(name: string): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve(name))
  while (dir !== path.dirname(dir)) {
    const file = path.join(dir, 'package.json')
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === name) return pkg.version ?? 'unknown'
    }
    dir = path.dirname(dir)
  }
  return 'unknown'
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2))
  releaseOnSignals()
  const started = new Date()
  const loadAverageAtStart = os.loadavg()
  const t0 = now()
  await globalSetup() // the migrated template database every scenario clones
  const orphans = await dropOrphanDatabases()
  if (orphans.length) process.stderr.write(`dropped ${orphans.length} database(s) left by an interrupted benchmark\n`)
  const postgres = await withAdmin(async (c) => (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version)
  const pgBossVersion = packageVersion('pg-boss')

  const rounds: RoundResult[] = []
  const quiet: Array<{ round: number; scenario: string; waitedMs: number; backgroundPct: number }> = []
  let quietBudget = settings.quietBudgetMs
  const has = (s: Scenario) => settings.scenarios.includes(s)
  for (let i = 0; i < settings.rounds; i++) {
    const r: RoundResult = { round: i + 1, e2e: {} }
    const step = async <T,>(label: string, fn: () => Promise<T>): Promise<T> => {
      process.stderr.write(`round ${i + 1}/${settings.rounds}: ${label}… `)
      if (quietBudget > 0) {
        const q = await waitForQuiet(settings.quietThresholdPct, Math.min(settings.quietMaxWaitMs, quietBudget))
        quietBudget -= q.waitedMs
        quiet.push({ round: i + 1, scenario: label, waitedMs: Math.round(q.waitedMs), backgroundPct: Math.round(q.backgroundPct) })
        if (q.backgroundPct >= settings.quietThresholdPct) process.stderr.write(`(machine busy: ${q.backgroundPct.toFixed(0)}% of a core used by other work) `)
      }
      const s = now()
      const v = await fn()
      process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
      return v
    }
    if (has('pgboss')) r.pgboss = await step('raw pg-boss', () => runPgBossRaw(settings.pgboss))
    if (has('e2e')) {
      for (const mode of settings.e2e.modes) {
        const e = (r.e2e[mode] = await step(`end-to-end no-op runs (${mode})`, () => runE2E(mode, settings.e2e)))
        if (process.argv.includes('--statements')) {
          process.stderr.write(`  ${e.statementsPerRun.toFixed(2)} statements per run; the most frequent (per run):\n`)
          for (const [per, text] of e.topStatements) process.stderr.write(`    ${per.toFixed(3).padStart(7)}  ${text}\n`)
        }
      }
    }
    if (has('latency')) r.latency = await step('trigger → start latency', () => runLatency(settings.latency))
    if (has('log')) r.log = await step('log throughput', () => runLogThroughput(settings.log))
    rounds.push(r)
  }
  let schedules: ScheduleLatenessResult | null = null
  if (has('schedules')) {
    process.stderr.write('schedule fire lateness and idle CPU… ')
    const s = now()
    schedules = await runScheduleLateness(settings.schedules)
    process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
  }

  let workflow: WorkflowAdvanceResult | null = null
  if (has('workflow')) {
    process.stderr.write('200-node workflow… ')
    const s = now()
    workflow = await runWorkflowAdvance(settings.workflow)
    process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
  }

  let checkmk: CheckmkDevicesResult | null = null
  if (has('checkmk')) {
    process.stderr.write(`Checkmk compare/sync of ${settings.checkmk.devices} devices… `)
    const s = now()
    checkmk = await runCheckmkDevices(settings.checkmk)
    process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
  }
  let notifications: NotificationsResult | null = null
  if (has('notifications')) {
    process.stderr.write(`notifications (${settings.notifications.runs} failing runs, with and without a webhook rule, ${settings.notifications.rounds} rounds)… `)
    const s = now()
    notifications = await runNotifications(settings.notifications)
    process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
  }
  let retention: RetentionResult | null = null
  if (has('retention')) {
    process.stderr.write(`freeing old logs (delete vs drop partition), ${settings.retention.rounds} round(s)… `)
    const s = now()
    retention = await runRetention(settings.retention)
    process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
  }
  let sshFanout: SshFanoutResult | null = null
  if (has('ssh-fanout')) {
    process.stderr.write(`SSH fan-out to ${settings.sshFanout.targets} targets… `)
    const s = now()
    sshFanout = await runSshFanout(settings.sshFanout)
    process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
  }
  let subscribers: SubscribersResult | null = null
  if (has('subscribers')) {
    process.stderr.write(`${settings.subscribers.subscribers} log subscribers… `)
    const s = now()
    subscribers = await runSubscribers(settings.subscribers)
    process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
  }
  let nautobot: NautobotSyncResult | null = null
  if (has('nautobot')) {
    process.stderr.write(`Nautobot inventory sync of ${settings.nautobot.devices} devices (loading them first)… `)
    const s = now()
    nautobot = await runNautobotSync(settings.nautobot)
    process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
  }
  let outbox: OutboxTriggerResult | null = null
  if (has('outbox')) {
    process.stderr.write(`outbox trigger, ${settings.outbox.runs} runs × ${settings.outbox.rounds} rounds… `)
    const s = now()
    outbox = await runOutboxTrigger(settings.outbox)
    process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
  }
  // Its own processes, after the rounds (it needs the machine quiet rather than interleaving).
  const idleRss: IdleRssResult[] = []
  if (has('idle-rss')) {
    for (const mode of settings.idleRss.modes) {
      process.stderr.write(`idle RSS (${mode})… `)
      const s = now()
      idleRss.push(await runIdleRss(mode, settings.idleRss))
      process.stderr.write(`${((now() - s) / 1000).toFixed(1)} s\n`)
    }
  }

  const report = {
    startedAt: started.toISOString(),
    loadAverageAtStart,
    durationSeconds: Number(((now() - t0) / 1000).toFixed(1)),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, postgres, pgBoss: pgBossVersion },
    settings,
    appConfig: rounds.flatMap((r) => Object.values(r.e2e).map((e) => e.appConfig))[0] ?? null,
    summary: summarise(rounds),
    quiet,
    rounds,
    schedules,
    workflow,
    checkmk,
    notifications,
    retention,
    sshFanout,
    subscribers,
    nautobot,
    outbox,
    idleRss,
    appProblems,
  }
  const dir = path.join(here, 'results')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n')
  process.stdout.write(formatReport(report) + (schedules ? formatScheduleLateness(schedules) : '') + (workflow ? formatWorkflowAdvance(workflow) : '') + (checkmk ? formatCheckmkDevices(checkmk) : '') + (nautobot ? formatNautobotSync(nautobot) : '') + (notifications ? formatNotifications(notifications) : '') + (retention ? formatRetention(retention) : '') + (outbox ? formatOutboxTrigger(outbox) : '') + formatSshFanout(sshFanout) + formatSubscribers(subscribers) + formatIdleRss(idleRss) + `\nJSON: ${path.relative(process.cwd(), path.join(dir, 'latest.json'))}\n`)
}

try {
  await main()
} catch (e) {
  process.stderr.write(`\nbenchmark failed: ${(e as Error).stack ?? e}\n`)
  process.exitCode = 1
} finally {
  await releaseAll()
}
// pg-boss and undici can keep timers alive for a while; everything we own is released by now.
process.exit(process.exitCode ?? 0)
