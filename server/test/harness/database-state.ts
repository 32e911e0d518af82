/**
 * What a test database looks like right now, for a failing end-to-end step: the runs that have not
 * ended (with their targets), every session on the database with what it waits on, and the locks not
 * granted. A run that never ends and a page that missed its update look the same in a screenshot; this
 * tells them apart.
 */
import pg from 'pg'

export async function describeDatabaseState(databaseUrl: string): Promise<string> {
  const c = new pg.Client({ connectionString: databaseUrl, application_name: 'test-diagnostics' })
  await c.connect()
  try {
    const section = async (title: string, sql: string) => {
      const { rows } = await c.query(sql)
      return `${title} (${rows.length}):\n${rows.map((r) => '  ' + JSON.stringify(r)).join('\n')}`
    }
    return [
      await section(
        'runs not ended',
        `SELECT r.number, r.template_name, r.status, r.attempt, r.worker_id, r.started_at, r.updated_at, r.log_seq, r.cancel_requested_at,
                (SELECT json_agg(json_build_object('name', t.name, 'status', t.status, 'finished_at', t.finished_at) ORDER BY t.position) FROM run_target t WHERE t.run_id = r.id) AS targets
           FROM job_run r WHERE r.status IN ('QUEUED', 'RUNNING') ORDER BY r.number`,
      ),
      await section(
        'sessions',
        `SELECT pid, application_name, state, wait_event_type, wait_event, now() - xact_start AS in_transaction, now() - query_start AS in_query, left(query, 200) AS query
           FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST`,
      ),
      await section(
        'locks not granted',
        `SELECT l.pid, l.locktype, l.mode, l.relation::regclass::text AS relation, pg_blocking_pids(l.pid) AS blocked_by
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()`,
      ),
    ].join('\n')
  } finally {
    await c.end()
  }
}
