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

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    throw new GraphQLError('DateTime must be an ISO-8601 string with a timezone offset, e.g. 2026-11-23T09:00:00Z')
  }
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) throw new GraphQLError(`DateTime "${value}" is not a valid date`)
  return d
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

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (ast, variables) => literalToJson(ast, variables),
})
