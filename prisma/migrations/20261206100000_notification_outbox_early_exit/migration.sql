-- The outbox trigger (latest body: 20261206040000_notification_scopes_and_watch), changed in one place only:
-- it returns at once when no notification rule is enabled. It fires on every run's start and end, and
-- without rules its work (the event list, up to five rule look-ups, the CONFIG_CHANGED details) cost
-- ~0.3 ms per run for nothing: every side effect it has — the duration claims, the delivery rows and
-- their NOTIFY — is for an enabled rule, and nothing else reads what it computes. (A rule enabled while
-- a run ends is seen by the run's next transition, as before: the trigger reads committed rules.)
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
  -- No enabled rule, no delivery: everything below (look-backs, duration claims, CONFIG_CHANGED details,
  -- streak counts) only feeds the delivery INSERT and is itself gated on an enabled rule.
  IF NOT EXISTS (SELECT 1 FROM notification_rule WHERE enabled) THEN
    RETURN NULL;
  END IF;
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
