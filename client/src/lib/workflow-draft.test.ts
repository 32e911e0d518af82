import { describe, expect, it } from 'vitest'
import { freshKey, localNodeErrors, overridesToInput, newNode, nodeStatusLabel, nodeToDraft, nodeToInput, parameterValue, removeNode, renameNode, type EdgeDraft, type NodeDraft } from './workflow-draft'

const nodes = (): NodeDraft[] => {
  const a = newNode([], 'TEMPLATE')
  const b = newNode([a], 'APPROVAL')
  const c = newNode([a, b], 'TEMPLATE')
  return [a, b, c]
}

describe('workflow drafts', () => {
  it('gives new nodes unused keys by kind', () => {
    expect(nodes().map((n) => n.key)).toEqual(['node-1', 'approval-1', 'node-2'])
    expect(freshKey([{ ...newNode([], 'TEMPLATE'), key: 'node-2' }], 'TEMPLATE')).toBe('node-1')
  })

  it('renames a node in its edges, and removing one drops its edges', () => {
    const ns = nodes()
    const es: EdgeDraft[] = [
      { from: 'node-1', to: 'approval-1', kind: 'ON_SUCCESS' },
      { from: 'approval-1', to: 'node-2', kind: 'ALWAYS' },
    ]
    const r = renameNode(ns, es, 1, 'gate')
    expect(r.nodes[1]!.key).toBe('gate')
    expect(r.edges).toEqual([
      { from: 'node-1', to: 'gate', kind: 'ON_SUCCESS' },
      { from: 'gate', to: 'node-2', kind: 'ALWAYS' },
    ])
    const d = removeNode(r.nodes, r.edges, 0)
    expect(d.nodes.map((n) => n.key)).toEqual(['gate', 'node-2'])
    expect(d.edges).toEqual([{ from: 'gate', to: 'node-2', kind: 'ALWAYS' }])
  })

  it('builds the API input: typed literals, expressions as typed, blanks left out', () => {
    const n: NodeDraft = { ...newNode([], 'TEMPLATE'), templateId: 'T1', parameters: { count: '3', flag: 'true', msg: '{{ params.site }}', empty: '', n2: '{{ nodes.a.result.count }}' } }
    expect(nodeToInput(n, [{ name: 'count', type: 'INT' }, { name: 'flag', type: 'BOOL' }, { name: 'n2', type: 'INT' }])).toEqual({
      key: 'node-1',
      kind: 'TEMPLATE',
      joinPolicy: 'ALL_SUCCEEDED',
      templateId: 'T1',
      parameters: { count: 3, flag: true, msg: '{{ params.site }}', n2: '{{ nodes.a.result.count }}' },
      overrides: null,
    })
    expect(parameterValue({ type: 'STRING' }, '12')).toBe('12')
    const a = nodeToInput({ ...newNode([], 'APPROVAL'), approval: { ...newNode([], 'APPROVAL').approval, minApprovals: '2', approverUserIds: ['U1'], message: 'ok?' } })
    expect(a).toMatchObject({ kind: 'APPROVAL', approval: { minApprovals: 2, timeoutSeconds: 3600, approverRoles: ['ADMIN', 'OPERATOR'], approverUserIds: ['U1'], allowSelfApproval: false, onTimeout: 'FAIL', message: 'ok?' } })
    expect(a).not.toHaveProperty('templateId')
  })

  it('reads a saved node back, and checks numbers locally', () => {
    const d = nodeToDraft({ key: 'g', kind: 'APPROVAL', joinPolicy: 'ANY_SUCCEEDED', parameters: {}, template: null, approval: { approverRoles: ['ADMIN'], approvers: [{ id: 'U2' }], minApprovals: 2, allowSelfApproval: true, timeoutSeconds: 60, onTimeout: 'APPROVE', message: 'm' } })
    expect(d.approval).toEqual({ approverRoles: ['ADMIN'], approverUserIds: ['U2'], minApprovals: '2', allowSelfApproval: true, timeoutSeconds: '60', onTimeout: 'APPROVE', message: 'm' })
    expect(nodeToDraft({ key: 't', kind: 'TEMPLATE', joinPolicy: 'ALL_DONE', parameters: { n: 3, s: 'x' }, template: { id: 'T' }, approval: null }).parameters).toEqual({ n: '3', s: 'x' })
    expect(localNodeErrors([{ ...d, approval: { ...d.approval, timeoutSeconds: 'soon' } }, { ...d, key: ' ' }])).toEqual({ 'nodes.0.approval.timeoutSeconds': '“soon” is not a whole number.', 'nodes.1.key': 'Give the node a key.' })
  })

  it('labels statuses in words', () => {
    expect(nodeStatusLabel('AWAITING_APPROVAL')).toBe('Awaiting approval')
    expect(nodeStatusLabel('TIMED_OUT')).toBe('Timed out')
  })

  it('round-trips saved nodes unchanged: overrides, WORKFLOW nodes, values of any type', () => {
    // As the API returns them (WorkflowFields), and the input that saved them.
    const saved = [
      {
        key: 'backup',
        kind: 'TEMPLATE' as const,
        joinPolicy: 'ALL_SUCCEEDED' as const,
        parameters: { count: 3, label: '3', flags: { a: [1, 2] }, on: false, expr: '{{ params.site }}' },
        template: { id: 'T1' },
        workflow: null,
        overrides: { targetSelector: { targetIds: ['X1'], inventoryIds: ['I1'], tags: ['edge'], namePatterns: ['sw-*'] }, timeoutSeconds: 30, retryMaxAttempts: 3, retryDelaySeconds: null, retryBackoff: 'EXPONENTIAL' as const },
        approval: null,
      },
      { key: 'nested', kind: 'WORKFLOW' as const, joinPolicy: 'ANY_SUCCEEDED' as const, parameters: { site: '{{ nodes.backup.outputs.site }}', n: 2 }, template: null, workflow: { id: 'W2' }, overrides: null, approval: null },
      { key: 'plain', kind: 'TEMPLATE' as const, joinPolicy: 'ALL_DONE' as const, parameters: {}, template: { id: 'T2' }, workflow: null, overrides: null, approval: null },
    ]
    const defs = [{ name: 'count', type: 'INT' as const }, { name: 'label', type: 'STRING' as const }, { name: 'on', type: 'BOOL' as const }]
    const inputs = saved.map((n) => nodeToInput(nodeToDraft(n), n.kind === 'TEMPLATE' ? defs : [{ name: 'n', type: 'INT' as const }]))
    expect(inputs).toEqual([
      {
        key: 'backup',
        kind: 'TEMPLATE',
        joinPolicy: 'ALL_SUCCEEDED',
        templateId: 'T1',
        parameters: { count: 3, label: '3', flags: { a: [1, 2] }, on: false, expr: '{{ params.site }}' },
        overrides: { targetSelector: { targetIds: ['X1'], inventoryIds: ['I1'], tags: ['edge'], namePatterns: ['sw-*'] }, timeoutSeconds: 30, retryMaxAttempts: 3, retryDelaySeconds: null, retryBackoff: 'EXPONENTIAL' },
      },
      { key: 'nested', kind: 'WORKFLOW', joinPolicy: 'ANY_SUCCEEDED', workflowId: 'W2', parameters: { site: '{{ nodes.backup.outputs.site }}', n: 2 } },
      { key: 'plain', kind: 'TEMPLATE', joinPolicy: 'ALL_DONE', templateId: 'T2', parameters: {}, overrides: null },
    ])
    // An edited value is typed from the text again; a blanked one goes (the default applies).
    const d = nodeToDraft(saved[0]!)
    expect(nodeToInput({ ...d, parameters: { ...d.parameters, count: '4', label: '' } }, defs).parameters).toEqual({ count: 4, flags: { a: [1, 2] }, on: false, expr: '{{ params.site }}' })
  })

  it('sends overrides only when one is set, and checks their numbers locally', () => {
    const n = newNode([], 'TEMPLATE')
    expect(overridesToInput(n.overrides)).toBeNull()
    expect(overridesToInput({ ...n.overrides, retryDelaySeconds: ' 5 ' })).toEqual({ targetSelector: null, timeoutSeconds: null, retryMaxAttempts: null, retryDelaySeconds: 5, retryBackoff: null })
    expect(overridesToInput({ ...n.overrides, replaceTargets: true, selector: { targetIds: [], inventoryIds: [], tags: ['a'], namePatterns: [] } })?.targetSelector).toEqual({ targetIds: [], inventoryIds: [], tags: ['a'], namePatterns: [] })
    expect(localNodeErrors([{ ...n, overrides: { ...n.overrides, timeoutSeconds: '1m' } }])).toEqual({ 'nodes.0.overrides.timeoutSeconds': '“1m” is not a whole number.' })
    expect(newNode([], 'WORKFLOW').key).toBe('workflow-1')
  })
})
