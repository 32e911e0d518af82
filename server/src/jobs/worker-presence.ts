/**
 * Proves this process is alive: every heartbeat stamps its `worker` row, which is what the reaper
 * judges liveness by. The heartbeat uses a connection of its own, so a busy pool (or row locks on
 * busy runs) can never make a live worker look dead. Each beat also reads the runs this process
 * executes: a cancel requested meanwhile (in case the NOTIFY was missed) aborts it, and a run that
 * was taken away (reaped while this worker was cut off) is abandoned.
 */
import fs from 'node:fs'
import os from 'node:os'
import type pg from 'pg'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'

export interface PresenceHooks {
  /** Run ids this process is executing. */
  activeRunIds(): string[]
  /** Abort a local execution (cancel requested, or the run was taken away). */
  abort(runId: string, cause: 'cancelled' | 'shutdown'): void
}

/** Tries of a graceful stop's final write (about 1.5 s of waiting in all). */
const STOP_ATTEMPTS = 4

export class WorkerPresence {
  #timer: NodeJS.Timeout | null = null
  #beat: Promise<void> = Promise.resolve()

  constructor(
    private readonly pool: pg.Pool,
    readonly workerId: string,
    private readonly roles: string[],
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly hooks: PresenceHooks | null,
  ) {}

  async start(): Promise<void> {
    await this.pool.query(
      `INSERT INTO worker (id, hostname, pid, pid_namespace, roles, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, now(), now())
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL`,
      [this.workerId, os.hostname(), process.pid, pidNamespace(), this.roles],
    )
    this.#timer = setInterval(() => {
      this.#beat = this.#beat.then(() => this.beat())
    }, this.intervalMs)
    this.#timer.unref()
  }

  async beat(): Promise<void> {
    try {
      // A beat also clears a stop mark the reaper set while this process could not reach the database.
      await this.pool.query('UPDATE worker SET heartbeat_at = now(), stopped_at = NULL WHERE id = $1', [this.workerId])
      if (!this.hooks) return
      const local = this.hooks.activeRunIds()
      if (!local.length) return
      // A plain read: no row locks, so runs busy with writes do not delay the beat.
      const { rows } = await this.pool.query<{ id: string; status: string; worker_id: string | null; cancel_requested_at: Date | null }>(
        'SELECT id, status, worker_id, cancel_requested_at FROM job_run WHERE id = ANY($1::uuid[])',
        [local],
      )
      for (const r of rows) {
        if (r.status === 'RUNNING' && r.worker_id === this.workerId) {
          if (r.cancel_requested_at) this.hooks.abort(r.id, 'cancelled')
        } else if (r.status === 'QUEUED' || r.status === 'RUNNING') {
          // Requeued or running elsewhere: the reaper gave it away. (A final status just means
          // this process is settling it right now.)
          this.logger.warn('run no longer held by this worker; abandoning it', { runId: r.id })
          this.hooks.abort(r.id, 'shutdown')
        }
      }
    } catch (e) {
      this.logger.warn('heartbeat failed', { error: coerceError(e).message })
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    await this.#beat
    // A graceful stop's mark (heartbeat_at = stopped_at) is what tells it from a crash: without it the
    // reaper marks this worker down (WORKER_DOWN) and the next process of this host and roles counts as
    // its replacement (WORKER_RECOVERED). So a failed write is tried again a few times (a Postgres
    // restart, a dropped connection), within a bounded time so that a stop never hangs.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.pool.query('UPDATE worker SET stopped_at = now(), heartbeat_at = now() WHERE id = $1', [this.workerId])
        return
      } catch (e) {
        if (attempt >= STOP_ATTEMPTS) {
          this.logger.warn('could not mark this worker stopped; the reaper will take it for a crashed one', { error: coerceError(e).message })
          return
        }
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt))
      }
    }
  }
}

/**
 * Where this process's PID means something: the boot id and the PID namespace (Linux). Two containers
 * with host networking share a hostname but not PIDs; only a worker row with the same value may be
 * judged by `kill(pid, 0)`. Null where /proc does not tell (then only the heartbeat judges).
 */
export function pidNamespace(): string | null {
  try {
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    return `${boot}/${fs.readlinkSync('/proc/self/ns/pid')}`
  } catch {
    return null
  }
}
