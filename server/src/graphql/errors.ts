/**
 * How errors leave the API: DomainErrors become GraphQL errors with `extensions.code` and, for input
 * problems, `extensions.field` (the first) and `extensions.fields` (all). Everything else is masked
 * as "Unexpected error." — never a stack trace, SQL, or a secret — and logged server-side; a database
 * that cannot be reached is SERVICE_UNAVAILABLE with `extensions.retryable: true`.
 */
import { GraphQLError } from 'graphql'
import { DomainError } from '../errors.ts'
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
      return new GraphQLError(domain.message, {
        nodes: gql?.nodes,
        path: gql?.path,
        extensions: { code: domain.code, ...(domain.fields.length ? { field: domain.fields[0]!.field, fields: domain.fields } : {}) },
      })
    }
    // Errors GraphQL itself produced (parse/validation/variable coercion) are safe and useful. A
    // variable-coercion error wraps the scalar's own GraphQLError: keep the outer one, whose message
    // names the variable and the path (`Variable "$i" got invalid value "x" at "i.port"; …`).
    if (gql && onlyGraphQLErrors(gql)) return gql
    const original = gql?.originalError ?? error
    if (isTransient(original)) {
      logger.warn('database unavailable', { path: gql?.path?.join('.'), error: original instanceof Error ? original.message : String(original) })
      return serviceUnavailable({ nodes: gql?.nodes, path: gql?.path })
    }
    logger.error('unexpected error in resolver', { path: gql?.path?.join('.'), error: original instanceof Error ? original.message : String(original) })
    return new GraphQLError(message, { nodes: gql?.nodes, path: gql?.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } })
  }
}
