/**
 * The SQL the dispatcher and reaper run against job_run / run_target. Hand-written because these
 * statements are the concurrency control: a claim is one conditional UPDATE, and every later write
 * is fenced by (worker_id, attempt) so a worker that lost its run (reaped while partitioned) can
 * never overwrite what the run's new owner does.
 */
import type pg from 'pg'
import { CHANNELS } from '../pubsub/channels.ts'

export type Queryable = Pick<pg.PoolClient, 'query'>

export interface ClaimedRun {
  id: string
  number: number
  templateName: string
  jobType: string
  spec: unknown
  parameters: Record<string, unknown>
  secretParameters: Buffer | null
  attempt: number
  maxAttempts: number
  cancelRequestedAt: Date | null
  concurrencyKey: string | null
  /** The template's owner when the run was created: config-referenced credentials are used on their behalf. */
  ownerId: string | null
  createdAt: Date
}

export interface RunFence {
  runId: string
  workerId: string
  attempt: number
}

const CLAIM_COLUMNS = 'id, number, template_name, job_type, spec, parameters, secret_parameters, attempt, max_attempts, cancel_requested_at, concurrency_key, owner_id, created_at'

/** A job_run row (CLAIM_COLUMNS) as the dispatcher's ClaimedRun. */
function toClaimed(r: Record<string, any>): ClaimedRun {
  return {
    id: r.id,
    number: r.number,
    templateName: r.template_name,
    jobType: r.job_type,
    spec: r.spec,
    parameters: r.parameters ?? {},
    secretParameters: r.secret_parameters,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    cancelRequestedAt: r.cancel_requested_at,
    concurrencyKey: r.concurrency_key,
    ownerId: r.owner_id,
    createdAt: r.created_at,
  }
}

const CLAIM_SQL = `
  WITH claimed AS (
    UPDATE job_run SET status = 'RUNNING', attempt = attempt + 1, started_at = COALESCE(started_at, now()),
           heartbeat_at = now(), worker_id = $2, updated_at = now(), waiting_since = NULL
     WHERE id = $1 AND status = 'QUEUED'
     RETURNING ${CLAIM_COLUMNS}
  )
  SELECT claimed.*, pg_notify('${CHANNELS.run}', claimed.id::text) FROM claimed`

/** CLAIM_SQL for a run without a concurrency limit only (the fast path of claimRun). */
const CLAIM_UNLIMITED_SQL = `
  WITH claimed AS (
    UPDATE job_run SET status = 'RUNNING', attempt = attempt + 1, started_at = COALESCE(started_at, now()),
           heartbeat_at = now(), worker_id = $2, updated_at = now(), waiting_since = NULL
     WHERE id = $1 AND status = 'QUEUED' AND (concurrency_key IS NULL OR max_concurrent IS NULL)
     RETURNING ${CLAIM_COLUMNS}
  )
  SELECT claimed.*, pg_notify('${CHANNELS.run}', claimed.id::text) FROM claimed`

/**
 * CLAIM_UNLIMITED_SQL for many runs at once (a fetched batch of messages): every run of `$1` that is
 * QUEUED and has no concurrency limit, in one statement. Row locks are taken in id order so two workers
 * claiming overlapping batches cannot deadlock; a run another claim (or a cancel) holds is waited for and
 * then re-checked (READ COMMITTED), so it is claimed by exactly one of them or by none.
 */
const CLAIM_UNLIMITED_MANY_SQL = `
  WITH candidate AS (
    SELECT id FROM job_run
     WHERE id = ANY($1::uuid[]) AND status = 'QUEUED' AND (concurrency_key IS NULL OR max_concurrent IS NULL)
     ORDER BY id
       FOR UPDATE
  ), claimed AS (
    UPDATE job_run r SET status = 'RUNNING', attempt = attempt + 1, started_at = COALESCE(started_at, now()),
           heartbeat_at = now(), worker_id = $2, updated_at = now(), waiting_since = NULL
      FROM candidate c
     WHERE r.id = c.id AND r.status = 'QUEUED'
     RETURNING ${CLAIM_COLUMNS.split(', ').map((c) => 'r.' + c).join(', ')}
  )
  SELECT claimed.*, pg_notify('${CHANNELS.run}', claimed.id::text) FROM claimed`

/** Serialises claims and hand-offs of runs sharing a concurrency key (per transaction). */
async function lockConcurrencyKey(db: Queryable, key: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['switchyard-concurrency:' + key])
}

export type ClaimResult = { claimed: ClaimedRun } | { claimed: null; waiting: boolean }

/**
 * QUEUED → RUNNING for this worker. Null when the run is not (or no longer) queued, or when its
 * concurrency limit is reached: then it is marked waiting and gets no new message until a run of
 * the same key ends and hands it the slot (releaseWaitingRuns), so nothing polls meanwhile.
 */
export async function claimRun(pool: pg.Pool, runId: string, workerId: string, options: { fastPathTried?: boolean } = {}): Promise<ClaimResult> {
  // The common case in one statement (no transaction around it: one UPDATE is atomic): a QUEUED run
  // without a concurrency limit. Anything else — a limit to check under its lock, a run already RUNNING
  // under this worker (a lost answer), a run no longer queued — takes the full path below.
  // `fastPathTried`: the caller just tried it (claimRuns over a batch), so it cannot succeed now.
  // Named: prepared once per connection, so Postgres does not parse and plan it for every run.
  if (!options.fastPathTried) {
    const { rows: fast } = await pool.query({ name: 'switchyard-claim-unlimited', text: CLAIM_UNLIMITED_SQL, values: [runId, workerId] })
    if (fast[0]) return { claimed: toClaimed(fast[0]) }
  }
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const { rows: found } = await client.query<{ status: string; concurrency_key: string | null; max_concurrent: number | null; worker_id: string | null }>(
      'SELECT status, concurrency_key, max_concurrent, worker_id FROM job_run WHERE id = $1',
      [runId],
    )
    const run = found[0]
    if (run?.status === 'RUNNING' && run.worker_id === workerId) {
      // Already ours: an earlier attempt of this claim committed but its answer was lost with the
      // connection. (The dispatcher never claims a run it is executing, so this is that case.)
      const { rows } = await client.query(`SELECT ${CLAIM_COLUMNS} FROM job_run WHERE id = $1`, [runId])
      await client.query('COMMIT')
      return { claimed: toClaimed(rows[0]) }
    }
    if (!run || run.status !== 'QUEUED') {
      await client.query('ROLLBACK')
      return { claimed: null, waiting: false }
    }
    if (run.concurrency_key && run.max_concurrent !== null) {
      await lockConcurrencyKey(client, run.concurrency_key)
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_run WHERE concurrency_key = $1 AND status = 'RUNNING'`, [run.concurrency_key])
      if (rows[0]!.n >= run.max_concurrent) {
        await client.query(`UPDATE job_run SET waiting_since = COALESCE(waiting_since, now()) WHERE id = $1 AND status = 'QUEUED'`, [runId])
        await client.query('COMMIT')
        return { claimed: null, waiting: true }
      }
    }
    const { rows } = await client.query(CLAIM_SQL, [runId, workerId])
    await client.query('COMMIT')
    return rows[0] ? { claimed: toClaimed(rows[0]) } : { claimed: null, waiting: false }
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {})
    throw e
  } finally {
    client.release()
  }
}

/**
 * claimRun's fast path for a batch of runs, in one statement: claims every run of `runIds` that is
 * QUEUED and has no concurrency limit, and returns them (in no particular order). The others — runs with
 * a limit, runs no longer queued (cancelled, claimed elsewhere), runs already RUNNING under this worker
 * (an earlier answer lost) — are not touched: the caller takes each through claimRun's full path.
 */
export async function claimRuns(pool: pg.Pool, runIds: readonly string[], workerId: string): Promise<ClaimedRun[]> {
  if (!runIds.length) return []
  // Named: prepared once per connection (the array is one parameter whatever the batch size).
  const { rows } = await pool.query({ name: 'switchyard-claim-unlimited-many', text: CLAIM_UNLIMITED_MANY_SQL, values: [runIds, workerId] })
  return rows.map(toClaimed)
}

/**
 * Whether any run of `key` waits for a slot: a lock-free check, so runs of templates without limits
 * never take the key's lock. A run that starts waiting just after this check is released by the
 * reaper's sweep (releaseStrandedRuns), so nothing waits longer than one reaper interval.
 */
export async function hasWaitingRuns(db: Queryable, key: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM job_run WHERE concurrency_key = $1 AND status = 'QUEUED' AND waiting_since IS NOT NULL LIMIT 1`, [key])
  return (rowCount ?? 0) > 0
}

/**
 * The reaper's safety net for waiting runs whose slot freed up without anyone handing it over:
 * per key with such runs, releases as many as the limit allows now. Returns the released run ids.
 */
export async function releaseStrandedRuns(db: Queryable): Promise<string[]> {
  const { rows: keys } = await db.query<{ key: string; max: number }>(
    `SELECT concurrency_key AS key, min(max_concurrent) AS max FROM job_run
      WHERE status = 'QUEUED' AND waiting_since < now() - interval '1 second' GROUP BY concurrency_key`,
  )
  const released: string[] = []
  for (const { key, max } of keys) {
    await lockConcurrencyKey(db, key)
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_run WHERE concurrency_key = $1 AND status = 'RUNNING'`, [key])
    const free = (max ?? 1) - rows[0]!.n
    if (free > 0) released.push(...(await releaseWaitingRuns(db, key, free)))
  }
  return released
}

/**
 * Called in the transaction that ends (or requeues) a run of `key`: clears the oldest waiting runs
 * of the key and returns their ids, for the caller to enqueue in the same transaction. Under the
 * key's lock, so a run that becomes waiting concurrently is either seen here or sees the free slot.
 */
export async function releaseWaitingRuns(db: Queryable, key: string, limit = 1): Promise<string[]> {
  await lockConcurrencyKey(db, key)
  const { rows } = await db.query<{ id: string }>(
    `UPDATE job_run SET waiting_since = NULL
      WHERE id IN (SELECT id FROM job_run WHERE concurrency_key = $1 AND status = 'QUEUED' AND waiting_since IS NOT NULL ORDER BY number LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING id`,
    [key, limit],
  )
  return rows.map((r) => r.id)
}

export interface PendingTargetRow {
  id: string
  target_id: string | null
  name: string
  host: string
  port: number
  tags: string[] | null
  attributes: Record<string, unknown> | null
  source_id: string | null
  host_key_fingerprint: string | null
  host_key_algorithm: string | null
  credential_id: string | null
  credential_kind: 'PASSWORD' | 'PRIVATE_KEY' | null
  credential_username: string | null
  credential_secret: Buffer | null
  credential_passphrase: Buffer | null
}

export interface CredentialRow {
  id: string
  kind: 'PASSWORD' | 'PRIVATE_KEY'
  username: string
  secret: Buffer
  passphrase: Buffer | null
}

export async function usernameOf(db: Queryable, userId: string): Promise<string | null> {
  const { rows } = await db.query<{ username: string }>('SELECT username FROM app_user WHERE id = $1', [userId])
  return rows[0]?.username ?? null
}

/** Stored credentials by id (those a job config refers to); ids that no longer exist are simply absent. */
export async function loadCredentials(db: Queryable, ids: readonly string[]): Promise<CredentialRow[]> {
  if (ids.length === 0) return []
  const { rows } = await db.query<CredentialRow>(`SELECT id, kind, username, secret, passphrase FROM credential WHERE id = ANY($1::uuid[])`, [ids])
  return rows
}

/** The current account of the user whose template the run executes (job_run.owner_id); null when gone. */
export async function loadRunOwner(db: Queryable, runId: string): Promise<{ username: string; role: string; disabled: boolean } | null> {
  const { rows } = await db.query<{ username: string; role: string; disabled: boolean }>(
    'SELECT u.username, u.role::text AS role, u.disabled FROM job_run r JOIN app_user u ON u.id = r.owner_id WHERE r.id = $1',
    [runId],
  )
  return rows[0] ?? null
}

/** The run's targets still to do in this attempt, with the current target row and its credential. */
export async function loadPendingTargets(db: Queryable, runId: string): Promise<PendingTargetRow[]> {
  const { rows } = await db.query<PendingTargetRow>(
    `SELECT rt.id, rt.target_id, rt.name, COALESCE(t.host, rt.host) AS host, COALESCE(t.port, rt.port) AS port,
            t.tags, t.attributes, t.source_id, t.host_key_fingerprint, t.host_key_algorithm,
            c.id AS credential_id, c.kind AS credential_kind, c.username AS credential_username, c.secret AS credential_secret, c.passphrase AS credential_passphrase
       FROM run_target rt
       LEFT JOIN target t ON t.id = rt.target_id
       LEFT JOIN credential c ON c.id = t.credential_id
      WHERE rt.run_id = $1 AND rt.status IN ('PENDING', 'RUNNING')
      ORDER BY rt.position`,
    [runId],
  )
  return rows
}

/**
 * A target starts. The run's updated_at moves too: subscribers tell versions of a run apart by it (with
 * status and counters), and a target going RUNNING changes none of those — a running retry's target
 * stayed PENDING on every live page until the next run-level change.
 */
export async function markTargetStarted(db: Queryable, runTargetId: string, attempt: number): Promise<void> {
  await db.query(
    `WITH started AS (
       UPDATE run_target SET status = 'RUNNING', started_at = now(), finished_at = NULL, attempt = $2, outputs = NULL, secret_outputs = NULL
        WHERE id = $1 AND status = 'PENDING' RETURNING run_id
     )
     UPDATE job_run SET updated_at = now() WHERE id = (SELECT run_id FROM started)`,
    [runTargetId, attempt],
  )
}

export async function markTargetFinished(
  db: Queryable,
  runTargetId: string,
  r: { status: string; exitCode: number | null; error: string | null; retryable: boolean; outputTail: string; result: unknown; outputs?: StoredOutputs | null },
): Promise<void> {
  // Outputs are written with the final report or not at all: a failed attempt's never reach the row.
  await db.query(
    `UPDATE run_target SET status = $2::"TargetStatus", exit_code = $3, error = $4, retryable = $5, output_tail = $6, result = $7::jsonb,
            outputs = $8::jsonb, secret_outputs = $9, finished_at = now(), started_at = COALESCE(started_at, now())
      WHERE id = $1`,
    [
      runTargetId, r.status, r.exitCode, r.error, r.retryable, r.outputTail, r.result === undefined ? null : JSON.stringify(r.result),
      r.outputs ? JSON.stringify(r.outputs.visible) : null, r.outputs?.sealed ? Buffer.from(r.outputs.sealed) : null,
    ],
  )
}

/** A target's published step outputs: SECRET values masked in `visible`, their real values sealed apart. */
export interface StoredOutputs {
  visible: Record<string, unknown>
  sealed: Uint8Array | null
}

/**
 * Masks values that became secret during the run (SECRET step outputs) in the log lines already stored:
 * a step may well have printed the value before it published it. Lines already delivered live cannot be
 * recalled. `needles` are the plain substrings that select candidate lines; `mask` rewrites them.
 */
export async function maskStoredLog(db: Queryable, runId: string, needles: string[], mask: (text: string) => string): Promise<number> {
  if (!needles.length) return 0
  const { rows } = await db.query<{ seq: string; text: string }>(
    `SELECT seq::text AS seq, text FROM run_log WHERE run_id = $1 AND EXISTS (SELECT 1 FROM unnest($2::text[]) n WHERE strpos(text, n) > 0)`,
    [runId, needles],
  )
  const changed = rows.map((r) => ({ seq: r.seq, text: mask(r.text) })).filter((r, i) => r.text !== rows[i]!.text)
  if (!changed.length) return 0
  await db.query(
    `UPDATE run_log l SET text = c.text FROM unnest($2::bigint[], $3::text[]) AS c(seq, text) WHERE l.run_id = $1 AND l.seq = c.seq`,
    [runId, changed.map((c) => c.seq), changed.map((c) => c.text)],
  )
  return changed.length
}

/** Recomputes the run's progress counters from its targets (robust across retries and reaping). */
export async function refreshProgress(db: Queryable, runId: string): Promise<void> {
  await db.query(
    `UPDATE job_run r SET targets_done = s.done, targets_failed = s.failed, updated_at = now()
       FROM (SELECT count(*) FILTER (WHERE status NOT IN ('PENDING', 'RUNNING')) AS done,
                    count(*) FILTER (WHERE status IN ('FAILED', 'TIMED_OUT', 'CANCELLED')) AS failed
               FROM run_target WHERE run_id = $1) s
      WHERE r.id = $1`,
    [runId],
  )
}

export async function notifyRunChanged(db: Queryable, runId: string): Promise<void> {
  await db.query(`SELECT pg_notify('${CHANNELS.run}', $1)`, [runId])
}

/**
 * Records the host key seen at first contact (trust on first use), with its audit event in the same
 * statement: trusting a key is exactly what an audit trail must show. Only the first key is trusted: a
 * concurrent run cannot replace one that was recorded meanwhile. (Events follow modules/audit's format;
 * written here in SQL because the worker side writes through its pg pool.)
 */
export async function recordHostKey(db: Queryable, targetId: string, fingerprint: string, algorithm: string, byRun: string): Promise<void> {
  await db.query(
    `WITH t AS (
       UPDATE target SET host_key_fingerprint = $2, host_key_algorithm = $3 WHERE id = $1 AND host_key_fingerprint IS NULL RETURNING id, name)
     INSERT INTO audit_event (actor_name, via, action, entity_type, entity_id, entity_name, changes)
     SELECT $4, 'SYSTEM', 'target.trust-host-key', 'Target', t.id, t.name,
            jsonb_build_object('hostKeyFingerprint', jsonb_build_object('new', $2::text), 'hostKeyAlgorithm', jsonb_build_object('new', $3::text))
       FROM t`,
    [targetId, fingerprint, algorithm, byRun],
  )
}

export interface TargetTally {
  total: number
  succeeded: number
  retryableFailed: number
  failures: Array<{ name: string; status: string; error: string | null }>
}

export async function tallyTargets(db: Queryable, runId: string): Promise<TargetTally> {
  const { rows } = await db.query<{ name: string; status: string; error: string | null; retryable: boolean }>(
    'SELECT name, status, error, retryable FROM run_target WHERE run_id = $1 ORDER BY position',
    [runId],
  )
  const failed = rows.filter((r) => r.status !== 'SUCCEEDED' && r.status !== 'SKIPPED')
  return {
    total: rows.length,
    succeeded: rows.filter((r) => r.status === 'SUCCEEDED').length,
    retryableFailed: failed.filter((r) => r.retryable && r.status === 'FAILED').length,
    failures: failed.map((r) => ({ name: r.name, status: r.status, error: r.error })),
  }
}

/** Closes targets the executor left open (it crashed, or was aborted before reaching them). */
export async function closeOpenTargets(db: Queryable, runId: string, status: string, error: string): Promise<void> {
  await db.query(
    `UPDATE run_target SET status = $2::"TargetStatus", error = COALESCE(error, $3), finished_at = now()
      WHERE run_id = $1 AND status IN ('PENDING', 'RUNNING')`,
    [runId, status, error],
  )
}

/**
 * Adds targets to a run that has not loaded its targets yet (a sync before the run found them), after the
 * ones it has, in the order given; a target the run already has is skipped, so a second attempt adds
 * nothing twice. Only while the run is RUNNING. Returns the names added, and counts them in its total.
 */
export async function addRunTargets(db: Queryable, runId: string, targetIds: readonly string[]): Promise<string[]> {
  if (!targetIds.length) return []
  const { rows } = await db.query<{ name: string }>(
    `WITH run AS (SELECT id FROM job_run WHERE id = $1 AND status = 'RUNNING' FOR UPDATE),
          base AS (SELECT COALESCE(max(position), -1) AS p FROM run_target WHERE run_id = $1),
          fresh AS (
            SELECT t.id, t.name, t.host, t.port, u.ord
              FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, ord) JOIN target t ON t.id = u.id
             WHERE EXISTS (SELECT 1 FROM run)
               AND NOT EXISTS (SELECT 1 FROM run_target x WHERE x.run_id = $1 AND x.target_id = t.id)),
          added AS (
            INSERT INTO run_target (run_id, target_id, position, name, host, port)
            SELECT $1, f.id, (SELECT p FROM base) + row_number() OVER (ORDER BY f.ord), f.name, f.host, f.port FROM fresh f
            RETURNING name, position),
          counted AS (
            UPDATE job_run SET targets_total = targets_total + (SELECT count(*) FROM added), updated_at = now()
             WHERE id = $1 AND EXISTS (SELECT 1 FROM added))
     SELECT name FROM added ORDER BY position`,
    [runId, targetIds],
  )
  if (rows.length) await notifyRunChanged(db, runId)
  return rows.map((r) => r.name)
}

/**
 * Locks the run for its ending if this attempt still holds it (the fence: this worker, this attempt,
 * RUNNING) — the lock the ending's UPDATE takes anyway (NO KEY UPDATE: rows that merely reference the run
 * are not held up). Locked first, in the order the reaper locks (the run, then its targets), so that nothing
 * the ending writes — its targets, its progress, the concurrency slot, its last lines — is written for
 * a run that is no longer this attempt's: one the reaper gave to another worker while this one was cut
 * off, or one this very ending already settled when the answer to its commit was lost.
 */
export async function lockHeldRun(db: Queryable, fence: RunFence): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM job_run WHERE id = $1 AND worker_id = $2 AND attempt = $3 AND status = 'RUNNING' FOR NO KEY UPDATE`, [fence.runId, fence.workerId, fence.attempt])
  return rowCount === 1
}

/**
 * Whether this attempt's ending is already stored: the run is final under this fence and its last log
 * line is the ending's own. That is a retry after a commit whose answer was lost; a run the reaper
 * failed while this worker was cut off ends with the reaper's line instead.
 */
export async function endedWith(db: Queryable, fence: RunFence, lastLine: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `SELECT 1 FROM job_run r
      WHERE r.id = $1 AND r.worker_id = $2 AND r.attempt = $3 AND r.status NOT IN ('QUEUED', 'RUNNING')
        AND (SELECT l.text FROM run_log l WHERE l.run_id = r.id ORDER BY l.seq DESC LIMIT 1) = $4`,
    [fence.runId, fence.workerId, fence.attempt, lastLine],
  )
  return rowCount === 1
}

/** Final state for the run, only if this worker still holds this attempt. Returns false otherwise. */
export async function finishRun(
  db: Queryable,
  fence: RunFence,
  r: { status: string; error: string | null; result: unknown },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE job_run SET status = $4::"RunStatus", error = $5, result = $6::jsonb, finished_at = now(), updated_at = now()
      WHERE id = $1 AND worker_id = $2 AND attempt = $3 AND status = 'RUNNING'`,
    [fence.runId, fence.workerId, fence.attempt, r.status, r.error, r.result === undefined ? null : JSON.stringify(r.result)],
  )
  return rowCount === 1
}

/** A run without targets to end in one statement (finishRunsAtOnce). */
export interface AtOnceFinish {
  fence: RunFence
  status: string
  error: string | null
  result: unknown
  /** Its last log lines: output the log writer had not flushed yet, then the line about how it ended. */
  lines: ReadonlyArray<{ level: string; stream: string; targetId: string | null; text: string; ts: number }>
}

/**
 * Runs without targets end in one statement, outside any transaction (one statement is atomic), however
 * many end together: per run its final status (fenced like finishRun), its last log lines (sequence
 * numbers reserved on the same row update), the run's change and log NOTIFYs, and whether runs of its
 * concurrency key wait for the slot it frees (the caller then hands it over). Rows are locked in id
 * order, as the log writer locks them, so two such statements cannot deadlock. Per run, in the order
 * given: `finished` false when the fence did not match — nothing was written for it then, and the caller
 * falls back to the transactional path.
 */
export async function finishRunsAtOnce(db: Queryable, runs: readonly AtOnceFinish[]): Promise<Array<{ finished: boolean; waiting: boolean }>> {
  if (!runs.length) return []
  const lineRun: string[] = []
  const lineK: number[] = []
  const level: string[] = []
  const text: string[] = []
  const stream: string[] = []
  const targetId: Array<string | null> = []
  const ms: number[] = []
  for (const r of runs) {
    r.lines.forEach((l, k) => {
      lineRun.push(r.fence.runId)
      lineK.push(k + 1)
      level.push(l.level)
      text.push(l.text)
      stream.push(l.stream)
      targetId.push(l.targetId)
      ms.push(l.ts)
    })
  }
  // Named: prepared once per connection (see claimRun); the arrays are one parameter each whatever the batch.
  const { rows } = await db.query<{ id: string; waiting: boolean }>({
    name: 'switchyard-finish-runs-at-once',
    text: FINISH_AT_ONCE_SQL,
    values: [
      runs.map((r) => r.fence.runId), runs.map((r) => r.fence.workerId), runs.map((r) => r.fence.attempt), runs.map((r) => r.status), runs.map((r) => r.error),
      runs.map((r) => (r.result === undefined ? null : JSON.stringify(r.result))), runs.map((r) => r.lines.length),
      lineRun, lineK, level, text, stream, targetId, ms,
    ],
  })
  const ended = new Map(rows.map((r) => [r.id, r.waiting]))
  return runs.map((r) => (ended.has(r.fence.runId) ? { finished: true, waiting: ended.get(r.fence.runId)! } : { finished: false, waiting: false }))
}

const FINISH_AT_ONCE_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[]) AS i(id, worker_id, attempt, status, error, result, n)
), locked AS (
  SELECT r.id FROM job_run r JOIN input i ON i.id = r.id
   WHERE r.worker_id = i.worker_id AND r.attempt = i.attempt AND r.status = 'RUNNING'
   ORDER BY r.id FOR UPDATE OF r
), fin AS (
  UPDATE job_run r SET status = i.status::"RunStatus", error = i.error, result = i.result::jsonb, finished_at = now(), updated_at = now(), log_seq = r.log_seq + i.n
    FROM input i, locked l
   WHERE r.id = i.id AND l.id = i.id AND r.worker_id = i.worker_id AND r.attempt = i.attempt AND r.status = 'RUNNING'
  RETURNING r.id, r.concurrency_key, r.log_seq - i.n AS base, r.log_seq AS last_seq
), lines AS (
  INSERT INTO run_log (run_id, seq, ts, level, stream, target_id, text)
  SELECT fin.id, fin.base + u.k, to_timestamp(0) + u.ms * interval '1 millisecond', u.level::"LogLevel", u.stream::"LogStream", u.target_id, u.text
    FROM unnest($8::uuid[], $9::int[], $10::text[], $11::text[], $12::text[], $13::uuid[], $14::float8[]) AS u(run_id, k, level, text, stream, target_id, ms)
    JOIN fin ON fin.id = u.run_id
)
SELECT fin.id,
       pg_notify('${CHANNELS.run}', fin.id::text)::text AS run_notified,
       pg_notify('${CHANNELS.log}', fin.id::text || ':' || fin.last_seq)::text AS log_notified,
       fin.concurrency_key IS NOT NULL AND EXISTS (
         SELECT 1 FROM job_run w WHERE w.concurrency_key = fin.concurrency_key AND w.status = 'QUEUED' AND w.waiting_since IS NOT NULL) AS waiting
  FROM fin`

/**
 * Back to QUEUED for another attempt: retryable failed targets (and any left open) return to
 * PENDING; succeeded and permanently failed targets keep their results.
 */
export async function requeueRun(db: Queryable, fence: RunFence | { runId: string; workerId: null; attempt: number }, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE job_run SET status = 'QUEUED', worker_id = NULL, heartbeat_at = NULL, error = $4, updated_at = now()
      WHERE id = $1 AND ($2::uuid IS NULL OR worker_id = $2) AND attempt = $3 AND status = 'RUNNING'`,
    [fence.runId, fence.workerId, fence.attempt, error],
  )
  if (rowCount !== 1) return false
  await db.query(
    `UPDATE run_target SET status = 'PENDING', exit_code = NULL, error = NULL, retryable = false, finished_at = NULL
      WHERE run_id = $1 AND (status IN ('PENDING', 'RUNNING') OR (status = 'FAILED' AND retryable))`,
    [fence.runId],
  )
  return true
}

/**
 * Discovery (see ExecutionContext.upsertTargets): creates targets, or updates those with the same name,
 * each with an audit event (`target.create` / `target.update`, by the run) in the same statement. The run
 * acts for its template's owner (`ownerId`): new targets are theirs, and an existing target is updated only
 * when it is theirs or they are an admin — a scan must not repoint someone else's target (and so send its
 * credential to a host of the scan's choosing). Returns the ids created or updated; others are left alone.
 */
export async function upsertTargets(
  db: Queryable,
  targets: ReadonlyArray<{ name: string; host: string; port?: number; tags?: readonly string[]; attributes?: Readonly<Record<string, unknown>> }>,
  byRun: string,
  ownerId: string | null,
): Promise<string[]> {
  if (!targets.length) return []
  // One statement: `prior` sees the rows as they were before the upsert, so an update is audited only when
  // it changed something, with old and new values (as modules/audit's `changed()` records them).
  const { rows } = await db.query<{ id: string }>(
    `WITH given AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(name text, host text, port int, tags jsonb, attributes jsonb)),
     prior AS (
       SELECT t.id, t.host, t.port, t.tags, t.attributes FROM target t JOIN given g ON g.name = t.name),
     up AS (
       INSERT INTO target (name, host, port, tags, attributes, owner_id, updated_at)
       SELECT g.name, g.host, g.port, ARRAY(SELECT jsonb_array_elements_text(g.tags)), g.attributes, $3::uuid, now() FROM given g
       ON CONFLICT (name) DO UPDATE SET
         host = EXCLUDED.host,
         port = EXCLUDED.port,
         tags = ARRAY(SELECT DISTINCT unnest(target.tags || EXCLUDED.tags)),
         attributes = target.attributes || EXCLUDED.attributes,
         -- a new address is a new machine: forget the host key trusted for the old one
         host_key_fingerprint = CASE WHEN target.host = EXCLUDED.host AND target.port = EXCLUDED.port THEN target.host_key_fingerprint END,
         host_key_algorithm = CASE WHEN target.host = EXCLUDED.host AND target.port = EXCLUDED.port THEN target.host_key_algorithm END,
         updated_at = now()
       WHERE target.owner_id = $3::uuid OR EXISTS (SELECT 1 FROM app_user u WHERE u.id = $3::uuid AND u.role = 'ADMIN' AND NOT u.disabled)
       RETURNING id, name, host, port, tags, attributes, (xmax = 0) AS inserted),
     audit AS (
       INSERT INTO audit_event (actor_name, via, action, entity_type, entity_id, entity_name, changes)
       SELECT $2, 'SYSTEM', CASE WHEN up.inserted THEN 'target.create' ELSE 'target.update' END, 'Target', up.id, left(up.name, 200),
              jsonb_strip_nulls(jsonb_build_object(
                'host', CASE WHEN prior.host IS DISTINCT FROM up.host THEN jsonb_strip_nulls(jsonb_build_object('old', prior.host, 'new', up.host)) END,
                'port', CASE WHEN prior.port IS DISTINCT FROM up.port THEN jsonb_strip_nulls(jsonb_build_object('old', prior.port, 'new', up.port)) END,
                'tags', CASE WHEN prior.tags IS DISTINCT FROM up.tags THEN jsonb_strip_nulls(jsonb_build_object('old', to_jsonb(prior.tags), 'new', to_jsonb(up.tags))) END,
                'attributes', CASE WHEN prior.attributes IS DISTINCT FROM up.attributes THEN jsonb_strip_nulls(jsonb_build_object('old', prior.attributes, 'new', up.attributes)) END))
         FROM up LEFT JOIN prior ON prior.id = up.id
        WHERE up.inserted OR prior.host IS DISTINCT FROM up.host OR prior.port IS DISTINCT FROM up.port
           OR prior.tags IS DISTINCT FROM up.tags OR prior.attributes IS DISTINCT FROM up.attributes)
     SELECT id FROM up`,
    [JSON.stringify(targets.map((t) => ({ name: t.name, host: t.host, port: t.port ?? 22, tags: t.tags ?? [], attributes: t.attributes ?? {} }))), byRun, ownerId],
  )
  return rows.map((r) => r.id)
}

export async function setTargetAttributes(db: Queryable, runTargetId: string, attributes: Readonly<Record<string, unknown>>): Promise<void> {
  await db.query(
    `UPDATE target t SET attributes = t.attributes || $2::jsonb, updated_at = now() FROM run_target rt WHERE rt.id = $1 AND t.id = rt.target_id`,
    [runTargetId, JSON.stringify(attributes)],
  )
}

export async function storeArtifact(
  db: Queryable,
  runId: string,
  a: { runTargetId: string | null; name: string; content: Buffer; sha256: string },
  retentionDays: number,
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO run_artifact (run_id, run_target_id, name, size, sha256, content, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(days => $7)) RETURNING id`,
    [runId, a.runTargetId, a.name, a.content.length, a.sha256, a.content, retentionDays],
  )
  return rows[0]!.id
}

/** Retention: deletes expired artifacts (in slices, so one pass never holds a long transaction). */
export async function deleteExpiredArtifacts(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM run_artifact WHERE id IN (SELECT id FROM run_artifact WHERE expires_at < now() LIMIT 500)`)
  return rowCount ?? 0
}

/** Log output earlier attempts stored (a retry's log budget starts from it). */
export async function storedLogSize(db: Queryable, runId: string): Promise<{ lines: number; bytes: number }> {
  const { rows } = await db.query<{ lines: number; bytes: string }>(
    `SELECT count(*)::int AS lines, COALESCE(sum(octet_length(text)), 0)::bigint AS bytes FROM run_log WHERE run_id = $1`,
    [runId],
  )
  return { lines: rows[0]!.lines, bytes: Number(rows[0]!.bytes) }
}

/** Adds an attempt's dropped log output to the run's totals; returns the totals. */
export async function addDroppedLog(db: Queryable, runId: string, lines: number, bytes: number): Promise<{ lines: number; bytes: number }> {
  const { rows } = await db.query<{ lines: number; bytes: string }>(
    `UPDATE job_run SET log_dropped_lines = log_dropped_lines + $2, log_dropped_bytes = log_dropped_bytes + $3
      WHERE id = $1 RETURNING log_dropped_lines AS lines, log_dropped_bytes AS bytes`,
    [runId, lines, bytes],
  )
  return { lines: rows[0]?.lines ?? lines, bytes: Number(rows[0]?.bytes ?? bytes) }
}
