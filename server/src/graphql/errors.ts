/**
 * How errors leave the API: DomainErrors become GraphQL errors with `extensions.code` and, for input
 * problems, `extensions.field` (the first) and `extensions.fields` (all). Errors graphql-js, Yoga or
 * Pothos produced (parse, validation, variable coercion, paging arguments) get a code too. Everything
 * else is masked as "Unexpected error." — never a stack trace, SQL, or a secret — and logged
 * server-side. No message quotes more than a short excerpt of the caller's input. A database that
 * cannot be reached is SERVICE_UNAVAILABLE with `extensions.retryable: true`.
 */
import { GraphQLError } from 'graphql'
import { DomainError, type FieldProblem } from '../errors.ts'
import { excerpt, shortenEchoes } from '../util/excerpt.ts'
import { isTransient } from '../db/transient.ts'
import type { Logger } from '../util/logger.ts'

/**
 * GraphQLError by name rather than `instanceof`: graphql ships both a CommonJS and an ESM build, and
 * when both get loaded (vitest resolves our sources to the ESM build while yoga, loaded by Node, gets
 * the CommonJS one) errors made by graphql-js/yoga are not instances of the class imported here. The
 * `instanceof` checks made every variable-coercion error an "Unexpected error." (INTERNAL_SERVER_ERROR)
 * and dropped `path`/`locations` from domain errors.
 */
function isGraphQLError(e: unknown): e is GraphQLError {
  return e instanceof GraphQLError || (e instanceof Error && e.name === 'GraphQLError')
}

/** True when the error and everything it wraps are GraphQLErrors (nothing a resolver threw). */
function onlyGraphQLErrors(error: GraphQLError): boolean {
  let e: unknown = error
  for (let i = 0; i < 5; i++) {
    if (!isGraphQLError(e)) return false
    if (!e.originalError) return true
    e = e.originalError
  }
  return false
}

function findDomainError(error: unknown): DomainError | null {
  let e: unknown = error
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof DomainError) return e
    e = (e as { originalError?: unknown }).originalError
  }
  return null
}

/** The code of an error graphql-js, Yoga or Pothos made without one. */
function codeFor(e: GraphQLError): string {
  if (/^Syntax Error/.test(e.message)) return 'GRAPHQL_PARSE_FAILED'
  if (/^Variable "\$/.test(e.message)) return 'BAD_USER_INPUT'
  if (e.path) {
    // Thrown while resolving: Pothos rejects paging arguments (`first` with `before`, bad cursors).
    let o: unknown = e.originalError
    for (let i = 0; i < 5 && o; i++, o = (o as { originalError?: unknown }).originalError) {
      if ((o as Error).name === 'PothosValidationError') return 'BAD_USER_INPUT'
    }
    return 'INTERNAL_SERVER_ERROR'
  }
  // Yoga's own request errors (no query, a body that is not JSON, a GET mutation) carry an HTTP status.
  if ((e.extensions?.http as { status?: number } | undefined)?.status) return 'BAD_REQUEST'
  return 'GRAPHQL_VALIDATION_FAILED'
}

/**
 * The input field a variable-coercion error is about, in the dotted form domain errors use:
 * `Variable "$input" got invalid value … at "input.targets[2]"; …` → `input.targets.2`.
 */
function variableField(message: string): string | null {
  const at = /^Variable "\$(\w+)" got invalid value [\s\S]*? at "(\1[^"]*)"; /.exec(message)
  if (at) return at[2]!.replace(/\[(\d+)\]/g, '.$1')
  const whole = /^Variable "\$(\w+)" /.exec(message)
  return whole ? whole[1]! : null
}

function shortFields(fields: readonly FieldProblem[]): FieldProblem[] {
  return fields.slice(0, 50).map((f) => ({ field: excerpt(f.field, 200), message: shortenEchoes(f.message) }))
}

/** A GraphQL-produced error as the client sees it: with a code, the field for input errors, and short. */
export function typedGraphQLError(e: GraphQLError): GraphQLError {
  const code = (e.extensions?.code as string | undefined) ?? codeFor(e)
  const message = shortenEchoes(e.message)
  const field = code === 'BAD_USER_INPUT' && !e.extensions?.field ? variableField(e.message) : null
  return new GraphQLError(message, {
    nodes: e.nodes,
    source: e.nodes ? undefined : e.source,
    positions: e.nodes ? undefined : e.positions,
    path: e.path,
    extensions: { ...e.extensions, code, ...(field ? { field: excerpt(field, 200), fields: [{ field: excerpt(field, 200), message }] } : {}) },
  })
}

/**
 * The database is unreachable (an outage, a restart): nothing is wrong with the request, so clients are
 * told to try again (`extensions.retryable`) with a code they can act on, not INTERNAL_SERVER_ERROR.
 */
export function serviceUnavailable(options: { nodes?: GraphQLError['nodes']; path?: GraphQLError['path'] } = {}): GraphQLError {
  return new GraphQLError('The database is temporarily unavailable; try again in a moment.', {
    ...options,
    extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true },
  })
}

export function createMaskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const domain = findDomainError(error)
    const gql = isGraphQLError(error) ? error : null
    if (domain) {
      const fields = shortFields(domain.fields)
      return new GraphQLError(shortenEchoes(domain.message), {
        nodes: gql?.nodes,
        path: gql?.path,
        extensions: { code: domain.code, ...domain.details, ...(fields.length ? { field: fields[0]!.field, fields } : {}) },
      })
    }
    // Errors GraphQL itself produced (parse/validation/variable coercion) are safe and useful. A
    // variable-coercion error wraps the scalar's own GraphQLError: keep the outer one, whose message
    // names the variable and the path (`Variable "$i" got invalid value "x" at "i.port"; …`).
    if (gql && onlyGraphQLErrors(gql)) return typedGraphQLError(gql)
    const original = gql?.originalError ?? error
    const detail = shortenEchoes(original instanceof Error ? original.message : String(original))
    if (isTransient(original)) {
      logger.warn('database unavailable', { path: gql?.path?.join('.'), error: detail })
      return serviceUnavailable({ nodes: gql?.nodes, path: gql?.path })
    }
    logger.error('unexpected error in resolver', { path: gql?.path?.join('.'), error: detail })
    return new GraphQLError(message, { nodes: gql?.nodes, path: gql?.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } })
  }
}
