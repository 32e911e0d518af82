/**
 * What the notification outbox trigger (notification_job_run_ended, on every run's start and end) costs a
 * run when no notification rule is enabled — the product's state until an operator adds a rule: `runs` rows
 * of job_run go QUEUED → RUNNING → SUCCEEDED, one UPDATE per transition on one connection, with
 *  - the trigger as migrated (it returns at once without an enabled rule),
 *  - the body before that early exit (20261206040000_notification_scopes_and_watch), put back for the
 *    measurement,
 *  - the trigger disabled (the floor),
 * alternating their order per round on one database. Per run: µs for its two transitions.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { withDatabase } from '../lib/resources.ts'
import { median } from '../lib/stats.ts'

export interface OutboxTriggerOptions {
  runs: number
  rounds: number
}

type Variant = 'current' | 'previous' | 'disabled'
export interface OutboxTriggerResult {
  runs: number
  /** µs per run (two transitions), one value per round. */
  perRunUs: Record<Variant, number[]>
}

const migrations = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../prisma/migrations')

function functionBody(migration: string): string {
  const sql = fs.readFileSync(path.join(migrations, migration, 'migration.sql'), 'utf8')
  const start = sql.indexOf('CREATE OR REPLACE FUNCTION notification_job_run_ended()')
  if (start < 0) throw new Error(`no notification_job_run_ended in ${migration}`)
  return sql.slice(start, sql.indexOf('$$;', start) + 3)
}

export function runOutboxTrigger(o: OutboxTriggerOptions): Promise<OutboxTriggerResult> {
  const previous = functionBody('20261206040000_notification_scopes_and_watch')
  return withDatabase(async (db) => {
    const c = new pg.Client({ connectionString: db.url })
    await c.connect()
    try {
      const current = (await c.query<{ def: string }>(`SELECT pg_get_functiondef('notification_job_run_ended'::regproc) AS def`)).rows[0]!.def
      if ((await c.query(`SELECT 1 FROM notification_rule WHERE enabled`)).rowCount) throw new Error('expected no enabled notification rule')
      const perRunUs: OutboxTriggerResult['perRunUs'] = { current: [], previous: [], disabled: [] }
      for (let round = 0; round < o.rounds; round++) {
        const order: Variant[] = round % 2 ? ['previous', 'current', 'disabled'] : ['current', 'previous', 'disabled']
        for (const v of order) {
          await c.query(v === 'previous' ? previous : current)
          await c.query(`ALTER TABLE job_run ${v === 'disabled' ? 'DISABLE' : 'ENABLE'} TRIGGER job_run_notification_outbox`)
          await c.query(`DELETE FROM job_run`)
          const { rows } = await c.query<{ id: string }>(
            `INSERT INTO job_run (template_name, job_type, spec, trigger, status) SELECT 'outbox bench', 'noop', '{}'::jsonb, 'MANUAL', 'QUEUED' FROM generate_series(1, $1) RETURNING id`,
            [o.runs],
          )
          const t0 = performance.now()
          for (const { id } of rows) {
            await c.query(`UPDATE job_run SET status = 'RUNNING', started_at = now() WHERE id = $1`, [id])
            await c.query(`UPDATE job_run SET status = 'SUCCEEDED', finished_at = now() WHERE id = $1`, [id])
          }
          perRunUs[v].push(((performance.now() - t0) / o.runs) * 1000)
        }
      }
      await c.query(current)
      await c.query(`ALTER TABLE job_run ENABLE TRIGGER job_run_notification_outbox`)
      return { runs: o.runs, perRunUs }
    } finally {
      await c.end()
    }
  })
}

export function formatOutboxTrigger(r: OutboxTriggerResult): string {
  const m = (v: Variant) => median(r.perRunUs[v])
  const floor = m('disabled')
  const line = (label: string, v: Variant) => `  ${label.padEnd(44)} ${Math.round(m(v)).toString().padStart(6)} µs/run  (trigger's share ${Math.round(m(v) - floor)} µs; rounds: ${r.perRunUs[v].map((x) => Math.round(x)).join(', ')})`
  return [
    '',
    `7b. Notification outbox trigger with no enabled rule: ${r.runs} runs QUEUED → RUNNING → SUCCEEDED, one UPDATE per transition`,
    line('trigger as migrated (early exit)', 'current'),
    line('previous body (no early exit)', 'previous'),
    line('trigger disabled (floor)', 'disabled'),
  ].join('\n') + '\n'
}
