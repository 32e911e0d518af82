/**
 * Visibility through nested fields (a schedule is never more visible than the template it exposes),
 * and administrators' full read access, through the GraphQL API with two operators and an admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestApp, type GraphQLResponse, type TestApp } from '../harness/app.ts'
import { expectFieldError } from '../harness/run-helpers.ts'

let t: TestApp
let alice: string
let bob: string
let admin: string

const CREATE_TEMPLATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`
const CREATE_SCHEDULE = `mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }`

async function template(name: string, visibility: 'GLOBAL' | 'PRIVATE', token: string, message = 'hi'): Promise<string> {
  return (await t.ok(CREATE_TEMPLATE, { i: { name, jobType: 'noop', config: { message }, visibility } }, token)).createJobTemplate.id
}
async function schedule(name: string, templateId: string, visibility: 'GLOBAL' | 'PRIVATE', token: string): Promise<string> {
  return (await t.ok(CREATE_SCHEDULE, { i: { name, templateId, kind: 'CRON', cronExpression: '0 3 * * *', visibility } }, token)).createJobSchedule.id
}
function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!
}
function code(r: GraphQLResponse): string | undefined {
  return r.errors?.[0]?.extensions?.code
}

beforeAll(async () => {
  t = await startTestApp()
  alice = await t.userToken('OPERATOR', 'alice')
  bob = await t.userToken('OPERATOR', 'bob')
  admin = t.adminToken
})
afterAll(async () => {
  await t?.stop()
})

describe('nested fields filter by what the caller may see', () => {
  it("JobTemplate.schedules lists only the caller's visible schedules; JobRun.schedule hides a private one", async () => {
    const tpl = await template('shared', 'GLOBAL', alice)
    const mine = await schedule('alice-private-sch', tpl, 'PRIVATE', alice)
    await schedule('alice-global-sch', tpl, 'GLOBAL', alice)
    const q = `query($id: ID!) { jobTemplate(id: $id) { schedules { name } } jobTemplates { name schedules { name } } }`
    const names = async (token: string) => {
      const d = await t.ok(q, { id: tpl }, token)
      const fromList = d.jobTemplates.find((x: { name: string }) => x.name === 'shared').schedules.map((s: { name: string }) => s.name)
      const direct = d.jobTemplate.schedules.map((s: { name: string }) => s.name)
      expect(fromList).toEqual(direct)
      return direct
    }
    expect(await names(bob)).toEqual(['alice-global-sch'])
    expect(await names(alice)).toEqual(['alice-global-sch', 'alice-private-sch'])
    expect(await names(admin)).toEqual(['alice-global-sch', 'alice-private-sch'])

    // A run of a GLOBAL template fired by alice's PRIVATE schedule: bob sees the run, not the schedule.
    const run = (await t.ok(`mutation($id: ID!) { runJobScheduleNow(id: $id) { id } }`, { id: mine }, alice)).runJobScheduleNow.id
    const seen = await t.ok(`query($id: ID!) { jobRun(id: $id) { id schedule { name } } }`, { id: run }, bob)
    expect(seen.jobRun).toEqual({ id: run, schedule: null })
    expect((await t.ok(`query($id: ID!) { jobRun(id: $id) { schedule { name } } }`, { id: run }, alice)).jobRun.schedule).toEqual({ name: 'alice-private-sch' })
  })

  it('a GLOBAL schedule of a PRIVATE template is refused on create and update (input.visibility); nothing is written', async () => {
    const priv = await template('alice-secret-config', 'PRIVATE', alice, 'do not show')
    const before = (await t.app.db.pool.query('SELECT count(*)::int AS n FROM job_schedule')).rows[0].n
    const r = await t.gql(CREATE_SCHEDULE, { i: { name: 'leaky', templateId: priv, kind: 'CRON', cronExpression: '0 3 * * *', visibility: 'GLOBAL' } }, alice)
    expectFieldError(r, 'input.visibility')
    expect(r.errors![0]!.message).toMatch(/GLOBAL schedule cannot run the PRIVATE template "alice-secret-config"/)
    expect((await t.app.db.pool.query('SELECT count(*)::int AS n FROM job_schedule')).rows[0].n).toBe(before)

    const sch = await schedule('quiet', priv, 'PRIVATE', alice)
    expectFieldError(await t.gql(`mutation($id: ID!) { updateJobSchedule(id: $id, input: { visibility: GLOBAL }) { id } }`, { id: sch }, alice), 'input.visibility')
    // Moving a GLOBAL schedule onto a PRIVATE template is the same exposure.
    const pub = await schedule('public-sch', await template('alice-open', 'GLOBAL', alice), 'GLOBAL', alice)
    expectFieldError(await t.gql(`mutation($id: ID!, $t: ID!) { updateJobSchedule(id: $id, input: { templateId: $t }) { id } }`, { id: pub, t: priv }, alice), 'input.visibility')
    const rows = await t.app.db.pool.query('SELECT name, visibility FROM job_schedule WHERE id = ANY($1::uuid[]) ORDER BY name', [[rawId(sch), rawId(pub)]])
    expect(rows.rows).toEqual([{ name: 'public-sch', visibility: 'GLOBAL' }, { name: 'quiet', visibility: 'PRIVATE' }])
    // Bob cannot reach the template through any schedule.
    const d = await t.ok(`{ jobSchedules { name template { name config } } }`, {}, bob)
    expect(JSON.stringify(d)).not.toContain('do not show')
  })

  it('a template whose schedules others can see cannot be made PRIVATE; the error names them, and once they are gone it can', async () => {
    const tpl = await template('to-hide', 'GLOBAL', alice)
    const nightly = await schedule('nightly', tpl, 'GLOBAL', alice)
    const bobs = await schedule('bob-watch', tpl, 'PRIVATE', bob)
    const mine = await schedule('alice-own', tpl, 'PRIVATE', alice)
    const hide = () => t.gql(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { visibility: PRIVATE }) { visibility } }`, { id: tpl }, alice)
    const r = await hide()
    expectFieldError(r, 'input.visibility')
    expect(r.errors![0]!.message).toContain('"nightly" (GLOBAL)')
    expect(r.errors![0]!.message).toContain('"bob-watch" (owned by bob)')
    expect(r.errors![0]!.message).not.toContain('alice-own')
    expect((await t.ok(`query($id: ID!) { jobTemplate(id: $id) { visibility } }`, { id: tpl }, bob)).jobTemplate.visibility).toBe('GLOBAL')

    await t.ok(`mutation($id: ID!) { updateJobSchedule(id: $id, input: { visibility: PRIVATE }) { id } }`, { id: nightly }, alice)
    await t.ok(`mutation($id: ID!) { deleteJobSchedule(id: $id) }`, { id: bobs }, bob)
    expect((await hide()).data?.updateJobTemplate).toEqual({ visibility: 'PRIVATE' })
    expect(code(await t.gql(`query($id: ID!) { jobSchedule(id: $id) { name } }`, { id: mine }, bob))).toBe('NOT_FOUND')
  })

  it('a GLOBAL schedule of a PRIVATE template saved before the rule is hidden from others, with its template', async () => {
    const priv = await template('legacy-private', 'PRIVATE', alice, 'legacy secret config')
    const sch = await schedule('legacy-sch', priv, 'PRIVATE', alice)
    await t.app.db.pool.query(`UPDATE job_schedule SET visibility = 'GLOBAL' WHERE id = $1`, [rawId(sch)])
    const d = await t.ok(`{ jobSchedules { name template { config } } }`, {}, bob)
    expect(d.jobSchedules.map((s: { name: string }) => s.name)).not.toContain('legacy-sch')
    expect(JSON.stringify(d)).not.toContain('legacy secret config')
    expect(code(await t.gql(`query($id: ID!) { jobSchedule(id: $id) { template { config } } }`, { id: sch }, bob))).toBe('NOT_FOUND')
    expect((await t.ok(`query($id: ID!) { jobSchedule(id: $id) { template { name } } }`, { id: sch }, alice)).jobSchedule.template.name).toBe('legacy-private')
  })
})

describe('admins', () => {
  it("read other users' PRIVATE templates, schedules, runs and logs, and change them as admins may", async () => {
    const priv = await template('alice-only', 'PRIVATE', alice, 'alice private work')
    const sch = await schedule('alice-only-sch', priv, 'PRIVATE', alice)
    const run = (await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: priv }, alice)).triggerJobRun.id
    await eventually(async () => (await t.ok(`query($id: ID!) { jobRun(id: $id) { status } }`, { id: run }, alice)).jobRun.status === 'SUCCEEDED', { what: 'run to finish' })

    const q = `query($tpl: ID!, $sch: ID!, $run: ID!, $f: JobRunFilter) {
      jobTemplates { name } jobTemplate(id: $tpl) { name config schedules { name } }
      jobSchedules { name } jobSchedule(id: $sch) { name template { name } }
      jobRuns(filter: $f) { totalCount } jobRun(id: $run) { template { name } schedule { name } }
      jobRunLog(runId: $run) { lines { text } }
    }`
    const vars = { tpl: priv, sch, run, f: { templateIds: [priv] } }
    const d = await t.ok(q, vars, admin)
    expect(d.jobTemplates.map((x: { name: string }) => x.name)).toContain('alice-only')
    expect(d.jobTemplate).toEqual({ name: 'alice-only', config: { message: 'alice private work' }, schedules: [{ name: 'alice-only-sch' }] })
    expect(d.jobSchedules.map((x: { name: string }) => x.name)).toContain('alice-only-sch')
    expect(d.jobSchedule).toEqual({ name: 'alice-only-sch', template: { name: 'alice-only' } })
    expect(d.jobRuns.totalCount).toBe(1)
    expect(d.jobRun.template).toEqual({ name: 'alice-only' })
    expect(d.jobRunLog.lines.map((l: { text: string }) => l.text)).toContain('alice private work')
    // Bob, an operator, still sees none of it.
    expect(code(await t.gql(q, vars, bob))).toBe('NOT_FOUND')

    // Writes where the admin role allows them: edit, trigger, pause and delete.
    await t.ok(`mutation($id: ID!) { updateJobTemplate(id: $id, input: { description: "checked by admin" }) { id } }`, { id: priv }, admin)
    await t.ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: priv }, admin)
    await t.ok(`mutation($id: ID!) { setJobScheduleActive(id: $id, active: false) { active } }`, { id: sch }, admin)
    await t.ok(`mutation($id: ID!) { deleteJobSchedule(id: $id) }`, { id: sch }, admin)
    expect((await t.ok(`query($id: ID!) { jobTemplate(id: $id) { description schedules { name } } }`, { id: priv }, alice)).jobTemplate).toEqual({ description: 'checked by admin', schedules: [] })
  })
})
