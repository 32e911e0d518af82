/**
 * The job_run outbox trigger split into small functions (20261208060000_notification_outbox_pieces) writes
 * the same outbox rows as the whole-body version it replaced (20261206100000_notification_outbox_early_exit):
 * one transaction plays a set of run transitions under the current trigger, rolls back to a savepoint,
 * installs the previous body (from its migration file), plays them again, and compares the delivery rows
 * and duration claims. One transaction, so both plays see the same now() (payloads carry durations).
 */
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MIGRATIONS_DIR } from '../../src/db/migrate.ts'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'

const PREVIOUS_BODY = fs.readFileSync(path.join(MIGRATIONS_DIR, '20261206100000_notification_outbox_early_exit', 'migration.sql'), 'utf8')

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
const U = id(1)
const [T1, T2, T3] = [id(11), id(12), id(13)]
const S1 = id(21)
const [C1, C2] = [id(31), id(32)]
const [R1, R2, R3, R4, R5, R6, R7, R8] = [41, 42, 43, 44, 45, 46, 47, 48].map(id)
const ago = (minutes: number) => `now() - interval '${minutes} minutes'`

/** A run row in QUEUED (inserting it fires nothing) or, for history and slots, in its final status. */
function run(n: number, o: { template?: string; schedule?: string; jobType?: string; status?: string; attempt?: number; started?: string; finished?: string; result?: unknown }): string {
  const v = (x: string | undefined) => (x ? `'${x}'` : 'NULL')
  return `INSERT INTO job_run (id, number, template_id, schedule_id, template_name, job_type, spec, trigger, status, attempt, created_at, started_at, finished_at, result)
          VALUES ('${id(n)}', ${900_000 + n}, ${v(o.template)}, ${v(o.schedule)}, 'pieces', '${o.jobType ?? 'noop'}', '{}', 'MANUAL', '${o.status ?? 'QUEUED'}',
                  ${o.attempt ?? 1}, ${o.started ?? 'now()'}, ${o.started ?? 'NULL'}, ${o.finished ?? 'NULL'}, ${o.result === undefined ? 'NULL' : `'${JSON.stringify(o.result)}'`});`
}
/** A run's transitions, each its own UPDATE (the trigger fires per status change). */
function transitions(n: number, steps: Array<[status: string, at: string]>): string {
  return steps
    .map(([status, at]) =>
      status === 'RUNNING'
        ? `UPDATE job_run SET status = 'RUNNING', started_at = ${at}, finished_at = NULL WHERE id = '${id(n)}';`
        : `UPDATE job_run SET status = '${status}', finished_at = ${at} WHERE id = '${id(n)}';`,
    )
    .join('\n')
}

const SCENARIO = [
  `INSERT INTO app_user (id, username, password_hash, role, updated_at) VALUES ('${U}', 'pieces', 'x', 'ADMIN', now());`,
  `INSERT INTO job_template (id, name, job_type, config, owner_id, updated_at, tags) VALUES
     ('${T1}', 'pieces-t1', 'noop', '{}', '${U}', now(), '{}'), ('${T2}', 'pieces-t2', 'noop', '{}', '${U}', now(), '{nightly}'),
     ('${T3}', 'pieces-t3', 'noop', '{}', '${U}', now(), '{}');`,
  `INSERT INTO job_schedule (id, name, kind, timezone, owner_id, template_id, updated_at) VALUES ('${S1}', 'pieces-s1', 'CRON', 'UTC', '${U}', '${T2}', now());`,
  `INSERT INTO notification_channel (id, name, updated_at) VALUES ('${C1}', 'pieces-c1', now()), ('${C2}', 'pieces-c2', now());`,
  `INSERT INTO notification_rule (id, name, enabled, events, channel_ids, template_ids, schedule_ids, tags, duration_limit_seconds, duration_p95_factor, consecutive_failures, updated_at) VALUES
     ('${R1}', 'every status', true, '{RUN_STARTED,RUN_SUCCEEDED,RUN_FAILED,RUN_TIMED_OUT,RUN_CANCELLED,SCHEDULE_SLOT_MISSED,SCHEDULE_SLOT_SKIPPED}', '{${C1},${C2}}', '{}', '{}', '{}', NULL, NULL, NULL, now()),
     ('${R2}', 't1 recovery and streak of 2', true, '{RUN_RECOVERED,CONSECUTIVE_FAILURES}', '{${C1}}', '{${T1}}', '{}', '{}', NULL, NULL, 2, now()),
     ('${R3}', 'nightly over 10 s', true, '{DURATION_EXCEEDED}', '{${C2}}', '{}', '{}', '{nightly}', 10, NULL, NULL, now()),
     ('${R4}', 't1 over 2 x p95', true, '{DURATION_EXCEEDED}', '{${C1}}', '{${T1}}', '{}', '{}', NULL, 2, NULL, now()),
     ('${R5}', 'schedule failures and backups', true, '{RUN_FAILED,CONFIG_CHANGED}', '{${C1}}', '{}', '{${S1}}', '{}', NULL, NULL, NULL, now()),
     ('${R6}', 'another template', true, '{RUN_STARTED,RUN_SUCCEEDED,RUN_FAILED}', '{${C1}}', '{${T3}}', '{}', '{}', NULL, NULL, NULL, now()),
     ('${R7}', 'disabled', false, '{RUN_STARTED,RUN_SUCCEEDED,RUN_FAILED,RUN_CANCELLED,CONSECUTIVE_FAILURES}', '{${C1}}', '{}', '{}', '{}', NULL, NULL, NULL, now()),
     ('${R8}', 'default streak (3)', true, '{CONSECUTIVE_FAILURES}', '{${C2}}', '{}', '{}', '{}', NULL, NULL, NULL, now());`,
  // T1's history: six 10 s successes (the p95 needs five).
  ...[1, 2, 3, 4, 5, 6].map((k) => run(100 + k, { template: T1, status: 'SUCCEEDED', started: ago(120 - k), finished: `${ago(120 - k)} + interval '10 seconds'` })),
  // T1: a failure streak (FAILED, TIMED_OUT, FAILED), then a slow success that recovers it; then that run again.
  run(201, { template: T1 }),
  transitions(201, [['RUNNING', ago(60)], ['FAILED', ago(59)]]),
  run(202, { template: T1 }),
  transitions(202, [['RUNNING', ago(58)], ['TIMED_OUT', ago(57)]]),
  run(203, { template: T1 }),
  transitions(203, [['RUNNING', ago(56)], ['FAILED', ago(55)]]),
  run(204, { template: T1 }),
  transitions(204, [['RUNNING', ago(54)], ['SUCCEEDED', `${ago(54)} + interval '100 seconds'`], ['FAILED', ago(52)], ['SUCCEEDED', ago(51)]]),
  // T2 (tag nightly): a 30 s success, a retry (attempt 2: no RUN_STARTED) cancelled.
  run(205, { template: T2 }),
  transitions(205, [['RUNNING', ago(50)], ['SUCCEEDED', `${ago(50)} + interval '30 seconds'`]]),
  run(206, { template: T2, attempt: 2 }),
  transitions(206, [['RUNNING', ago(49)], ['CANCELLED', ago(48)]]),
  // Config backups from schedule S1: one with a commit (one target changed), one failed without.
  run(207, { template: T2, schedule: S1, jobType: 'config_backup', result: { commit: 'abc123', changed: 1, unchanged: 1, failed: 0 } }),
  `INSERT INTO run_target (run_id, position, name, host, port, result) VALUES
     ('${id(207)}', 0, 'edge-1', '10.0.0.1', 22, '{"changed": true, "diffSummary": "+1 -1"}'), ('${id(207)}', 1, 'edge-2', '10.0.0.2', 22, '{"changed": false}');`,
  transitions(207, [['RUNNING', ago(47)], ['SUCCEEDED', `${ago(47)} + interval '5 seconds'`]]),
  run(208, { template: T2, schedule: S1, jobType: 'config_backup', result: { failed: 1 } }),
  transitions(208, [['RUNNING', ago(46)], ['FAILED', ago(45)]]),
  // Another template's rule, and a run of no template.
  run(209, { template: T3 }),
  transitions(209, [['RUNNING', ago(44)], ['SUCCEEDED', ago(43)]]),
  run(210, {}),
  transitions(210, [['RUNNING', ago(42)], ['FAILED', ago(41)]]),
  // Schedule slots given up (inserted in their final status).
  run(211, { template: T2, schedule: S1, status: 'MISSED', attempt: 0 }),
  run(212, { template: T2, schedule: S1, status: 'SKIPPED', attempt: 0 }),
].join('\n')

let db: TestDatabase
let client: pg.Client
const warnings: string[] = []

beforeAll(async () => {
  db = await createTestDatabase('outboxpieces')
  client = new pg.Client({ connectionString: db.url })
  client.on('notice', (n) => warnings.push(n.message ?? ''))
  await client.connect()
})
afterAll(async () => {
  await client?.end()
  await db?.drop()
})

async function play(): Promise<{ deliveries: unknown[]; claims: unknown[] }> {
  await client.query(SCENARIO)
  const { rows: deliveries } = await client.query(
    `SELECT job_run_id, rule_id, channel_id, event::text, status::text, payload FROM notification_delivery ORDER BY job_run_id, rule_id, channel_id, event::text, payload::text`,
  )
  const { rows: claims } = await client.query('SELECT job_run_id, rule_id FROM notification_duration_claim ORDER BY 1, 2')
  return { deliveries, claims }
}

describe('the job_run outbox trigger in pieces', () => {
  it('writes the same delivery rows and duration claims as the whole-body trigger it replaced', async () => {
    await client.query('BEGIN')
    try {
      await client.query('SAVEPOINT before')
      const pieces = await play()
      await client.query('ROLLBACK TO SAVEPOINT before')
      await client.query(PREVIOUS_BODY)
      const whole = await play()
      expect(warnings).toEqual([]) // the trigger turns its own errors into warnings
      expect(pieces).toEqual(whole)

      // The scenario reaches every event and edge the trigger has, so the comparison covers them.
      const events = new Set((pieces.deliveries as Array<{ event: string }>).map((d) => d.event))
      expect([...events].sort()).toEqual(
        ['CONFIG_CHANGED', 'CONSECUTIVE_FAILURES', 'DURATION_EXCEEDED', 'RUN_CANCELLED', 'RUN_FAILED', 'RUN_RECOVERED', 'RUN_STARTED', 'RUN_SUCCEEDED', 'RUN_TIMED_OUT', 'SCHEDULE_SLOT_MISSED', 'SCHEDULE_SLOT_SKIPPED'].sort(),
      )
      const of = (run: number, event: string) => (pieces.deliveries as Array<{ job_run_id: string; rule_id: string; event: string; payload: any }>).filter((d) => d.job_run_id === id(run) && d.event === event)
      expect(of(202, 'CONSECUTIVE_FAILURES').map((d) => [d.rule_id, d.payload.details])).toEqual([[R2, { consecutiveFailures: 2 }]])
      expect(of(203, 'CONSECUTIVE_FAILURES').map((d) => [d.rule_id, d.payload.details])).toEqual([[R8, { consecutiveFailures: 3 }]])
      expect(of(204, 'DURATION_EXCEEDED').map((d) => [d.rule_id, d.payload.details])).toEqual([[R4, { durationSeconds: 100, limitSeconds: null, p95Seconds: 10, p95Factor: 2 }]])
      expect(of(205, 'DURATION_EXCEEDED').map((d) => d.rule_id)).toEqual([R3])
      expect(of(207, 'DURATION_EXCEEDED')).toEqual([]) // asked for (tag) but within the limit
      expect(of(207, 'CONFIG_CHANGED').map((d) => d.payload.details.changedTargets)).toEqual([[{ name: 'edge-1', diffSummary: '+1 -1' }]])
      expect(of(208, 'CONFIG_CHANGED')).toEqual([])
      expect(of(206, 'RUN_STARTED')).toEqual([])
      expect(of(209, 'RUN_SUCCEEDED').map((d) => d.rule_id).sort()).toEqual([R1, R1, R6].sort())
      expect((pieces.deliveries as Array<{ rule_id: string }>).some((d) => d.rule_id === R7)).toBe(false)
      // Failures count too (T1's took a minute: over 2 × p95), and a run exceeds a rule once however often it ends.
      expect(pieces.claims).toEqual([...[201, 202, 203, 204].map((n) => ({ job_run_id: id(n), rule_id: R4 })), ...[205, 208].map((n) => ({ job_run_id: id(n), rule_id: R3 }))])
    } finally {
      await client.query('ROLLBACK')
    }
  })
})
