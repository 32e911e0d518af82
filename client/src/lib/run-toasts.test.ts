import { describe, expect, it } from 'vitest'
import { endedWorkflowRun, formatRunDuration, loadSeen, MAX_TOASTS, saveSeen, SEEN_KEY, setToastsEnabled, toastFor, toastReducer, toastsEnabled, type EndedRun, type ToastState } from './run-toasts'

const run = (id: string, status = 'SUCCEEDED', extra: Partial<EndedRun> = {}): EndedRun => ({ id, number: Number(id.replace(/\D/g, '')) || 1, status, templateName: 'nightly-backup', ...extra })
const empty: ToastState = { toasts: [], seen: [] }

describe('run toasts', () => {
  it('say the outcome in words, with duration and the error of a failure', () => {
    expect(toastFor(run('r12', 'SUCCEEDED', { durationMs: 3200 }))).toEqual({
      runId: 'r12', href: '/runs/r12', title: 'Run #12 · nightly-backup', statusWord: 'Succeeded', detail: 'Succeeded after 3 s', tone: 'ok',
    })
    expect(toastFor(run('r3', 'FAILED', { durationMs: 65_000, error: 'connection refused' })).detail).toBe('Failed after 1 min 05 s: connection refused')
    expect(toastFor(run('r4', 'TIMED_OUT')).statusWord).toBe('Timed out')
    expect(toastFor(run('r5', 'CANCELLED')).tone).toBe('warn')
    expect(toastFor(run('r6', 'FAILED', { error: 'x'.repeat(500) })).detail.length).toBeLessThan(160)
    expect(formatRunDuration(250)).toBe('250 ms')
    expect(formatRunDuration(2 * 3600_000 + 5 * 60_000)).toBe('2 h 05 min')
  })

  it('link a workflow run to its page, with its duration from its times', () => {
    const t = toastFor(endedWorkflowRun({ id: 'w9', number: 9, status: 'FAILED', workflowName: 'nightly', createdAt: '2026-12-05T01:00:00Z', finishedAt: '2026-12-05T01:02:03Z', error: 'node b failed' }))
    expect(t).toMatchObject({ href: '/workflow-runs/w9', title: 'Workflow run #9 · nightly', statusWord: 'Failed', detail: 'Failed after 2 min 03 s: node b failed' })
  })

  it('show each run once, however often it is sent (a resumed subscription repeats ends)', () => {
    let s = toastReducer(empty, { type: 'ended', run: run('r1') })
    s = toastReducer(s, { type: 'ended', run: run('r1') })
    s = toastReducer(s, { type: 'ended', run: run('r2', 'FAILED') })
    expect(s.toasts.map((t) => t.runId)).toEqual(['r1', 'r2'])
    s = toastReducer(s, { type: 'dismiss', runId: 'r1' })
    expect(s.toasts.map((t) => t.runId)).toEqual(['r2'])
    // A dismissed run sent again stays dismissed.
    s = toastReducer(s, { type: 'ended', run: run('r1') })
    expect(s.toasts.map((t) => t.runId)).toEqual(['r2'])
  })

  it('do not toast a run whose page is open (it shows the end), nor later', () => {
    let s = toastReducer(empty, { type: 'ended', run: run('r7'), quiet: true })
    expect(s.toasts).toEqual([])
    s = toastReducer(s, { type: 'ended', run: run('r7') })
    expect(s.toasts).toEqual([])
  })

  it(`keep at most ${MAX_TOASTS} on screen, the newest`, () => {
    let s = empty
    for (let i = 1; i <= 6; i++) s = toastReducer(s, { type: 'ended', run: run(`r${i}`) })
    expect(s.toasts.map((t) => t.runId)).toEqual(['r3', 'r4', 'r5', 'r6'])
    expect(toastReducer(s, { type: 'dismissAll' }).toasts).toEqual([])
  })

  it('are on unless this browser turned them off', () => {
    const store = new Map<string, string>()
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) }
    expect(toastsEnabled(storage)).toBe(true)
    setToastsEnabled(storage, false)
    expect(toastsEnabled(storage)).toBe(false)
    setToastsEnabled(storage, true)
    expect(toastsEnabled(storage)).toBe(true)
    expect(toastsEnabled(null)).toBe(true)
  })

  it('remember shown runs across a reload, and survive broken storage', () => {
    const store = new Map<string, string>()
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) }
    saveSeen(storage, ['a', 'b'])
    expect(loadSeen(storage)).toEqual(['a', 'b'])
    store.set(SEEN_KEY, '{not json')
    expect(loadSeen(storage)).toEqual([])
    expect(loadSeen(null)).toEqual([])
    expect(() => saveSeen({ setItem: () => { throw new Error('quota') } }, ['a'])).not.toThrow()
  })
})
