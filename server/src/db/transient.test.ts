/** Which database failures are retried, and which fail at once. */
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { isConflict, isTransient, retryConflicts } from './transient.ts'

const dbError = (code: string) => Object.assign(new pg.DatabaseError('x', 1, 'error'), { code })

describe('isTransient', () => {
  it('retries lost connections and Postgres asking to try again', () => {
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true)
    expect(isTransient(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true)
    expect(isTransient(new Error('timeout exceeded when trying to connect'))).toBe(true)
    for (const code of ['08006', '57P01', '53300', '40P01', '55P03']) expect(isTransient(dbError(code)), code).toBe(true)
  })

  it('sees through Prisma: its unreachable-database codes, and a driver error wrapped as the cause', () => {
    for (const code of ['P1001', 'P1017', 'P2024']) expect(isTransient(Object.assign(new Error('x'), { code })), code).toBe(true)
    expect(isTransient(new Error('wrapped', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }))).toBe(true)
    expect(isTransient(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' }))).toBe(false)
    expect(isTransient(new Error('wrapped', { cause: dbError('23505') }))).toBe(false)
  })

  it('fails at once on everything else (a bug must not be retried forever)', () => {
    expect(isTransient(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false)
    expect(isTransient(dbError('23505'))).toBe(false)
    expect(isTransient(dbError('22P02'))).toBe(false)
    expect(isTransient('a string')).toBe(false)
  })
})

describe('retryConflicts', () => {
  it('runs a transaction again after a deadlock, not after other errors', async () => {
    expect(isConflict({ code: 'P2034' })).toBe(true)
    expect(isConflict(dbError('40P01'))).toBe(true)
    expect(isConflict(dbError('23505'))).toBe(false)
    let calls = 0
    await expect(retryConflicts(async () => (++calls < 3 ? Promise.reject(dbError('40P01')) : 'done'))).resolves.toBe('done')
    expect(calls).toBe(3)
    calls = 0
    await expect(retryConflicts(async () => (++calls, Promise.reject(dbError('23505'))))).rejects.toThrow()
    expect(calls).toBe(1)
  })
})
