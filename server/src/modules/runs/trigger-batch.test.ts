/**
 * Which failed trigger batches the group commit may split into single commits: only those that surely
 * wrote nothing (trigger-group-commit.test.ts splits a real one on a foreign key violation).
 */
import { describe, expect, it } from 'vitest'
import pg from 'pg'
import { triggerBatchSplittable } from './runs.service.ts'
import { CommittedError } from './one-statement-insert.ts'

function dbError(code: string): pg.DatabaseError {
  return Object.assign(new pg.DatabaseError('boom', 1, 'error'), { code })
}

describe('triggerBatchSplittable', () => {
  it('splits a batch Postgres refused (a constraint) or rolled back for a deadlock', () => {
    expect(triggerBatchSplittable(dbError('23503'))).toBe(true)
    expect(triggerBatchSplittable(dbError('40P01'))).toBe(true)
  })

  it('never splits one that may have committed: a lost connection, or a commit whose answer could not be read', () => {
    expect(triggerBatchSplittable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false)
    expect(triggerBatchSplittable(dbError('57P01'))).toBe(false)
    expect(triggerBatchSplittable(new CommittedError(new Error('unreadable row')))).toBe(false)
  })
})
