import { describe, expect, it } from 'vitest'
import { LogBuffer, RUN_LEVEL, type LogLevel, type LogLine } from './log-buffer'

const line = (seq: number, level: LogLevel = 'INFO', targetId: string | null = 't1', text = `line ${seq}`): LogLine => ({
  seq,
  ts: new Date(Date.UTC(2026, 10, 23, 9, 0, 0, seq)).toISOString(),
  level,
  stream: 'STDOUT',
  targetId,
  text,
})

describe('LogBuffer', () => {
  it('appends in order and skips lines it already has (a replay after reconnect)', () => {
    const b = new LogBuffer()
    expect(b.append([line(1), line(2)])).toBe(2)
    const v = b.version
    expect(b.append([line(1), line(2), line(3)])).toBe(1)
    expect(b.version).toBe(v + 1)
    expect(b.append([line(3)])).toBe(0)
    expect(b.version).toBe(v + 1)
    expect([b.total, b.size, b.lastSeq]).toEqual([3, 3, 3])
    expect(b.at(2)!.seq).toBe(3)
  })

  it('filters by minimum level, target and search, and keeps the view current on append', () => {
    const b = new LogBuffer()
    b.append([line(1, 'DEBUG'), line(2, 'INFO', null, 'run started'), line(3, 'WARNING', 't2', 'Disk almost FULL'), line(4, 'ERROR', 't1', 'disk full')])
    b.setView({ minLevel: 'WARNING', target: null, search: '' })
    expect(seqs(b)).toEqual([3, 4])
    b.setView({ minLevel: null, target: RUN_LEVEL, search: '' })
    expect(seqs(b)).toEqual([2])
    b.setView({ minLevel: null, target: null, search: 'FULL ' })
    expect(seqs(b)).toEqual([3, 4])
    b.append([line(5, 'INFO', 't1', 'full again'), line(6, 'INFO', 't1', 'nope')])
    expect(seqs(b)).toEqual([3, 4, 5])
    b.setView({ minLevel: 'ERROR', target: 't1', search: 'full' })
    expect(seqs(b)).toEqual([4])
    b.setView({ minLevel: null, target: null, search: '' })
    expect(b.size).toBe(6)
    expect(b.counts).toEqual({ DEBUG: 1, INFO: 3, WARNING: 1, ERROR: 1 })
  })

  it('renders text for download', () => {
    const b = new LogBuffer()
    b.append([line(1, 'INFO', null, 'start'), { ...line(2, 'WARNING', 't1', 'oops'), stream: 'STDERR' }])
    expect(b.toText(false, (id) => (id === 't1' ? 'web-1' : id))).toBe(
      '2026-11-23T09:00:00.001Z INFO    start\n2026-11-23T09:00:00.002Z WARNING [web-1] (stderr) oops\n',
    )
    b.setView({ minLevel: 'WARNING', target: null, search: '' })
    expect(b.toText(true).split('\n')).toHaveLength(2)
  })

  it('filters 200,000 lines quickly', () => {
    const b = new LogBuffer()
    const lines: LogLine[] = []
    for (let i = 1; i <= 200_000; i++) lines.push(line(i, i % 50 === 0 ? 'ERROR' : 'INFO', i % 2 ? 't1' : 't2', `output line ${i} ${i % 7 === 0 ? 'needle' : ''}`))
    const t0 = performance.now()
    b.append(lines)
    b.setView({ minLevel: null, target: null, search: 'needle' })
    b.setView({ minLevel: 'ERROR', target: 't2', search: '' })
    expect(b.size).toBe(4000)
    expect(performance.now() - t0).toBeLessThan(1500)
  })
})

function seqs(b: LogBuffer): number[] {
  return Array.from({ length: b.size }, (_, i) => b.at(i)!.seq)
}
