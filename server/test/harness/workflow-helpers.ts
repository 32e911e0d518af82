/** What workflow tests do over and over through the API: save a workflow, trigger it, wait for its end. */
import { eventually, type TestApp } from './app.ts'

export const WORKFLOW_RUN_FIELDS = `id number status error parameters
  nodes { key status reason joinPolicy jobRun { id status trigger attempt parameters result error } }`

export interface NodeState {
  key: string
  status: string
  reason: string | null
  joinPolicy: string
  jobRun: { id: string; status: string; trigger: string; attempt: number; parameters: Record<string, unknown>; result: any; error: string | null } | null
}
export interface WorkflowRunState {
  id: string
  number: number
  status: string
  error: string | null
  parameters: Record<string, unknown>
  nodes: NodeState[]
}

export function workflowHelpers(app: () => TestApp) {
  return {
    async template(name: string, jobType: string, config: unknown, extra: Record<string, unknown> = {}): Promise<string> {
      const d = await app().ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name, jobType, config, visibility: 'GLOBAL', ...extra } })
      return d.createJobTemplate.id
    },
    async create(input: Record<string, unknown>): Promise<string> {
      return (await app().ok(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { visibility: 'GLOBAL', ...input } })).createWorkflow.id
    },
    async trigger(workflowId: string, parameters?: unknown): Promise<string> {
      return (await app().ok(`mutation($id: ID!, $p: JSON) { triggerWorkflowRun(workflowId: $id, parameters: $p) { id } }`, { id: workflowId, p: parameters })).triggerWorkflowRun.id
    },
    async read(id: string): Promise<WorkflowRunState> {
      return (await app().ok(`query($id: ID!) { workflowRun(id: $id) { ${WORKFLOW_RUN_FIELDS} } }`, { id })).workflowRun
    },
    async waitEnd(id: string, timeoutMs = 60_000): Promise<WorkflowRunState & { node: (key: string) => NodeState }> {
      const run = await eventually(async () => {
        const r = (await app().ok(`query($id: ID!) { workflowRun(id: $id) { ${WORKFLOW_RUN_FIELDS} } }`, { id })).workflowRun as WorkflowRunState
        return r.status !== 'RUNNING' ? r : null
      }, { timeoutMs, what: `workflow run ${id} to end` })
      return { ...run, node: (key: string) => run.nodes.find((n) => n.key === key)! }
    },
  }
}
