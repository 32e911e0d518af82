/**
 * A 200-node workflow of `noop` nodes — a root, a fan-out of 100, a join, then a chain of 98 — run
 * `runs` times one after the other on one api+worker process (the product's defaults).
 *
 * - advance latency, per node with parents: its JobRun's started_at − the latest finished_at of its
 *   parents' JobRuns (the graph's advance, the start transaction, the queue, the claim);
 * - wall time of the workflow run (created → finished) against its critical path: the longest path
 *   through the graph weighted by each node's own run time (started → finished), i.e. what the
 *   workflow would take if advancing cost nothing. Their difference is what orchestration costs.
 * Timestamps are Postgres's (ms precision).
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
}

export interface WorkflowAdvanceResult {
  nodes: number
  /** ms from the last parent's run finishing to the node's run starting, over every node of every run. */
  advance: Distribution
  /** The same for the chain's nodes only (one node becomes ready at a time: no queueing behind siblings)… */
  chainAdvance: Distribution
  /** …split: parent finished → run created, and run created → started. */
  chainCreated: Distribution
  chainDispatched: Distribution
  /** Its two parts: parent finished → node's run created (the graph's advance and the start transaction)… */
  created: Distribution
  /** …and node's run created → started (queue and claim, incl. waiting behind siblings for a worker slot). */
  dispatched: Distribution
  /** Per workflow run: wall ms, critical-path ms. */
  runs: Array<{ wallMs: number; criticalPathMs: number }>
  cpu: CpuUse
}

export function runWorkflowAdvance(o: WorkflowAdvanceOptions): Promise<WorkflowAdvanceResult> {
  return withDatabase((db) =>
    withApp(db, { roles: 'api,worker', registry: createBenchRegistry() }, async (a) => {
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
      const advance: number[] = []
      const chainAdvance: number[] = []
      const chainCreated: number[] = []
      const chainDispatched: number[] = []
      const created: number[] = []
      const dispatched: number[] = []
      const runs: WorkflowAdvanceResult['runs'] = []
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
        const { rows } = await a.app.db.pool.query<{ key: string; created: Date; started: Date; finished: Date; wf_created: Date; wf_finished: Date }>(
          `SELECT n.key, j.created_at AS created, j.started_at AS started, j.finished_at AS finished, w.created_at AS wf_created, w.finished_at AS wf_finished
             FROM workflow_node_run n JOIN job_run j ON j.id = n.job_run_id JOIN workflow_run w ON w.id = n.workflow_run_id
            WHERE n.workflow_run_id = $1`,
          [id],
        )
        const byKey = new Map(rows.map((x) => [x.key, x]))
        if (byKey.size !== keys.length) throw new Error(`expected ${keys.length} node runs with a job run, got ${byKey.size}`)
        const longest = new Map<string, number>() // critical path ending at each node (ms of run time)
        for (const key of keys) {
          const n = byKey.get(key)!
          const ps = parents.get(key) ?? []
          if (ps.length) {
            const ready = Math.max(...ps.map((p) => byKey.get(p)!.finished.getTime()))
            advance.push(n.started.getTime() - ready)
            if (key.startsWith('c')) {
              chainAdvance.push(n.started.getTime() - ready)
              chainCreated.push(n.created.getTime() - ready)
              chainDispatched.push(n.started.getTime() - n.created.getTime())
            }
            created.push(n.created.getTime() - ready)
          }
          dispatched.push(n.started.getTime() - n.created.getTime())
          longest.set(key, n.finished.getTime() - n.started.getTime() + Math.max(0, ...ps.map((p) => longest.get(p)!)))
        }
        runs.push({ wallMs: rows[0]!.wf_finished.getTime() - rows[0]!.wf_created.getTime(), criticalPathMs: Math.max(...longest.values()) })
      }
      return { nodes: keys.length, advance: distribution(advance), chainAdvance: distribution(chainAdvance), chainCreated: distribution(chainCreated), chainDispatched: distribution(chainDispatched), created: distribution(created), dispatched: distribution(dispatched), runs, cpu: await cpuSince(cpuStart) }
    }),
  )
}

const ms = (v: number) => `${Math.round(v)} ms`

export function formatWorkflowAdvance(r: WorkflowAdvanceResult): string {
  const lines = ['', `5. Workflows: a ${r.nodes}-node noop workflow (root, fan-out, join, chain), one api+worker process`]
  const row = (label: string, d: Distribution) => `  ${label.padEnd(44)} p50 ${ms(d.p50).padStart(7)}  p99 ${ms(d.p99).padStart(7)}  max ${ms(d.max).padStart(7)}  (${d.n})`
  lines.push(row('parent finished → node started (all)', r.advance) + '  goal p99 ≤ 100 ms')
  lines.push(row('  the chain only (one ready node at a time)', r.chainAdvance))
  lines.push(row('    chain: parent finished → node run created', r.chainCreated))
  lines.push(row('    chain: node run created → started', r.chainDispatched))
  lines.push(row('  part 1: parent finished → node run created', r.created))
  lines.push(row('  part 2: node run created → started', r.dispatched))
  for (const [i, run] of r.runs.entries()) {
    lines.push(`  run ${i + 1}: wall ${ms(run.wallMs)}, critical path (sum of node run times) ${ms(run.criticalPathMs)}, orchestration ${ms(run.wallMs - run.criticalPathMs)}`)
  }
  lines.push(`  CPU: app ${r.cpu.selfPct.toFixed(1)}% PG ${r.cpu.postgresPct.toFixed(1)}% other ${r.cpu.otherPct.toFixed(1)}%`)
  return lines.join('\n') + '\n'
}
