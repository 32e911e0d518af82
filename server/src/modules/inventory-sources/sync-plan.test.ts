import { describe, expect, it } from 'vitest'
import type { NautobotDevice } from './nautobot-client.ts'
import { stripPrefixLength } from './nautobot-client.ts'
import { attributeValue, desiredTarget, planSync, tagValue, type ExistingTarget, type SourceMapping } from './sync-plan.ts'

const SOURCE = 'aaaaaaaa-0000-4000-8000-000000000001'
const mapping = (o: Partial<SourceMapping> = {}): SourceMapping => ({ id: SOURCE, syncMode: 'AUTHORITATIVE', defaultPort: 22, extraTags: [], maxDeleteFraction: 0.5, ...o })
const device = (name: string, ip: string | null, o: Partial<NautobotDevice> = {}): NautobotDevice => ({ id: `id-${name}`, name, primaryIp: ip, platform: null, role: null, location: null, status: 'Active', tags: [], ...o })
const target = (name: string, o: Partial<ExistingTarget> = {}): ExistingTarget => ({
  id: `t-${name}`,
  name,
  host: '10.0.0.1',
  port: 22,
  tags: [],
  attributes: { nautobot_id: `id-${name}`, platform: null, role: null, location: null, status: 'Active' },
  sourceId: SOURCE,
  ...o,
})

describe('planSync', () => {
  it('leaves hand-made and other sources\' targets alone, even when authoritative', () => {
    const plan = planSync([device('a', '10.0.0.1')], [target('a', { sourceId: null }), target('b', { sourceId: 'other' })], mapping())
    expect(plan.create).toEqual([])
    expect(plan.remove).toEqual([])
    expect(plan.skipped).toEqual([{ name: 'a', reason: 'a target with this name was made by hand; the source leaves it alone' }])
  })

  it('refuses an empty answer and a large deletion; additive never removes', () => {
    const owned = [target('a'), target('b'), target('c')]
    expect(planSync([], owned, mapping()).refusal).toMatch(/returned no devices/)
    expect(planSync([device('a', '10.0.0.1')], owned, mapping()).refusal).toMatch(/would remove 2 of the source's 3 targets \(67%\)/)
    expect(planSync([device('a', '10.0.0.1'), device('b', '10.0.0.1')], owned, mapping()).refusal).toBeNull()
    const additive = planSync([], owned, mapping({ syncMode: 'ADDITIVE' }))
    expect(additive).toMatchObject({ remove: [], refusal: null })
  })

  it('skips devices that cannot be targets, and duplicate names', () => {
    const plan = planSync([device('has space', '10.0.0.1'), device('x', null), device('y', '10.0.0.2'), device('y', '10.0.0.3')], [], mapping())
    expect(plan.create.map((c) => c.name)).toEqual(['y'])
    expect(plan.skipped.map((s) => s.name)).toEqual(['has space', 'x', 'y'])
  })

  it('maps names into valid tags and strips prefix lengths', () => {
    expect(tagValue('Data Center #1')).toBe('Data-Center-1')
    expect(stripPrefixLength('10.1.2.3/24')).toBe('10.1.2.3')
    expect(stripPrefixLength('2001:db8::1/64')).toBe('2001:db8::1')
  })
})

describe('custom-field mappings', () => {
  const cf = mapping({ customFieldMappings: [{ customField: 'site_code', attribute: 'site', tagPrefix: 'site' }, { customField: 'services', tagPrefix: 'svc' }, { customField: 'units', attribute: 'units' }] })

  it('sets attributes with their type and one tag per value; unset fields give null and no tag', () => {
    const d = desiredTarget(device('a', '10.0.0.1', { customFields: { site_code: 'AMS 1', services: ['ssh', 'snmp'], units: 2 } }), cf)
    expect(d).toMatchObject({ attributes: { site: 'AMS 1', units: 2 }, tags: ['site:AMS-1', 'svc:snmp', 'svc:ssh'] })
    const none = desiredTarget(device('b', '10.0.0.2', { customFields: {} }), cf)
    expect(none).toMatchObject({ attributes: { site: null, units: null }, tags: [] })
  })

  it('diffs a mapped attribute like a fixed one; an attribute no mapping names is left alone', () => {
    const existing = target('a', { attributes: { nautobot_id: 'id-a', platform: null, role: null, location: null, status: 'Active', site: 'AMS', units: null, mine: 'x' }, tags: ['site:AMS'] })
    const plan = planSync([device('a', '10.0.0.1', { customFields: { site_code: 'FRA' } })], [existing], cf)
    expect(plan.update[0]!.changes.map((c) => c.field)).toEqual(['tags', 'attributes.site'])
    expect(plan.update[0]!.changes[1]).toEqual({ field: 'attributes.site', old: 'AMS', new: 'FRA' })
  })

  it('turns lists and objects into text', () => {
    expect(attributeValue(['a', 1, { b: 2 }])).toBe('a, 1, {"b":2}')
    expect(attributeValue({ x: 1 })).toBe('{"x":1}')
    expect(attributeValue(undefined)).toBeNull()
    expect(attributeValue(false)).toBe(false)
  })
})
