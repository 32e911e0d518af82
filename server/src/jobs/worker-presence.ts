/**
 * Proves this process is alive: every heartbeat it stamps its worker row and the runs it holds.
 * The same statement returns runs whose cancel was requested (in case the NOTIFY was missed) and
 * reveals runs this worker no longer holds (reaped while it was cut off), which it must abandon.
 */
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
      `INSERT INTO worker (id, hostname, pid, roles, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, now(), now())
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL`,
      [this.workerId, os.hostname(), process.pid, this.roles],
    )
    this.#timer = setInterval(() => {
      this.#beat = this.#beat.then(() => this.beat())
    }, this.intervalMs)
    this.#timer.unref()
  }

  async beat(): Promise<void> {
    try {
      await this.pool.query('UPDATE worker SET heartbeat_at = now() WHERE id = $1', [this.workerId])
      if (!this.hooks) return
      const local = this.hooks.activeRunIds()
      if (!local.length) return
      const { rows } = await this.pool.query<{ id: string; cancel_requested_at: Date | null }>(
        `UPDATE job_run SET heartbeat_at = now() WHERE id = ANY($1::uuid[]) AND worker_id = $2 AND status = 'RUNNING'
         RETURNING id, cancel_requested_at`,
        [local, this.workerId],
      )
      const held = new Set(rows.map((r) => r.id))
      for (const r of rows) if (r.cancel_requested_at) this.hooks.abort(r.id, 'cancelled')
      for (const id of local) {
        if (!held.has(id)) {
          this.logger.warn('run no longer held by this worker; abandoning it', { runId: id })
          this.hooks.abort(id, 'shutdown')
        }
      }
    } catch (e) {
      this.logger.warn('heartbeat failed', { error: coerceError(e).message })
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    await this.#beat
    await this.pool.query('UPDATE worker SET stopped_at = now(), heartbeat_at = now() WHERE id = $1', [this.workerId]).catch(() => {})
  }
}
