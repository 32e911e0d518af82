import { describe, expect, it } from 'vitest'
import { signWebhook } from '../notifications/webhook-delivery.ts'
import { mapPayload, mappingProblems, valueAt } from './payload-mapping.ts'
import { signatureProblem } from './webhook-signature.ts'

describe('payload mapping', () => {
  const body = { repository: { name: 'net-configs', 'a/b': 1, 'x~y': 2 }, commits: [{ id: 'c1' }, { id: 'c2' }], ok: false, n: null }
  it('reads JSON pointers and dot paths; absent paths are undefined', () => {
    expect(valueAt(body, '/repository/name')).toBe('net-configs')
    expect(valueAt(body, 'repository.name')).toBe('net-configs')
    expect(valueAt(body, '/repository/a~1b')).toBe(1)
    expect(valueAt(body, '/repository/x~0y')).toBe(2)
    expect(valueAt(body, 'commits.1.id')).toBe('c2')
    expect(valueAt(body, 'ok')).toBe(false)
    expect(valueAt(body, 'n')).toBeNull()
    expect(valueAt(body, 'commits.9.id')).toBeUndefined()
    expect(valueAt(body, 'repository.name.length')).toBeUndefined()
    expect(valueAt(body, 'constructor')).toBeUndefined()
    expect(mapPayload({ repo: { path: 'repository.name' }, env: { value: 'prod' }, gone: { path: 'nope' } }, body)).toEqual({ repo: 'net-configs', env: 'prod' })
  })
  it('names each bad mapping entry', () => {
    const defs = [
      { name: 'repo', type: 'STRING', required: true },
      { name: 'token', type: 'SECRET' },
      { name: 'env', type: 'STRING', required: true, default: 'prod' },
    ] as never
    expect(mappingProblems({ nope: { value: 1 }, token: { value: 'x' } }, defs, 'input.parameterMapping').map((p) => p.field)).toEqual([
      'input.parameterMapping.nope',
      'input.parameterMapping.token',
      'input.parameterMapping.repo',
    ])
  })
})

describe('webhook signatures', () => {
  const body = Buffer.from('{"a":1}')
  it('accepts what Switchyard notifications sign, within the window', () => {
    expect(signatureProblem('s3cret', signWebhook('s3cret', body.toString(), 1000), body, 1100, 300)).toBeNull()
  })
  it('refuses a missing, malformed, stale or wrong signature, saying which', () => {
    expect(signatureProblem('s', undefined, body, 0, 300)).toMatch(/^missing/)
    expect(signatureProblem('s', 't=x,v1=zz', body, 0, 300)).toMatch(/^malformed/)
    expect(signatureProblem('s', signWebhook('s', body.toString(), 1000), body, 1301, 300)).toMatch(/outside the replay window/)
    expect(signatureProblem('s', signWebhook('other', body.toString(), 1000), body, 1000, 300)).toBe('signature does not match the body')
    expect(signatureProblem('s', signWebhook('s', '{"a":2}', 1000), body, 1000, 300)).toBe('signature does not match the body')
  })
})
