/**
 * /metrics scraped by a real Prometheus (Debian's package) from a real Switchyard process: the target
 * is up (and a scrape job with the wrong bearer token is not), and after known runs — three noop runs
 * that succeed, one command run on a port where nothing listens (notifying two webhook receivers, one
 * of which refuses it), a run whose worker vanished, failed by the reaper — the key series have exactly
 * the expected values, read back through Prometheus's HTTP query API. Labels carry no ids.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../harness/app.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { startPrometheus, type TestPrometheus } from '../harness/prometheus.ts'
import { unusedLoopbackPort } from '../harness/sshd.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'
import { apiClient } from '../harness/api-client.ts'

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789'
let db: TestDatabase
let server: WorkerProcess
let worker: WorkerProcess
let prom: TestPrometheus
/** A webhook receiver: /ok answers 200, anything else 400 (a refusal, never retried). */
const receiver = http.createServer((req, res) => {
  req.resume()
  req.on('end', () => res.writeHead(req.url === '/ok' ? 200 : 400).end())
})

const api = apiClient(() => server.url!)
const ok = api.gql

async function runToEnd(templateId: string): Promise<string> {
  const id = (await ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: templateId })).triggerJobRun.id
  return eventually(async () => {
    const s = (await ok(`query($id: ID!) { jobRun(id: $id) { status } }`, { id })).jobRun.status as string
    return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(s) ? s : null
  }, { what: 'the run to end' })
}

/** The single value of `expr` once Prometheus has scraped it equal to `want`. */
async function settlesTo(expr: string, want: number): Promise<void> {
  let last: unknown
  await eventually(async () => {
    const r = await prom.query(expr)
    last = r
    return r.length === 1 && r[0]!.value === want
  }, { what: `${expr} == ${want} (last: ${JSON.stringify(last)})`, timeoutMs: 30_000 }).catch((e) => {
    throw new Error(`${(e as Error).message}; last: ${JSON.stringify(last)}`)
  })
}

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  db = await createTestDatabase('metrics')
  server = await spawnWorker(db.url, 'api,worker,scheduler', { env: { SWITCHYARD_TEST_CONFIG: JSON.stringify({ SWITCHYARD_METRICS_TOKEN: METRICS_TOKEN }) } })
  // A second process with only the worker role: no API, its ops endpoints on SWITCHYARD_OPS_PORT.
  worker = await spawnWorker(db.url, 'worker', { env: { SWITCHYARD_TEST_CONFIG: JSON.stringify({ SWITCHYARD_METRICS_TOKEN: METRICS_TOKEN, SWITCHYARD_OPS_PORT: '0' }) } })
  await api.login()
  const target = new URL(server.url!).host
  prom = await startPrometheus([
    { name: 'switchyard', target, bearerToken: METRICS_TOKEN },
    { name: 'worker', target: new URL(worker.opsUrl!).host, bearerToken: METRICS_TOKEN },
    { name: 'wrong-token', target, bearerToken: 'not-the-metrics-token-at-all' },
  ])
}, 60_000)

afterAll(async () => {
  await prom?.stop()
  await worker?.stop()
  await server?.stop()
  await db?.drop()
  await new Promise((resolve) => receiver.close(resolve))
})

describe('Prometheus /metrics', () => {
  it('a worker-only process serves /livez, /readyz and /metrics on SWITCHYARD_OPS_PORT, and nothing else', async () => {
    expect(worker.url).toBeNull()
    expect(await (await fetch(`${worker.opsUrl}/livez`)).json()).toEqual({ status: 'ok' })
    const ready = await fetch(`${worker.opsUrl}/readyz`)
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 200,
      body: { status: 'ok', checks: { database: { ok: true }, migrations: { ok: true }, queue: { ok: true }, listen: { ok: true } } },
    })
    expect((await fetch(`${worker.opsUrl}/metrics`)).status).toBe(401)
    expect((await fetch(`${worker.opsUrl}/graphql`, { method: 'POST', body: '{}' })).status).toBe(404)
    expect((await fetch(`${worker.opsUrl}/`)).status).toBe(404)
  })

  it('asks for the bearer token when one is configured', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  })

  it('is scraped by a real Prometheus: the target is up and the key series count known runs exactly', async () => {
    const noop = (await ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'noop', jobType: 'noop', config: {} } })).createJobTemplate.id
    for (let i = 0; i < 3; i++) expect(await runToEnd(noop)).toBe('SUCCEEDED')

    // One command run whose only target refuses the connection: FAILED, one SSH failure "refused".
    const cred = (await ok(`mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }`, { i: { name: 'c', kind: 'PASSWORD', username: 'nobody', password: 'irrelevant' } })).createCredential.id
    const port = await unusedLoopbackPort()
    const target = (await ok(`mutation($i: CreateTargetInput!) { createTarget(input: $i) { id } }`, { i: { name: 'nothing-there', host: '127.0.0.1', port, credentialId: cred } })).createTarget.id
    const cmd = (await ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, { i: { name: 'refused', jobType: 'command', config: { commands: ['true'] }, targetSelector: { targetIds: [target] } } })).createJobTemplate.id
    // Its failure notifies two webhook channels: one delivered, one refused (400: given up at once).
    const hooks = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
    const channel = async (name: string, path: string) =>
      (await ok(`mutation($i: CreateNotificationChannelInput!) { createNotificationChannel(input: $i) { id } }`, { i: { name, url: `${hooks}${path}`, secretCredentialId: cred } })).createNotificationChannel.id
    const channelIds = [await channel('accepts', '/ok'), await channel('refuses', '/no')]
    await ok(`mutation($i: CreateNotificationRuleInput!) { createNotificationRule(input: $i) { id } }`, { i: { name: 'failures', events: ['RUN_FAILED'], templateIds: [cmd], channelIds } })
    expect(await runToEnd(cmd)).toBe('FAILED')

    // A noop run left RUNNING by a worker that no longer exists (no worker row): the reaper fails it.
    const direct = new pg.Client({ connectionString: db.url })
    await direct.connect()
    try {
      await direct.query(
        `INSERT INTO job_run
         SELECT (jsonb_populate_record(NULL::job_run, to_jsonb(r) || jsonb_build_object(
                  'id', gen_random_uuid(), 'number', nextval(pg_get_serial_sequence('job_run', 'number')), 'status', 'RUNNING',
                  'worker_id', gen_random_uuid(), 'attempt', 1, 'max_attempts', 1, 'started_at', now() - interval '5 seconds',
                  'heartbeat_at', now() - interval '1 hour', 'finished_at', NULL, 'error', NULL, 'schedule_id', NULL, 'slot_at', NULL))).*
           FROM job_run r WHERE r.job_type = 'noop' AND r.status = 'SUCCEEDED' LIMIT 1`,
      )
    } finally {
      await direct.end()
    }

    // One more refused run whose retry waits an hour: requeued (not finished), it stays QUEUED — queue depth 1.
    const delayed = (await ok(`mutation($i: CreateJobTemplateInput!) { createJobTemplate(input: $i) { id } }`, {
      i: { name: 'retry-later', jobType: 'command', config: { commands: ['true'] }, targetSelector: { targetIds: [target] }, retryMaxAttempts: 2, retryDelaySeconds: 3600 },
    })).createJobTemplate.id
    const waiting = (await ok(`mutation($id: ID!) { triggerJobRun(templateId: $id) { id } }`, { id: delayed })).triggerJobRun.id
    await eventually(async () => {
      const r = (await ok(`query($id: ID!) { jobRun(id: $id) { status attempt } }`, { id: waiting })).jobRun
      return r.status === 'QUEUED' && r.attempt === 1
    }, { what: 'the first attempt to fail and the run to wait for its retry' })

    // A ONCE schedule of the noop template, a moment from now: one fired slot, one more noop success.
    const at = new Date(Date.now() + 2000).toISOString().slice(0, 19)
    await ok(`mutation($i: CreateJobScheduleInput!) { createJobSchedule(input: $i) { id } }`, { i: { name: 'soon', templateId: noop, kind: 'ONCE', onceAt: at, timezone: 'UTC' } })

    // Each process is its own target; run series are summed over both workers (either may take a run).
    await settlesTo('up{job="switchyard"}', 1)
    await settlesTo('up{job="worker"}', 1)
    await settlesTo('up{job="wrong-token"}', 0)
    await settlesTo('sum(switchyard_runs_finished_total{status="SUCCEEDED",job_type="noop"})', 4)
    await settlesTo('sum(switchyard_runs_started_total{job_type="noop"})', 4)
    await settlesTo('sum(switchyard_schedule_fire_lateness_seconds_count)', 1)
    await settlesTo('sum(switchyard_runs_finished_total{status="FAILED",job_type="command"})', 1)
    await settlesTo('sum(switchyard_runs_started_total{job_type="command"})', 2)
    await settlesTo('sum(switchyard_run_duration_seconds_count{status="SUCCEEDED",job_type="noop"})', 4)
    await settlesTo('sum(switchyard_run_queue_wait_seconds_count{job_type="noop"})', 4)
    await settlesTo('sum(switchyard_ssh_connect_failures_total{reason="refused"})', 2)
    // The reaped run is a finished run too (counted by the process whose reaper settled it).
    await settlesTo('sum(switchyard_runs_finished_total{status="FAILED",job_type="noop"})', 1)
    await settlesTo('sum(switchyard_run_duration_seconds_count{status="FAILED",job_type="noop"})', 1)
    await settlesTo('sum(switchyard_run_duration_seconds_sum{status="FAILED",job_type="noop"}) >= bool 5', 1)
    // Notification deliveries, by channel kind and outcome, with their latency from the event.
    await settlesTo('sum(switchyard_notification_delivery_attempts_total{channel_kind="webhook",outcome="delivered"})', 1)
    await settlesTo('sum(switchyard_notification_delivery_attempts_total{channel_kind="webhook",outcome="failed"})', 1)
    await settlesTo('sum(switchyard_notification_delivery_attempts_total{outcome="retry"}) or vector(0)', 0)
    await settlesTo('sum(switchyard_notification_delivery_latency_seconds_count{channel_kind="webhook",outcome="delivered"})', 1)
    await settlesTo('sum(switchyard_notification_delivery_latency_seconds_count{channel_kind="webhook",outcome="failed"})', 1)
    await settlesTo('sum(switchyard_notification_request_duration_seconds_count{channel_kind="webhook"})', 2)
    // Deployment-wide gauges: both processes see the one waiting run.
    await settlesTo('switchyard_queue_depth{job="switchyard"}', 1)
    await settlesTo('switchyard_queue_depth{job="worker"}', 1)
    await settlesTo('count(switchyard_queue_oldest_age_seconds > 0)', 2)
    await settlesTo('min(switchyard_database_up)', 1)
    await settlesTo('sum(switchyard_runs_running)', 0)
    await settlesTo('sum(switchyard_worker_slots_total)', 40)
    await settlesTo('switchyard_db_pool_max{job="worker"}', 4)
    // Subscriptions are an API gauge: the worker-only process has none.
    await settlesTo('count(switchyard_subscriptions_active)', 1)
    // Every run's log went through the writer: at least its "started" line per run.
    const lines = await prom.query('sum(switchyard_log_lines_written_total)')
    expect(lines[0]!.value).toBeGreaterThanOrEqual(4)
    expect((await prom.query('sum(switchyard_log_bytes_written_total)'))[0]!.value).toBeGreaterThan(lines[0]!.value)
    // The process metrics prom-client collects by default.
    expect((await prom.query('process_resident_memory_bytes{job="switchyard"}'))[0]!.value).toBeGreaterThan(0)

    // Bounded labels: no series carries an id-like label value (uuid, base64 global id).
    const all = await prom.query('{__name__=~"switchyard_.+"}')
    const labelValues = all.flatMap((s) => Object.entries(s.metric).filter(([k]) => !['__name__', 'job', 'instance'].includes(k)).map(([, v]) => v))
    expect(labelValues.filter((v) => /[0-9a-f]{8}-[0-9a-f]{4}-|==$/.test(v))).toEqual([])
    expect(new Set(labelValues)).toEqual(new Set(['noop', 'command', 'SUCCEEDED', 'FAILED', 'refused', 'webhook', 'delivered', 'failed', ...labelValues.filter((v) => /^[\d.e+]+$|^\+Inf$/.test(v))]))
  }, 120_000)
})
