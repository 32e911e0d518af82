import { describe, expect, it } from 'vitest'
import type { CheckmkHost } from './checkmk-client.ts'
import { compareDevices, desiredHost, folderFor, mappingProblems, MANAGED_LABEL, type HostMapping, type SourceDevice } from './host-plan.ts'

const mapping: HostMapping = {
  folderTemplate: '/network/{{ location }}/{{ role }}',
  site: 'mysite',
  labels: { 'nautobot/role': '{{ role }}', 'nautobot/platform': '{{ platform }}' },
  tagGroups: { tag_criticality: 'prod' },
}
const device = (o: Partial<SourceDevice>): SourceDevice => ({ name: 'r1', primaryIp: '10.0.0.1', location: 'Berlin DC', role: 'core', platform: null, status: 'Active', tags: [], ...o })

describe('host plan', () => {
  it('renders folders from the template, one clean segment per level, empty levels dropped', () => {
    expect(folderFor(mapping.folderTemplate, device({}))).toBe('/network/Berlin_DC/core')
    expect(folderFor(mapping.folderTemplate, device({ role: null }))).toBe('/network/Berlin_DC')
    expect(folderFor('/', device({}))).toBe('/')
  })

  it('maps a device to the managed attributes only, with the marker label; empty values stay unmanaged', () => {
    expect(desiredHost(device({}), mapping)).toEqual({
      name: 'r1',
      folder: '/network/Berlin_DC/core',
      attributes: { ipaddress: '10.0.0.1', site: 'mysite', tag_criticality: 'prod', labels: { 'nautobot/role': 'core', [MANAGED_LABEL]: 'true' } },
    })
    expect(desiredHost(device({ name: 'bad name' }), mapping)).toEqual({ skip: expect.stringMatching(/not a valid Checkmk host name/) })
    expect(desiredHost(device({ primaryIp: null }), mapping)).not.toHaveProperty('attributes.ipaddress')
  })

  it('compares field by field, ignores what it does not manage, and lists only managed hosts as extra', () => {
    const hosts: CheckmkHost[] = [
      { name: 'r1', folder: '/network/Berlin_DC/core', attributes: { ipaddress: '10.0.0.9', site: 'mysite', alias: 'x', tag_criticality: 'prod', labels: { 'nautobot/role': 'core', [MANAGED_LABEL]: 'true', team: 'ops' } } },
      { name: 'r2', folder: '/network/Berlin_DC/core', attributes: { ipaddress: '10.0.0.2', site: 'mysite', tag_criticality: 'prod', labels: { 'nautobot/role': 'core', [MANAGED_LABEL]: 'true' } } },
      { name: 'gone', folder: '/', attributes: { labels: { [MANAGED_LABEL]: 'true' } } },
      { name: 'peoples', folder: '/', attributes: {} },
    ]
    const out = compareDevices([device({}), device({ name: 'r2', primaryIp: '10.0.0.2' }), device({ name: 'r3' })], hosts, mapping)
    expect(out.map((c) => [c.device, c.status])).toEqual([
      ['r1', 'DIFFERENT'],
      ['r2', 'EQUAL'],
      ['r3', 'MISSING_IN_CHECKMK'],
      ['gone', 'EXTRA_IN_CHECKMK'],
    ])
    expect(out[0]!.diffs).toEqual([{ field: 'ipaddress', expected: '10.0.0.1', actual: '10.0.0.9' }])
    // Restricted to some devices: no extras (the rest of the inventory was not looked at as a whole).
    expect(compareDevices([device({}), device({ name: 'r3' })], hosts, mapping, ['r3', 'nope']).map((c) => [c.device, c.status, c.reason])).toEqual([
      ['r3', 'MISSING_IN_CHECKMK', null],
      ['nope', 'SKIPPED', "not among the inventory source's devices"],
    ])
  })

  it('names unknown template variables', () => {
    expect(mappingProblems({ ...mapping, folderTemplate: '/{{ rack }}', labels: { a: '{{ tenant }}' } })).toEqual([
      { path: ['folderTemplate'], message: expect.stringContaining('unknown variable "rack"') },
      { path: ['labels', 'a'], message: expect.stringContaining('unknown variable "tenant"') },
    ])
  })
})
