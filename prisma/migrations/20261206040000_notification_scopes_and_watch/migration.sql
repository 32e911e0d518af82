-- AlterEnum (used only as text inside the functions below, never in this transaction)
ALTER TYPE "NotificationEvent" ADD VALUE 'CONFIG_CHANGED';
ALTER TYPE "NotificationEvent" ADD VALUE 'WORKER_DOWN';
ALTER TYPE "NotificationEvent" ADD VALUE 'WORKER_RECOVERED';
ALTER TYPE "NotificationEvent" ADD VALUE 'QUEUE_BACKLOG';

-- Template tags: labels for grouping templates (notification rules select templates by them).
ALTER TABLE "job_template" ADD COLUMN "tags" TEXT[] NOT NULL DEFAULT '{}';

-- Rule scopes beyond templates: workflows, schedules and template tags (all empty: everything), and the
-- QUEUE_BACKLOG threshold with its edge state (set while the rule's backlog alert is raised).
ALTER TABLE "notification_rule"
  ADD COLUMN "workflow_ids" UUID[] NOT NULL DEFAULT '{}',
  ADD COLUMN "schedule_ids" UUID[] NOT NULL DEFAULT '{}',
  ADD COLUMN "tags" TEXT[] NOT NULL DEFAULT '{}',
  ADD COLUMN "queue_backlog_seconds" INTEGER,
  ADD COLUMN "backlog_raised_at" TIMESTAMPTZ(3);

-- Deliveries not about a job run: a workflow run (a workflow schedule's missed/skipped slot) or a worker.
ALTER TABLE "notification_delivery"
  ALTER COLUMN "job_run_id" DROP NOT NULL,
  ADD COLUMN "workflow_run_id" UUID;
-- The delivery log of one run.
CREATE INDEX "notification_delivery_job_run_id_idx" ON "notification_delivery"("job_run_id");

-- DURATION_EXCEEDED is notified once per run and rule, whether the watch notices it while the run runs or
-- the outbox trigger at its end: each claims (run, rule) here first (INSERT … ON CONFLICT DO NOTHING), so of
-- two concurrent claimants one waits on the key and then finds it taken.
CREATE TABLE "notification_duration_claim" (
    "job_run_id" UUID NOT NULL,
    "rule_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_duration_claim_pkey" PRIMARY KEY ("job_run_id", "rule_id")
);
CREATE INDEX "notification_duration_claim_rule_id_idx" ON "notification_duration_claim"("rule_id");
ALTER TABLE "notification_duration_claim" ADD CONSTRAINT "notification_duration_claim_job_run_id_fkey" FOREIGN KEY ("job_run_id") REFERENCES "job_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "notification_duration_claim" ADD CONSTRAINT "notification_duration_claim_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "notification_rule"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Whether a rule covers a job run. Empty scope lists: every run. Otherwise the run matches when ANY list
-- does: its template, its schedule, a tag of its template, or the workflow (or the workflow's schedule)
-- whose node it runs for. The subqueries run only for the lists the rule has.
CREATE FUNCTION notification_rule_in_scope(r notification_rule, j job_run) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT (cardinality(r.template_ids) = 0 AND cardinality(r.workflow_ids) = 0 AND cardinality(r.schedule_ids) = 0 AND cardinality(r.tags) = 0)
      OR j.template_id = ANY (r.template_ids)
      OR j.schedule_id = ANY (r.schedule_ids)
      OR (cardinality(r.tags) > 0 AND EXISTS (SELECT 1 FROM job_template t WHERE t.id = j.template_id AND t.tags && r.tags))
      OR ((cardinality(r.workflow_ids) > 0 OR cardinality(r.schedule_ids) > 0) AND EXISTS (
            SELECT 1 FROM workflow_node_run n JOIN workflow_run w ON w.id = n.workflow_run_id
             WHERE n.job_run_id = j.id AND (w.workflow_id = ANY (r.workflow_ids) OR w.schedule_id = ANY (r.schedule_ids))))
$$;

-- The same for a workflow run (a workflow schedule's slot): its workflow or its schedule; template and tag
-- lists do not name workflows.
CREATE FUNCTION notification_rule_in_workflow_scope(r notification_rule, w workflow_run) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT (cardinality(r.template_ids) = 0 AND cardinality(r.workflow_ids) = 0 AND cardinality(r.schedule_ids) = 0 AND cardinality(r.tags) = 0)
      OR w.workflow_id = ANY (r.workflow_ids)
      OR w.schedule_id = ANY (r.schedule_ids)
$$;

-- The outbox trigger (latest body: 20261205250000_notification_schedule_slot_events), changed in three
-- places only:
--  - every rule's scope test is notification_rule_in_scope (was: template_ids only);
--  - CONFIG_CHANGED: a config_backup run that ended with a commit (result.commit), with the changed
--    targets' diff summaries in `details`;
--  - DURATION_EXCEEDED only for the rules whose (run, rule) claim it wins (notification_duration_claim):
--    none that notification_watch below already notified while the run was still running.
CREATE OR REPLACE FUNCTION notification_job_run_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_events text[];
  v_previous text;
  v_payload jsonb;
  v_count int;
  v_duration double precision;
  v_p95 double precision;
  v_streak int;
  v_config jsonb;
  v_claimed uuid[] := ARRAY[]::uuid[];
BEGIN
  BEGIN
    v_events := CASE NEW.status::text
      WHEN 'SUCCEEDED' THEN ARRAY['RUN_SUCCEEDED']
      WHEN 'FAILED' THEN ARRAY['RUN_FAILED']
      WHEN 'TIMED_OUT' THEN ARRAY['RUN_FAILED', 'RUN_TIMED_OUT']
      WHEN 'CANCELLED' THEN ARRAY['RUN_CANCELLED']
      WHEN 'RUNNING' THEN CASE WHEN NEW.attempt = 1 THEN ARRAY['RUN_STARTED'] ELSE ARRAY[]::text[] END
      WHEN 'MISSED' THEN ARRAY['SCHEDULE_SLOT_MISSED']
      WHEN 'SKIPPED' THEN ARRAY['SCHEDULE_SLOT_SKIPPED']
      ELSE ARRAY[]::text[] END;
    -- Each look back through the template's runs costs a scan: only when an enabled rule for this
    -- template asks for that event.
    IF NEW.status = 'SUCCEEDED' AND NEW.template_id IS NOT NULL AND EXISTS (
         SELECT 1 FROM notification_rule r WHERE r.enabled AND 'RUN_RECOVERED' = ANY (r.events::text[])
            AND notification_rule_in_scope(r, NEW)) THEN
      SELECT status::text INTO v_previous FROM job_run
       WHERE template_id = NEW.template_id AND id <> NEW.id AND status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT')
       ORDER BY finished_at DESC NULLS LAST, number DESC LIMIT 1;
      IF v_previous IN ('FAILED', 'TIMED_OUT') THEN
        v_events := array_append(v_events, 'RUN_RECOVERED');
      END IF;
    END IF;
    IF NEW.status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT') AND NEW.started_at IS NOT NULL AND NEW.finished_at IS NOT NULL AND EXISTS (
         SELECT 1 FROM notification_rule r WHERE r.enabled AND 'DURATION_EXCEEDED' = ANY (r.events::text[])
            AND notification_rule_in_scope(r, NEW)) THEN
      v_duration := extract(epoch FROM NEW.finished_at - NEW.started_at);
      IF NEW.template_id IS NOT NULL AND EXISTS (
           SELECT 1 FROM notification_rule r WHERE r.enabled AND 'DURATION_EXCEEDED' = ANY (r.events::text[]) AND r.duration_p95_factor IS NOT NULL
              AND notification_rule_in_scope(r, NEW)) THEN
        SELECT CASE WHEN count(*) >= 5 THEN percentile_cont(0.95) WITHIN GROUP (ORDER BY d) END INTO v_p95
          FROM (SELECT extract(epoch FROM finished_at - started_at) AS d FROM job_run
                 WHERE template_id = NEW.template_id AND id <> NEW.id AND status = 'SUCCEEDED'
                   AND started_at IS NOT NULL AND finished_at IS NOT NULL
                 ORDER BY created_at DESC LIMIT 100) recent;
      END IF;
      -- The rules it exceeded, claimed in a fixed order (two claimants never wait on each other crosswise).
      WITH c AS (
        INSERT INTO notification_duration_claim (job_run_id, rule_id)
        SELECT NEW.id, r.id FROM notification_rule r
         WHERE r.enabled AND 'DURATION_EXCEEDED' = ANY (r.events::text[]) AND notification_rule_in_scope(r, NEW)
           AND (   (r.duration_limit_seconds IS NOT NULL AND v_duration > r.duration_limit_seconds)
                OR (r.duration_p95_factor IS NOT NULL AND v_p95 IS NOT NULL AND v_duration > r.duration_p95_factor * v_p95))
         ORDER BY r.id
        ON CONFLICT DO NOTHING
        RETURNING rule_id)
      SELECT COALESCE(array_agg(rule_id), ARRAY[]::uuid[]) INTO v_claimed FROM c;
      v_events := array_append(v_events, 'DURATION_EXCEEDED');
    END IF;
    IF NEW.status IN ('FAILED', 'TIMED_OUT') AND NEW.template_id IS NOT NULL AND EXISTS (
         SELECT 1 FROM notification_rule r WHERE r.enabled AND 'CONSECUTIVE_FAILURES' = ANY (r.events::text[])
            AND notification_rule_in_scope(r, NEW)) THEN
      SELECT count(*) + 1 INTO v_streak FROM job_run
       WHERE template_id = NEW.template_id AND id <> NEW.id AND status IN ('FAILED', 'TIMED_OUT')
         AND finished_at > COALESCE((SELECT max(finished_at) FROM job_run
                                      WHERE template_id = NEW.template_id AND status = 'SUCCEEDED'), '-infinity');
      v_events := array_append(v_events, 'CONSECUTIVE_FAILURES');
    END IF;
    IF NEW.job_type = 'config_backup' AND NEW.status IN ('SUCCEEDED', 'FAILED') AND jsonb_typeof(NEW.result -> 'commit') = 'string' THEN
      v_config := jsonb_build_object(
        'commit', NEW.result ->> 'commit',
        'changed', NEW.result -> 'changed', 'unchanged', NEW.result -> 'unchanged', 'failed', NEW.result -> 'failed',
        'changedTargets', COALESCE((SELECT jsonb_agg(jsonb_build_object('name', t.name, 'diffSummary', t.result ->> 'diffSummary') ORDER BY t.position)
                                      FROM run_target t WHERE t.run_id = NEW.id AND (t.result ->> 'changed')::boolean IS TRUE), '[]'::jsonb));
      v_events := array_append(v_events, 'CONFIG_CHANGED');
    END IF;
    IF cardinality(v_events) = 0 OR NOT EXISTS (
         SELECT 1 FROM notification_rule r WHERE r.enabled AND r.events::text[] && v_events
            AND notification_rule_in_scope(r, NEW)) THEN
      RETURN NULL;
    END IF;
    v_payload := jsonb_build_object('run', notification_run_payload(NEW));
    INSERT INTO notification_delivery (channel_id, rule_id, job_run_id, event, payload)
    SELECT c.id, r.id, NEW.id, e.event::"NotificationEvent",
           v_payload || jsonb_build_object('event', e.event) || CASE e.event
             WHEN 'DURATION_EXCEEDED' THEN jsonb_build_object('details', jsonb_build_object(
               'durationSeconds', round(v_duration::numeric, 3), 'limitSeconds', r.duration_limit_seconds,
               'p95Seconds', round(v_p95::numeric, 3), 'p95Factor', r.duration_p95_factor))
             WHEN 'CONSECUTIVE_FAILURES' THEN jsonb_build_object('details', jsonb_build_object('consecutiveFailures', v_streak))
             WHEN 'CONFIG_CHANGED' THEN jsonb_build_object('details', v_config)
             ELSE '{}'::jsonb END
      FROM notification_rule r
      CROSS JOIN LATERAL unnest(r.events::text[]) AS e(event)
      JOIN notification_channel c ON c.id = ANY (r.channel_ids)
     WHERE r.enabled AND e.event = ANY (v_events)
       AND notification_rule_in_scope(r, NEW)
       AND (e.event <> 'DURATION_EXCEEDED' OR r.id = ANY (v_claimed))
       AND (e.event <> 'CONSECUTIVE_FAILURES' OR v_streak = COALESCE(r.consecutive_failures, 3));
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
      PERFORM pg_notify('switchyard_notification', '');
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'notification outbox for job run % failed: %', NEW.id, SQLERRM;
  END;
  RETURN NULL;
END
$$;

-- A workflow schedule's slot that did not run is a workflow_run INSERTed MISSED or SKIPPED (schedules/
-- workflow-slots.ts): the same two events as a template schedule's slot, with the workflow run as `run`.
CREATE FUNCTION notification_workflow_run_payload(w workflow_run) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', w.id, 'number', w.number, 'templateId', NULL, 'templateName', w.workflow_name, 'workflowId', w.workflow_id,
    'workflowName', w.workflow_name, 'jobType', 'workflow', 'status', w.status::text, 'trigger', w.trigger::text,
    'attempt', 1, 'maxAttempts', 1, 'createdAt', w.created_at, 'startedAt', NULL, 'finishedAt', w.finished_at,
    'durationSeconds', NULL, 'error', w.error, 'failedTargets', '[]'::jsonb, 'targetsTotal', 0, 'targetsDone', 0,
    'targetsFailed', 0, 'parameters', w.parameters, 'result', NULL,
    'scheduleId', w.schedule_id, 'scheduleName', (SELECT s.name FROM job_schedule s WHERE s.id = w.schedule_id),
    'triggeredBy', NULL, 'link', '/workflow-runs/' || w.id)
$$;

CREATE FUNCTION notification_workflow_slot() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_event text := CASE NEW.status::text WHEN 'MISSED' THEN 'SCHEDULE_SLOT_MISSED' ELSE 'SCHEDULE_SLOT_SKIPPED' END;
  v_count int;
BEGIN
  BEGIN
    INSERT INTO notification_delivery (channel_id, rule_id, workflow_run_id, event, payload)
    SELECT c.id, r.id, NEW.id, v_event::"NotificationEvent",
           jsonb_build_object('event', v_event, 'run', notification_workflow_run_payload(NEW))
      FROM notification_rule r
      JOIN notification_channel c ON c.id = ANY (r.channel_ids)
     WHERE r.enabled AND v_event = ANY (r.events::text[]) AND notification_rule_in_workflow_scope(r, NEW);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
      PERFORM pg_notify('switchyard_notification', '');
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'notification outbox for workflow run % failed: %', NEW.id, SQLERRM;
  END;
  RETURN NULL;
END
$$;
CREATE TRIGGER workflow_run_notification_outbox_slot
  AFTER INSERT ON workflow_run
  FOR EACH ROW
  WHEN (NEW.status IN ('MISSED', 'SKIPPED'))
  EXECUTE FUNCTION notification_workflow_slot();

-- WORKER_DOWN / WORKER_RECOVERED, in the transaction that changes the worker row. The reaper marks a
-- silent worker stopped without touching its heartbeat (stopped_at > heartbeat_at); a graceful stop sets
-- both to the same now(), which is not "down". A worker the reaper marked that beats again clears the
-- mark: recovered. Worker events have no run: rules with the event notify whatever their scope.
CREATE FUNCTION notification_worker_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_event text;
  v_count int;
BEGIN
  BEGIN
    IF OLD.stopped_at IS NULL AND NEW.stopped_at IS NOT NULL AND NEW.heartbeat_at < NEW.stopped_at THEN
      v_event := 'WORKER_DOWN';
    ELSIF OLD.stopped_at IS NOT NULL AND NEW.stopped_at IS NULL AND OLD.heartbeat_at < OLD.stopped_at THEN
      v_event := 'WORKER_RECOVERED';
    ELSE
      RETURN NULL;
    END IF;
    INSERT INTO notification_delivery (channel_id, rule_id, event, payload)
    SELECT c.id, r.id, v_event::"NotificationEvent",
           jsonb_build_object('event', v_event, 'run', NULL, 'details', jsonb_build_object(
             'subject', 'Worker ' || NEW.hostname || ' (pid ' || NEW.pid || ')',
             'workerId', NEW.id, 'hostname', NEW.hostname, 'pid', NEW.pid, 'roles', to_jsonb(NEW.roles),
             'startedAt', NEW.started_at, 'lastHeartbeatAt', OLD.heartbeat_at,
             'runningRuns', (SELECT count(*) FROM job_run j WHERE j.worker_id = NEW.id AND j.status = 'RUNNING')))
      FROM notification_rule r
      JOIN notification_channel c ON c.id = ANY (r.channel_ids)
     WHERE r.enabled AND v_event = ANY (r.events::text[]);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
      PERFORM pg_notify('switchyard_notification', '');
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'notification outbox for worker % failed: %', NEW.id, SQLERRM;
  END;
  RETURN NULL;
END
$$;
CREATE TRIGGER worker_notification_outbox
  AFTER UPDATE OF stopped_at ON worker
  FOR EACH ROW
  WHEN (OLD.stopped_at IS DISTINCT FROM NEW.stopped_at)
  EXECUTE FUNCTION notification_worker_changed();

-- The periodic check (modules/notifications/notification-watch.ts runs it in every worker and scheduler
-- process; one at a time through a transaction-level advisory lock, the others skip the tick). Returns the
-- number of deliveries written. Cheap when no rule asks: each part starts from the rules that want it.
--  - DURATION_EXCEEDED while a run is still RUNNING: past the rule's absolute limit, or factor × the
--    template's p95 (as at the end); once per run and rule (notification_duration_claim).
--  - QUEUE_BACKLOG: the oldest never-started QUEUED run in the rule's scope has waited longer than the rule's
--    queue_backlog_seconds. Edge-triggered: raised once (backlog_raised_at), cleared when no queued run in
--    scope is older than the threshold, then it may fire again.
CREATE FUNCTION notification_watch() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  v_total int := 0;
  v_count int;
  v_rule notification_rule;
  v_oldest job_run;
  v_queued int;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('switchyard_notification_watch')) THEN
    RETURN 0;
  END IF;
  IF EXISTS (SELECT 1 FROM notification_rule WHERE enabled AND 'DURATION_EXCEEDED' = ANY (events::text[])) THEN
    WITH over AS (
      SELECT j AS j, j.id AS run_id, r.id AS rule_id, r.channel_ids, r.duration_limit_seconds AS limit_seconds,
             r.duration_p95_factor AS factor, extract(epoch FROM now() - j.started_at) AS running, p.p95
        FROM job_run j
        JOIN notification_rule r ON r.enabled AND 'DURATION_EXCEEDED' = ANY (r.events::text[])
        LEFT JOIN LATERAL (
          SELECT CASE WHEN count(*) >= 5 THEN percentile_cont(0.95) WITHIN GROUP (ORDER BY d) END AS p95
            FROM (SELECT extract(epoch FROM h.finished_at - h.started_at) AS d FROM job_run h
                   WHERE h.template_id = j.template_id AND h.status = 'SUCCEEDED'
                     AND h.started_at IS NOT NULL AND h.finished_at IS NOT NULL
                   ORDER BY h.created_at DESC LIMIT 100) recent
           WHERE r.duration_p95_factor IS NOT NULL AND j.template_id IS NOT NULL) p ON true
       WHERE j.status = 'RUNNING' AND j.started_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM notification_duration_claim k WHERE k.job_run_id = j.id AND k.rule_id = r.id)
         AND notification_rule_in_scope(r, j)
         AND (   (r.duration_limit_seconds IS NOT NULL AND now() - j.started_at > make_interval(secs => r.duration_limit_seconds))
              OR (r.duration_p95_factor IS NOT NULL AND p.p95 IS NOT NULL AND extract(epoch FROM now() - j.started_at) > r.duration_p95_factor * p.p95))),
    claimed AS (
      INSERT INTO notification_duration_claim (job_run_id, rule_id)
      SELECT run_id, rule_id FROM over ORDER BY run_id, rule_id
      ON CONFLICT DO NOTHING
      RETURNING job_run_id, rule_id)
    INSERT INTO notification_delivery (channel_id, rule_id, job_run_id, event, payload)
    SELECT c.id, x.rule_id, x.run_id, 'DURATION_EXCEEDED',
           jsonb_build_object('event', 'DURATION_EXCEEDED', 'run', notification_run_payload(x.j), 'details', jsonb_build_object(
             'durationSeconds', round(x.running::numeric, 3), 'limitSeconds', x.limit_seconds,
             'p95Seconds', round(x.p95::numeric, 3), 'p95Factor', x.factor, 'stillRunning', true))
      FROM over x
      JOIN claimed k ON k.job_run_id = x.run_id AND k.rule_id = x.rule_id
      JOIN notification_channel c ON c.id = ANY (x.channel_ids);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    v_total := v_total + v_count;
  END IF;
  FOR v_rule IN SELECT * FROM notification_rule
            WHERE enabled AND 'QUEUE_BACKLOG' = ANY (events::text[]) AND queue_backlog_seconds IS NOT NULL
            FOR UPDATE SKIP LOCKED LOOP
    SELECT j.* INTO v_oldest FROM job_run j
     WHERE j.status = 'QUEUED' AND j.attempt = 0 AND j.created_at < now() - make_interval(secs => v_rule.queue_backlog_seconds)
       AND notification_rule_in_scope(v_rule, j)
     ORDER BY j.created_at LIMIT 1;
    IF v_oldest.id IS NULL THEN
      IF v_rule.backlog_raised_at IS NOT NULL THEN
        UPDATE notification_rule SET backlog_raised_at = NULL WHERE id = v_rule.id;
      END IF;
    ELSIF v_rule.backlog_raised_at IS NULL THEN
      SELECT count(*) INTO v_queued FROM job_run j WHERE j.status = 'QUEUED' AND j.attempt = 0 AND notification_rule_in_scope(v_rule, j);
      INSERT INTO notification_delivery (channel_id, rule_id, job_run_id, event, payload)
      SELECT c.id, v_rule.id, v_oldest.id, 'QUEUE_BACKLOG',
             jsonb_build_object('event', 'QUEUE_BACKLOG', 'run', notification_run_payload(v_oldest), 'details', jsonb_build_object(
               'queuedSeconds', round(extract(epoch FROM now() - v_oldest.created_at)::numeric, 3),
               'thresholdSeconds', v_rule.queue_backlog_seconds, 'queuedRuns', v_queued))
        FROM notification_channel c WHERE c.id = ANY (v_rule.channel_ids);
      GET DIAGNOSTICS v_count = ROW_COUNT;
      v_total := v_total + v_count;
      UPDATE notification_rule SET backlog_raised_at = now() WHERE id = v_rule.id;
    END IF;
    v_oldest := NULL;
  END LOOP;
  IF v_total > 0 THEN
    PERFORM pg_notify('switchyard_notification', '');
  END IF;
  RETURN v_total;
END
$$;
