/** Typed GraphQL documents (gql.tada), inferred from /schema.graphql via src/generated/graphql-env.d.ts. */
import { initGraphQLTada } from 'gql.tada'
import type { introspection } from '../generated/graphql-env'

export const graphql = initGraphQLTada<{
  introspection: introspection
  scalars: { DateTime: string; JSON: unknown; ID: string }
  disableMasking: true
}>()

export type { FragmentOf, ResultOf, VariablesOf } from 'gql.tada'
export { readFragment } from 'gql.tada'
