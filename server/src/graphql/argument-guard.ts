/**
 * One check of every field argument before any resolver sees it, so no service has to remember it:
 * - text Postgres cannot store (NUL, unpaired UTF-16 surrogates) and input nested deeper than
 *   MAX_INPUT_DEPTH are refused everywhere, mutations included;
 * - on queries and subscriptions, search and filter strings are at most MAX_FILTER_CHARS long and
 *   lists at most MAX_FILTER_ITEMS (a 10 MB search string kept Postgres busy for a minute);
 * - a connection's `first`/`last` is at most MAX_PAGE_SIZE (asking for more is an error rather
 *   than a silently shorter page).
 * Problems are BAD_USER_INPUT errors naming the argument path (`filter.jobTypes.0`).
 */
import { defaultFieldResolver, getNamedType, isObjectType, type GraphQLField, type GraphQLSchema } from 'graphql'
import { ValidationError, type FieldProblem } from '../errors.ts'
import { nulProblems } from '../modules/validation.ts'

export const MAX_FILTER_CHARS = 200
export const MAX_FILTER_ITEMS = 500
export const MAX_PAGE_SIZE = 500
/** A connection's page when neither `first` nor `last` is given (every connection uses it; the cost estimate counts it). */
export const DEFAULT_PAGE_SIZE = 50
/** Arguments of queries that carry a whole input object (previews): checked by their service's schema instead. */
const NOT_FILTERS = new Set(['input', 'parameters'])

function filterProblems(value: unknown, path: string, out: FieldProblem[]): void {
  const stack: Array<{ v: unknown; path: string }> = [{ v: value, path }]
  while (stack.length && out.length < 20) {
    const { v, path: p } = stack.pop()!
    if (typeof v === 'string') {
      if (v.length > MAX_FILTER_CHARS) out.push({ field: p, message: `at most ${MAX_FILTER_CHARS} characters` })
    } else if (Array.isArray(v)) {
      if (v.length > MAX_FILTER_ITEMS) out.push({ field: p, message: `at most ${MAX_FILTER_ITEMS} values` })
      else v.forEach((item, i) => stack.push({ v: item, path: `${p}.${i}` }))
    } else if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      for (const [k, item] of Object.entries(v)) stack.push({ v: item, path: `${p}.${k}` })
    }
  }
}

export function argumentProblems(args: Record<string, unknown>, options: { filters: boolean; connection: boolean }): FieldProblem[] {
  const out: FieldProblem[] = []
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined || value === null) continue
    nulProblems(value, name, out)
    if (options.filters && !NOT_FILTERS.has(name)) filterProblems(value, name, out)
    if (options.connection && (name === 'first' || name === 'last') && typeof value === 'number' && (value < 0 || value > MAX_PAGE_SIZE)) {
      out.push({ field: name, message: `must be 0-${MAX_PAGE_SIZE}` })
    }
  }
  return out
}

/** Wraps the resolver (and, for subscriptions, the subscribe function) of every field that takes arguments. */
export function guardArguments(schema: GraphQLSchema): GraphQLSchema {
  const readRoots = new Set([schema.getQueryType()?.name, schema.getSubscriptionType()?.name].filter(Boolean))
  const subscriptionRoot = schema.getSubscriptionType()?.name
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue
    for (const field of Object.values(type.getFields())) {
      if (field.args.length === 0) continue
      const options = { filters: readRoots.has(type.name), connection: getNamedType(field.type).name.endsWith('Connection') }
      const check = (args: Record<string, unknown>) => {
        const problems = argumentProblems(args, options)
        if (problems.length) throw new ValidationError(problems)
      }
      const f = field as GraphQLField<unknown, unknown>
      if (type.name === subscriptionRoot && f.subscribe) {
        const subscribe = f.subscribe
        f.subscribe = (source, args, ctx, info) => {
          check(args)
          return subscribe(source, args, ctx, info)
        }
      } else {
        const resolve = f.resolve ?? defaultFieldResolver
        f.resolve = (source, args, ctx, info) => {
          check(args)
          return resolve(source, args, ctx, info)
        }
      }
    }
  }
  return schema
}
