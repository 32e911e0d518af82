/**
 * How errors leave the API: DomainErrors become GraphQL errors with `extensions.code` and, for input
 * problems, `extensions.field` (the first) and `extensions.fields` (all). Everything else is masked
 * as "Unexpected error." — never a stack trace, SQL, or a secret — and logged server-side.
 */
import { GraphQLError } from 'graphql'
import { DomainError } from '../errors.ts'
import type { Logger } from '../util/logger.ts'

function findDomainError(error: unknown): DomainError | null {
  let e: unknown = error
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof DomainError) return e
    e = (e as { originalError?: unknown }).originalError
  }
  return null
}

export function createMaskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const domain = findDomainError(error)
    const gql = error instanceof GraphQLError ? error : null
    if (domain) {
      return new GraphQLError(domain.message, {
        nodes: gql?.nodes,
        path: gql?.path,
        extensions: { code: domain.code, ...(domain.fields.length ? { field: domain.fields[0]!.field, fields: domain.fields } : {}) },
      })
    }
    // Errors GraphQL itself produced (parse/validation/variable coercion) are safe and useful.
    if (gql && !gql.originalError) return gql
    const original = gql?.originalError ?? error
    if (original instanceof GraphQLError && !original.originalError) return original
    logger.error('unexpected error in resolver', { path: gql?.path?.join('.'), error: original instanceof Error ? original.message : String(original) })
    return new GraphQLError(message, { nodes: gql?.nodes, path: gql?.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } })
  }
}
