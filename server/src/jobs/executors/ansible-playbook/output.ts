/**
 * Reading ansible-playbook's default output: which host a line names, what level it deserves, and the
 * counts of a PLAY RECAP line. Pure functions on single lines, unit-tested on their own.
 */
import type { LogLevel } from '../types.ts'

const COUNT_KEYS = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'] as const
export type RecapCounts = Record<(typeof COUNT_KEYS)[number], number>

/** `ok: [sw-01]`, `fatal: [sw-01]: UNREACHABLE!`, `changed: [sw-01] => (item=x)`, `ok: [sw-01 -> other]`. */
export function hostOf(line: string): string | null {
  const m = /^[a-z]+(?: \([^)]*\))?: \[([^\]]+)\]/.exec(line)
  if (!m) return null
  return m[1]!.split(' -> ')[0]!
}

export function parseRecapLine(line: string): { host: string; counts: RecapCounts } | null {
  const m = /^(\S(?:.*?\S)?)\s+:\s+((?:[a-z]+=\d+\s*)+)$/.exec(line)
  if (!m) return null
  const counts = Object.fromEntries(COUNT_KEYS.map((k) => [k, 0])) as RecapCounts
  for (const [, key, value] of m[2]!.matchAll(/([a-z]+)=(\d+)/g)) {
    if ((COUNT_KEYS as readonly string[]).includes(key!)) counts[key as keyof RecapCounts] = Number(value)
  }
  return { host: m[1]!, counts }
}

export function classify(line: string, recap?: RecapCounts): LogLevel {
  if (recap) return recap.failed > 0 || recap.unreachable > 0 ? 'ERROR' : recap.changed > 0 ? 'WARNING' : 'INFO'
  if (/^(fatal|failed): \[/.test(line) || /UNREACHABLE!|^ERROR!|^\[ERROR\]/.test(line)) return 'ERROR'
  if (/^changed: \[/.test(line) || /^\[(WARNING|DEPRECATION WARNING)\]/.test(line)) return 'WARNING'
  if (/^\.\.\.ignoring$/.test(line)) return 'WARNING'
  return 'INFO'
}
