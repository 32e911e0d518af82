'use client'
/**
 * Create or edit a workflow: its name, visibility and parameters, and its graph — drawn (click a node
 * to edit it) and listed (the keyboard- and screen-reader-friendly way to the same nodes and edges).
 * The API checks the whole graph on save (cycles with their path, unknown templates, references to
 * parameters or nodes that are not there); each problem shows under the field and on the node or edge
 * it names, and the first node with a problem opens.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useMemo, useRef, useState, type FormEvent } from 'react'
import { useMutation, useQuery } from 'urql'
import { Icons } from '@/components/icons'
import { EditorLoadError, EditorShell, VisibilityField } from '@/components/editor-shell'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { Field, Panel, Skeleton } from '@/components/ui'
import { fixSummary, useFocusFirstError } from '@/components/use-focus-first-error'
import { ParametersEditor } from '@/features/templates/parameters-editor'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { toDraft, toInput, type ParameterDraft } from '@/lib/parameters'
import { localNodeErrors, newNode, nodeToDraft, nodeToInput, removeNode, renameNode, type EdgeDraft, type NodeDraft, type NodeKind } from '@/lib/workflow-draft'
import { EdgesPanel } from './edges-panel'
import { NodeEditor } from './node-editor'
import { ApproverUsersQuery, CreateWorkflowMutation, UpdateWorkflowMutation, WorkflowEditorOptionsQuery, WorkflowQuery, type EditorOptions, type TemplateOption, type Workflow } from './queries'
import { DeleteWorkflowButton, RunWorkflowDialog } from './run-workflow-dialog'
import { WorkflowGraph } from './workflow-graph'
import { WebhookEndpointsPanel } from '@/features/webhooks/webhook-endpoints-panel'

const LIST = { href: '/workflows', title: 'Workflows', noun: 'workflow' }

export function WorkflowEditor({ id }: { id: string | null }) {
  useTitle(id ? 'Edit workflow' : 'New workflow')
  const { isAdmin } = useSessionContext()
  const [options] = useQuery({ query: WorkflowEditorOptionsQuery, requestPolicy: 'network-only' })
  const [users] = useQuery({ query: ApproverUsersQuery, pause: !isAdmin })
  const [wf] = useQuery({ query: WorkflowQuery, variables: { id: id ?? '' }, pause: !id, requestPolicy: 'network-only' })
  const error = options.error ?? wf.error
  if (error) return <EditorLoadError list={LIST} error={error} />
  if (!options.data || (id && !wf.data)) return <Skeleton rows={8} />
  const workflow = wf.data?.workflow ?? null
  const form = <WorkflowForm workflow={workflow} options={options.data} templates={options.data.jobTemplates} users={users.data?.users.filter((u) => !u.disabled && u.role !== 'VIEWER') ?? null} />
  if (!workflow) return form
  return (
    <div className="stack">
      {form}
      <WebhookEndpointsPanel target={{ kind: 'WORKFLOW', id: workflow.id, name: workflow.name, parameters: workflow.parameters }} />
    </div>
  )
}

function WorkflowForm({ workflow, options, templates, users }: { workflow: Workflow | null; options: EditorOptions; templates: readonly TemplateOption[]; users: ReadonlyArray<{ id: string; username: string }> | null }) {
  const router = useRouter()
  const { canWrite } = useSessionContext()
  const [name, setName] = useState(workflow?.name ?? '')
  const [description, setDescription] = useState(workflow?.description ?? '')
  const [visibility, setVisibility] = useState<'GLOBAL' | 'PRIVATE'>(workflow?.visibility ?? 'GLOBAL')
  const [params, setParams] = useState<ParameterDraft[]>(() => (workflow?.parameters ?? []).map(toDraft))
  const [nodes, setNodes] = useState<NodeDraft[]>(() => workflow?.nodes.map((n) => nodeToDraft(n)) ?? [newNode([], 'TEMPLATE')])
  const [edges, setEdges] = useState<EdgeDraft[]>(() => workflow?.edges.map((e) => ({ from: e.from, to: e.to, kind: e.kind })) ?? [])
  const [selected, setSelected] = useState<number | null>(0)
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [runOpen, setRunOpen] = useState(false)
  const [createState, create] = useMutation(CreateWorkflowMutation)
  const [updateState, update] = useMutation(UpdateWorkflowMutation)
  const busy = createState.fetching || updateState.fetching
  const err = (path: string) => fieldError(errors, path)
  const formRef = useRef<HTMLFormElement>(null)
  const focusFirstError = useFocusFirstError(formRef)
  const knownUsers = useMemo(() => workflow?.nodes.flatMap((n) => n.approval?.approvers ?? []) ?? [], [workflow])
  // A workflow may not run itself (the API also refuses longer loops, on the node's workflowId).
  const workflows = useMemo(() => options.workflows.filter((w) => w.id !== workflow?.id), [options, workflow])
  const nestedName = (id: string) => options.workflows.find((w) => w.id === id)?.name ?? workflow?.nodes.find((n) => n.workflow?.id === id)?.workflow?.name
  const nodeDetail = (n: NodeDraft) => (n.kind === 'APPROVAL' ? 'Approval' : n.kind === 'WORKFLOW' ? `Workflow: ${n.workflowId ? (nestedName(n.workflowId) ?? 'not visible') : 'none chosen'}` : templateName(n.templateId))
  const paramDefs = (n: NodeDraft) => (n.kind === 'WORKFLOW' ? options.workflows.find((w) => w.id === n.workflowId)?.parameters : templates.find((t) => t.id === n.templateId)?.parameters)
  const templateName = (id: string) => templates.find((t) => t.id === id)?.name ?? workflow?.nodes.find((n) => n.template?.id === id)?.template?.name ?? 'no template chosen'
  const nodeHasProblem = (i: number) => Object.keys(errors.fields).some((k) => k === `nodes.${i}` || k.startsWith(`nodes.${i}.`))
  const edgeProblemsFor = (key: string) => edges.some((e, i) => (e.from === key || e.to === key) && err(`edges.${i}`))

  const fail = (e: FormErrors) => {
    setErrors(e)
    // Open the first node the API found a problem in, so its fields (and messages) are on screen.
    const first = nodes.findIndex((_, i) => Object.keys(e.fields).some((k) => k === `nodes.${i}` || k.startsWith(`nodes.${i}.`)))
    if (first >= 0) setSelected(first)
    focusFirstError()
  }

  const addNode = (kind: NodeKind) => {
    const n = newNode(nodes, kind)
    // A new node follows the selected one, which is how graphs are mostly built.
    const parent = selected != null ? nodes[selected] : nodes.at(-1)
    setNodes([...nodes, n])
    if (parent) setEdges([...edges, { from: parent.key, to: n.key, kind: 'ON_SUCCESS' }])
    setSelected(nodes.length)
  }
  const dropNode = (i: number) => {
    const r = removeNode(nodes, edges, i)
    setNodes(r.nodes)
    setEdges(r.edges)
    setSelected(r.nodes.length ? Math.min(i, r.nodes.length - 1) : null)
    setErrors(NO_ERRORS)
  }
  // Editing a node or an edge clears what the API said about it (the next save checks it again).
  const clearErrors = (prefix: string) => {
    const about = (k: string) => k === prefix || k.startsWith(`${prefix}.`)
    if (Object.keys(errors.fields).some(about)) setErrors((e) => ({ ...e, fields: Object.fromEntries(Object.entries(e.fields).filter(([k]) => !about(k))) }))
  }
  const clearNodeErrors = (i: number) => clearErrors(`nodes.${i}`)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const local: Record<string, string> = localNodeErrors(nodes)
    if (!name.trim()) local.name = 'Enter a name for the workflow.'
    if (Object.keys(local).length) return fail({ form: fixSummary(Object.keys(local).length), fields: local, code: null })
    const input = {
      name: name.trim(),
      description,
      visibility,
      parameters: params.map(toInput),
      nodes: nodes.map((n) => nodeToInput(n, paramDefs(n))),
      edges: edges.map((e) => ({ from: e.from, to: e.to, kind: e.kind })),
    }
    setErrors(NO_ERRORS)
    const shown = ['name', 'description', 'visibility', 'parameters', 'nodes', 'edges']
    if (workflow) {
      const r = await update({ id: workflow.id, input })
      if (r.data) router.push('/workflows')
      else fail(withUnclaimed(toFormErrors(r.error), shown))
    } else {
      const r = await create({ input })
      if (r.data) router.push(`/workflows/${encodeURIComponent(r.data.createWorkflow.id)}`)
      else fail(withUnclaimed(toFormErrors(r.error), shown))
    }
  }

  const sel = selected != null ? nodes[selected] : undefined
  const graphNodes = nodes.map((n, i) => ({ key: n.key, detail: nodeDetail(n), problem: nodeHasProblem(i) || edgeProblemsFor(n.key) }))

  return (
    <EditorShell
      list={LIST}
      editing={!!workflow}
      formRef={formRef}
      onSubmit={submit}
      title={workflow ? workflow.name : 'New workflow'}
      subtitle={workflow ? `${workflow.nodes.length} nodes · owned by ${workflow.owner.username}` : 'Chain templates and approvals into a graph.'}
      actions={
        workflow && canWrite ? (
          <>
            <Link className="btn" href={`/workflow-runs?workflow=${encodeURIComponent(workflow.id)}`}>
              <Icons.runs /> Runs
            </Link>
            <Link className="btn" href={`/schedules/new?workflow=${encodeURIComponent(workflow.id)}`}>
              <Icons.schedules /> Schedule
            </Link>
            <button type="button" className="btn" onClick={() => setRunOpen(true)}>
              <Icons.play /> Run now
            </button>
            <DeleteWorkflowButton workflow={workflow} onDeleted={() => router.push('/workflows')} />
          </>
        ) : null
      }
      formError={errors.form}
      canWrite={canWrite}
      busy={busy}
      after={runOpen && workflow ? <RunWorkflowDialog workflow={workflow} onClose={() => setRunOpen(false)} /> : null}
    >
      <Panel title="General">
        <div className="fieldset">
          <Field label="Name" required error={err('name')}>
            {(p) => <input {...p} name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder="deploy with approval" autoFocus={!workflow} />}
          </Field>
          <Field label="Description" error={err('description')}>
            {(p) => <textarea {...p} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}
          </Field>
          <VisibilityField value={visibility} onChange={setVisibility} error={err('visibility')} />
        </div>
      </Panel>
      <Panel title="Workflow parameters">
        <ParametersEditor value={params} onChange={setParams} errorFor={err} />
      </Panel>
      <Panel
        title="Graph"
        actions={
          canWrite ? (
            <span className="row" style={{ gap: 6 }}>
              <button type="button" className="btn sm" onClick={() => addNode('TEMPLATE')}>
                <Icons.plus /> Template node
              </button>
              <button type="button" className="btn sm" onClick={() => addNode('WORKFLOW')}>
                <Icons.plus /> Workflow node
              </button>
              <button type="button" className="btn sm" onClick={() => addNode('APPROVAL')}>
                <Icons.plus /> Approval node
              </button>
            </span>
          ) : null
        }
      >
        <div className="wf-editor">
          <div className="stack">
            <WorkflowGraph label="Workflow graph: choose a node to edit it" nodes={graphNodes} edges={edges} selected={sel?.key ?? null} onSelect={(k) => setSelected(nodes.findIndex((n) => n.key === k))} />
            <div>
              <h3 className="section-title" id="wf-nodes-title">
                Nodes ({nodes.length})
              </h3>
              <ul className="wf-list" aria-labelledby="wf-nodes-title" data-testid="workflow-nodes">
                {nodes.map((n, i) => (
                  <li key={i} data-node-row={n.key}>
                    <button type="button" className="btn sm ghost" aria-pressed={selected === i} onClick={() => setSelected(i)}>
                      <span className="mono">{n.key || `(node ${i + 1})`}</span>
                    </button>
                    <span className="small muted">{nodeDetail(n)}</span>
                    {nodeHasProblem(i) ? <span className="badge err">Has a problem</span> : null}
                    {canWrite ? (
                      <button type="button" className="btn sm ghost icon" aria-label={`Remove node ${n.key || i + 1}`} onClick={() => dropNode(i)}>
                        <Icons.trash />
                      </button>
                    ) : null}
                  </li>
                ))}
              </ul>
              {errors.fields.nodes ? <div className="error small" role="alert" style={{ color: 'var(--err)' }}>{errors.fields.nodes}</div> : null}
            </div>
          </div>
          <div className="stack">
            {sel && selected != null ? (
              <NodeEditor
                key={selected}
                node={sel}
                index={selected}
                hasParents={edges.some((e) => e.to === sel.key)}
                templates={templates}
                workflows={workflows}
                options={options}
                nestedName={sel.workflowId ? nestedName(sel.workflowId) : undefined}
                users={users}
                knownUsers={knownUsers}
                readOnly={!canWrite}
                onChange={(n) => {
                  setNodes(nodes.map((x, j) => (j === selected ? n : x)))
                  clearNodeErrors(selected)
                }}
                onRename={(key) => {
                  clearNodeErrors(selected)
                  const r = renameNode(nodes, edges, selected, key)
                  setNodes(r.nodes)
                  setEdges(r.edges)
                }}
                errorFor={err}
                exactError={(path) => errors.fields[path]}
              />
            ) : (
              <p className="muted">Add a node, or choose one to edit it.</p>
            )}
          </div>
        </div>
      </Panel>
      <EdgesPanel
        edges={edges}
        nodes={nodes}
        canWrite={canWrite}
        errorFor={err}
        exactError={(path) => errors.fields[path]}
        onChange={(i, patch) => {
          setEdges(edges.map((e, j) => (j === i ? { ...e, ...patch } : e)))
          clearErrors(`edges.${i}`)
        }}
        onRemove={(i) => setEdges(edges.filter((_, j) => j !== i))}
        onAdd={() => setEdges([...edges, { from: nodes[0]!.key, to: nodes[1]!.key, kind: 'ON_SUCCESS' }])}
      />
    </EditorShell>
  )
}
