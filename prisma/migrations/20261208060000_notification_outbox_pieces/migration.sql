-- The job_run outbox trigger (latest body: 20261206100000_notification_outbox_early_exit), split into small
-- functions with the same behaviour. Its whole body had been copied into four migrations to change one part
-- each time; now a later migration replaces only the piece it changes:
--   notification_rules_want     the scope test: does an enabled rule in scope of the run ask for one of these events
--   notification_run_events     the event list, with what the derived events found (the facts below)
--     notification_status_events          the events the status itself is
--     notification_run_recovered          RUN_RECOVERED's look-back
--     notification_duration_exceeded      DURATION_EXCEEDED's measure, p95 and claims
--     notification_failure_streak         CONSECUTIVE_FAILURES' count
--     notification_config_changed_details CONFIG_CHANGED's details
--   notification_event_payload  one delivery's payload (the run, the event, its details for the rule)
--   notification_job_run_ended  the trigger: early exit, the pieces in order, the INSERT and its NOTIFY
-- All of it still runs inside the trigger's exception block: any error is a warning, never a failed run.

-- What the event list found, for the payloads: durations and claims (DURATION_EXCEEDED), the streak
-- (CONSECUTIVE_FAILURES) and the backup's details (CONFIG_CHANGED). NULL where the event does not apply.
CREATE TYPE notification_run_facts AS (
  events text[],
  duration double precision,
  p95 double precision,
  claimed uuid[],
  streak int,
  config jsonb
);

-- Whether an enabled rule covering the run asks for any of the events.
CREATE FUNCTION notification_rules_want(j job_run, p_events text[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM notification_rule r WHERE r.enabled AND r.events::text[] && p_events AND notification_rule_in_scope(r, j))
$$;

CREATE FUNCTION notification_status_events(j job_run) RETURNS text[]
LANGUAGE sql STABLE AS $$
  SELECT CASE j.status::text
    WHEN 'SUCCEEDED' THEN ARRAY['RUN_SUCCEEDED']
    WHEN 'FAILED' THEN ARRAY['RUN_FAILED']
    WHEN 'TIMED_OUT' THEN ARRAY['RUN_FAILED', 'RUN_TIMED_OUT']
    WHEN 'CANCELLED' THEN ARRAY['RUN_CANCELLED']
    WHEN 'RUNNING' THEN CASE WHEN j.attempt = 1 THEN ARRAY['RUN_STARTED'] ELSE ARRAY[]::text[] END
    WHEN 'MISSED' THEN ARRAY['SCHEDULE_SLOT_MISSED']
    WHEN 'SKIPPED' THEN ARRAY['SCHEDULE_SLOT_SKIPPED']
    ELSE ARRAY[]::text[] END
$$;

-- A success after a failure of the same template. The look-back costs a scan: only when a rule asks.
CREATE FUNCTION notification_run_recovered(j job_run) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_previous text;
BEGIN
  IF j.status <> 'SUCCEEDED' OR j.template_id IS NULL OR NOT notification_rules_want(j, ARRAY['RUN_RECOVERED']) THEN
    RETURN false;
  END IF;
  SELECT status::text INTO v_previous FROM job_run
   WHERE template_id = j.template_id AND id <> j.id AND status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT')
   ORDER BY finished_at DESC NULLS LAST, number DESC LIMIT 1;
  RETURN v_previous IN ('FAILED', 'TIMED_OUT');
END
$$;

-- A finished run's duration against the rules' limits: its seconds, the template's p95 (only if a rule in
-- scope has a p95 factor), and the rules it exceeded, claimed here (once per run and rule) in a fixed
-- order so two claimants never wait on each other crosswise. NULL when no rule in scope asks.
CREATE FUNCTION notification_duration_exceeded(j job_run, OUT duration double precision, OUT p95 double precision, OUT claimed uuid[])
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF NOT (j.status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT') AND j.started_at IS NOT NULL AND j.finished_at IS NOT NULL
          AND notification_rules_want(j, ARRAY['DURATION_EXCEEDED'])) THEN
    RETURN;
  END IF;
  duration := extract(epoch FROM j.finished_at - j.started_at);
  IF j.template_id IS NOT NULL AND EXISTS (
       SELECT 1 FROM notification_rule r WHERE r.enabled AND 'DURATION_EXCEEDED' = ANY (r.events::text[]) AND r.duration_p95_factor IS NOT NULL
          AND notification_rule_in_scope(r, j)) THEN
    SELECT CASE WHEN count(*) >= 5 THEN percentile_cont(0.95) WITHIN GROUP (ORDER BY d) END INTO p95
      FROM (SELECT extract(epoch FROM finished_at - started_at) AS d FROM job_run
             WHERE template_id = j.template_id AND id <> j.id AND status = 'SUCCEEDED'
               AND started_at IS NOT NULL AND finished_at IS NOT NULL
             ORDER BY created_at DESC LIMIT 100) recent;
  END IF;
  WITH c AS (
    INSERT INTO notification_duration_claim (job_run_id, rule_id)
    SELECT j.id, r.id FROM notification_rule r
     WHERE r.enabled AND 'DURATION_EXCEEDED' = ANY (r.events::text[]) AND notification_rule_in_scope(r, j)
       AND (   (r.duration_limit_seconds IS NOT NULL AND duration > r.duration_limit_seconds)
            OR (r.duration_p95_factor IS NOT NULL AND p95 IS NOT NULL AND duration > r.duration_p95_factor * p95))
     ORDER BY r.id
    ON CONFLICT DO NOTHING
    RETURNING rule_id)
  SELECT COALESCE(array_agg(rule_id), ARRAY[]::uuid[]) INTO claimed FROM c;
END
$$;

-- The template's failures in a row ending with this one (counted since its last success). NULL when the
-- run did not fail or no rule in scope asks.
CREATE FUNCTION notification_failure_streak(j job_run) RETURNS int
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_streak int;
BEGIN
  IF NOT (j.status IN ('FAILED', 'TIMED_OUT') AND j.template_id IS NOT NULL AND notification_rules_want(j, ARRAY['CONSECUTIVE_FAILURES'])) THEN
    RETURN NULL;
  END IF;
  SELECT count(*) + 1 INTO v_streak FROM job_run
   WHERE template_id = j.template_id AND id <> j.id AND status IN ('FAILED', 'TIMED_OUT')
     AND finished_at > COALESCE((SELECT max(finished_at) FROM job_run
                                  WHERE template_id = j.template_id AND status = 'SUCCEEDED'), '-infinity');
  RETURN v_streak;
END
$$;

-- A config backup's outcome (its commit, counts and the targets whose config changed). NULL for any other run.
CREATE FUNCTION notification_config_changed_details(j job_run) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
           'commit', j.result ->> 'commit',
           'changed', j.result -> 'changed', 'unchanged', j.result -> 'unchanged', 'failed', j.result -> 'failed',
           'changedTargets', COALESCE((SELECT jsonb_agg(jsonb_build_object('name', t.name, 'diffSummary', t.result ->> 'diffSummary') ORDER BY t.position)
                                         FROM run_target t WHERE t.run_id = j.id AND (t.result ->> 'changed')::boolean IS TRUE), '[]'::jsonb))
   WHERE j.job_type = 'config_backup' AND j.status IN ('SUCCEEDED', 'FAILED') AND jsonb_typeof(j.result -> 'commit') = 'string'
$$;

-- The run's events: its status's, then the derived ones that apply (each computed only when an enabled
-- rule in scope asks for it), with what they found.
CREATE FUNCTION notification_run_events(j job_run) RETURNS notification_run_facts
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  f notification_run_facts;
  d record;
BEGIN
  f.events := notification_status_events(j);
  IF notification_run_recovered(j) THEN
    f.events := array_append(f.events, 'RUN_RECOVERED');
  END IF;
  d := notification_duration_exceeded(j);
  f.claimed := COALESCE(d.claimed, ARRAY[]::uuid[]);
  IF d.claimed IS NOT NULL THEN
    f.duration := d.duration;
    f.p95 := d.p95;
    f.events := array_append(f.events, 'DURATION_EXCEEDED');
  END IF;
  f.streak := notification_failure_streak(j);
  IF f.streak IS NOT NULL THEN
    f.events := array_append(f.events, 'CONSECUTIVE_FAILURES');
  END IF;
  f.config := notification_config_changed_details(j);
  IF f.config IS NOT NULL THEN
    f.events := array_append(f.events, 'CONFIG_CHANGED');
  END IF;
  RETURN f;
END
$$;

-- One delivery's payload: the run (frozen now, so later edits or retention never change what a receiver
-- gets), the event, and the event's details for this rule.
CREATE FUNCTION notification_event_payload(run jsonb, p_event text, r notification_rule, f notification_run_facts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('run', run) || jsonb_build_object('event', p_event) || CASE p_event
    WHEN 'DURATION_EXCEEDED' THEN jsonb_build_object('details', jsonb_build_object(
      'durationSeconds', round(f.duration::numeric, 3), 'limitSeconds', r.duration_limit_seconds,
      'p95Seconds', round(f.p95::numeric, 3), 'p95Factor', r.duration_p95_factor))
    WHEN 'CONSECUTIVE_FAILURES' THEN jsonb_build_object('details', jsonb_build_object('consecutiveFailures', f.streak))
    WHEN 'CONFIG_CHANGED' THEN jsonb_build_object('details', f.config)
    ELSE '{}'::jsonb END
$$;

-- The trigger. It fires on every run's start and end: with no enabled rule it returns at once, since
-- every side effect below (duration claims, delivery rows, their NOTIFY) is for an enabled rule.
CREATE OR REPLACE FUNCTION notification_job_run_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  f notification_run_facts;
  v_run jsonb;
  v_count int;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM notification_rule WHERE enabled) THEN
    RETURN NULL;
  END IF;
  BEGIN
    f := notification_run_events(NEW);
    IF cardinality(f.events) = 0 OR NOT notification_rules_want(NEW, f.events) THEN
      RETURN NULL;
    END IF;
    v_run := notification_run_payload(NEW);
    INSERT INTO notification_delivery (channel_id, rule_id, job_run_id, event, payload)
    SELECT c.id, r.id, NEW.id, e.event::"NotificationEvent", notification_event_payload(v_run, e.event, r, f)
      FROM notification_rule r
      CROSS JOIN LATERAL unnest(r.events::text[]) AS e(event)
      JOIN notification_channel c ON c.id = ANY (r.channel_ids)
     WHERE r.enabled AND e.event = ANY (f.events)
       AND notification_rule_in_scope(r, NEW)
       AND (e.event <> 'DURATION_EXCEEDED' OR r.id = ANY (f.claimed))
       AND (e.event <> 'CONSECUTIVE_FAILURES' OR f.streak = COALESCE(r.consecutive_failures, 3));
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
