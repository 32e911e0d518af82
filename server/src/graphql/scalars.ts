import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql'

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant, as an ISO-8601 string with offset (output is always UTC, e.g. 2026-11-23T09:00:00.000Z).',
  serialize(value) {
    const d = value instanceof Date ? value : new Date(String(value))
    if (Number.isNaN(d.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date')
    return d.toISOString()
  },
  parseValue(value) {
    return parseDate(value)
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO-8601 string')
    return parseDate(ast.value)
  },
})

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):?(\d{2}))$/

/** Days in a month of the proleptic Gregorian calendar. */
export function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  return month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31
}

/**
 * Why a calendar date/time is not real, or null: JavaScript's Date reads 2026-02-30 as 2 March and
 * accepts year 0000; an instant we store must be a date that exists, in years 0001-9999.
 */
export function calendarProblem(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): string | null {
  if (year < 1 || year > 9999) return 'the year must be 0001-9999'
  if (month < 1 || month > 12) return 'the month must be 01-12'
  if (day < 1 || day > daysInMonth(year, month)) return `day ${day} does not exist in ${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`
  if (hour > 23 || minute > 59 || second > 59) return 'the time must be 00:00:00-23:59:59'
  return null
}

function parseDate(value: unknown): Date {
  const m = typeof value === 'string' ? ISO_INSTANT.exec(value) : null
  if (!m) throw new GraphQLError('DateTime must be an ISO-8601 string with a timezone offset, e.g. 2026-11-23T09:00:00Z')
  const [y, mo, d, h, mi, sec, oh, om] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)))
  const problem = calendarProblem(y!, mo!, d!, h!, mi!, sec!) ?? (oh! > 23 || om! > 59 ? 'the offset must be at most ±23:59' : null)
  if (problem) throw new GraphQLError(`DateTime is not a valid date: ${problem}`)
  const date = new Date(value as string)
  if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime is not a valid date')
  return date
}

function literalToJson(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value)
    case Kind.NULL:
      return null
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables))
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]))
    case Kind.VARIABLE:
      return variables?.[ast.name.value]
    default:
      throw new GraphQLError('JSON cannot represent this literal')
  }
}

/** Limits on a JSON argument: deeper or bigger input is refused before anything walks it recursively. */
export const JSON_MAX_DEPTH = 64
export const JSON_MAX_NODES = 100_000

/** Checks depth and size without recursion (a value nested 20,000 levels deep overflowed the stack). */
function checkJson(value: unknown): unknown {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }]
  let nodes = 0
  while (stack.length) {
    const { v, depth } = stack.pop()!
    if (++nodes > JSON_MAX_NODES) throw new GraphQLError(`JSON value is too large (at most ${JSON_MAX_NODES} values)`)
    if (v === null || typeof v !== 'object') continue
    if (depth >= JSON_MAX_DEPTH) throw new GraphQLError(`JSON value is nested too deeply (at most ${JSON_MAX_DEPTH} levels)`)
    for (const item of Array.isArray(v) ? v : Object.values(v)) stack.push({ v: item, depth: depth + 1 })
  }
  return value
}

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (v) => v,
  parseValue: (v) => checkJson(v),
  // A literal's depth is bounded by the query's token limit, which applies while parsing.
  parseLiteral: (ast, variables) => checkJson(literalToJson(ast, variables)),
})
