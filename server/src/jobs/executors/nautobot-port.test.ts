import { describe, expect, it } from 'vitest'
import { customFieldKey, customFieldTime } from './nautobot-port.ts'
import { homes } from './prefix-scan-nautobot.ts'
import { parsePrefix } from './prefix-scan-addresses.ts'

describe('Nautobot write-back helpers', () => {
  it('formats times the way Nautobot stores them, so a re-write compares equal', () => {
    const at = new Date('2026-12-04T23:59:58.765Z')
    expect(customFieldTime('datetime', at)).toBe('2026-12-04T23:59:58Z')
    expect(customFieldTime('text', at)).toBe('2026-12-04T23:59:58Z')
    expect(customFieldTime('date', at)).toBe('2026-12-04')
  })

  it('accepts custom field keys only', () => {
    expect(customFieldKey.safeParse('last_backup').success).toBe(true)
    for (const bad of ['last backup', '1st', 'a-b', '']) expect(customFieldKey.safeParse(bad).success).toBe(false)
  })

  it('files an address under the most specific prefix per namespace', () => {
    const p = (id: string, prefix: string, namespaceId: string) => ({ p: { id, prefix, namespaceId, namespace: null }, range: parsePrefix(prefix)!, length: Number(prefix.split('/')[1]) })
    const prefixes = [p('a', '10.0.0.0/16', 'ns1'), p('b', '10.0.1.0/24', 'ns1'), p('c', '10.0.0.0/8', 'ns2'), p('d', '2001:db8::/64', 'ns1')]
    expect(homes('10.0.1.5', prefixes).map((h) => h.p.id).sort()).toEqual(['b', 'c'])
    expect(homes('10.0.2.5', prefixes).map((h) => h.p.id).sort()).toEqual(['a', 'c'])
    expect(homes('2001:db8::5', prefixes).map((h) => h.p.id)).toEqual(['d'])
    expect(homes('192.0.2.1', prefixes)).toEqual([])
  })
})
