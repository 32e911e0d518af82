import { describe, expect, it } from 'vitest'
import { initialRunValues, overrideInput, overrideValues, runParameters, toDraft, toInput, type ParameterDefinition } from './parameters'

const defs: ParameterDefinition[] = [
  { name: 'mount', type: 'STRING', required: false, default: '/' },
  { name: 'count', type: 'INT', required: true, default: null },
  { name: 'dry', type: 'BOOL', required: false, default: true },
  { name: 'env', type: 'CHOICE', required: true, choices: ['staging', 'prod'] },
  { name: 'token', type: 'SECRET', required: false },
]

describe('definitions', () => {
  it('round-trips through the editor draft', () => {
    for (const d of defs) {
      const input = toInput(toDraft(d))
      expect(input.name).toBe(d.name)
      expect(input.type).toBe(d.type)
    }
    expect(toInput(toDraft(defs[0]!))).toEqual({ name: 'mount', type: 'STRING', required: false, default: '/' })
    expect(toInput({ ...toDraft(defs[1]!), default: '42' }).default).toBe(42)
    expect(toInput({ ...toDraft(defs[1]!), default: '4x' }).default).toBe('4x')
    expect(toInput(toDraft(defs[3]!))).toEqual({ name: 'env', type: 'CHOICE', required: true, choices: ['staging', 'prod'] })
    expect(toInput({ ...toDraft(defs[4]!), default: 'leak' }).default).toBeUndefined()
  })
})

describe('run values', () => {
  it('prefills defaults and the first choice of a required CHOICE', () => {
    expect(initialRunValues(defs)).toEqual({ mount: '/', count: '', dry: true, env: 'staging', token: '' })
  })

  it('coerces, omits empty optional values and reports missing required ones by API field', () => {
    const v = initialRunValues(defs)
    expect(runParameters(defs, v)).toEqual({ parameters: { mount: '/', dry: true, env: 'staging' }, errors: { 'parameters.count': 'required' } })
    expect(runParameters(defs, { ...v, count: '3', token: 's3cret' }).parameters).toEqual({ mount: '/', count: 3, dry: true, env: 'staging', token: 's3cret' })
    expect(runParameters(defs, { ...v, count: 'x' }).errors).toEqual({ 'parameters.count': 'must be a whole number' })
  })
})

describe('override values (schedules, dependencies)', () => {
  const defs: ParameterDefinition[] = [
    { name: 'site', type: 'STRING', required: true },
    { name: 'n', type: 'INT', required: false, default: 2 },
    { name: 'dry', type: 'BOOL', required: false },
    { name: 'pw', type: 'SECRET', required: false },
  ]
  it('shows stored values as text, blank where none is stored', () => {
    expect(overrideValues(defs, { site: 'ams', n: 3, dry: false })).toEqual({ site: 'ams', n: '3', dry: false, pw: '' })
    expect(overrideValues(defs, null)).toEqual({ site: '', n: '', dry: '', pw: '' })
  })
  it('leaves blanks out so defaults apply, sends whole numbers as numbers, and SECRETs only when allowed', () => {
    expect(overrideInput(defs, { site: 'ams', n: ' 5 ', dry: '', pw: 'x' })).toEqual({ site: 'ams', n: 5, pw: 'x' })
    expect(overrideInput(defs, { site: '', n: 'five', dry: true, pw: 'x' }, { secrets: false })).toEqual({ n: 'five', dry: true })
  })
})
