/**
 * IPv4/IPv6 prefixes (CIDR) as ranges of addresses for the `prefix_scan` job type: parse, count (before
 * anything is scanned, so the address cap is checked at template save), merge overlaps and enumerate lazily.
 */
import { isIPv4, isIPv6 } from 'node:net'

export type Family = 4 | 6
export interface AddressRange {
  family: Family
  /** Inclusive bounds. */
  first: bigint
  last: bigint
}

const V4_BITS = 32
const V6_BITS = 128

function parseIPv4(text: string): bigint | null {
  if (!isIPv4(text)) return null
  return text.split('.').reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n)
}

function parseIPv6(text: string): bigint | null {
  if (text.includes('%') || !isIPv6(text)) return null
  let head = text
  const tail: number[] = []
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(head)
  if (v4) {
    const n = parseIPv4(v4[1]!)
    if (n === null) return null
    tail.push(Number(n >> 16n), Number(n & 0xffffn))
    head = head.slice(0, -v4[1]!.length)
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1)
  }
  const hextets = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)))
  let groups: number[]
  if (head.includes('::')) {
    const [left, right] = head.split('::') as [string, string]
    const l = hextets(left)
    const r = [...hextets(right), ...tail]
    groups = [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r]
  } else groups = [...hextets(head), ...tail]
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null
  return groups.reduce((n, g) => (n << 16n) | BigInt(g), 0n)
}

export function formatAddress(family: Family, n: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.')
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt((7 - i) * 16)) & 0xffffn))
  // RFC 5952: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let best = { at: -1, len: 0 }
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i }
    i = j
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':')
  if (best.at < 0) return hex(groups)
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.len))}`
}

/**
 * `192.0.2.0/24`, `2001:db8::/120`, or a bare address (one host). Host bits are ignored (`192.0.2.7/24` is
 * `192.0.2.0/24`). With `skipNetworkAndBroadcast`, an IPv4 prefix shorter than /31 loses its first and last
 * address. Returns null when the text is not a prefix.
 */
export function parsePrefix(text: string, options: { skipNetworkAndBroadcast?: boolean } = {}): AddressRange | null {
  const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(text.trim())
  if (!m) return null
  const v4 = parseIPv4(m[1]!)
  const family: Family | null = v4 !== null ? 4 : parseIPv6(m[1]!) !== null ? 6 : null
  if (family === null) return null
  const bits = family === 4 ? V4_BITS : V6_BITS
  const length = m[2] === undefined ? bits : Number(m[2])
  if (!Number.isInteger(length) || length > bits || (m[2] !== undefined && m[2].length > 1 && m[2].startsWith('0'))) return null
  const address = v4 ?? parseIPv6(m[1]!)!
  const hostBits = BigInt(bits - length)
  const first = (address >> hostBits) << hostBits
  const last = first + (1n << hostBits) - 1n
  if (family === 4 && options.skipNetworkAndBroadcast && length < 31) return { family, first: first + 1n, last: last - 1n }
  return { family, first, last }
}

/** Sorts and merges overlapping or adjacent ranges of the same family, so no address is scanned twice. */
export function mergeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) => a.family - b.family || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))
  const merged: AddressRange[] = []
  for (const r of sorted) {
    const prev = merged.at(-1)
    if (prev && prev.family === r.family && r.first <= prev.last + 1n) {
      if (r.last > prev.last) prev.last = r.last
    } else merged.push({ ...r })
  }
  return merged
}

export function countAddresses(ranges: readonly AddressRange[]): bigint {
  return ranges.reduce((sum, r) => sum + (r.last - r.first + 1n), 0n)
}

export function* enumerateAddresses(ranges: readonly AddressRange[]): Generator<string> {
  for (const r of ranges) for (let n = r.first; n <= r.last; n++) yield formatAddress(r.family, n)
}
