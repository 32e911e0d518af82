/**
 * Row geometry of the virtualized log view. Unwrapped, every line is one row. Wrapped, a line takes as
 * many rows as its text needs at the column width (the font is monospace, so this is arithmetic, not
 * measuring the DOM), and the view keeps the running offsets to find which lines a scroll position shows.
 */

/** Rows a line of text takes when wrapped at `cols` characters (tabs count as 8, like the browser's default). */
export function wrappedRows(text: string, cols: number): number {
  if (cols <= 0) return 1
  let rows = 0
  for (const part of text.split('\n')) {
    const width = part.replace(/\t/g, '        ').length
    rows += Math.max(1, Math.ceil(width / cols))
  }
  return rows
}

/** offsets[i] is where line i starts (in rows); offsets[count] is the total. */
export function rowOffsets(count: number, rowsOf: (i: number) => number): Uint32Array {
  const offsets = new Uint32Array(count + 1)
  for (let i = 0; i < count; i++) offsets[i + 1] = offsets[i]! + rowsOf(i)
  return offsets
}

/** The line shown at row `row` (binary search over the offsets). */
export function lineAtRow(offsets: Uint32Array, row: number): number {
  let lo = 0
  let hi = offsets.length - 2
  if (hi < 0) return 0
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (offsets[mid]! <= row) lo = mid
    else hi = mid - 1
  }
  return lo
}
