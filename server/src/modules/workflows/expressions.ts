/**
 * Parameter values of workflow nodes: literals, or strings with `{{ … }}` references to the workflow
 * run's parameters and to upstream nodes:
 *   `{{ params.name }}`, `{{ nodes.<key>.status }}`, `{{ nodes.<key>.result }}`, `{{ nodes.<key>.result.a.0.b }}`.
 * A value that is exactly one reference keeps the referenced value's type (an INT stays a number);
 * references inside longer text are interpolated as text. Parsed at save (to name bad references by
 * field) and resolved when the node starts (an unresolvable one fails the node with the reason).
 */

export type Reference =
  | { kind: 'param'; name: string; text: string }
  | { kind: 'node'; key: string; field: 'status' | 'result'; path: string[]; text: string }

export class ExpressionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExpressionError'
  }
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g
const WHOLE = /^\{\{\s*([^{}]*?)\s*\}\}$/
const PARAM = /^params\.([a-zA-Z_][a-zA-Z0-9_]*)$/
const NODE = /^nodes\.([a-zA-Z0-9_-]+)\.(status|result)((?:\.[a-zA-Z0-9_-]+)*)$/

function parseOne(text: string): Reference {
  const p = PARAM.exec(text)
  if (p) return { kind: 'param', name: p[1]!, text }
  const n = NODE.exec(text)
  if (n) return { kind: 'node', key: n[1]!, field: n[2] as 'status' | 'result', path: n[3] ? n[3].slice(1).split('.') : [], text }
  throw new ExpressionError(`"{{ ${text} }}" is not a reference: use params.<name>, nodes.<key>.status or nodes.<key>.result[.path]`)
}

/** The references in a value (none for non-strings); throws ExpressionError on a malformed one. */
export function referencesOf(value: unknown): Reference[] {
  if (typeof value !== 'string') return []
  return [...value.matchAll(PLACEHOLDER)].map((m) => parseOne(m[1]!))
}

export interface NodeOutcome {
  status: string
  result: unknown
}

export interface ResolveContext {
  params: Record<string, unknown>
  /** Names of SECRET workflow parameters (their values may only flow into SECRET template parameters). */
  secretParams: ReadonlySet<string>
  nodes: ReadonlyMap<string, NodeOutcome>
}

export interface Resolved {
  value: unknown
  /** Whether a SECRET workflow parameter went into the value. */
  secret: boolean
}

function lookup(ref: Reference, ctx: ResolveContext): unknown {
  if (ref.kind === 'param') {
    if (!(ref.name in ctx.params) || ctx.params[ref.name] === undefined) throw new ExpressionError(`{{ ${ref.text} }}: the workflow run has no value for parameter "${ref.name}"`)
    return ctx.params[ref.name]
  }
  const node = ctx.nodes.get(ref.key)
  if (!node) throw new ExpressionError(`{{ ${ref.text} }}: no node "${ref.key}" in this workflow run`)
  if (ref.field === 'status') return node.status
  let v: unknown = node.result
  let at = `nodes.${ref.key}.result`
  if (v === null || v === undefined) throw new ExpressionError(`{{ ${ref.text} }}: node "${ref.key}" has no result (${node.status.toLowerCase()})`)
  for (const seg of ref.path) {
    const next = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[seg] : undefined
    if (next === undefined || !Object.prototype.hasOwnProperty.call(v as object, seg)) throw new ExpressionError(`{{ ${ref.text} }}: ${at} has no "${seg}"`)
    v = next
    at += `.${seg}`
  }
  return v
}

/** Resolves one node parameter value; throws ExpressionError with the reason when it cannot. */
export function resolveValue(value: unknown, ctx: ResolveContext): Resolved {
  if (typeof value !== 'string') return { value, secret: false }
  const refs = referencesOf(value)
  if (!refs.length) return { value, secret: false }
  const secret = refs.some((r) => r.kind === 'param' && ctx.secretParams.has(r.name))
  const whole = WHOLE.exec(value)
  if (whole) return { value: lookup(refs[0]!, ctx), secret }
  let i = 0
  const text = value.replace(PLACEHOLDER, () => {
    const v = lookup(refs[i++]!, ctx)
    return typeof v === 'string' ? v : JSON.stringify(v)
  })
  return { value: text, secret }
}
