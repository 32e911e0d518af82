import { describe, expect, it } from 'vitest'
import { classifyLine } from './classify.ts'

describe('classifyLine', () => {
  it.each([
    ['ERROR: could not open file', 'ERROR'],
    ['fatal: [web1]: UNREACHABLE! => {"changed": false}', 'ERROR'],
    ['Permission denied (publickey).', 'ERROR'],
    ['Traceback (most recent call last):', 'ERROR'],
    ['3 errors generated.', 'ERROR'],
    ['web1 : ok=3 changed=1 unreachable=0 failed=1 skipped=0', 'ERROR'],
    ['12 passed, 2 failed in 3.2s', 'ERROR'],
    ['kernel panic - not syncing', 'ERROR'],
    ['WARNING: apt does not have a stable CLI interface', 'WARNING'],
    ['DeprecationWarning: use x instead', 'WARNING'],
    ['ValueError: invalid literal for int()', 'ERROR'],
    ['java.lang.NullPointerException', 'ERROR'],
    ['this option is deprecated', 'WARNING'],
    ['retrying in 5s', 'WARNING'],
    ['DEBUG: connecting', 'DEBUG'],
    ['[debug] cache hit', 'DEBUG'],
    ['trace: entering main', 'DEBUG'],
    ['everything fine', 'INFO'],
  ] as const)('%s → %s (stdout)', (text, level) => {
    expect(classifyLine('STDOUT', text)).toBe(level)
  })

  it('does not call a count of nothing a problem', () => {
    expect(classifyLine('STDOUT', 'web1 : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0')).toBe('INFO')
    expect(classifyLine('STDOUT', '12 passed, 0 failed in 3.2s')).toBe('INFO')
    expect(classifyLine('STDOUT', 'Build finished with 0 errors and 0 warnings')).toBe('INFO')
    expect(classifyLine('STDOUT', 'no errors found')).toBe('INFO')
    expect(classifyLine('STDOUT', 'errors: 0')).toBe('INFO')
    expect(classifyLine('STDOUT', 'errors: 0, warnings: 2 deprecated')).toBe('WARNING')
    expect(classifyLine('STDOUT', 'error: 0x80070005 access is denied')).toBe('ERROR')
    expect(classifyLine('STDOUT', 'failed: 0.5% of requests')).toBe('ERROR')
  })

  it('does not match words inside other words', () => {
    expect(classifyLine('STDOUT', 'stderr redirected to /dev/null')).toBe('INFO')
    expect(classifyLine('STDOUT', 'terrible weather')).toBe('INFO')
    expect(classifyLine('STDOUT', 'Debugger attached')).toBe('INFO')
  })

  it('makes stderr a WARNING unless its words say otherwise', () => {
    expect(classifyLine('STDERR', 'Cloning into repo...')).toBe('WARNING')
    expect(classifyLine('STDERR', 'fatal: repository not found')).toBe('ERROR')
    expect(classifyLine('STDERR', 'debug: verbose output')).toBe('DEBUG')
  })

  it('answers as blanking counts of nothing first on every line would (the skipped blanking changes no answer)', () => {
    // The rule as first written: blank out counts of nothing on every line, then look for problem words.
    const reference = (stream: 'STDOUT' | 'STDERR', text: string) => {
      const words = text.replace(/\b(?:0|no|zero|without)\s+[a-z]+\b|\b[a-z]+\s*[=:]\s*0+(?![\w.])/gi, ' ')
      if (/\b(errors?|err|fatal|failed|failures?|panic|critical|exceptions?|denied|unreachable|traceback)\b/i.test(words) || /[a-z](Error|Exception)\b/.test(words)) return 'ERROR'
      if (/\b(warn|warnings?|deprecated|retrying)\b/i.test(words) || /[a-z]Warning\b/.test(words)) return 'WARNING'
      if (/^\s*\[?(debug|trace)\b[:\]]?/i.test(text)) return 'DEBUG'
      return stream === 'STDERR' ? 'WARNING' : 'INFO'
    }
    // Random lines from pieces that sit at the edges of both patterns.
    const pieces = ['0', 'no', 'zero', 'without', 'errors', 'error', 'Error', 'xError', 'failed', 'failed=0', 'failed=1', 'errors: 0', 'warn', 'warnings',
      'DeprecationWarning', 'debug', '[trace]', '=', ':', ' ', '  ', '.', '0.5', 'x', 'ok=3', 'err', '-', 'Exception', 'noerrors', '0errors', 'e0', '_', 'traceback']
    let seed = 42
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n)
    for (let i = 0; i < 20_000; i++) {
      const text = Array.from({ length: 1 + rand(7) }, () => pieces[rand(pieces.length)]).join(rand(3) ? ' ' : '')
      for (const stream of ['STDOUT', 'STDERR'] as const) expect([text, classifyLine(stream, text)]).toEqual([text, reference(stream, text)])
    }
  })
})
