import { describe, expect, it } from 'vitest'
import { createSecretMasker } from './run-log-sink.ts'

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
