/**
 * What integration tests of job types do over and over through the API: create a template, trigger it,
 * wait for the run to reach a status, read its log. `runFields` is the selection of `jobRun` a test reads.
 */
import { expect } from 'vitest'
import { eventually, type GraphQLResponse, type TestApp } from './app.ts'

export interface LogLine {
  level: string
  stream: string
  targetId: string | null
  text: string
}

/** `app` is read on each call: test files start their app in beforeAll, after building these. */
export function runHelpers(app: () => TestApp, options: { runFields: string; defaultTimeoutMs?: number }) {
  const t = { ok: (q: string, v?: Record<string, unknown>) => app().ok(q, v) }
  const run = `query($id: ID!) { jobRun(id: $id) { ${options.runFields} } }`
  return {
    async createTemplate(input: Record<string, unknown>): Promise<string> {
      return (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { visibility: 'GLOBAL', ...input } })).createJobTemplate.id
    },
    async trigger(templateId: string, parameters?: unknown): Promise<string> {
      return (await t.ok(`mutation($id: ID!, $p: JSON) { triggerJobRun(templateId: $id, parameters: $p) { id } }`, { id: templateId, p: parameters })).triggerJobRun.id
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the selection is the caller's
    async waitFor(id: string, statuses: string[], timeoutMs = options.defaultTimeoutMs ?? 60_000): Promise<any> {
      return eventually(async () => {
        const r = (await t.ok(run, { id })).jobRun
        return statuses.includes(r.status) ? r : null
      }, { timeoutMs, what: `run ${id} to reach ${statuses.join('/')}` })
    },
    async logLines(id: string): Promise<LogLine[]> {
      return (await t.ok(`query($id: ID!) { jobRunLog(runId: $id, first: 5000) { lines { level stream targetId text } } }`, { id })).jobRunLog.lines
    },
  }
}

/** The response is a BAD_USER_INPUT error that names `field`. */
export function expectFieldError(r: GraphQLResponse, field: string): void {
  const dump = JSON.stringify(r)
  expect(r.errors?.[0]?.extensions?.code, dump).toBe('BAD_USER_INPUT')
  expect(r.errors?.[0]?.extensions?.fields?.map((f: { field: string }) => f.field), dump).toContain(field)
}
