/**
 * Counts the SQL statements this process sends (every pg client: Prisma's adapter, the pools, pg-boss
 * and the LISTEN connection all go through `pg.Client.prototype.query`), grouped by statement text.
 * Statement counts per run do not depend on machine load, unlike timings, so they show what a change
 * to the run path saved even on a busy machine. Another process (the split mode's worker) is not seen.
 */
import pg from 'pg'

export interface StatementCount {
  total: number
  /** Statement text (whitespace collapsed, first 120 characters) → how many times it was sent. */
  byText: Map<string, number>
}

let installed: { original: typeof pg.Client.prototype.query; users: number } | null = null
const active = new Set<StatementCount>()

/** Starts counting; the returned function stops and returns the counts. */
export function countStatements(): () => StatementCount {
  const counts: StatementCount = { total: 0, byText: new Map() }
  if (!installed) {
    const original = pg.Client.prototype.query
    installed = { original, users: 0 }
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      if (active.size) {
        const q = args[0]
        const text = typeof q === 'string' ? q : q && typeof q === 'object' && 'text' in q ? String((q as { text: unknown }).text) : '?'
        const key = text.replace(/\s+/g, ' ').trim().slice(0, 120)
        for (const c of active) {
          c.total++
          c.byText.set(key, (c.byText.get(key) ?? 0) + 1)
        }
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args)
    } as typeof original
  }
  installed.users++
  active.add(counts)
  return () => {
    active.delete(counts)
    if (installed && --installed.users === 0) {
      pg.Client.prototype.query = installed.original
      installed = null
    }
    return counts
  }
}

/** The most frequent statements, as [count per unit, text], for a report. */
export function topStatements(c: StatementCount, per: number, n = 15): Array<[number, string]> {
  return [...c.byText.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([text, count]) => [Number((count / per).toFixed(3)), text])
}
