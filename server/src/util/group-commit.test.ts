import { describe, expect, it } from 'vitest'
import { GroupCommit } from './group-commit.ts'

describe('GroupCommit', () => {
  it('commits submissions of the same turn together, and later ones in the next batch', async () => {
    const batches: number[][] = []
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => (release = r))
    const gc = new GroupCommit<number, string>({
      max: 10,
      many: async (items) => {
        batches.push(items)
        if (batches.length === 1) await gate
        return items.map((i) => `r${i}`)
      },
      one: async (i) => {
        batches.push([i])
        return `one${i}`
      },
    })
    const first = [gc.submit(1), gc.submit(2), gc.submit(3)]
    // Wait until the first batch is in flight, then submit more: they wait for it and go together.
    while (!batches.length) await new Promise((r) => setImmediate(r))
    const second = [gc.submit(4), gc.submit(5)]
    release()
    expect(await Promise.all([...first, ...second])).toEqual(['r1', 'r2', 'r3', 'r4', 'r5'])
    expect(batches).toEqual([[1, 2, 3], [4, 5]])
  })

  it('commits a lone submission alone, and splits at max', async () => {
    const calls: string[] = []
    const gc = new GroupCommit<number, number>({
      max: 2,
      many: async (items) => (calls.push(`many ${items.join(',')}`), items),
      one: async (i) => (calls.push(`one ${i}`), i),
    })
    expect(await gc.submit(7)).toBe(7)
    expect(await Promise.all([gc.submit(1), gc.submit(2), gc.submit(3)])).toEqual([1, 2, 3])
    expect(calls).toEqual(['one 7', 'many 1,2', 'one 3'])
  })

  it('when a batch fails, commits each item alone so only the bad one fails, with its own error', async () => {
    const ones: number[] = []
    const gc = new GroupCommit<number, number>({
      max: 10,
      many: async () => {
        throw new Error('batch failed')
      },
      one: async (i) => {
        ones.push(i)
        if (i === 2) throw new Error(`item ${i} is bad`)
        return i * 10
      },
    })
    const results = await Promise.allSettled([gc.submit(1), gc.submit(2), gc.submit(3)])
    expect(results).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: new Error('item 2 is bad') },
      { status: 'fulfilled', value: 30 },
    ])
    expect(ones.sort()).toEqual([1, 2, 3])
    // Still usable afterwards.
    expect(await gc.submit(4)).toBe(40)
  })

  it('when the batch may have committed unseen (not splittable), every caller gets its error and nothing is retried', async () => {
    const ones: number[] = []
    const lost = new Error('connection terminated')
    const gc = new GroupCommit<number, number>({
      max: 10,
      many: async () => {
        throw lost
      },
      one: async (i) => (ones.push(i), i),
      splittable: (e) => e !== lost,
    })
    const results = await Promise.allSettled([gc.submit(1), gc.submit(2)])
    expect(results).toEqual([
      { status: 'rejected', reason: lost },
      { status: 'rejected', reason: lost },
    ])
    expect(ones).toEqual([])
  })
})
