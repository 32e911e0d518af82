/** A node's job run links back to its node and workflow run — for who may see that workflow run only. */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { createTestRegistry } from '../harness/test-executors.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'

let t: TestApp
const wf = workflowHelpers(() => t)
beforeAll(async () => {
  t = await startTestApp({ registry: createTestRegistry() })
})
afterAll(async () => {
  await t?.stop()
})

it('JobRun.workflowNode names the node and the workflow run', async () => {
  const ok = await wf.template('ok', 'test-outcome', {})
  const id = await wf.create({ name: 'linked', nodes: [{ key: 'first', templateId: ok }] })
  const runId = await wf.trigger(id)
  const end = await wf.waitEnd(runId)
  const jobRunId = end.node('first').jobRun!.id
  const Q = `query($id: ID!) { jobRun(id: $id) { trigger workflowNode { key status workflowRun { id workflowName } } } }`
  expect((await t.ok(Q, { id: jobRunId })).jobRun).toEqual({ trigger: 'WORKFLOW', workflowNode: { key: 'first', status: 'SUCCEEDED', workflowRun: { id: runId, workflowName: 'linked' } } })
  // An ordinary run has none.
  const plain = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id workflowNode { key } } }`, { id: ok })).triggerJobRun
  expect(plain.workflowNode).toBeNull()
})
