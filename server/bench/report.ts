/** Turns per-round results into figures (median, min, max over rounds) and a readable report. */
import type { CpuUse } from './lib/cpu.ts'
import type { E2EResult, TriggerMode } from './scenarios/e2e-throughput.ts'
import type { LogResult } from './scenarios/log-throughput.ts'
import type { PgBossRawResult } from './scenarios/pgboss-raw.ts'
import type { LatencyResult, LatencySeries } from './scenarios/start-latency.ts'
import { spread, type Spread } from './lib/stats.ts'

export interface RoundResult {
  round: number
  pgboss?: PgBossRawResult
  e2e: Partial<Record<TriggerMode, E2EResult>>
  latency?: LatencyResult
  log?: LogResult
}

export interface Figure extends Spread {
  label: string
  unit: string
}

/** Figures by key (`e2e.service.runsPerSec`, `latency.http.runningSeenMs.p99`, …). */
export type Summary = Record<string, Figure>

export const MODES: TriggerMode[] = ['service', 'http', 'split', 'spread']
const MODE_LABEL: Record<TriggerMode, string> = {
  service: 'service trigger; API + worker in one process',
  http: 'HTTP GraphQL trigger; API + worker in one process',
  split: 'service trigger; API process + separate worker process',
  spread: 'service trigger; one process; runs spread over 20 templates',
}
type LatencyKey = Exclude<keyof LatencySeries, 'runningBeforeReturn'>
const LATENCY_ROWS: Array<[LatencyKey, string]> = [
  ['triggerCallMs', 'trigger call (until it returns)'],
  ['runningSeenMs', 'trigger returned → RUNNING notice received'],
  ['callToRunningMs', 'trigger called → RUNNING notice received'],
  ['executorEnteredMs', 'trigger returned → executor entered'],
  ['dbStartedMinusCreatedMs', 'DB started_at − created_at (1 ms resolution)'],
]

export function summarise(rounds: RoundResult[]): Summary {
  const out: Summary = {}
  const add = (key: string, label: string, unit: string, pick: (r: RoundResult) => number | undefined) => {
    const values = rounds.map(pick)
    if (values.every((v) => v === undefined)) return
    out[key] = { label, unit, ...spread(values.map((v) => v ?? NaN)) }
  }
  const cpu = (prefix: string, pick: (r: RoundResult) => CpuUse | undefined, selfLabel: string) => {
    add(`${prefix}.cpu.self`, `CPU: ${selfLabel}`, '%', (r) => pick(r)?.selfPct)
    add(`${prefix}.cpu.worker`, 'CPU: worker process', '%', (r) => pick(r)?.childrenPct[0])
    add(`${prefix}.cpu.postgres`, 'CPU: Postgres backends of the scenario database', '%', (r) => pick(r)?.postgresPct)
    add(`${prefix}.cpu.other`, 'CPU: everything else on the machine (other work, Postgres background)', '%', (r) => pick(r)?.otherPct)
  }

  add('pgboss.batchSend', 'batch send (insert, 1000 per call)', 'jobs/s', (r) => r.pgboss?.batchSendPerSec)
  add('pgboss.singleSend', 'single send (one send per call, 8 calls in flight)', 'jobs/s', (r) => r.pgboss?.singleSendPerSec)
  add('pgboss.workComplete', 'work + complete (work(), batchSize 250, localConcurrency 2)', 'jobs/s', (r) => r.pgboss?.workCompletePerSec)
  add('pgboss.sendWork', 'batch send + work/complete (jobs / both phases)', 'jobs/s', (r) => r.pgboss?.sendWorkPerSec)
  cpu('pgboss', (r) => r.pgboss?.cpu, 'benchmark process (pg-boss client)')

  for (const m of MODES) {
    const e = (r: RoundResult) => r.e2e[m]
    add(`e2e.${m}.runsPerSec`, 'runs/s, first trigger → last SUCCEEDED event', 'runs/s', (r) => e(r)?.runsPerSec)
    add(`e2e.${m}.dbRunsPerSec`, 'runs/s from the DB (runs / (last finished_at − first created_at))', 'runs/s', (r) => e(r)?.dbRunsPerSec)
    add(`e2e.${m}.triggerPerSec`, 'trigger calls/s (while the worker executes)', 'runs/s', (r) => e(r)?.triggerPerSec)
    add(`e2e.${m}.vsWorkComplete`, 'ratio to pg-boss work + complete', '×', (r) => (e(r) && r.pgboss ? e(r)!.runsPerSec / r.pgboss.workCompletePerSec : undefined))
    add(`e2e.${m}.vsSendWork`, 'ratio to pg-boss batch send + work/complete', '×', (r) => (e(r) && r.pgboss ? e(r)!.runsPerSec / r.pgboss.sendWorkPerSec : undefined))
    add(`e2e.${m}.vsSingleSend`, 'ratio to pg-boss single send', '×', (r) => (e(r) && r.pgboss ? e(r)!.runsPerSec / r.pgboss.singleSendPerSec : undefined))
    add(`e2e.${m}.pgCpuPerRun`, 'Postgres backend CPU per run', 'ms', (r) => (e(r) ? (e(r)!.cpu.postgresPct * 10) / e(r)!.runsPerSec : undefined))
    add(`e2e.${m}.statementsPerRun`, m === 'split' ? 'SQL statements per run (API process only)' : 'SQL statements per run (whole process)', 'stmts', (r) => e(r)?.statementsPerRun)
    cpu(`e2e.${m}`, (r) => e(r)?.cpu, m === 'split' ? 'API process (triggers, subscription)' : 'app process (API + worker + benchmark client)')
  }

  for (const via of ['service', 'http'] as const) {
    const series = (r: RoundResult): LatencySeries | undefined => r.latency?.[via]
    for (const [key, label] of LATENCY_ROWS) {
      for (const q of ['p50', 'p99', 'max'] as const) add(`latency.${via}.${key}.${q}`, `${label} ${q}`, 'ms', (r) => series(r)?.[key][q])
    }
    add(`latency.${via}.runningBeforeReturn`, 'samples already RUNNING when the trigger call returned', 'samples', (r) => series(r)?.runningBeforeReturn)
  }
  cpu('latency', (r) => r.latency?.cpu, 'app process (API + worker + benchmark client)')

  add('log.persisted', 'lines/s persisted (executor start → last line committed)', 'lines/s', (r) => r.log?.persistedPerSec)
  add('log.delivered', 'lines/s delivered to the graphql-ws subscriber (first → last line)', 'lines/s', (r) => r.log?.deliveredPerSec)
  add('log.emitMs', 'executor time to produce the lines (into the writer buffer)', 'ms', (r) => r.log?.emitMs)
  add('log.persistMs', 'executor start → last line committed', 'ms', (r) => r.log?.persistMs)
  add('log.endToEndMs', 'executor start → last line received by the subscriber', 'ms', (r) => r.log?.endToEndMs)
  add('log.deliveryLagMs', 'last line committed → received by the subscriber', 'ms', (r) => r.log?.deliveryLagMs)
  add('log.insertStatements', 'INSERT statements for the run (= log NOTIFYs)', 'statements', (r) => r.log?.insertStatements)
  add('log.linesPerInsert', 'lines per INSERT, median', 'lines', (r) => r.log?.linesPerInsert.median)
  add('log.subscriptionMessages', 'subscription messages (batches) received', 'messages', (r) => r.log?.subscriptionMessages)
  add('log.linesPerMessage', 'lines per subscription message, median', 'lines', (r) => r.log?.linesPerMessage.median)
  cpu('log', (r) => r.log?.cpu, 'app process (API + worker + executor + subscriber)')
  return out
}

function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '—'
  if (unit === '×') return v >= 0.1 ? `${v.toFixed(2)}×` : `${(v * 100).toFixed(2)}%`
  if (unit === '%') return `${v.toFixed(0)}%`
  if (unit === 'ms') return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US')
  return Number.isInteger(v) ? String(v) : v.toFixed(1)
}

const unitSuffix = (unit: string) => (unit === '×' || unit === '%' ? '' : ` ${unit}`)

function withRange(f: Figure, rounds: number): string {
  const value = fmt(f.median, f.unit) + unitSuffix(f.unit)
  return rounds > 1 ? `${value} [${fmt(f.min, f.unit)} – ${fmt(f.max, f.unit)}]` : value
}

interface ReportInput {
  startedAt: string
  durationSeconds: number
  loadAverageAtStart: number[]
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; postgres: string; pgBoss: string }
  settings: {
    rounds: number
    /** Other work at or above this (% of a core) is called out. */
    quietThresholdPct: number
    pgboss: { jobs: number; singleSends: number }
    e2e: { runs: number; concurrency: number; warmupRuns: number; modes: TriggerMode[] }
    latency: { samples: number; warmup: number; idleGapMs: number }
    log: { lines: number; chunk: number }
  }
  appConfig: Record<string, unknown> | null
  summary: Summary
  quiet: Array<{ round: number; scenario: string; waitedMs: number; backgroundPct: number }>
  appProblems: string[]
}

export function formatReport(r: ReportInput): string {
  const s = r.summary
  const n = r.settings.rounds
  const BUSY_PCT = r.settings.quietThresholdPct
  const row = (key: string, indent = '  ') => {
    const f = s[key]
    return f ? [`${indent}${f.label.padEnd(74 - indent.length)} ${withRange(f, n)}`] : []
  }
  const rows = (keys: string[], indent?: string) => keys.flatMap((k) => row(k, indent))
  const cpuRows = (prefix: string, indent = '  ') => {
    const other = s[`${prefix}.cpu.other`]
    const warn = other && other.median >= BUSY_PCT ? [`${indent}!! other work used ${fmt(other.median, '%')} of a core meanwhile: these figures are depressed by it`] : []
    return [...rows(['self', 'worker', 'postgres', 'other'].map((c) => `${prefix}.cpu.${c}`), indent), ...warn]
  }
  const out: string[] = [
    `Switchyard benchmark — ${r.startedAt}, took ${r.durationSeconds} s`,
    `${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB; Node ${r.machine.node}; PostgreSQL ${r.machine.postgres}; pg-boss ${r.machine.pgBoss}; load average at start ${r.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}`,
    `${n} round(s), scenarios interleaved; each figure is the median over rounds${n > 1 ? ' [min – max]' : ''}. Fresh database per scenario. CPU figures are % of one core.`,
    ...(r.appConfig ? [`App settings: ${Object.entries(r.appConfig).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`] : []),
  ]
  if (s['pgboss.batchSend']) {
    out.push('', `1a. Raw pg-boss on the same Postgres (${r.settings.pgboss.jobs.toLocaleString('en-US')} jobs batch-sent, then drained; ${r.settings.pgboss.singleSends.toLocaleString('en-US')} single sends)`)
    out.push(...rows(['pgboss.batchSend', 'pgboss.singleSend', 'pgboss.workComplete', 'pgboss.sendWork']), ...cpuRows('pgboss'))
  }
  const modes = r.settings.e2e.modes.filter((m) => s[`e2e.${m}.runsPerSec`])
  if (modes.length) {
    out.push(
      '',
      `1b. End-to-end no-op runs: ${r.settings.e2e.runs.toLocaleString('en-US')} runs, ${r.settings.e2e.concurrency} concurrent trigger callers, each run's SUCCEEDED seen on a jobRunsChanged subscription (${r.settings.e2e.warmupRuns} warm-up runs first)`,
    )
    for (const m of modes) {
      out.push(`  ${m}: ${MODE_LABEL[m]}`)
      out.push(...rows(['runsPerSec', 'dbRunsPerSec', 'triggerPerSec', 'vsWorkComplete', 'vsSendWork', 'vsSingleSend', 'pgCpuPerRun', 'statementsPerRun'].map((k) => `e2e.${m}.${k}`), '    '))
      out.push(...cpuRows(`e2e.${m}`, '    '))
    }
  }
  if (s['latency.service.triggerCallMs.p50']) {
    out.push('', `2. Trigger → start latency: ${r.settings.latency.samples} sequential single runs per series, each after the previous one finished + ${r.settings.latency.idleGapMs} ms (${r.settings.latency.warmup} warm-up)`)
    const cell = (key: string) => (s[key] ? withRange(s[key]!, n) : '—')
    for (const via of ['service', 'http'] as const) {
      out.push(`  ${via === 'service' ? 'service: RunsService.trigger in-process' : 'http: triggerJobRun mutation over HTTP'}${' '.repeat(via === 'service' ? 10 : 11)}${'p50'.padEnd(24)}${'p99'.padEnd(24)}max`)
      for (const [key, label] of LATENCY_ROWS) {
        const p = `latency.${via}.${key}`
        out.push(`    ${label.padEnd(46)} ${cell(`${p}.p50`).padEnd(23)} ${cell(`${p}.p99`).padEnd(23)} ${cell(`${p}.max`)}`)
      }
      out.push(...row(`latency.${via}.runningBeforeReturn`, '    '))
    }
    out.push(...cpuRows('latency'))
  }
  if (s['log.persisted']) {
    out.push('', `3. Log throughput: one run writing ${r.settings.log.lines.toLocaleString('en-US')} output lines (yielding every ${r.settings.log.chunk}), followed live by one graphql-ws subscriber of jobRunLogAppended`)
    out.push(
      ...rows(['log.persisted', 'log.delivered', 'log.emitMs', 'log.persistMs', 'log.endToEndMs', 'log.deliveryLagMs', 'log.insertStatements', 'log.linesPerInsert', 'log.subscriptionMessages', 'log.linesPerMessage']),
      ...cpuRows('log'),
    )
  }
  if (r.quiet.length) {
    const bg = r.quiet.map((q) => q.backgroundPct).sort((a, b) => a - b)
    const waited = r.quiet.reduce((a, q) => a + q.waitedMs, 0)
    out.push('', `Other work on the machine just before each scenario: median ${bg[bg.length >> 1]}%, max ${bg.at(-1)}% of a core; waited ${(waited / 1000).toFixed(0)} s in all for it to drop below ${BUSY_PCT}%.`)
  }
  out.push('', problems(r.appProblems))
  return out.join('\n')
}

/** App warnings/errors grouped by message (timestamps and field values dropped). */
function problems(lines: string[]): string {
  if (!lines.length) return 'App warnings/errors logged during the benchmark: none'
  const counts = new Map<string, number>()
  for (const l of lines) {
    const key = l.replace(/^\S+ /, '').replace(/ (runId|error|attempt|delayMs)=("[^"]*"|\S+)/g, '')
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [`App warnings/errors logged during the benchmark: ${lines.length}${lines.length >= 200 ? '+ (capped)' : ''}`, ...[...counts].map(([k, c]) => `  ${c} × ${k}`)].join('\n')
}
