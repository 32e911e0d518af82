/**
 * A 200-node workflow of `noop` nodes — a root, a fan-out of 100, a join, then a chain of 98 — run
 * `runs` times one after the other on one api+worker process, once per worker-slot setting (the
 * product's default, 20, and SWITCHYARD_WORKER_CONCURRENCY ≥ the fan-out: an operator's setting for many
 * light jobs). Per node with parents, from the moment it became ready (the latest finished_at of its
 * parents' JobRuns):
 *
 * - engine latency: → its JobRun queued and claimable (the node's started_at, clock_timestamp() in the
 *   statement that links node and run, the last of the start transaction before its commit): the
 *   graph's advance, the starter's wake-up, the start transaction;
 * - start latency: → its JobRun started (the issue's figure: what a user sees), and between the two,
 *   the queue wait: claimable → the worker fetched its message (commit, the worker's wake-up, the fetch,
 *   and waiting for a free slot), then fetched → claimed (run started);
 * - slot wait: the queue wait of the nodes that became claimable while every slot of the worker was
 *   taken (by runs fetched and not yet finished) — with 20 slots, most of a fan-out of 100.
 * And the wall time of each workflow run (created → finished) against its critical path: the longest
 * path through the graph weighted by each node's own run time (started → finished), i.e. what the
 * workflow would take if advancing cost nothing.
 * Timestamps are Postgres's (ms precision); the fetch time is pg-boss's job.started_on.
 */
import { createBenchRegistry } from '../executors.ts'
import { createTemplate, rawId, withApp } from '../lib/app.ts'
import { cpuSince, cpuSnapshot, type CpuUse } from '../lib/cpu.ts'
import { withDatabase } from '../lib/resources.ts'
import { distribution, type Distribution } from '../lib/stats.ts'

export interface WorkflowAdvanceOptions {
  runs: number
  fanOut: number
  chain: number
  timeoutMs: number
  /** Worker slots per measurement: null is the product's default (SWITCHYARD_WORKER_CONCURRENCY unset). */
  slots: Array<number | null>
}

/** One slot setting's figures (ms), over every node with parents of every run. */
export interface WorkflowSlotsResult {
  slots: number
  /** Parent finished → node's run started (the figure). */
  start: Distribution
  /** Parent finished → node's run queued and claimable (the engine's part)… */
  engine: Distribution
  /** …of which parent finished → the start transaction began (job_run.created_at). */
  created: Distribution
  /** Claimable → fetched by the worker (commit, wake-up, fetch, and any wait for a free slot). */
  queueWait: Distribution
  /** Fetched → claimed (run started). */
  claim: Distribution
  /** The queue wait of nodes claimable while every slot was taken (n = how many). */
  slotWait: Distribution
  /** Engine latency of the fan-out's nodes (created in slices of 50 under the workflow run's lock) and the join. */
  fanEngine: Distribution
  joinEngine: Distribution
  /** Start transaction began → node claimable (creating a slice's runs). */
  startTx: Distribution
  /** The chain only (one ready node at a time: nothing to wait behind). */
  chainEngine: Distribution
  chainStart: Distribution
  /** Per workflow run: wall ms, critical-path ms. */
  runs: Array<{ wallMs: number; criticalPathMs: number }>
  cpu: CpuUse
}

export interface WorkflowAdvanceResult {
  nodes: number
  fanOut: number
  configs: WorkflowSlotsResult[]
}

interface NodeTimes {
  key: string
  created: Date
  claimable: Date
  fetched: Date
  started: Date
  finished: Date
  wf_created: Date
  wf_finished: Date
}

export async function runWorkflowAdvance(o: WorkflowAdvanceOptions): Promise<WorkflowAdvanceResult> {
  const configs: WorkflowSlotsResult[] = []
  for (const slots of o.slots) configs.push(await runOnce(o, slots))
  return { nodes: 1 + o.fanOut + 1 + o.chain, fanOut: o.fanOut, configs }
}

function runOnce(o: WorkflowAdvanceOptions, slots: number | null): Promise<WorkflowSlotsResult> {
  const env: Record<string, string> = slots === null ? {} : { SWITCHYARD_WORKER_CONCURRENCY: String(slots) }
  return withDatabase((db) =>
    withApp(db, { roles: 'api,worker', registry: createBenchRegistry(), env }, async (a) => {
      const tpl = await createTemplate(a, { name: 'bench workflow node', jobType: 'noop', config: {} })
      const fan = Array.from({ length: o.fanOut }, (_, i) => `f${i}`)
      const chain = Array.from({ length: o.chain }, (_, i) => `c${i}`)
      const keys = ['root', ...fan, 'join', ...chain]
      const edges = [
        ...fan.map((f) => ({ from: 'root', to: f })),
        ...fan.map((f) => ({ from: f, to: 'join' })),
        { from: 'join', to: chain[0]! },
        ...chain.slice(1).map((c, i) => ({ from: chain[i]!, to: c })),
      ]
      const wf = await a.gql<{ createWorkflow: { id: string } }>(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, {
        i: { name: 'bench 200', visibility: 'GLOBAL', nodes: keys.map((key) => ({ key, templateId: tpl.globalId })), edges },
      })
      const parents = new Map<string, string[]>()
      for (const e of edges) parents.set(e.to, [...(parents.get(e.to) ?? []), e.from])
      const width = a.app.config.workerConcurrency
      const f = { start: [] as number[], engine: [] as number[], created: [] as number[], queueWait: [] as number[], claim: [] as number[], slotWait: [] as number[], fanEngine: [] as number[], joinEngine: [] as number[], startTx: [] as number[], chainEngine: [] as number[], chainStart: [] as number[] }
      const runs: WorkflowSlotsResult['runs'] = []
      const cpuStart = await cpuSnapshot({ database: db.name })
      for (let r = 0; r < o.runs; r++) {
        const run = await a.gql<{ triggerWorkflowRun: { id: string } }>(`mutation($id: ID!) { triggerWorkflowRun(workflowId: $id) { id } }`, { id: wf.createWorkflow.id })
        const id = rawId(run.triggerWorkflowRun.id)
        const deadline = Date.now() + o.timeoutMs
        for (;;) {
          const { rows } = await a.app.db.pool.query<{ status: string }>(`SELECT status::text FROM workflow_run WHERE id = $1`, [id])
          if (rows[0]!.status !== 'RUNNING') {
            if (rows[0]!.status !== 'SUCCEEDED') throw new Error(`bench workflow run ended ${rows[0]!.status}`)
            break
          }
          if (Date.now() > deadline) throw new Error('bench workflow run did not finish in time')
          await new Promise((res) => setTimeout(res, 50))
        }
        const { rows } = await a.app.db.pool.query<NodeTimes>(
          `SELECT n.key, j.created_at AS created, n.started_at AS claimable, m.started_on AS fetched, j.started_at AS started, j.finished_at AS finished,
                  w.created_at AS wf_created, w.finished_at AS wf_finished
             FROM workflow_node_run n JOIN job_run j ON j.id = n.job_run_id JOIN workflow_run w ON w.id = n.workflow_run_id
             JOIN ${a.app.config.bossSchema}.job m ON m.data->>'runId' = j.id::text
            WHERE n.workflow_run_id = $1`,
          [id],
        )
        const byKey = new Map(rows.map((x) => [x.key, x]))
        if (byKey.size !== keys.length || rows.length !== keys.length) throw new Error(`expected ${keys.length} node runs with one job run and message each, got ${rows.length}`)
        // Slots taken at an instant: runs fetched and not yet finished (a fetched message holds a slot).
        const busyAt = (t: number) => rows.filter((x) => x.fetched.getTime() <= t && x.finished.getTime() > t).length
        const longest = new Map<string, number>() // critical path ending at each node (ms of run time)
        for (const key of keys) {
          const n = byKey.get(key)!
          const ps = parents.get(key) ?? []
          if (ps.length) {
            const ready = Math.max(...ps.map((p) => byKey.get(p)!.finished.getTime()))
            const claimable = n.claimable.getTime()
            f.start.push(n.started.getTime() - ready)
            f.engine.push(claimable - ready)
            f.created.push(n.created.getTime() - ready)
            f.queueWait.push(n.fetched.getTime() - claimable)
            f.claim.push(n.started.getTime() - n.fetched.getTime())
            if (busyAt(claimable) >= width) f.slotWait.push(n.fetched.getTime() - claimable)
            f.startTx.push(claimable - n.created.getTime())
            if (key.startsWith('f')) f.fanEngine.push(claimable - ready)
            if (key === 'join') f.joinEngine.push(claimable - ready)
            if (key.startsWith('c')) {
              f.chainEngine.push(claimable - ready)
              f.chainStart.push(n.started.getTime() - ready)
            }
          }
          longest.set(key, n.finished.getTime() - n.started.getTime() + Math.max(0, ...ps.map((p) => longest.get(p)!)))
        }
        runs.push({ wallMs: rows[0]!.wf_finished.getTime() - rows[0]!.wf_created.getTime(), criticalPathMs: Math.max(...longest.values()) })
      }
      const d = (xs: number[]) => distribution(xs)
      return {
        slots: width,
        start: d(f.start),
        engine: d(f.engine),
        created: d(f.created),
        queueWait: d(f.queueWait),
        claim: d(f.claim),
        slotWait: d(f.slotWait),
        fanEngine: d(f.fanEngine),
        joinEngine: d(f.joinEngine),
        startTx: d(f.startTx),
        chainEngine: d(f.chainEngine),
        chainStart: d(f.chainStart),
        runs,
        cpu: await cpuSince(cpuStart),
      }
    }),
  )
}

const ms = (v: number) => (Number.isNaN(v) ? '–' : `${Math.round(v)} ms`)

export function formatWorkflowAdvance(r: WorkflowAdvanceResult): string {
  const lines = ['', `5. Workflows: a ${r.nodes}-node noop workflow (root, fan-out ${r.fanOut}, join, chain), one api+worker process, per worker-slot setting`]
  const row = (label: string, d: Distribution) => `  ${label.padEnd(50)} p50 ${ms(d.p50).padStart(7)}  p99 ${ms(d.p99).padStart(7)}  max ${ms(d.max).padStart(7)}  (${d.n})`
  for (const c of r.configs) {
    lines.push(` ${c.slots} worker slots (SWITCHYARD_WORKER_CONCURRENCY)${c.slots >= r.fanOut ? ' ≥ fan-out: no slot queueing' : ''}`)
    lines.push(row('start: parent finished → node run started', c.start) + '  goal p99 ≤ 100 ms')
    lines.push(row('  engine: parent finished → node run claimable', c.engine))
    lines.push(row('    of which parent finished → start tx began', c.created))
    lines.push(row('    of which start tx began → claimable', c.startTx))
    lines.push(row('    fan-out nodes only', c.fanEngine))
    lines.push(row('    the join', c.joinEngine))
    lines.push(row('    chain only (one ready node at a time)', c.chainEngine))
    lines.push(row('  queue wait: claimable → fetched by the worker', c.queueWait))
    lines.push(row('    of which nodes claimable with every slot taken', c.slotWait))
    lines.push(row('  claim: fetched → run started', c.claim))
    lines.push(row('  chain only: start', c.chainStart))
    for (const [i, run] of c.runs.entries()) {
      lines.push(`  run ${i + 1}: wall ${ms(run.wallMs)}, critical path (sum of node run times) ${ms(run.criticalPathMs)}, orchestration ${ms(run.wallMs - run.criticalPathMs)}`)
    }
    lines.push(`  CPU: app ${c.cpu.selfPct.toFixed(1)}% PG ${c.cpu.postgresPct.toFixed(1)}% other ${c.cpu.otherPct.toFixed(1)}%`)
  }
  return lines.join('\n') + '\n'
}
