/**
 * Step outputs end to end, against real Postgres and a real OpenSSH sshd: a `command` step writes
 * $SWITCHYARD_OUTPUTS (key=value and JSON), the run and its targets show them (SECRET ones masked),
 * a downstream workflow node receives them as parameters, and the secret appears in no log, API field,
 * workflow event or stored column; only the final successful attempt publishes; the caps; declarations.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { expectFieldError, runHelpers } from '../harness/run-helpers.ts'
import { startSshd, unusedLoopbackPort, type TestSshd } from '../harness/sshd.ts'
import { workflowHelpers } from '../harness/workflow-helpers.ts'

let t: TestApp
let sshd: TestSshd
const ids: Record<string, string> = {}
const { createTemplate, trigger, waitFor, logLines } = runHelpers(() => t, {
  runFields: 'id status attempt error parameters outputs targets { name status error outputTail outputs }',
})
const wf = workflowHelpers(() => t)
const markers: string[] = []

/** The secret is computed on the target, so it is never part of a command line (which the log shows). */
const SECRET = 'swtok-42-zz9q'
const MAKE_SECRET = 'tok="swtok-$((6*7))-zz9q"'

function runUuid(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!
}

async function storedColumns(globalId: string): Promise<string> {
  const { rows } = await t.app.db.pool.query(
    `SELECT r.parameters::text, r.result::text, r.error, t.outputs::text, t.output_tail, t.error AS terror, encode(t.secret_outputs, 'escape') AS sealed
       FROM job_run r LEFT JOIN run_target t ON t.run_id = r.id WHERE r.id = $1`,
    [runUuid(globalId)],
  )
  return JSON.stringify(rows)
}

beforeAll(async () => {
  sshd = await startSshd({ count: 2 })
  t = await startTestApp()
  const cred = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'ssh', kind: 'PASSWORD', username: sshd.user, password: sshd.password } })).createCredential.id
  const target = async (name: string, host: string, tags: string[]) =>
    (await t.ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name, host, port: sshd.port, credentialId: cred, tags } })).createTarget.id
  ids.cred = cred
  ids.one = await target('db.example.net', sshd.hosts[0]!, ['one', 'both'])
  ids.two = await target('db-2', sshd.hosts[1]!, ['both'])
})

afterAll(async () => {
  await t?.stop()
  await sshd?.stop()
  for (const m of markers) rmSync(m, { force: true })
})

describe('a step publishes outputs', () => {
  it('key=value lines with declared kinds: the run and its target show them, SECRET masked, and the temp file is gone', async () => {
    const tpl = await createTemplate({
      name: 'publish',
      jobType: 'command',
      targetSelector: { targetIds: [ids.one] },
      outputs: [{ name: 'count', kind: 'NUMBER' }, { name: 'token', kind: 'SECRET', description: 'generated' }, { name: 'ok', kind: 'BOOL' }, { name: 'meta', kind: 'JSON' }],
      config: {
        commands: [
          `echo "path=$SWITCHYARD_OUTPUTS" >> "$SWITCHYARD_OUTPUTS"; echo 'host=db1' >> "$SWITCHYARD_OUTPUTS"; echo 'count=3' >> "$SWITCHYARD_OUTPUTS"`,
          `${MAKE_SECRET}; echo "token=$tok" >> "$SWITCHYARD_OUTPUTS"; echo "printing the token: $tok"; printf 'ok=true\\nmeta={"a":[1,2]}\\n# a comment\\n\\n note = kept as is \\n' >> "$SWITCHYARD_OUTPUTS"`,
        ],
      },
    })
    // A notification rule for it: the payload carries the outputs as the API shows them.
    const url = `http://127.0.0.1:${await unusedLoopbackPort()}/hook`
    const channel = (await t.ok(`mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, { i: { name: 'hook', url, secretCredentialId: ids.cred } })).createNotificationChannel.id
    await t.ok(`mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { id } }`, { i: { name: 'on success', events: ['RUN_SUCCEEDED'], channelIds: [channel], templateIds: [tpl] } })
    const id = await trigger(tpl)
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    expect(r.status, JSON.stringify(r)).toBe('SUCCEEDED')
    const path = r.targets[0].outputs.path as string
    expect(path).toMatch(/^\/tmp\/switchyard-outputs\.\w{10}$/)
    expect(existsSync(path)).toBe(false)
    const expected = { path, host: 'db1', count: 3, token: '••••••', ok: true, meta: { a: [1, 2] }, note: ' kept as is ' }
    expect(r.targets[0].outputs).toEqual(expected)
    // One target: the run's outputs are that target's.
    expect(r.outputs).toEqual(expected)
    const log = await logLines(id)
    const text = log.map((l) => l.text).join('\n')
    expect(text).not.toContain(SECRET)
    expect(text).toContain('printing the token: ••••••')
    expect(log.find((l) => l.text.startsWith('published 7 outputs'))?.text).toContain('(SECRET: token)')
    expect(r.targets[0].outputTail).toContain('printing the token: ••••••')
    const deliveries = (await t.ok(`query($run: ID) { notificationDeliveries(jobRunId: $run) { payload } }`, { run: id })).notificationDeliveries
    expect(deliveries).toHaveLength(1)
    expect(deliveries[0].payload.run.outputs).toEqual(expected)
    expect(JSON.stringify(deliveries)).not.toContain(SECRET)
    expect(await storedColumns(id)).not.toContain(SECRET)
  })

  it('one JSON object, from a script; with two targets the run shows outputs by target name', async () => {
    const tpl = await createTemplate({
      name: 'json',
      jobType: 'script',
      targetSelector: { tags: ['both'] },
      config: { script: `printf '{"name": "%s", "n": 2, "list": ["x"]}' "$1" > "$SWITCHYARD_OUTPUTS"`, arguments: ['{{ target.name }}'] },
    })
    const r = await waitFor(await trigger(tpl), ['SUCCEEDED', 'FAILED'])
    expect(r.status, JSON.stringify(r)).toBe('SUCCEEDED')
    expect(r.outputs).toEqual({
      'db.example.net': { name: 'db.example.net', n: 2, list: ['x'] },
      'db-2': { name: 'db-2', n: 2, list: ['x'] },
    })
    // The same view in SQL (notification payloads): compare with what the outbox function computes.
    const { rows } = await t.app.db.pool.query(
      `SELECT CASE WHEN count(*) = 1 THEN (array_agg(t.outputs))[1] ELSE jsonb_object_agg(t.name, t.outputs) FILTER (WHERE t.outputs IS NOT NULL) END AS o FROM run_target t WHERE t.run_id = $1`,
      [runUuid(r.id)],
    )
    expect(rows[0].o).toEqual(r.outputs)
  })

  it('only the final successful attempt publishes: a failed attempt\'s outputs are discarded', async () => {
    const marker = `/tmp/switchyard-outputs-test-${randomBytes(6).toString('hex')}`
    markers.push(marker)
    const tpl = await createTemplate({
      name: 'retrying',
      jobType: 'command',
      targetSelector: { targetIds: [ids.one] },
      retryMaxAttempts: 2,
      config: { commands: [`if [ -e ${marker} ]; then echo 'attempt=2' >> "$SWITCHYARD_OUTPUTS"; else touch ${marker}; printf 'attempt=1\\nstale=yes\\n' >> "$SWITCHYARD_OUTPUTS"; exit 1; fi`] },
    })
    const r = await waitFor(await trigger(tpl), ['SUCCEEDED', 'FAILED'])
    expect(r).toMatchObject({ status: 'SUCCEEDED', attempt: 2 })
    expect(r.targets[0].outputs).toEqual({ attempt: '2' })
    expect(r.outputs).toEqual({ attempt: '2' })
  })

  it('a failed step publishes nothing', async () => {
    const tpl = await createTemplate({ name: 'fails', jobType: 'command', targetSelector: { targetIds: [ids.one] }, config: { commands: [`echo 'x=1' >> "$SWITCHYARD_OUTPUTS"; exit 4`] } })
    const r = await waitFor(await trigger(tpl), ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('FAILED')
    expect(r.targets[0].outputs).toBeNull()
    expect(r.outputs).toBeNull()
  })

  it('caps: a file over 64 KiB publishes nothing; past 200 keys, bad names and wrong kinds are dropped — each with a warning', async () => {
    const big = await createTemplate({ name: 'big', jobType: 'command', targetSelector: { targetIds: [ids.one] }, config: { commands: [`head -c 70000 /dev/zero | tr '\\0' a | sed 's/^/k=/' > "$SWITCHYARD_OUTPUTS"`] } })
    const b = await waitFor(await trigger(big), ['SUCCEEDED', 'FAILED'])
    expect(b.status).toBe('SUCCEEDED')
    expect(b.targets[0].outputs).toBeNull()
    expect((await logLines(b.id)).filter((l) => l.level === 'WARNING').map((l) => l.text)).toEqual([expect.stringContaining('larger than 65536 bytes')])

    const many = await createTemplate({
      name: 'many',
      jobType: 'command',
      targetSelector: { targetIds: [ids.one] },
      outputs: [{ name: 'n', kind: 'NUMBER' }],
      config: { commands: [`printf 'n=abc\\n9bad=1\\nno equals sign\\n' > "$SWITCHYARD_OUTPUTS"; i=0; while [ $i -lt 250 ]; do echo "k$i=$i"; i=$((i+1)); done >> "$SWITCHYARD_OUTPUTS"`] },
    })
    const m = await waitFor(await trigger(many), ['SUCCEEDED', 'FAILED'])
    expect(m.status).toBe('SUCCEEDED')
    expect(Object.keys(m.targets[0].outputs)).toHaveLength(200)
    expect(m.targets[0].outputs.k199).toBe('199')
    const warnings = (await logLines(m.id)).filter((l) => l.level === 'WARNING').map((l) => l.text)
    expect(warnings).toEqual(expect.arrayContaining([
      expect.stringContaining('"9bad" ignored'),
      expect.stringContaining('line 3 has no "="'),
      expect.stringContaining('output "n" ignored: declared NUMBER'),
      expect.stringContaining('50 outputs were dropped: at most 200'),
    ]))
  })
})

describe('template output declarations', () => {
  const CREATE = `mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id outputs { name kind description } } }`
  it('are validated with field-named errors and read back', async () => {
    const base = { name: 'decl', jobType: 'command', config: { commands: ['true'] }, visibility: 'GLOBAL' }
    expectFieldError(await t.gql(CREATE, { i: { ...base, outputs: [{ name: '9x' }] } }), 'input.outputs.0.name')
    expectFieldError(await t.gql(CREATE, { i: { ...base, outputs: [{ name: 'a' }, { name: 'a', kind: 'NUMBER' }] } }), 'input.outputs.1.name')
    expectFieldError(await t.gql(CREATE, { i: { ...base, outputs: Array.from({ length: 201 }, (_, i) => ({ name: `o${i}` })) } }), 'input.outputs')
    expectFieldError(await t.gql(CREATE, { i: { ...base, jobType: 'noop', config: {}, outputs: [{ name: 'a' }] } }), 'input.outputs')
    const { jobTypes } = await t.ok(`{ jobTypes { type publishesOutputs } }`)
    expect(jobTypes.filter((j: { publishesOutputs: boolean }) => j.publishesOutputs).map((j: { type: string }) => j.type).sort()).toEqual(['command', 'script'])
    const d = await t.ok(CREATE, { i: { ...base, outputs: [{ name: 'a' }, { name: 'tok', kind: 'SECRET', description: 'd' }] } })
    expect(d.createJobTemplate.outputs).toEqual([{ name: 'a', kind: 'STRING', description: '' }, { name: 'tok', kind: 'SECRET', description: 'd' }])
    // Changing the job type to one without outputs while declarations remain is refused.
    expectFieldError(
      await t.gql(`mutation($id: ID!, $i: UpdateJobTemplateInput!) { updateJobTemplate(id: $id, input: $i) { id } }`, { id: d.createJobTemplate.id, i: { jobType: 'noop', config: {} } }),
      'input.outputs',
    )
  })
})

describe('outputs flow into downstream workflow nodes', () => {
  let producer: string
  let consumer: string
  beforeAll(async () => {
    producer = await createTemplate({
      name: 'producer',
      jobType: 'command',
      targetSelector: { targetIds: [ids.one] },
      outputs: [{ name: 'count', kind: 'NUMBER' }, { name: 'token', kind: 'SECRET' }],
      config: { commands: [`${MAKE_SECRET}; printf 'host=db1\\ncount=3\\ntoken=%s\\n' "$tok" > "$SWITCHYARD_OUTPUTS"; echo "made $tok"`] },
    })
    consumer = await createTemplate({
      name: 'consumer',
      jobType: 'command',
      targetSelector: { targetIds: [ids.one] },
      parameters: [{ name: 'host', type: 'STRING' }, { name: 'count', type: 'INT' }, { name: 'token', type: 'SECRET' }, { name: 'status', type: 'STRING' }],
      config: { commands: ['echo got host={{ host }} count={{ count }} after {{ status }}', 'test {{ token }} = "swtok-$((6*7))-zz9q" && echo token-ok', 'echo token is {{ token }}'] },
    })
  })

  it('a SECRET output may go only into a SECRET parameter (checked at save)', async () => {
    const r = await t.gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, {
      i: {
        name: 'leaky',
        visibility: 'GLOBAL',
        nodes: [{ key: 'a', templateId: producer }, { key: 'b', templateId: consumer, parameters: { host: '{{ nodes.a.outputs.token }}', token: '{{ nodes.a.outputs.host }}' } }],
        edges: [{ from: 'a', to: 'b', kind: 'ON_SUCCESS' }],
      },
    })
    expectFieldError(r, 'input.nodes.1.parameters.host')
    expectFieldError(r, 'input.nodes.1.parameters.token')
    expectFieldError(
      await t.gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, { i: { name: 'bad-ref', nodes: [{ key: 'a', templateId: producer }, { key: 'b', templateId: consumer, parameters: { host: '{{ nodes.a.outputs..x }}' } }], edges: [{ from: 'a', to: 'b', kind: 'ON_SUCCESS' }] } }),
      'input.nodes.1.parameters.host',
    )
    // A job type that publishes no outputs: a reference to its outputs could never resolve.
    const noop = await createTemplate({ name: 'quiet', jobType: 'noop', config: {} })
    const r2 = await t.gql(`mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }`, {
      i: { name: 'no-outputs', nodes: [{ key: 'q', templateId: noop }, { key: 'b', templateId: consumer, parameters: { host: 'x-{{ nodes.q.outputs.h }}' } }], edges: [{ from: 'q', to: 'b', kind: 'ON_SUCCESS' }] },
    })
    expectFieldError(r2, 'input.nodes.1.parameters.host')
    expect(JSON.stringify(r2.errors)).toContain('runs job type noop, which publishes no step outputs')
  })

  it('node B gets A\'s outputs and status; the SECRET one works on the target but is masked in logs, API, events and columns', async () => {
    const wid = await wf.create({
      name: 'pass outputs',
      nodes: [
        { key: 'a', templateId: producer },
        { key: 'b', templateId: consumer, parameters: { host: '{{ nodes.a.outputs.host }}', count: '{{ nodes.a.outputs.count }}', token: '{{ nodes.a.outputs.token }}', status: '{{ nodes.a.status }}' } },
      ],
      edges: [{ from: 'a', to: 'b', kind: 'ON_SUCCESS' }],
    })
    const runId = await wf.trigger(wid)
    const run = await wf.waitEnd(runId)
    expect(run.status, JSON.stringify(run)).toBe('SUCCEEDED')
    const a = run.node('a').jobRun!
    const b = run.node('b').jobRun!
    expect(b.parameters).toEqual({ host: 'db1', count: 3, token: '••••••', status: 'SUCCEEDED' })
    const bLog = (await logLines(b.id)).map((l) => l.text)
    expect(bLog).toEqual(expect.arrayContaining(['got host=db1 count=3 after SUCCEEDED', 'token-ok', 'token is ••••••']))
    const aLog = (await logLines(a.id)).map((l) => l.text)
    expect(aLog).toContain('made ••••••')
    for (const line of [...aLog, ...bLog]) expect(line).not.toContain(SECRET)
    // The API: the node, its run and its targets.
    const api = await t.ok(`query($id: ID!) { workflowRun(id: $id) { nodes { key outputs jobRun { outputs parameters targets { outputs outputTail } } } } }`, { id: runId })
    expect(api.workflowRun.nodes.find((n: { key: string }) => n.key === 'a').outputs).toEqual({ host: 'db1', count: 3, token: '••••••' })
    expect(JSON.stringify(api)).not.toContain(SECRET)
    // Stored columns and the workflow's event log.
    expect(await storedColumns(a.id)).not.toContain(SECRET)
    expect(await storedColumns(b.id)).not.toContain(SECRET)
    const events = await t.app.db.pool.query(`SELECT * FROM workflow_run_event WHERE workflow_run_id = $1`, [runUuid(runId)])
    expect(events.rows.length).toBeGreaterThan(2)
    expect(JSON.stringify(events.rows)).not.toContain(SECRET)
  })

  it('an unresolvable output reference fails the node before it starts, with the reason', async () => {
    const wid = await wf.create({
      name: 'missing output',
      nodes: [{ key: 'a', templateId: producer }, { key: 'b', templateId: consumer, parameters: { host: '{{ nodes.a.outputs.nope }}' } }],
      edges: [{ from: 'a', to: 'b', kind: 'ON_SUCCESS' }],
    })
    const run = await wf.waitEnd(await wf.trigger(wid))
    expect(run.status).toBe('FAILED')
    expect(run.node('b')).toMatchObject({ status: 'FAILED', jobRun: null })
    expect(run.node('b').reason).toContain('nodes.a.outputs has no "nope"')
  })
})
