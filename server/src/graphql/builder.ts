/**
 * The Pothos schema builder. It is a static description of the schema (types and resolvers), not
 * runtime state: the Prisma client and services come from the per-request context, so one process
 * can serve several apps (tests do) without shared singletons.
 */
import SchemaBuilder from '@pothos/core'
import PrismaPlugin from '@pothos/plugin-prisma'
import RelayPlugin from '@pothos/plugin-relay'
import type PrismaTypes from '../generated/pothos-types.ts'
import { getDatamodel } from '../generated/pothos-types.ts'
import type { GraphQLContext } from './context.ts'
import { DateTimeScalar, JSONScalar } from './scalars.ts'

export const builder = new SchemaBuilder<{
  Context: GraphQLContext
  PrismaTypes: PrismaTypes
  DefaultFieldNullability: false
  Scalars: {
    DateTime: { Input: Date; Output: Date | string }
    JSON: { Input: unknown; Output: unknown }
    ID: { Input: string; Output: string | number }
  }
}>({
  plugins: [PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Global ids are opaque handles, not permission: direct `node(id)` refetches would bypass the
    // visibility rules each root field enforces, so the generic node fields are not exposed.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
})

builder.addScalarType('DateTime', DateTimeScalar)
builder.addScalarType('JSON', JSONScalar)
builder.queryType({})
builder.mutationType({})
builder.subscriptionType({})
