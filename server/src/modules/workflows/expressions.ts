/**
 * Parameter values of workflow nodes: literals, or strings with `{{ … }}` references to the workflow
 * run's parameters and to upstream nodes:
 *   `{{ params.name }}`, `{{ nodes.<key>.status }}`, `{{ nodes.<key>.result }}`, `{{ nodes.<key>.result.a.0.b }}`,
 *   `{{ nodes.<key>.outputs.<name> }}` (a run with several targets: `outputs.<target name>.<name>`).
 * A value that is exactly one reference keeps the referenced value's type (an INT stays a number);
 * references inside longer text are interpolated as text. Parsed at save (to name bad references by
 * field) and resolved when the node starts (an unresolvable one fails the node with the reason).
 */

export type Reference =
  | { kind: 'param'; name: string; text: string }
  | { kind: 'node'; key: string; field: 'status' | 'result' | 'outputs'; path: string[]; text: string }

export class ExpressionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ExpressionError'
  }
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g
const WHOLE = /^\{\{\s*([^{}]*?)\s*\}\}$/
const PARAM = /^params\.([a-zA-Z_][a-zA-Z0-9_]*)$/
const NODE = /^nodes\.([a-zA-Z0-9_-]+)\.(status|result|outputs)((?:\.[a-zA-Z0-9_-]+)*)$/

function parseOne(text: string): Reference {
  const p = PARAM.exec(text)
  if (p) return { kind: 'param', name: p[1]!, text }
  const n = NODE.exec(text)
  if (n) {
    const field = n[2] as 'status' | 'result' | 'outputs'
    const path = n[3] ? n[3].slice(1).split('.') : []
    if (path.some((seg) => !seg)) throw new ExpressionError(`"{{ ${text} }}" has an empty path segment`)
    if (field === 'status' && path.length) throw new ExpressionError(`"{{ ${text} }}": a status has no fields`)
    return { kind: 'node', key: n[1]!, field, path, text }
  }
  throw new ExpressionError(`"{{ ${text} }}" is not a reference: use params.<name>, nodes.<key>.status, nodes.<key>.result[.path] or nodes.<key>.outputs.<name>`)
}

/** The references in a value (none for non-strings); throws ExpressionError on a malformed one. */
export function referencesOf(value: unknown): Reference[] {
  if (typeof value !== 'string') return []
  return [...value.matchAll(PLACEHOLDER)].map((m) => parseOne(m[1]!))
}

export interface NodeOutcome {
  status: string
  result: unknown
  /** The run-level step outputs view (jobs/step-outputs.ts runOutputs), SECRET values in clear; null: none. */
  outputs?: Record<string, unknown> | null
  /** The same view holding only the SECRET values: a reference that reaches into one is secret. */
  secretOutputs?: Record<string, unknown> | null
}

export interface ResolveContext {
  params: Record<string, unknown>
  /** Names of SECRET workflow parameters (their values may only flow into SECRET template parameters). */
  secretParams: ReadonlySet<string>
  nodes: ReadonlyMap<string, NodeOutcome>
}

export interface Resolved {
  value: unknown
  /** Whether a SECRET workflow parameter or a SECRET step output went into the value. */
  secret: boolean
}

/**
 * Follows a path into a JSON value. A key may itself hold dots (a target named `sw1.example.com` in a
 * several-target outputs view): at each level the longest run of segments that is a key wins.
 */
function walk(root: unknown, path: readonly string[]): { value: unknown; missing: null } | { value: undefined; missing: { at: string; seg: string } } {
  let v = root
  let at = ''
  for (let i = 0; i < path.length; ) {
    const obj = v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : null
    let j = path.length
    while (j > i && !(obj && Object.prototype.hasOwnProperty.call(obj, path.slice(i, j).join('.')))) j--
    if (j === i) return { value: undefined, missing: { at, seg: path[i]! } }
    const key = path.slice(i, j).join('.')
    v = obj![key]
    at += `.${key}`
    i = j
  }
  return { value: v, missing: null }
}

function isSecretOutput(ref: Reference, ctx: ResolveContext): boolean {
  if (ref.kind !== 'node' || ref.field !== 'outputs') return false
  const secrets = ctx.nodes.get(ref.key)?.secretOutputs
  if (!secrets) return false
  // Secret when the reference ends at a secret value, at an object holding one, or passes through one.
  for (let n = ref.path.length; n >= 0; n--) {
    const w = walk(secrets, ref.path.slice(0, n))
    if (w.missing) continue
    const v = w.value
    if (v === null || v === undefined) return false
    if (typeof v !== 'object') return true
    return n === ref.path.length ? Object.keys(v).length > 0 : false
  }
  return false
}

function lookup(ref: Reference, ctx: ResolveContext): unknown {
  if (ref.kind === 'param') {
    if (!(ref.name in ctx.params) || ctx.params[ref.name] === undefined) throw new ExpressionError(`{{ ${ref.text} }}: the workflow run has no value for parameter "${ref.name}"`)
    return ctx.params[ref.name]
  }
  const node = ctx.nodes.get(ref.key)
  if (!node) throw new ExpressionError(`{{ ${ref.text} }}: no node "${ref.key}" in this workflow run`)
  if (ref.field === 'status') return node.status
  const root = ref.field === 'outputs' ? node.outputs : node.result
  if (root === null || root === undefined) {
    throw new ExpressionError(`{{ ${ref.text} }}: node "${ref.key}" has no ${ref.field === 'outputs' ? 'outputs (its run published none)' : 'result'} (${node.status.toLowerCase()})`)
  }
  const w = walk(root, ref.path)
  if (w.missing) throw new ExpressionError(`{{ ${ref.text} }}: nodes.${ref.key}.${ref.field}${w.missing.at} has no "${w.missing.seg}"`)
  return w.value
}

/** Resolves one node parameter value; throws ExpressionError with the reason when it cannot. */
export function resolveValue(value: unknown, ctx: ResolveContext): Resolved {
  if (typeof value !== 'string') return { value, secret: false }
  const refs = referencesOf(value)
  if (!refs.length) return { value, secret: false }
  const secret = refs.some((r) => (r.kind === 'param' && ctx.secretParams.has(r.name)) || isSecretOutput(r, ctx))
  const whole = WHOLE.exec(value)
  if (whole) return { value: lookup(refs[0]!, ctx), secret }
  let i = 0
  const text = value.replace(PLACEHOLDER, () => {
    const v = lookup(refs[i++]!, ctx)
    return typeof v === 'string' ? v : JSON.stringify(v)
  })
  return { value: text, secret }
}
