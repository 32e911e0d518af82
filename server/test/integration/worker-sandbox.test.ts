/**
 * Security issue #9 through the GraphQL API, with real ansible and a real sshd:
 *
 * - An operator allowed to author code-executing job types (SWITCHYARD_WORKER_CODE_ROLES=ADMIN,OPERATOR)
 *   runs a playbook whose tasks run on the worker (`delegate_to: localhost`, a `connection: local` play,
 *   lookups). They must find no server environment, run as the unprivileged run-as user, and be refused the
 *   data directory's secret.key and the server's /proc environ — the escalation the issue reported.
 * - The same template stops running once its owner loses the role (checked again at run time).
 * - A target named with Jinja (`j{{lookup('pipe',…)}}`) is inert: the pipe never runs, the target still
 *   runs under an alias.
 *
 * The data directory is left world-readable before start, as an old install might: start-up tightens it.
 */
import { existsSync, statSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../harness/app.ts'
import { runHelpers } from '../harness/run-helpers.ts'
import { isRoot, runAsUser } from '../harness/run-as.ts'
import { startSshd, type TestSshd } from '../harness/sshd.ts'

let t: TestApp
let sshd: TestSshd
let base: string
let dataDir: string
let operator: string
const marker = `/tmp/sw-jinja-${process.pid}-${Date.now()}`

const { createTemplate, trigger, waitFor, logLines } = runHelpers(() => t, { runFields: 'id status error targets { name status error result }', defaultTimeoutMs: 150_000 })
const createAs = async (token: string, input: Record<string, unknown>) =>
  (await t.ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { visibility: 'GLOBAL', ...input } }, token)).createJobTemplate.id as string

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'switchyard-sandbox-'))
  await chmod(base, 0o755) // like /var/lib: anyone may traverse to the data directory
  dataDir = join(base, 'data')
  await mkdir(dataDir, { mode: 0o755 })
  await chmod(dataDir, 0o755)
  await writeFile(join(dataDir, 'secret.key'), Buffer.alloc(32, 9).toString('base64') + '\n', { mode: 0o644 })
  await chmod(join(dataDir, 'secret.key'), 0o644)
  sshd = await startSshd({ count: 1 })
  t = await startTestApp({
    env: { SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_SECRET_KEY: undefined, SWITCHYARD_WORKER_CODE_ROLES: 'ADMIN,OPERATOR' },
  })
  operator = await t.userToken('OPERATOR', 'mallory')
  const credentialId = (await t.ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'sb-key', kind: 'PRIVATE_KEY', username: sshd.user, privateKey: sshd.privateKey } }))
    .createCredential.id
  const create = `mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`
  await t.ok(create, { i: { name: 'sb-1', host: sshd.hosts[0]!, port: sshd.port, credentialId, tags: ['sandbox'] } })
  await t.ok(create, { i: { name: `j{{lookup('pipe','touch\${IFS}${marker}')}}`, host: sshd.hosts[0]!, port: sshd.port, credentialId, tags: ['jinja'] } })
}, 120_000)

afterAll(async () => {
  await t?.stop()
  await sshd?.stop()
  if (base) await rm(base, { recursive: true, force: true })
  await rm(marker, { force: true })
})

/** Everything the playbook's worker-side tasks could find, printed as `probe …` lines. */
const probePlaybook = (secretKey: string) => `
- hosts: all
  gather_facts: false
  tasks:
    - name: probe the worker
      delegate_to: localhost
      shell: |
        echo "probe uid=$(id -u)"
        echo "probe env=$(env | cut -d= -f1 | sort | tr '\\n' ',')"
        echo "probe database_url=\${DATABASE_URL:-unset}"
        echo "probe secret=$(cat ${secretKey} 2>&1)"
        echo "probe environ=$(cat /proc/${process.pid}/environ 2>&1 | tr '\\0' ',' | head -c 200)"
      register: probe
      changed_when: false
    - debug: var=probe.stdout_lines
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - debug:
        msg: "probe lookup uid={{ lookup('pipe', 'id -u') }} db=[{{ lookup('env', 'DATABASE_URL') }}] admin=[{{ lookup('env', 'SWITCHYARD_ADMIN_PASSWORD') }}]"
`

describe.runIf(isRoot)('processes of runs on the worker (as root: run as SWITCHYARD_RUN_AS_USER)', () => {
  it('start-up tightened the data directory left readable by others', () => {
    expect(statSync(dataDir).mode & 0o077).toBe(0)
    expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600)
  })

  it("an operator's playbook finds no server environment, runs as the run-as user and cannot read secret.key or the server's environ", async () => {
    const tpl = await createAs(operator, { name: 'escalate', jobType: 'ansible_playbook', config: { playbook: probePlaybook(join(dataDir, 'secret.key')) }, targetSelector: { tags: ['sandbox'] } })
    const id = await trigger(tpl)
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    const lines = await logLines(id)
    const text = lines.map((l) => l.text).join('\n')
    expect(r.status, JSON.stringify([r, lines])).toBe('SUCCEEDED')
    // Not root: the run-as user, on the delegated task and in the lookup alike.
    expect(text).toContain(`probe uid=${runAsUser!.uid}`)
    expect(text).toContain(`probe lookup uid=${runAsUser!.uid} db=[] admin=[]`)
    // Nothing of the server's environment: only the allowlist and ansible's own variables.
    const envNames = /probe env=([^"]*)/.exec(text)?.[1]?.split(',').filter(Boolean) ?? []
    expect(envNames.length, text).toBeGreaterThan(0)
    expect(envNames.filter((n) => !/^(PATH|LANG|LC_ALL|HOME|TMPDIR|PWD|SHLVL|_|PYTHONUNBUFFERED|ANSIBLE_[A-Z_]+)$/.test(n)), text).toEqual([])
    expect(text).toContain('probe database_url=unset')
    // The data directory and the server's process are out of reach.
    expect(text).toMatch(/probe secret=cat: \S*secret\.key: Permission denied/)
    expect(text).toMatch(/probe environ=cat: \/proc\/\d+\/environ: Permission denied/)
    expect(text).not.toContain(Buffer.alloc(32, 9).toString('base64'))
    expect(text).toContain(`local processes of this run run as ${runAsUser!.name} (SWITCHYARD_RUN_AS_USER)`)
  }, 300_000)

  it('a template whose owner has lost the right to author worker code no longer runs', async () => {
    const demoted = await t.userToken('OPERATOR', 'demoted')
    const tpl = await createAs(demoted, { name: 'later', jobType: 'ansible_playbook', config: { playbook: '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: "true"\n' }, targetSelector: { tags: ['sandbox'] } })
    const { users } = await t.ok(`{ users { id username } }`)
    const user = users.find((u: { username: string }) => u.username === 'demoted')
    await t.ok(`mutation($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { id } }`, { id: user.id, i: { role: 'VIEWER' } })
    const r = await waitFor(await trigger(tpl), ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('FAILED')
    expect(r.error).toMatch(/not started: the template's owner demoted is VIEWER; job type ansible_playbook executes code on the worker: only ADMIN, OPERATOR may/)
    expect(r.targets.every((x: { status: string }) => x.status === 'FAILED')).toBe(true)
  }, 120_000)

  it("a disabled owner's template does not run, though the role still may author worker code", async () => {
    const leaver = await t.userToken('OPERATOR', 'leaver')
    const tpl = await createAs(leaver, { name: 'leaver-play', jobType: 'ansible_playbook', config: { playbook: '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: "true"\n' }, targetSelector: { tags: ['sandbox'] } })
    const { users } = await t.ok(`{ users { id username } }`)
    const user = users.find((u: { username: string }) => u.username === 'leaver')
    await t.ok(`mutation($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { id } }`, { id: user.id, i: { disabled: true } })
    // Triggered by an admin: the run still executes the disabled owner's code.
    const r = await waitFor(await trigger(tpl), ['SUCCEEDED', 'FAILED'])
    expect(r.status).toBe('FAILED')
    expect(r.error).toMatch(/not started: the template's owner leaver is disabled; job type ansible_playbook executes code on the worker/)
    expect(r.targets.every((x: { status: string }) => x.status === 'FAILED')).toBe(true)
  }, 120_000)
})

describe('inventory host names are inert', () => {
  it("a target named j{{lookup('pipe',…)}} never runs the pipe; it runs under an alias", async () => {
    const tpl = await createTemplate({
      name: 'jinja-name',
      jobType: 'ansible_playbook',
      config: { playbook: '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: "host {{ inventory_hostname }} in {{ groups.all }}"\n    - command: echo hi\n' },
      targetSelector: { tags: ['jinja'] },
    })
    const id = await trigger(tpl)
    const r = await waitFor(id, ['SUCCEEDED', 'FAILED'])
    const lines = await logLines(id)
    expect(existsSync(marker), 'the pipe lookup in the target name ran').toBe(false)
    expect(r.status, JSON.stringify([r, lines])).toBe('SUCCEEDED')
    expect(r.targets).toEqual([expect.objectContaining({ status: 'SUCCEEDED', result: expect.objectContaining({ ok: 2, failed: 0 }) })])
    expect(lines.some((l) => l.text.endsWith('is not a plain host name: it is switchyard_target_1 in the inventory and the output'))).toBe(true)
    expect(lines.some((l) => l.text.includes('"msg": "host switchyard_target_1 in [\'switchyard_target_1\']"'))).toBe(true)
  }, 300_000)
})
