import { expect, it } from 'vitest'
import { lineAtRow, rowOffsets, wrappedRows } from './log-layout'

it('counts the rows a wrapped line takes at a column width', () => {
  expect(wrappedRows('', 80)).toBe(1)
  expect(wrappedRows('x'.repeat(80), 80)).toBe(1)
  expect(wrappedRows('x'.repeat(81), 80)).toBe(2)
  expect(wrappedRows('a\nb', 80)).toBe(2)
  expect(wrappedRows('\tx', 4)).toBe(3) // 9 characters wide
})

it('finds the line at a row from running offsets', () => {
  const rows = [1, 3, 1, 2]
  const offsets = rowOffsets(rows.length, (i) => rows[i]!)
  expect([...offsets]).toEqual([0, 1, 4, 5, 7])
  expect(lineAtRow(offsets, 0)).toBe(0)
  expect(lineAtRow(offsets, 1)).toBe(1)
  expect(lineAtRow(offsets, 3)).toBe(1)
  expect(lineAtRow(offsets, 4)).toBe(2)
  expect(lineAtRow(offsets, 6)).toBe(3)
  expect(lineAtRow(offsets, 100)).toBe(3)
  expect(lineAtRow(rowOffsets(0, () => 1), 5)).toBe(0)
})
