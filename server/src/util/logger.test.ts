import { describe, expect, it } from 'vitest'
import { loadConfig } from '../config.ts'
import { createLogger } from './logger.ts'

function capture(format?: 'text' | 'json') {
  const lines: string[] = []
  const logger = createLogger('info', {}, (l) => lines.push(l), format)
  return { logger, lines }
}

describe('logger formats', () => {
  it('writes text by default: time, level, message, key=value fields', () => {
    const { logger, lines } = capture()
    logger.child({ component: 'db' }).warn('pool error', { error: 'connection reset', attempt: 2 })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z WARN  pool error component=db error="connection reset" attempt=2$/)
  })

  it('writes one JSON object per line with stable keys: time, level, msg, component, then the fields', () => {
    const { logger, lines } = capture('json')
    const db = logger.child({ component: 'db' })
    db.info('multi\nline "message"', { runId: 'r1', count: 3, ok: true, none: null, skipped: undefined })
    db.debug('below the level')
    db.error('odd values', { time: 'a field named time', msg: 'and msg', level: 'and level', inf: Infinity })
    expect(lines).toHaveLength(2)
    expect(lines.every((l) => !l.includes('\n'))).toBe(true)
    const first = JSON.parse(lines[0]!)
    expect(Object.keys(first)).toEqual(['time', 'level', 'msg', 'component', 'runId', 'count', 'ok', 'none'])
    expect(first).toMatchObject({ level: 'info', msg: 'multi\nline "message"', component: 'db', runId: 'r1', count: 3, ok: true, none: null })
    expect(new Date(first.time).toISOString()).toBe(first.time)
    // A field cannot replace time, level or msg: it keeps its value under a suffixed key.
    const second = JSON.parse(lines[1]!)
    expect(second).toMatchObject({ level: 'error', msg: 'odd values', time_: 'a field named time', msg_: 'and msg', level_: 'and level', inf: 'Infinity' })
    expect(new Date(second.time).toISOString()).toBe(second.time)
  })

  it('is chosen by SWITCHYARD_LOG_FORMAT (text unless json), and anything else is a configuration error', () => {
    const base = { SWITCHYARD_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') }
    expect(loadConfig(base).logFormat).toBe('text')
    expect(loadConfig({ ...base, SWITCHYARD_LOG_FORMAT: 'json' }).logFormat).toBe('json')
    expect(() => loadConfig({ ...base, SWITCHYARD_LOG_FORMAT: 'xml' })).toThrow(/SWITCHYARD_LOG_FORMAT/)
  })
})
