/** Small, dependency-free statistics for the benchmark: percentiles by nearest rank, summaries over rounds. */

export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}

/** Nearest-rank percentile (p in 0..100) of the values; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN
  const s = sorted(values)
  const rank = Math.ceil((p / 100) * s.length)
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!
}

export function median(values: readonly number[]): number {
  if (!values.length) return NaN
  const s = sorted(values)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export interface Spread {
  median: number
  min: number
  max: number
  /** One value per round, in round order. */
  values: number[]
}

/** Median, min and max of one figure over the rounds. */
export function spread(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v))
  return {
    median: median(finite),
    min: finite.length ? Math.min(...finite) : NaN,
    max: finite.length ? Math.max(...finite) : NaN,
    values: [...values],
  }
}

export interface Distribution {
  n: number
  p50: number
  p90: number
  p99: number
  max: number
  min: number
}

export function distribution(values: readonly number[]): Distribution {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : NaN,
    min: values.length ? Math.min(...values) : NaN,
  }
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution, monotonic. */
export const now = (): number => performance.now()

export const round = (v: number, digits = 1): number => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v)
