'use client'
/**
 * The selected node's settings: its key and kind; for TEMPLATE nodes the template, a value (literal
 * or `{{ … }}` expression) per template parameter and the overrides; for WORKFLOW nodes the nested
 * workflow and a value per parameter of it; for APPROVAL nodes who approves, how many, the
 * deadline and what it does, and the message; the join policy when it has parents. API errors appear
 * under the fields they name (`nodes.<i>.…`).
 */
import { Field } from '@/components/ui'
import { JOIN_POLICIES, type NodeDraft, type OnTimeout, type Role } from '@/lib/workflow-draft'
import { NodeOverridesEditor } from './node-overrides-editor'
import type { EditorOptions, TemplateOption, WorkflowOption } from './queries'

type ParamDef = TemplateOption['parameters'][number]

const ROLES: readonly Role[] = ['ADMIN', 'OPERATOR', 'VIEWER']
const ON_TIMEOUT: ReadonlyArray<{ value: OnTimeout; label: string }> = [
  { value: 'FAIL', label: 'Fail the node (timed out)' },
  { value: 'CANCEL', label: 'Cancel the node' },
  { value: 'APPROVE', label: 'Approve it' },
]

export function NodeEditor({
  node,
  index,
  hasParents,
  templates,
  workflows,
  options,
  users,
  knownUsers,
  onChange,
  onRename,
  errorFor,
  exactError,
  readOnly,
  nestedName,
}: {
  node: NodeDraft
  index: number
  hasParents: boolean
  templates: readonly TemplateOption[]
  /** Workflows a WORKFLOW node may run (every visible one but the workflow being edited). */
  workflows: readonly WorkflowOption[]
  options: Pick<EditorOptions, 'targets' | 'inventories' | 'jobTypes'>
  /** Users to pick approvers from (null: this user may not list users). */
  users: ReadonlyArray<{ id: string; username: string }> | null
  /** Approvers already chosen, with names (from the saved workflow). */
  knownUsers: ReadonlyArray<{ id: string; username: string }>
  onChange(n: NodeDraft): void
  onRename(key: string): void
  errorFor(path: string): string | undefined
  /** The message for exactly this path (not the ones below it, which have their own fields). */
  exactError(path: string): string | undefined
  readOnly: boolean
  /** WORKFLOW nodes: the saved nested workflow's name, when it is not among `workflows`. */
  nestedName?: string | undefined
}) {
  const err = (k: string) => errorFor(`nodes.${index}.${k}`)
  const tpl = templates.find((t) => t.id === node.templateId)
  const sub = workflows.find((w) => w.id === node.workflowId)
  const a = node.approval
  const setA = (patch: Partial<NodeDraft['approval']>) => onChange({ ...node, approval: { ...a, ...patch } })
  const pickable = users ?? knownUsers
  return (
    <fieldset className="fieldset wf-node-editor" disabled={readOnly} data-testid="node-editor">
      <legend>Node {node.key ? <span className="mono">{node.key}</span> : index + 1}</legend>
      <div className="grid-2">
        <Field label="Key" required error={err('key')} hint="Unique; edges and expressions name the node by it.">
          {(p) => <input {...p} name="nodeKey" className="mono" value={node.key} onChange={(e) => onRename(e.target.value)} />}
        </Field>
        <Field label="Kind" error={err('kind')}>
          {(p) => (
            <select {...p} value={node.kind} onChange={(e) => onChange({ ...node, kind: e.target.value as NodeDraft['kind'] })}>
              <option value="TEMPLATE">Run a template</option>
              <option value="WORKFLOW">Run a workflow</option>
              <option value="APPROVAL">Wait for approval</option>
            </select>
          )}
        </Field>
      </div>
      {hasParents ? (
        <Field label="Runs when" error={err('joinPolicy')} hint={JOIN_POLICIES.find((j) => j.value === node.joinPolicy)?.hint}>
          {(p) => (
            <select {...p} value={node.joinPolicy} onChange={(e) => onChange({ ...node, joinPolicy: e.target.value as NodeDraft['joinPolicy'] })}>
              {JOIN_POLICIES.map((j) => (
                <option key={j.value} value={j.value}>
                  {j.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      ) : null}
      {node.kind === 'TEMPLATE' ? (
        <>
          <Field label="Template" required error={err('templateId')}>
            {(p) => (
              <select {...p} name="templateId" value={node.templateId} onChange={(e) => onChange({ ...node, templateId: e.target.value })}>
                <option value="">Choose a template…</option>
                {templates.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <ParameterRows node={node} index={index} defs={tpl?.parameters ?? []} of="template" onChange={onChange} errorFor={errorFor} exactError={exactError} />
          <NodeOverridesEditor
            value={node.overrides}
            onChange={(overrides) => onChange({ ...node, overrides })}
            template={tpl}
            usesTargets={!tpl || (options.jobTypes.find((j) => j.type === tpl.jobType)?.usesTargets ?? true)}
            targets={options.targets}
            inventories={options.inventories}
            errorFor={(k) => err(`overrides.${k}`)}
          />
        </>
      ) : node.kind === 'WORKFLOW' ? (
        <>
          <Field label="Workflow" required error={err('workflowId')} hint="Runs as a nested workflow run; its outcome is this node’s.">
            {(p) => (
              <select {...p} name="workflowId" value={node.workflowId} onChange={(e) => onChange({ ...node, workflowId: e.target.value })}>
                <option value="">Choose a workflow…</option>
                {node.workflowId && !sub ? <option value={node.workflowId}>{nestedName ?? 'the saved workflow'}</option> : null}
                {workflows.map((w) => (
                  <option key={w.id} value={w.id}>
                    {w.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <ParameterRows node={node} index={index} defs={sub?.parameters ?? []} of="workflow" onChange={onChange} errorFor={errorFor} exactError={exactError} />
        </>
      ) : (
        <>
          <fieldset className="fieldset wf-plain">
            <legend className="section-title">Approvers</legend>
            <div className="row" style={{ flexWrap: 'wrap', gap: 12 }}>
              {ROLES.map((r) => (
                <label key={r} className="check">
                  <input type="checkbox" checked={a.approverRoles.includes(r)} onChange={(e) => setA({ approverRoles: e.target.checked ? [...a.approverRoles, r] : a.approverRoles.filter((x) => x !== r) })} /> {r.charAt(0) + r.slice(1).toLowerCase()}s
                </label>
              ))}
            </div>
            {pickable.length ? (
              <div className="row" style={{ flexWrap: 'wrap', gap: 12 }}>
                <span className="small muted">and these users:</span>
                {pickable.map((u) => (
                  <label key={u.id} className="check">
                    <input type="checkbox" checked={a.approverUserIds.includes(u.id)} onChange={(e) => setA({ approverUserIds: e.target.checked ? [...a.approverUserIds, u.id] : a.approverUserIds.filter((x) => x !== u.id) })} /> {u.username}
                  </label>
                ))}
              </div>
            ) : null}
            {err('approval.approverRoles') || err('approval.approverUserIds') || exactError(`nodes.${index}.approval`) ? (
              <div className="error" role="alert">
                {[err('approval.approverRoles'), err('approval.approverUserIds'), exactError(`nodes.${index}.approval`)].filter(Boolean).join(' ')}
              </div>
            ) : (
              <div className="hint">Viewers never decide, whatever is chosen here.{users ? '' : ' Only admins can list users to name individual approvers.'}</div>
            )}
          </fieldset>
          <div className="grid-2">
            <Field label="Approvals needed" error={err('approval.minApprovals')} hint="Distinct people; any rejection fails the node.">
              {(p) => <input {...p} inputMode="numeric" value={a.minApprovals} onChange={(e) => setA({ minApprovals: e.target.value })} />}
            </Field>
            <Field label="Timeout (seconds)" required error={err('approval.timeoutSeconds')}>
              {(p) => <input {...p} name="timeoutSeconds" inputMode="numeric" value={a.timeoutSeconds} onChange={(e) => setA({ timeoutSeconds: e.target.value })} />}
            </Field>
            <Field label="At the timeout" error={err('approval.onTimeout')}>
              {(p) => (
                <select {...p} value={a.onTimeout} onChange={(e) => setA({ onTimeout: e.target.value as OnTimeout })}>
                  {ON_TIMEOUT.map((o) => (
                    <option key={o.value} value={o.value}>
                      {o.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <div className="field">
              <label className="check" style={{ marginTop: 22 }}>
                <input type="checkbox" name="allowSelfApproval" checked={a.allowSelfApproval} onChange={(e) => setA({ allowSelfApproval: e.target.checked })} /> Who triggered the run may approve it
              </label>
              {err('approval.allowSelfApproval') ? <div className="error" role="alert">{err('approval.allowSelfApproval')}</div> : null}
            </div>
          </div>
          <Field label="Message" error={err('approval.message')} hint="Shown to approvers; may use {{ params.x }} and {{ nodes.<key>… }}.">
            {(p) => <textarea {...p} rows={2} value={a.message} onChange={(e) => setA({ message: e.target.value })} />}
          </Field>
        </>
      )}
    </fieldset>
  )
}

/** A value per parameter of the node's template or nested workflow, then values it has for no such parameter. */
function ParameterRows({
  node,
  index,
  defs,
  of,
  onChange,
  errorFor,
  exactError,
}: {
  node: NodeDraft
  index: number
  defs: readonly ParamDef[]
  of: 'template' | 'workflow'
  onChange(n: NodeDraft): void
  errorFor(path: string): string | undefined
  exactError(path: string): string | undefined
}) {
  const extra = Object.keys(node.parameters).filter((k) => !defs.some((p) => p.name === k))
  const rows: ParamDef[] = [...defs, ...extra.map((name) => ({ name, type: 'STRING' as const, label: null, required: false, default: null, choices: null, description: `Not a parameter of this ${of}.` }))]
  return (
    <>
      {rows.length ? (
        <div className="stack" style={{ gap: 8 }}>
          <div className="section-title">Parameter values</div>
          <p className="muted small" style={{ margin: 0 }}>
            A value, or an expression: <code>{'{{ params.name }}'}</code>, <code>{'{{ nodes.<key>.status }}'}</code>, <code>{'{{ nodes.<key>.result.path }}'}</code>, <code>{'{{ nodes.<key>.outputs.name }}'}</code>. Blank: the {of}’s default.
          </p>
          {rows.map((p) => (
            <Field key={p.name} label={p.label || p.name} required={p.required} error={errorFor(`nodes.${index}.parameters.${p.name}`)} hint={p.description ?? `${p.type.toLowerCase()}${p.default != null ? `, default ${String(p.default)}` : ''}`}>
              {(f) => <input {...f} className="mono" value={node.parameters[p.name] ?? ''} placeholder={p.default != null ? String(p.default) : ''} onChange={(e) => onChange({ ...node, parameters: { ...node.parameters, [p.name]: e.target.value } })} />}
            </Field>
          ))}
        </div>
      ) : null}
      {exactError(`nodes.${index}.parameters`) ? (
        <div className="error small" role="alert" style={{ color: 'var(--err)' }}>
          {exactError(`nodes.${index}.parameters`)}
        </div>
      ) : null}
    </>
  )
}
