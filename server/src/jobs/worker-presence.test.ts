/**
 * A graceful stop's final write is what tells it from a crash, so it is tried again when it fails. The
 * pool is faked here (the boundary); notification-events.test.ts stops and kills real worker processes.
 */
import { describe, expect, it } from 'vitest'
import type pg from 'pg'
import type { Logger } from '../util/logger.ts'
import { silentLogger } from '../util/logger.ts'
import { WorkerPresence } from './worker-presence.ts'

function failingPool(failures: number) {
  const calls: string[] = []
  const pool = {
    async query(sql: string) {
      calls.push(sql)
      if (calls.length <= failures) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' })
      return { rows: [], rowCount: 1 }
    },
  }
  return { pool: pool as unknown as pg.Pool, calls }
}

function recordingLogger() {
  const warnings: string[] = []
  const logger: Logger = { ...silentLogger, warn: (msg: string) => void warnings.push(msg), child: () => logger }
  return { logger, warnings }
}

describe('WorkerPresence.stop', () => {
  it('tries the stop mark again after a failed write, and stops once it is written', async () => {
    const { pool, calls } = failingPool(2)
    const { logger, warnings } = recordingLogger()
    await new WorkerPresence(pool, 'w1', ['worker'], 1000, logger, null).stop()
    expect(calls).toHaveLength(3)
    expect(calls.every((sql) => sql.startsWith('UPDATE worker SET stopped_at = now(), heartbeat_at = now()'))).toBe(true)
    expect(warnings).toEqual([])
  })

  it('gives up after a bounded number of tries, says so, and does not throw', async () => {
    const { pool, calls } = failingPool(Infinity)
    const { logger, warnings } = recordingLogger()
    await new WorkerPresence(pool, 'w1', ['worker'], 1000, logger, null).stop()
    expect(calls).toHaveLength(4)
    expect(warnings).toEqual(['could not mark this worker stopped; the reaper will take it for a crashed one'])
  })
})
