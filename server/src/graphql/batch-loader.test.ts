import { describe, expect, it } from 'vitest'
import { batchLoad } from './batch-loader.ts'

interface Ctx {
  calls: string[][]
}
async function double(ctx: Ctx, keys: readonly string[]): Promise<Map<string, string>> {
  ctx.calls.push([...keys])
  return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k + k]))
}
async function failing(ctx: Ctx, keys: readonly string[]): Promise<Map<string, string>> {
  ctx.calls.push([...keys])
  throw new Error('database is down')
}

describe('batchLoad', () => {
  it('loads the keys asked for in one turn with one call, each distinct key once', async () => {
    const ctx: Ctx = { calls: [] }
    const got = await Promise.all(['a', 'b', 'a', 'missing'].map((k) => batchLoad(ctx, double, k)))
    expect(got).toEqual(['aa', 'bb', 'aa', undefined])
    expect(ctx.calls).toEqual([['a', 'b', 'missing']])
  })

  it('keeps in the batch keys asked for after an awaited promise in the same turn', async () => {
    const ctx: Ctx = { calls: [] }
    const later = Promise.resolve().then(() => batchLoad(ctx, double, 'late'))
    const got = await Promise.all([batchLoad(ctx, double, 'early'), later])
    expect(got).toEqual(['earlyearly', 'latelate'])
    expect(ctx.calls).toEqual([['early', 'late']])
  })

  it('keeps requests and loaders apart, and caches nothing past the batch', async () => {
    const one: Ctx = { calls: [] }
    const two: Ctx = { calls: [] }
    await Promise.all([batchLoad(one, double, 'a'), batchLoad(two, double, 'a'), batchLoad(one, failing, 'a').catch(() => null)])
    expect(one.calls).toEqual([['a'], ['a']])
    expect(two.calls).toEqual([['a']])
    await batchLoad(one, double, 'a')
    expect(one.calls).toHaveLength(3)
  })

  it('rejects every waiter of a failed batch', async () => {
    const ctx: Ctx = { calls: [] }
    const results = await Promise.allSettled([batchLoad(ctx, failing, 'a'), batchLoad(ctx, failing, 'b')])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(ctx.calls).toEqual([['a', 'b']])
  })
})
