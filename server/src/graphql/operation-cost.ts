/**
 * The estimated cost of an operation with its variables — the check GraphQL Armor's cost limit cannot do.
 *
 * Armor estimates at validation, before variables exist: `jobRuns(first: $n)` counted as one item
 * whatever `$n` was, and lists without paging arguments (`jobTemplates { schedules { template { … } } }`)
 * counted once at every level, so a template → schedules → template cycle or a 500-item page passed
 * by variable was as cheap as a single object. This estimate uses Armor's formula (an object costs 2,
 * a scalar 1, each level deeper ×1.5, fragments as if written inline) and multiplies a field's subtree
 * by how many items it can return:
 * - `first`/`last` as given — literal, variable or the argument's default; a connection without
 *   either (or with null) loads its default page (DEFAULT_PAGE_SIZE) and counts so; connections cap
 *   it at the page limit, since the argument guard refuses more before anything is loaded;
 * - a list of rows (Node types: targets, schedules, runs' targets…) without paging arguments:
 *   `listSize`, a nominal size — unless it is the page of a paged object (a connection's `edges`, a
 *   log page's `lines`), which was counted already. Lists inside each item of a page (a run's targets
 *   in `jobRuns(first: 20)`, a delivery's rows in `notificationDeliveries(first: 5)`) multiply again.
 *   Lists of plain values inside a row (an audit event's changes, a template's parameters) are part
 *   of that row and count once.
 * So the cost never falls as a page grows: no page size is cheaper than a smaller one, and leaving
 * the size out costs what the server then loads.
 * It runs when the operation executes (HTTP) or subscribes (HTTP and graphql-ws alike), when the
 * variables are known.
 */
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isAbstractType,
  isListType,
  isObjectType,
  isInterfaceType,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql'
import type { Plugin } from 'graphql-yoga'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './argument-guard.ts'

export interface OperationCostOptions {
  maxCost: number
  /** Items assumed for a list of objects that takes no `first`/`last`. */
  listSize: number
}

export const DEFAULT_LIST_SIZE = 10
const OBJECT_COST = 2
const SCALAR_COST = 1
const DEPTH_FACTOR = 1.5

/** Rows with an identity (Node types): what a list without paging loads from the database, one query each. */
function isRows(type: GraphQLNamedType): boolean {
  return (isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node')) || isAbstractType(type)
}

function operationOf(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | null {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
  return (operationName ? ops.find((o) => o.name?.value === operationName) : ops.length === 1 ? ops[0] : null) ?? null
}

/** The estimated cost of the operation `operationName` with `variables` (0 when it cannot be found: execution reports that). */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined, listSize = DEFAULT_LIST_SIZE): number {
  const operation = operationOf(document, operationName)
  if (!operation) return 0
  const root = schema.getRootType(operation.operation)
  if (!root) return 0
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f] as const),
  )
  const vars = variables ?? {}
  const defaults = new Map((operation.variableDefinitions ?? []).map((d) => [d.variable.name.value, d] as const))

  /** `first`/`last` of this field: as written, from the variables, or the argument's default. */
  const pageSize = (node: FieldNode, field: GraphQLField<unknown, unknown>): number | null => {
    let size: number | null = null
    for (const name of ['first', 'last']) {
      const arg = field.args.find((a) => a.name === name)
      if (!arg) continue
      const given = node.arguments?.find((a) => a.name.value === name)
      let value: unknown = arg.defaultValue
      if (given) {
        if (given.value.kind === Kind.VARIABLE) {
          const v = given.value.name.value
          const def = defaults.get(v)
          value = v in vars ? vars[v] : def?.defaultValue ? valueFromAST(def.defaultValue, arg.type) : arg.defaultValue
        } else {
          value = valueFromAST(given.value, arg.type)
        }
        // An explicit null: the resolvers fall back to the argument's default (`args.first ?? …`).
        if (value === null || value === undefined) value = arg.defaultValue
      }
      // Not an integer: coercion refuses it before anything runs.
      if (typeof value === 'number' && Number.isInteger(value)) size = Math.max(size ?? 1, value)
    }
    const connection = getNamedType(field.type).name.endsWith('Connection')
    // A connection asked without a size loads its default page (Pothos' defaultSize).
    if (size === null && connection && field.args.some((a) => a.name === 'first')) size = DEFAULT_PAGE_SIZE
    if (size === null) return null
    return Math.max(1, connection ? Math.min(size, MAX_PAGE_SIZE) : size)
  }

  // A fragment's cost depends only on where it is spread (in a page or not): computed once each, so a
  // chain of fragments that each spread the next twice costs linear time, not 2^n.
  const fragmentCosts = new Map<string, number>()

  const selectionCost = (set: SelectionSetNode, type: GraphQLNamedType, inPage: boolean, seen: ReadonlySet<string>): number => {
    let cost = 0
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        cost += DEPTH_FACTOR * fieldCost(sel, type, inPage, seen)
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const cond = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) ?? type) : type
        cost += selectionCost(sel.selectionSet, cond, inPage, seen)
      } else {
        const fragment = fragments.get(sel.name.value)
        // A fragment spread inside itself is invalid (validation refuses it); never recurse forever.
        if (!fragment || seen.has(sel.name.value)) continue
        const key = `${sel.name.value}|${inPage}`
        let fragmentCost = fragmentCosts.get(key)
        if (fragmentCost === undefined) {
          const cond = schema.getType(fragment.typeCondition.name.value) ?? type
          fragmentCost = selectionCost(fragment.selectionSet, cond, inPage, new Set([...seen, sel.name.value]))
          fragmentCosts.set(key, fragmentCost)
        }
        cost += fragmentCost
      }
    }
    return cost
  }

  const fieldCost = (node: FieldNode, parent: GraphQLNamedType, inPage: boolean, seen: ReadonlySet<string>): number => {
    if (!node.selectionSet) return SCALAR_COST
    const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined
    // __schema, __type and unknown fields: as Armor counts them (validation refuses unknown ones).
    if (!field) return node.name.value === '__schema' ? 0 : OBJECT_COST
    const type = getNamedType(field.type)
    const paged = pageSize(node, field)
    const isList = isListType(getNullableType(field.type))
    const multiplier = paged ?? (isList && !inPage && isRows(type) ? listSize : 1)
    // Only an object that holds a page (a connection, a log page) has its page inside; a paged list's
    // items are the page, and the lists inside each item multiply like anywhere else.
    return multiplier * (OBJECT_COST + selectionCost(node.selectionSet, type, paged !== null && !isList, seen))
  }

  return selectionCost(operation.selectionSet, root, false, new Set()) / DEPTH_FACTOR
}

export function costProblem(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined, options: OperationCostOptions): GraphQLError | null {
  const cost = Math.round(operationCost(schema, document, operationName, variables, options.listSize))
  if (cost <= options.maxCost) return null
  return new GraphQLError(`Query Cost limit of ${options.maxCost} exceeded, found ${cost} (page sizes from variables and list sizes included).`, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' },
  })
}

/** Refuses over-costly operations once their variables are known, before any resolver runs. */
export function operationCostPlugin(options: OperationCostOptions): Plugin {
  const check = ({ args, setResultAndStopExecution }: { args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: Record<string, unknown> | null }; setResultAndStopExecution: (r: { errors: GraphQLError[] }) => void }) => {
    const problem = costProblem(args.schema, args.document, args.operationName, args.variableValues, options)
    if (problem) setResultAndStopExecution({ errors: [problem] })
  }
  return { onExecute: check, onSubscribe: check }
}
