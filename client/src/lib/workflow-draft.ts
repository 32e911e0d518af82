/**
 * A workflow as its editor holds it (strings as typed, node parameters as rows) and the API input built
 * from it. Nodes and edges keep their order, so the API's field paths (`nodes.2.templateId`,
 * `edges.0.to`) point at the same rows the editor shows. Renaming a node renames it in its edges too.
 */
import type { ParameterDefinition } from './parameters'

export type NodeKind = 'TEMPLATE' | 'APPROVAL' | 'WORKFLOW'
export type EdgeKind = 'ON_SUCCESS' | 'ON_FAILURE' | 'ALWAYS'
export type JoinPolicy = 'ALL_SUCCEEDED' | 'ANY_SUCCEEDED' | 'ALL_DONE' | 'NONE_FAILED'
export type Role = 'ADMIN' | 'OPERATOR' | 'VIEWER'
export type OnTimeout = 'FAIL' | 'CANCEL' | 'APPROVE'

export const EDGE_KINDS: ReadonlyArray<{ value: EdgeKind; label: string }> = [
  { value: 'ON_SUCCESS', label: 'On success' },
  { value: 'ON_FAILURE', label: 'On failure' },
  { value: 'ALWAYS', label: 'Always' },
]
export const JOIN_POLICIES: ReadonlyArray<{ value: JoinPolicy; label: string; hint: string }> = [
  { value: 'ALL_SUCCEEDED', label: 'All edges satisfied', hint: 'Runs when every incoming edge is satisfied.' },
  { value: 'ANY_SUCCEEDED', label: 'Any edge satisfied', hint: 'Runs when at least one incoming edge is satisfied.' },
  { value: 'ALL_DONE', label: 'All parents done', hint: 'Runs once every parent ran, whatever its outcome.' },
  { value: 'NONE_FAILED', label: 'None failed', hint: 'Runs when no parent failed and at least one edge is satisfied.' },
]

export interface ApprovalDraft {
  approverRoles: Role[]
  approverUserIds: string[]
  minApprovals: string
  allowSelfApproval: boolean
  timeoutSeconds: string
  onTimeout: OnTimeout
  message: string
}

/** A TEMPLATE node's overrides as typed: blank fields (and no selector) inherit the template's. */
export interface OverridesDraft {
  /** Whether the node replaces the template's targets (then `selector` is sent). */
  replaceTargets: boolean
  selector: SelectorDraft
  timeoutSeconds: string
  retryMaxAttempts: string
  retryDelaySeconds: string
  retryBackoff: '' | 'FIXED' | 'EXPONENTIAL'
}

export interface SelectorDraft {
  targetIds: string[]
  inventoryIds: string[]
  tags: string[]
  namePatterns: string[]
}

export interface NodeDraft {
  key: string
  kind: NodeKind
  templateId: string
  /** WORKFLOW nodes: the nested workflow. */
  workflowId: string
  /** Parameter values: literals or `{{ … }}` expressions, as typed. */
  parameters: Record<string, string>
  joinPolicy: JoinPolicy
  approval: ApprovalDraft
  overrides: OverridesDraft
  /**
   * The parameter values as the API gave them: a value the user left as shown goes back exactly as it
   * came (an object, or a number given to a STRING parameter, keeps its type), so saving changes nothing
   * the editor did not change.
   */
  savedParameters: Record<string, unknown>
}

export interface EdgeDraft {
  from: string
  to: string
  kind: EdgeKind
}

export const newApproval = (): ApprovalDraft => ({ approverRoles: ['ADMIN', 'OPERATOR'], approverUserIds: [], minApprovals: '1', allowSelfApproval: false, timeoutSeconds: '3600', onTimeout: 'FAIL', message: '' })

export const emptySelector = (): SelectorDraft => ({ targetIds: [], inventoryIds: [], tags: [], namePatterns: [] })
export const newOverrides = (): OverridesDraft => ({ replaceTargets: false, selector: emptySelector(), timeoutSeconds: '', retryMaxAttempts: '', retryDelaySeconds: '', retryBackoff: '' })

/** How many overrides are set (shown on the collapsed section). */
export function overrideCount(o: OverridesDraft): number {
  return [o.replaceTargets, o.timeoutSeconds.trim(), o.retryMaxAttempts.trim(), o.retryDelaySeconds.trim(), o.retryBackoff].filter(Boolean).length
}

/** A key not used yet: `node-1`, `node-2`, … (or `approval-1` …). */
export function freshKey(nodes: readonly NodeDraft[], kind: NodeKind): string {
  const base = kind === 'APPROVAL' ? 'approval' : kind === 'WORKFLOW' ? 'workflow' : 'node'
  const used = new Set(nodes.map((n) => n.key))
  for (let i = 1; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`
}

export function newNode(nodes: readonly NodeDraft[], kind: NodeKind): NodeDraft {
  return { key: freshKey(nodes, kind), kind, templateId: '', workflowId: '', parameters: {}, joinPolicy: 'ALL_SUCCEEDED', approval: newApproval(), overrides: newOverrides(), savedParameters: {} }
}

export interface SavedOverrides {
  targetSelector: { targetIds: readonly string[]; inventoryIds: readonly string[]; tags: readonly string[]; namePatterns: readonly string[] } | null
  timeoutSeconds: number | null
  retryMaxAttempts: number | null
  retryDelaySeconds: number | null
  retryBackoff: 'FIXED' | 'EXPONENTIAL' | null
}

const str = (n: number | null | undefined) => (n == null ? '' : String(n))
/** A parameter value as the editor shows it: strings as they are, anything else as JSON. */
export const shownValue = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))

export function overridesToDraft(o: SavedOverrides | null | undefined): OverridesDraft {
  if (!o) return newOverrides()
  const s = o.targetSelector
  return {
    replaceTargets: !!s,
    selector: s ? { targetIds: [...s.targetIds], inventoryIds: [...s.inventoryIds], tags: [...s.tags], namePatterns: [...s.namePatterns] } : emptySelector(),
    timeoutSeconds: str(o.timeoutSeconds),
    retryMaxAttempts: str(o.retryMaxAttempts),
    retryDelaySeconds: str(o.retryDelaySeconds),
    retryBackoff: o.retryBackoff ?? '',
  }
}

/** From the API's workflow (or nothing, for a new one). */
export function nodeToDraft(n: {
  key: string
  kind: NodeKind
  joinPolicy: JoinPolicy
  parameters: unknown
  template: { id: string } | null
  workflow?: { id: string } | null
  overrides?: SavedOverrides | null
  approval: { approverRoles: readonly Role[]; approvers: ReadonlyArray<{ id: string }>; minApprovals: number; allowSelfApproval: boolean; timeoutSeconds: number; onTimeout: OnTimeout; message: string } | null
}): NodeDraft {
  const params = n.parameters && typeof n.parameters === 'object' ? (n.parameters as Record<string, unknown>) : {}
  return {
    key: n.key,
    kind: n.kind,
    templateId: n.template?.id ?? '',
    workflowId: n.workflow?.id ?? '',
    parameters: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, shownValue(v)])),
    savedParameters: { ...params },
    joinPolicy: n.joinPolicy,
    overrides: overridesToDraft(n.overrides),
    approval: n.approval
      ? {
          approverRoles: [...n.approval.approverRoles],
          approverUserIds: n.approval.approvers.map((u) => u.id),
          minApprovals: String(n.approval.minApprovals),
          allowSelfApproval: n.approval.allowSelfApproval,
          timeoutSeconds: String(n.approval.timeoutSeconds),
          onTimeout: n.approval.onTimeout,
          message: n.approval.message,
        }
      : newApproval(),
  }
}

/**
 * A typed value for a template parameter: INT and BOOL literals become numbers and booleans; anything
 * else (an expression, a value that does not parse) goes as typed, so the API names the problem.
 */
export function parameterValue(def: Pick<ParameterDefinition, 'type'> | undefined, raw: string): unknown {
  const v = raw.trim()
  if (def?.type === 'INT' && /^-?\d+$/.test(v)) return Number(v)
  if (def?.type === 'BOOL' && (v === 'true' || v === 'false')) return v === 'true'
  return raw
}

const int = (s: string): number | string => (/^-?\d+$/.test(s.trim()) ? Number(s.trim()) : s)

/** Whole numbers as numbers; blank: null (inherit). Other text never gets here: localNodeErrors stops it. */
const optionalInt = (s: string): number | null => {
  const v = int(s)
  return typeof v === 'number' ? v : null
}

/** The overrides input: null when nothing is overridden (the node inherits everything). */
export function overridesToInput(o: OverridesDraft) {
  if (!overrideCount(o)) return null
  return {
    targetSelector: o.replaceTargets ? { ...o.selector } : null,
    timeoutSeconds: optionalInt(o.timeoutSeconds),
    retryMaxAttempts: optionalInt(o.retryMaxAttempts),
    retryDelaySeconds: optionalInt(o.retryDelaySeconds),
    retryBackoff: o.retryBackoff || null,
  }
}

/**
 * `templateParams`: the parameters of the node's template (WORKFLOW nodes: of the nested workflow), to
 * type literals. A value still as it was shown goes back as the API gave it.
 */
export function nodeToInput(n: NodeDraft, templateParams: readonly Pick<ParameterDefinition, 'name' | 'type'>[] = []) {
  if (n.kind === 'APPROVAL') {
    const a = n.approval
    return {
      key: n.key.trim(),
      kind: n.kind,
      joinPolicy: n.joinPolicy,
      approval: {
        approverRoles: a.approverRoles,
        approverUserIds: a.approverUserIds,
        // Not a number: sent as typed text would fail GraphQL's Int coercion without naming the field.
        minApprovals: typeof int(a.minApprovals) === 'number' ? (int(a.minApprovals) as number) : undefined,
        allowSelfApproval: a.allowSelfApproval,
        timeoutSeconds: typeof int(a.timeoutSeconds) === 'number' ? (int(a.timeoutSeconds) as number) : 0,
        onTimeout: a.onTimeout,
        message: a.message,
      },
    }
  }
  const defs = new Map(templateParams.map((p) => [p.name, p]))
  const parameters = Object.fromEntries(
    Object.entries(n.parameters)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => [k, k in n.savedParameters && shownValue(n.savedParameters[k]) === v ? n.savedParameters[k] : parameterValue(defs.get(k), v)]),
  )
  if (n.kind === 'WORKFLOW') return { key: n.key.trim(), kind: n.kind, joinPolicy: n.joinPolicy, workflowId: n.workflowId || null, parameters }
  return { key: n.key.trim(), kind: n.kind, joinPolicy: n.joinPolicy, templateId: n.templateId || null, parameters, overrides: overridesToInput(n.overrides) }
}

/** Local checks the API would make too, worded for the form (numbers that are not numbers). */
export function localNodeErrors(nodes: readonly NodeDraft[]): Record<string, string> {
  const out: Record<string, string> = {}
  nodes.forEach((n, i) => {
    if (!n.key.trim()) out[`nodes.${i}.key`] = 'Give the node a key.'
    if (n.kind === 'TEMPLATE')
      for (const f of ['timeoutSeconds', 'retryMaxAttempts', 'retryDelaySeconds'] as const) {
        const v = n.overrides[f]
        if (v.trim() !== '' && typeof int(v) !== 'number') out[`nodes.${i}.overrides.${f}`] = `“${v}” is not a whole number.`
      }
    if (n.kind !== 'APPROVAL') return
    if (typeof int(n.approval.minApprovals) !== 'number') out[`nodes.${i}.approval.minApprovals`] = `“${n.approval.minApprovals}” is not a whole number.`
    if (typeof int(n.approval.timeoutSeconds) !== 'number') out[`nodes.${i}.approval.timeoutSeconds`] = `“${n.approval.timeoutSeconds}” is not a whole number.`
  })
  return out
}

/** Renames a node and every edge that names it. */
export function renameNode(nodes: readonly NodeDraft[], edges: readonly EdgeDraft[], index: number, key: string): { nodes: NodeDraft[]; edges: EdgeDraft[] } {
  const old = nodes[index]!.key
  return {
    nodes: nodes.map((n, i) => (i === index ? { ...n, key } : n)),
    edges: edges.map((e) => ({ ...e, from: e.from === old ? key : e.from, to: e.to === old ? key : e.to })),
  }
}

/** Removes a node and its edges. */
export function removeNode(nodes: readonly NodeDraft[], edges: readonly EdgeDraft[], index: number): { nodes: NodeDraft[]; edges: EdgeDraft[] } {
  const key = nodes[index]!.key
  return { nodes: nodes.filter((_, i) => i !== index), edges: edges.filter((e) => e.from !== key && e.to !== key) }
}

/** Words for a node or run status, never colour alone ("Awaiting approval"). */
export function nodeStatusLabel(status: string): string {
  return status.charAt(0) + status.slice(1).toLowerCase().replaceAll('_', ' ')
}

export function edgeKindLabel(kind: string): string {
  return EDGE_KINDS.find((k) => k.value === kind)?.label ?? kind
}
