/**
 * Limits on what one GraphQL operation may ask for, as envelop plugins shared by HTTP and graphql-ws
 * (both run yoga.getEnveloped's parse and validate, so these apply to every operation).
 *
 * GraphQL Armor supplies the checks: lexer tokens (enforced while parsing, so an operation nested
 * thousands of levels deep is refused before the recursive parser could overflow the stack),
 * selection depth, aliases, directives and an estimated cost. Their rejections become
 * GRAPHQL_VALIDATION_FAILED errors naming the limit (`extensions.limit`).
 */
import { EnvelopArmor } from '@escape.tech/graphql-armor'
import type { Plugin } from 'graphql-yoga'
import { GraphQLError, Kind, type DocumentNode, type ValidationContext } from 'graphql'
import type { ApiLimits, WebSecurity } from '../config.ts'
import type { GraphQLContext } from './context.ts'
import { DEFAULT_LIST_SIZE, operationCostPlugin } from './operation-cost.ts'

export type QueryLimits = Pick<ApiLimits, 'maxDepth' | 'maxAliases' | 'maxDirectives' | 'maxTokens' | 'maxCost'>

/** Armor's own errors read "Syntax Error: …" and carry no code: report them as a typed validation error. */
function reject(limit: string) {
  return [
    (ctx: ValidationContext | null, error: GraphQLError) => {
      const typed = new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit },
      })
      // During validation the rule reports; while parsing (tokens) there is no context, so throw.
      if (ctx) ctx.reportError(typed)
      else throw typed
    },
  ]
}

/**
 * Brackets (`{`, `[`, `(`) may nest at most this deep in an operation's text. The token limit alone
 * does not protect graphql-js's recursive parser: a list literal costs one token per level, and
 * `[[[[…` two thousand deep overflowed the stack inside the token limit.
 */
export const MAX_NESTING = 128

/** The deepest bracket nesting in GraphQL source text, ignoring strings and comments (one linear scan). */
export function maxNesting(source: string, stopAbove = Infinity): number {
  let depth = 0
  let max = 0
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++
    } else if (c === '"') {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3)
        i = end < 0 ? source.length : end + 2
      } else {
        for (i++; i < source.length && source[i] !== '"' && source[i] !== '\n'; i++) if (source[i] === '\\') i++
      }
    } else if (c === '{' || c === '[' || c === '(') {
      if (++depth > max) max = depth
      if (max > stopAbove) return max
    } else if (c === '}' || c === ']' || c === ')') {
      depth--
    }
  }
  return max
}

function nestingLimitPlugin(limit: number): Plugin {
  return {
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body
      if (maxNesting(source, limit) > limit) {
        throw new GraphQLError(`Nesting limit of ${limit} exceeded.`, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'nesting' } })
      }
    },
  }
}

export function queryLimitPlugins(limits: QueryLimits): Plugin[] {
  const armor = new EnvelopArmor({
    maxTokens: { n: limits.maxTokens, onReject: reject('tokens'), propagateOnRejection: false },
    // Fragments count as if written inline: the web client composes its queries from fragments.
    maxDepth: { n: limits.maxDepth, flattenFragments: true, onReject: reject('depth'), propagateOnRejection: false },
    maxAliases: { n: limits.maxAliases, onReject: reject('aliases'), propagateOnRejection: false },
    maxDirectives: { n: limits.maxDirectives, onReject: reject('directives'), propagateOnRejection: false },
    costLimit: { maxCost: limits.maxCost, flattenFragments: true, onReject: reject('cost'), propagateOnRejection: false },
    // "Did you mean …?" would describe the schema to callers who may not introspect it.
    blockFieldSuggestion: { enabled: true },
  })
  // Armor's cost rule sees only literal page sizes; this one re-estimates with the variables.
  return [nestingLimitPlugin(MAX_NESTING), ...(armor.protect().plugins as Plugin[]), operationCostPlugin({ maxCost: limits.maxCost, listSize: DEFAULT_LIST_SIZE })]
}

/** True when the document selects `__schema` or `__type` anywhere (`__typename` is not introspection). */
export function isIntrospection(document: DocumentNode): boolean {
  const stack: unknown[] = [...document.definitions]
  while (stack.length) {
    const node = stack.pop() as { kind?: string; name?: { value: string }; selectionSet?: { selections: unknown[] } }
    if (node.kind === Kind.FIELD && (node.name?.value === '__schema' || node.name?.value === '__type')) return true
    if (node.selectionSet) stack.push(...node.selectionSet.selections)
  }
  return false
}

/**
 * Introspection reveals the whole API surface: by default only signed-in users may run it (the web
 * client's types come from schema.graphql, not from runtime introspection). Checked at execution,
 * when the caller is known.
 */
export function introspectionPolicyPlugin(policy: WebSecurity['introspection']): Plugin<GraphQLContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (policy === 'everyone' || !isIntrospection(args.document)) return
      const ctx = args.contextValue as GraphQLContext
      if (policy === 'authenticated' && ctx.actor) return
      const message = policy === 'off' ? 'introspection is disabled on this server' : 'introspection requires authentication: send `Authorization: Bearer <token>`'
      setResultAndStopExecution({
        errors: [new GraphQLError(message, { extensions: { code: policy === 'off' ? 'FORBIDDEN' : 'UNAUTHENTICATED' } })],
      })
    },
  }
}
