import { describe, expect, it } from 'vitest'
import { auditText, auditValue, changed, created, MAX_VALUE_CHARS, SECRET_CHANGED, secretsChanged } from './changes.ts'

describe('audit changes', () => {
  it('lists the non-empty fields of a creation as new values', () => {
    const row = { name: 'web', description: '', tags: [], attributes: {}, port: 22, credentialId: null, createdAt: new Date('2026-01-02T03:04:05.000Z') }
    expect(created(row, ['name', 'description', 'tags', 'attributes', 'port', 'credentialId', 'createdAt'])).toEqual({
      name: { new: 'web' },
      port: { new: 22 },
      createdAt: { new: '2026-01-02T03:04:05.000Z' },
    })
  })

  it('keeps only the fields whose value differs, whatever the key order of JSON values', () => {
    const before = { name: 'a', port: 22, config: { b: 1, a: [1, 2] }, tags: ['x'], at: new Date(0) }
    const after = { name: 'a', port: 2222, config: { a: [1, 2], b: 1 }, tags: ['x', 'y'], at: new Date(0) }
    expect(changed(before, after, ['name', 'port', 'config', 'tags', 'at'])).toEqual({
      port: { old: 22, new: 2222 },
      tags: { old: ['x'], new: ['x', 'y'] },
    })
    // Cleared and set values are changes too.
    expect(changed({ timeoutSeconds: 30 }, { timeoutSeconds: null }, ['timeoutSeconds'])).toEqual({ timeoutSeconds: { old: 30, new: null } })
  })

  it('cuts long strings and large structures', () => {
    const long = 'x'.repeat(1000)
    expect(auditValue(long)).toBe('x'.repeat(MAX_VALUE_CHARS) + '…')
    const big = { commands: Array.from({ length: 100 }, (_, i) => `echo ${i}`) }
    const v = auditValue(big) as string
    expect(typeof v).toBe('string')
    expect(v.length).toBe(MAX_VALUE_CHARS + 1)
    expect(v.startsWith('{"commands":["echo 0"')).toBe(true)
    expect(auditValue({ small: [1, 2] })).toEqual({ small: [1, 2] })
  })

  it('cuts on a character boundary: never half of an emoji (a lone surrogate made Postgres reject the whole save)', () => {
    const v = auditValue('a' + '😀'.repeat(300)) as string // the 200th UTF-16 unit is a high surrogate
    expect(v.endsWith('…')).toBe(true)
    expect(v).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
    expect(v).toBe('a' + '😀'.repeat(99) + '…')
  })

  it('names secrets without values; bytes are never values (a change of bytes is not seen by changed(): callers name it with secretsChanged)', () => {
    expect(secretsChanged(['password', false, null, undefined, 'passphrase'])).toEqual({ password: SECRET_CHANGED, passphrase: SECRET_CHANGED })
    expect(changed({ secret: Buffer.from('old') }, { secret: Buffer.from('new') }, ['secret'])).toEqual({})
    expect(created({ secret: Buffer.from('hunter2') }, ['secret'])).toEqual({ secret: { new: SECRET_CHANGED } })
  })

  it('replaces NUL, which Postgres text and jsonb cannot hold', () => {
    expect(auditText('ad\u0000min')).toBe('ad\uFFFDmin')
    expect(auditValue({ 'k\u0000': 'v\u0000' })).toEqual({ 'k\uFFFD': 'v\uFFFD' })
    expect(auditText(null)).toBeNull()
  })
})
