import { describe, expect, it } from 'vitest'
import { createRunLogSink, createSecretMasker, LogBudget } from './run-log-sink.ts'
import type { LogWriter } from './log-writer.ts'

const M = '••••••'

describe('createSecretMasker', () => {
  it('masks every occurrence of every secret', () => {
    const mask = createSecretMasker(['hunter2', 's3cr3t'])
    expect(mask('login hunter2 then hunter2 and s3cr3t')).toBe(`login ${M} then ${M} and ${M}`)
    expect(mask('nothing here')).toBe('nothing here')
  })

  it('treats secrets literally (regex characters, $ patterns)', () => {
    const mask = createSecretMasker(['a.b*c', 'p$&w'])
    expect(mask('aXbbc a.b*c p$&w')).toBe(`aXbbc ${M} ${M}`)
  })

  it('leaves no fragment of overlapping or nested secrets', () => {
    expect(createSecretMasker(['abcdef', 'defghi'])('x abcdefghi y')).toBe(`x ${M} y`)
    expect(createSecretMasker(['pass', 'password123'])('password123 pass')).toBe(`${M} ${M}`)
    expect(createSecretMasker(['aaa'])('aaaa')).toBe(M)
  })

  it('ignores secrets too short to mask without masking ordinary text, and duplicates', () => {
    const mask = createSecretMasker(['', 'a', 'ab', 'abc', 'abc'])
    expect(mask('a ab abc')).toBe(`a ab ${M}`)
    expect(createSecretMasker([])('unchanged')).toBe('unchanged')
  })

  it('masks each line of a multi-line secret (a private key is printed line by line)', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\r\nAAAAMwAAAAtzc2gtZWQyNTUxOQ\n-----END OPENSSH PRIVATE KEY-----\n'
    const mask = createSecretMasker([key])
    expect(mask('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ')).toBe(M)
    expect(mask('  AAAAMwAAAAtzc2gtZWQyNTUxOQ')).toBe(`  ${M}`)
    expect(mask('plain line')).toBe('plain line')
  })
})

describe('LogBudget in the run log sink', () => {
  it('passes lines until either cap, then drops (without buffering) and counts every later line, UTF-8 bytes', () => {
    const appended: string[] = []
    const writer = { append: (l: { text: string }) => appended.push(l.text) } as unknown as LogWriter
    const budget = new LogBudget(3, 12)
    const sink = createRunLogSink(writer, 'run', [], budget)
    sink.output('t', 'STDOUT', 'aaaa') // 4 bytes
    sink.system('ééé') // 6 bytes: 10 in all
    sink.output('t', 'STDOUT', 'abc') // would be 13 > 12: dropped
    sink.output('t', 'STDOUT', 'x') // fits, but the stored log stays a prefix: dropped
    sink.output('t', 'STDERR', '')
    expect(appended).toEqual(['aaaa', 'ééé'])
    expect(budget).toMatchObject({ lines: 2, bytes: 10, droppedLines: 3, droppedBytes: 4 })
  })

  it('counts a retry from what earlier attempts stored', () => {
    const budget = new LogBudget(5, 1000)
    budget.lines = 5
    expect(budget.admit('more')).toBe(false)
    expect(budget).toMatchObject({ droppedLines: 1, droppedBytes: 4 })
  })
})
