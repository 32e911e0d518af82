/** Inventory host names: a target's own name only when it is inert wherever Ansible puts it, else a unique alias. */
import { describe, expect, it } from 'vitest'
import type { RunTargetHandle } from '../types.ts'
import { inventoryNames, toUnsafeYaml } from './inventory.ts'

const target = (id: string, name: string): RunTargetHandle => ({ id, targetId: id, name, host: '192.0.2.1', port: 22, tags: [], attributes: {}, credential: null, knownHostKey: null })

describe('inventoryNames', () => {
  it('keeps plain host names and aliases every other name, never reusing a name a target already has', () => {
    const targets = [
      target('a', 'sw-01.ams1'),
      target('b', "j{{lookup('pipe','id')}}"),
      target('c', 'switchyard_target_1'),
      target('d', 'web:2222'),
      target('e', 'host[1:3]'),
      target('f', 'ops@router'),
      target('g', '10.0.0.1'),
      target('h', '-oProxyCommand=x'),
    ]
    const names = [...inventoryNames(targets)].map(([name, t]) => [name, t.id])
    expect(names).toEqual([
      ['sw-01.ams1', 'a'],
      ['switchyard_target_2', 'b'],
      ['switchyard_target_1', 'c'],
      ['switchyard_target_3', 'd'],
      ['switchyard_target_4', 'e'],
      ['switchyard_target_5', 'f'],
      ['10.0.0.1', 'g'],
      ['switchyard_target_6', 'h'],
    ])
  })

  it('every value is written !unsafe', () => {
    expect(toUnsafeYaml({ all: { hosts: { h: { ansible_user: '{{ x }}', ansible_port: 22 } } } })).toBe('{"all": {"hosts": {"h": {"ansible_user": !unsafe "{{ x }}", "ansible_port": 22}}}}')
  })
})
