import { describe, expect, it } from 'vitest'
import { createLineSplitter } from './line-splitter.ts'

function split(chunks: Array<string | Buffer>, maxLineBytes?: number): string[] {
  const lines: string[] = []
  const splitter = createLineSplitter((line) => lines.push(line), maxLineBytes === undefined ? {} : { maxLineBytes })
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  splitter.flush()
  return lines
}

/** Every way of cutting `text` into two chunks must give the same lines. */
function everySplit(text: string, maxLineBytes?: number): string[][] {
  const bytes = Buffer.from(text)
  const results: string[][] = []
  for (let i = 0; i <= bytes.length; i++) results.push(split([bytes.subarray(0, i), bytes.subarray(i)], maxLineBytes))
  return results
}

describe('createLineSplitter', () => {
  it('splits on \\n and \\r\\n and keeps empty lines', () => {
    expect(split(['a\nb\r\n\nc\r\n'])).toEqual(['a', 'b', '', 'c'])
  })

  it('emits an unterminated last line on flush, and nothing for empty input', () => {
    expect(split(['a\nb'])).toEqual(['a', 'b'])
    expect(split([])).toEqual([])
    expect(split(['a\n'])).toEqual(['a'])
  })

  it('handles terminators split across chunks', () => {
    expect(split(['one\r', '\ntwo\r', '\n'])).toEqual(['one', 'two'])
    expect(split(['par', 'tial', '\n', 'next'])).toEqual(['par' + 'tial', 'next'])
    for (const lines of everySplit('alpha\r\nbeta\ngamma\r\n')) expect(lines).toEqual(['alpha', 'beta', 'gamma'])
  })

  it('keeps a lone \\r inside the line (progress output)', () => {
    expect(split(['10%\r50%\r100%\n'])).toEqual(['10%\r50%\r100%'])
  })

  it('reassembles UTF-8 characters split across chunks', () => {
    const text = 'grüße 👋 日本語\nzweite Zeile €\n'
    for (const lines of everySplit(text)) expect(lines).toEqual(['grüße 👋 日本語', 'zweite Zeile €'])
    // One byte at a time, the harshest case.
    expect(split([...Buffer.from(text)].map((b) => Buffer.from([b])))).toEqual(['grüße 👋 日本語', 'zweite Zeile €'])
  })

  it('cuts long lines at maxLineBytes, on character boundaries', () => {
    expect(split(['abcdefghij\nk\n'], 4)).toEqual(['abcd', 'efgh', 'ij', 'k'])
    // Arriving in pieces, the full-size parts are emitted before the newline shows up.
    const lines: string[] = []
    const splitter = createLineSplitter((line) => lines.push(line), { maxLineBytes: 4 })
    splitter.push(Buffer.from('abcdef'))
    expect(lines).toEqual(['abcd'])
    splitter.push(Buffer.from('gh\n'))
    expect(lines).toEqual(['abcd', 'efgh'])
    splitter.flush()
    expect(lines).toEqual(['abcd', 'efgh'])

    // 'é' is 2 bytes, '€' 3, '👋' 4: no piece exceeds the limit and none holds half a character.
    for (const pieces of everySplit('aééé€€👋👋b\n', 5)) {
      for (const piece of pieces) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(5)
      expect(pieces.join('')).toBe('aééé€€👋👋b')
      expect(pieces.join('')).not.toContain('\uFFFD')
    }
  })

  it('uses 64 KiB as the default limit', () => {
    const long = 'x'.repeat(64 * 1024 + 10)
    expect(split([long + '\n']).map((l) => l.length)).toEqual([64 * 1024, 10])
    expect(split(['y'.repeat(64 * 1024) + '\n']).map((l) => l.length)).toEqual([64 * 1024])
  })

  it('does not produce an empty line when a cut falls right before the newline', () => {
    expect(split(['abcd', 'efgh', '\n'], 4)).toEqual(['abcd', 'efgh'])
    expect(split(['abcd\r', '\n'], 4)).toEqual(['abcd'])
  })

  it('rejects a limit too small for one character', () => {
    expect(() => createLineSplitter(() => {}, { maxLineBytes: 3 })).toThrow(RangeError)
  })
})
