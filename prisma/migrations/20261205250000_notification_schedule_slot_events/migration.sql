-- AlterEnum (used only as text inside the function below, never in this transaction)
ALTER TYPE "NotificationEvent" ADD VALUE 'SCHEDULE_SLOT_MISSED';
ALTER TYPE "NotificationEvent" ADD VALUE 'SCHEDULE_SLOT_SKIPPED';

-- The outbox trigger (latest body: 20261205150100_notification_threshold_events), now also for a schedule
-- slot that did not run: the scheduler records it as a job_run already final, MISSED (the misfire policy
-- gave it up) or SKIPPED (a blackout window or the overlap policy). The function only gains the two
-- statuses in its CASE; everything else is as before.
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
            AND (cardinality(r.template_ids) = 0 OR NEW.template_id = ANY (r.template_ids))) THEN
      SELECT status::text INTO v_previous FROM job_run
       WHERE template_id = NEW.template_id AND id <> NEW.id AND status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT')
       ORDER BY finished_at DESC NULLS LAST, number DESC LIMIT 1;
      IF v_previous IN ('FAILED', 'TIMED_OUT') THEN
        v_events := array_append(v_events, 'RUN_RECOVERED');
      END IF;
    END IF;
    IF NEW.status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT') AND NEW.started_at IS NOT NULL AND NEW.finished_at IS NOT NULL AND EXISTS (
         SELECT 1 FROM notification_rule r WHERE r.enabled AND 'DURATION_EXCEEDED' = ANY (r.events::text[])
            AND (cardinality(r.template_ids) = 0 OR NEW.template_id = ANY (r.template_ids))) THEN
      v_duration := extract(epoch FROM NEW.finished_at - NEW.started_at);
      IF NEW.template_id IS NOT NULL AND EXISTS (
           SELECT 1 FROM notification_rule r WHERE r.enabled AND 'DURATION_EXCEEDED' = ANY (r.events::text[]) AND r.duration_p95_factor IS NOT NULL
              AND (cardinality(r.template_ids) = 0 OR NEW.template_id = ANY (r.template_ids))) THEN
        SELECT CASE WHEN count(*) >= 5 THEN percentile_cont(0.95) WITHIN GROUP (ORDER BY d) END INTO v_p95
          FROM (SELECT extract(epoch FROM finished_at - started_at) AS d FROM job_run
                 WHERE template_id = NEW.template_id AND id <> NEW.id AND status = 'SUCCEEDED'
                   AND started_at IS NOT NULL AND finished_at IS NOT NULL
                 ORDER BY created_at DESC LIMIT 100) recent;
      END IF;
      v_events := array_append(v_events, 'DURATION_EXCEEDED');
    END IF;
    IF NEW.status IN ('FAILED', 'TIMED_OUT') AND NEW.template_id IS NOT NULL AND EXISTS (
         SELECT 1 FROM notification_rule r WHERE r.enabled AND 'CONSECUTIVE_FAILURES' = ANY (r.events::text[])
            AND (cardinality(r.template_ids) = 0 OR NEW.template_id = ANY (r.template_ids))) THEN
      SELECT count(*) + 1 INTO v_streak FROM job_run
       WHERE template_id = NEW.template_id AND id <> NEW.id AND status IN ('FAILED', 'TIMED_OUT')
         AND finished_at > COALESCE((SELECT max(finished_at) FROM job_run
                                      WHERE template_id = NEW.template_id AND status = 'SUCCEEDED'), '-infinity');
      v_events := array_append(v_events, 'CONSECUTIVE_FAILURES');
    END IF;
    IF cardinality(v_events) = 0 OR NOT EXISTS (
         SELECT 1 FROM notification_rule r WHERE r.enabled AND r.events::text[] && v_events
            AND (cardinality(r.template_ids) = 0 OR NEW.template_id = ANY (r.template_ids))) THEN
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
             ELSE '{}'::jsonb END
      FROM notification_rule r
      CROSS JOIN LATERAL unnest(r.events::text[]) AS e(event)
      JOIN notification_channel c ON c.id = ANY (r.channel_ids)
     WHERE r.enabled AND e.event = ANY (v_events)
       AND (cardinality(r.template_ids) = 0 OR NEW.template_id = ANY (r.template_ids))
       AND (e.event <> 'DURATION_EXCEEDED'
            OR (r.duration_limit_seconds IS NOT NULL AND v_duration > r.duration_limit_seconds)
            OR (r.duration_p95_factor IS NOT NULL AND v_p95 IS NOT NULL AND v_duration > r.duration_p95_factor * v_p95))
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

-- A MISSED or SKIPPED slot is INSERTed with its final status (RunsService.createRunIn with `record`) and
-- never updated, so the UPDATE trigger never sees it: a second trigger on INSERT, for those two statuses
-- only (every other run is inserted QUEUED/PENDING, which notifies nothing). The UPDATE trigger also
-- takes them, should a run ever be moved to one of them later; its other statuses are unchanged.
DROP TRIGGER job_run_notification_outbox ON job_run;
CREATE TRIGGER job_run_notification_outbox
  AFTER UPDATE OF status ON job_run
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED'))
  EXECUTE FUNCTION notification_job_run_ended();
CREATE TRIGGER job_run_notification_outbox_slot
  AFTER INSERT ON job_run
  FOR EACH ROW
  WHEN (NEW.status IN ('MISSED', 'SKIPPED'))
  EXECUTE FUNCTION notification_job_run_ended();
