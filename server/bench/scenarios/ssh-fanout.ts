/**
 * SSH fan-out: one `command` run on `targets` targets (distinct loopback addresses, 127.0.0.2 upwards,
 * on the real test sshd — see test/harness/sshd.ts, one sshd per 16 addresses), `maxParallelTargets`
 * at a time, against the time of the same command on a single target.
 *
 * Goal (issue #14): wall time ≤ 1.5 × (targets / maxParallelTargets × single-target time), with zero
 * spurious failures (every target must succeed: the command cannot fail on a healthy host).
 *
 * Wall time is trigger call → the run's final-state NOTIFY on the benchmark's own LISTEN connection,
 * the same for the single-target runs (median of `singleRuns`, after one warm-up). Host keys are
 * recorded on the targets beforehand, as after a first run (trust on first use is not what is measured).
 * The app is api+worker in this process with the product's default settings and only the product's
 * `command` executor; retries are off (`retryMaxAttempts` 1), so a transient failure shows as a failure.
 */
import { ExecutorRegistry } from '../../src/jobs/executors/registry.ts'
import { commandExecutor } from '../../src/jobs/executors/command.ts'
import type { JobExecutor } from '../../src/jobs/executors/types.ts'
import fs from 'node:fs'
import { startSshd } from '../../test/harness/sshd.ts'
import { createTemplate, rawId, triggerService, withApp, type BenchApp } from '../lib/app.ts'
import { cpuSince, cpuSnapshot, type CpuUse } from '../lib/cpu.ts'
import { listen, type Listener } from '../lib/listen.ts'
import { track, withDatabase } from '../lib/resources.ts'
import { median, now } from '../lib/stats.ts'

export interface SshFanoutOptions {
  targets: number
  maxParallelTargets: number
  singleRuns: number
  command: string
  timeoutMs: number
  /** Log in with the harness's passphrase-protected key instead of the plain one (`--ssh-encrypted-key`). */
  encryptedKey?: boolean
}

export interface SshFanoutResult {
  targets: number
  maxParallelTargets: number
  command: string
  /** Trigger → final of each single-target run, ms. */
  singleMs: number[]
  singleMedianMs: number
  fanoutMs: number
  /** targets / maxParallelTargets × single median: what perfect waves would take. */
  idealMs: number
  /** fanoutMs / idealMs (goal ≤ 1.5). */
  ratio: number
  succeeded: number
  /** Targets that did not succeed, grouped by error (must be none). */
  failures: Record<string, number>
  runStatus: string
  /** Connect failures the product counted by kind (its metrics hook), during the fan-out. */
  connectFailures: Record<string, number>
  cpu: CpuUse
  /** CPU per target during the fan-out, ms: this process (Switchyard's worker) and sshd with every process it ran. */
  cpuMsPerTarget: { switchyard: number; sshd: number }
  /**
   * Diagnostic, not the goal: (Switchyard + sshd) CPU × targets / cores, the shortest the fan-out can take
   * here, where the 500 "hosts" share the machine's cores with Switchyard (real targets bring their own).
   */
  cpuFloorMs: number
  encryptedKey: boolean
}

/** CPU ms of the sshd processes including their reaped children (sessions, shells, commands). */
function sshdCpuMs(pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
  }
  return ticks * 10
}

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'])

export async function runSshFanout(o: SshFanoutOptions): Promise<SshFanoutResult> {
  const sshd = await startSshd({ count: o.targets })
  const stopSshd = track('fan-out sshd', () => sshd.stop())
  try {
    return await withDatabase((db) =>
      withApp(db, { roles: 'api,worker', registry: new ExecutorRegistry([commandExecutor as JobExecutor]) }, async (a) => {
        const cred = await a.gql<{ createCredential: { id: string } }>(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, {
          i: o.encryptedKey
            ? { name: 'fanout-key', kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.encryptedPrivateKey, passphrase: sshd.passphrase }
            : { name: 'fanout-key', kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.privateKey },
        })
        const credentialId = rawId(cred.createCredential.id)
        const known = { hostKeyFingerprint: sshd.hostKeyFingerprint, hostKeyAlgorithm: sshd.hostKeyAlgorithm, credentialId, port: sshd.port }
        await a.app.db.prisma.target.createMany({
          data: [
            ...sshd.hosts.map((host, i) => ({ name: `fanout-${String(i).padStart(4, '0')}`, host, tags: ['fanout'], ...known })),
            { name: 'single', host: sshd.hosts[0]!, tags: ['single'], ...known },
          ],
        })
        const template = (name: string, tag: string) =>
          createTemplate(a, { name, jobType: 'command', config: { commands: [o.command] }, targetSelector: { tags: [tag] }, maxParallelTargets: o.maxParallelTargets, retryMaxAttempts: 1 })
        const single = await template('fan-out single', 'single')
        const fanout = await template('fan-out all', 'fanout')

        const listener = await listen(db.url)
        try {
          const failuresByKind: Record<string, number> = {}
          const runOnce = async (templateId: string) => {
            const t0 = now()
            const runId = await triggerService(a, templateId)
            const status = await waitFinal(a, listener, runId, o.timeoutMs)
            return { runId, status, ms: now() - t0 }
          }
          const first = await runOnce(single.id) // warm-up (first connection, JIT), not timed
          if (first.status !== 'SUCCEEDED') throw new Error(`single-target warm-up run ended ${first.status}: ${await targetErrors(a, first.runId)}`)
          const singleMs: number[] = []
          for (let i = 0; i < o.singleRuns; i++) {
            const r = await runOnce(single.id)
            if (r.status !== 'SUCCEEDED') throw new Error(`single-target run ended ${r.status}: ${await targetErrors(a, r.runId)}`)
            singleMs.push(r.ms)
          }
          const before = await connectFailureCounts(a)
          const cpuStart = await cpuSnapshot({ database: db.name })
          const selfStart = process.cpuUsage()
          const sshdStart = sshdCpuMs(sshd.pids)
          const r = await runOnce(fanout.id)
          const self = process.cpuUsage(selfStart)
          const sshdMs = sshdCpuMs(sshd.pids) - sshdStart
          const cpu = await cpuSince(cpuStart)
          const after = await connectFailureCounts(a)
          for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) failuresByKind[k] = v - (before[k] ?? 0)
          const { rows } = await a.app.db.pool.query<{ status: string; error: string | null; n: number }>(
            `SELECT status::text, error, count(*)::int AS n FROM run_target WHERE run_id = $1 GROUP BY 1, 2`,
            [r.runId],
          )
          const failures: Record<string, number> = {}
          let succeeded = 0
          for (const row of rows) {
            if (row.status === 'SUCCEEDED') succeeded += row.n
            else {
              const key = `${row.status}: ${row.error ?? ''}`.replace(/127\.\d+\.\d+\.\d+:\d+/g, '<host>')
              failures[key] = (failures[key] ?? 0) + row.n
            }
          }
          const singleMedianMs = median(singleMs)
          const cpuMsPerTarget = { switchyard: (self.user + self.system) / 1000 / o.targets, sshd: sshdMs / o.targets }
          const idealMs = (o.targets / o.maxParallelTargets) * singleMedianMs
          return {
            targets: o.targets,
            maxParallelTargets: o.maxParallelTargets,
            command: o.command,
            singleMs,
            singleMedianMs,
            fanoutMs: r.ms,
            idealMs,
            ratio: r.ms / idealMs,
            succeeded,
            failures,
            runStatus: r.status,
            connectFailures: failuresByKind,
            cpu,
            cpuMsPerTarget,
            cpuFloorMs: ((cpuMsPerTarget.switchyard + cpuMsPerTarget.sshd) * o.targets) / cpu.cores,
            encryptedKey: o.encryptedKey === true,
          }
        } finally {
          await listener.close()
        }
      }),
    )
  } catch (e) {
    throw new Error(`${(e as Error).message}\nsshd log tail:\n${sshd.log().slice(-2000)}`, { cause: e })
  } finally {
    await stopSshd()
  }
}

/** The product's `switchyard_ssh_connect_failures_total` counter per reason, scraped from its /metrics. */
async function connectFailureCounts(a: BenchApp): Promise<Record<string, number>> {
  const text = await (await fetch(`${a.app.url}/metrics`, { headers: { authorization: `Bearer ${a.token}` } })).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^switchyard_ssh_connect_failures_total\{reason="([^"]+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2])
  return out
}

async function targetErrors(a: BenchApp, runId: string): Promise<string> {
  const { rows } = await a.app.db.pool.query<{ error: string | null }>(`SELECT error FROM run_target WHERE run_id = $1 AND status <> 'SUCCEEDED' LIMIT 3`, [runId])
  return rows.map((r) => r.error).join('; ')
}

/** Resolves with the run's final status, checked on each of its `switchyard_run` notices. */
async function waitFinal(a: BenchApp, listener: Listener, runId: string, timeoutMs: number): Promise<string> {
  const status = async () => (await a.app.db.pool.query<{ status: string }>(`SELECT status::text FROM job_run WHERE id = $1`, [runId])).rows[0]?.status ?? 'MISSING'
  return new Promise<string>((resolve, reject) => {
    let done = false
    const check = async () => {
      if (done) return
      const s = await status()
      if (FINAL.has(s) && !done) {
        done = true
        clearTimeout(timer)
        resolve(s)
      }
    }
    const timer = setTimeout(() => {
      done = true
      reject(new Error(`run ${runId} not final after ${timeoutMs} ms`))
    }, timeoutMs)
    void listener.on('switchyard_run', (n) => {
      if (n.payload === runId) check().catch(reject)
    })
    check().catch(reject)
  })
}

export function formatSshFanout(r: SshFanoutResult | null): string {
  if (!r) return ''
  const fails = Object.entries(r.failures)
  return [
    '',
    `SSH fan-out: one \`command\` run (${JSON.stringify(r.command)}) on ${r.targets} loopback targets, maxParallelTargets ${r.maxParallelTargets}${r.encryptedKey ? ', passphrase-protected key' : ''}:`,
    `  single target (median of ${r.singleMs.length})   ${r.singleMedianMs.toFixed(0)} ms  [${r.singleMs.map((m) => m.toFixed(0)).join(', ')}]`,
    `  ${r.targets} targets                    ${r.fanoutMs.toFixed(0)} ms  (ideal ${r.targets}/${r.maxParallelTargets} × single = ${r.idealMs.toFixed(0)} ms; ratio ${r.ratio.toFixed(2)}, goal ≤ 1.5)`,
    `  run ${r.runStatus}; targets succeeded ${r.succeeded}/${r.targets}; failed ${r.targets - r.succeeded} (goal 0)${fails.length ? '' : ''}`,
    ...fails.map(([e, n]) => `    ${n} × ${e}`),
    `  connect failures counted by the product: ${JSON.stringify(r.connectFailures)}`,
    `  CPU per target: Switchyard ${r.cpuMsPerTarget.switchyard.toFixed(1)} ms, sshd and its sessions ${r.cpuMsPerTarget.sshd.toFixed(1)} ms; machine ${r.cpu.machinePct.toFixed(0)} % of a core (of ${r.cpu.cores * 100}), Postgres ${r.cpu.postgresPct.toFixed(0)} %`,
    `  CPU floor on this machine (diagnostic, not the goal): (Switchyard + sshd) × ${r.targets} / ${r.cpu.cores} cores = ${r.cpuFloorMs.toFixed(0)} ms = ${(r.cpuFloorMs / r.idealMs).toFixed(2)} × the ideal; fan-out / floor ${(r.fanoutMs / r.cpuFloorMs).toFixed(2)}`,
  ].join('\n') + '\n'
}
