/**
 * Coalesces "run changed" notifications: a run whose targets finish by the hundred produces at most
 * one NOTIFY per interval, not one per target. Status changes notify directly in their transaction.
 */
import type pg from 'pg'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'
import { CHANNELS } from '../pubsub/channels.ts'

export class RunChangeNotifier {
  readonly #dirty = new Set<string>()
  #timer: NodeJS.Timeout | null = null
  #inflight: Promise<void> = Promise.resolve()

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
    private readonly intervalMs = 100,
  ) {}

  touch(runId: string): void {
    this.#dirty.add(runId)
    this.#timer ??= setTimeout(() => void this.flush(), this.intervalMs)
  }

  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const ids = [...this.#dirty]
    this.#dirty.clear()
    if (!ids.length) return this.#inflight
    this.#inflight = this.#inflight.then(async () => {
      try {
        // One statement, one transaction: NOTIFY's commit-time lock is taken once per flush.
        await this.pool.query(`SELECT pg_notify('${CHANNELS.run}', id) FROM unnest($1::text[]) AS id`, [ids])
      } catch (e) {
        this.logger.warn('run change notification failed', { error: coerceError(e).message })
      }
    })
    return this.#inflight
  }
}
