-- Step outputs: templates declare them, targets publish them (jobs/step-outputs.ts).
ALTER TABLE "job_template" ADD COLUMN "outputs" JSONB NOT NULL DEFAULT '[]';
ALTER TABLE "run_target" ADD COLUMN "outputs" JSONB,
ADD COLUMN "secret_outputs" BYTEA;

-- Notification payloads carry the run's step outputs (the same view as JobRun.outputs, SECRET values
-- masked): the function of 20261204180000_notifications with one more field in `run`.
CREATE OR REPLACE FUNCTION notification_job_run_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_events text[];
  v_previous text;
  v_payload jsonb;
  v_count int;
BEGIN
  BEGIN
    v_events := CASE NEW.status::text
      WHEN 'SUCCEEDED' THEN ARRAY['RUN_SUCCEEDED']
      WHEN 'FAILED' THEN ARRAY['RUN_FAILED']
      WHEN 'TIMED_OUT' THEN ARRAY['RUN_FAILED']
      WHEN 'CANCELLED' THEN ARRAY['RUN_CANCELLED']
      ELSE ARRAY[]::text[] END;
    -- Looking back through the template's runs costs a scan: only when some rule asks for RUN_RECOVERED.
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
    IF cardinality(v_events) = 0 OR NOT EXISTS (
         SELECT 1 FROM notification_rule r WHERE r.enabled AND r.events::text[] && v_events
            AND (cardinality(r.template_ids) = 0 OR NEW.template_id = ANY (r.template_ids))) THEN
      RETURN NULL;
    END IF;
    v_payload := jsonb_build_object(
      'run', jsonb_build_object(
        'id', NEW.id, 'number', NEW.number, 'templateId', NEW.template_id, 'templateName', NEW.template_name,
        'jobType', NEW.job_type, 'status', NEW.status::text, 'trigger', NEW.trigger::text, 'attempt', NEW.attempt,
        'createdAt', NEW.created_at, 'startedAt', NEW.started_at, 'finishedAt', NEW.finished_at, 'error', NEW.error,
        'failedTargets', COALESCE((SELECT jsonb_agg(t.name ORDER BY t.position) FROM run_target t
                                    WHERE t.run_id = NEW.id AND t.status IN ('FAILED', 'TIMED_OUT')), '[]'::jsonb),
        'link', '/runs/' || NEW.id,
        -- Step outputs as the API shows them (JobRun.outputs): SECRET values are stored masked already.
        'outputs', (SELECT CASE WHEN count(*) = 1 THEN (array_agg(t.outputs))[1]
                                ELSE jsonb_object_agg(t.name, t.outputs) FILTER (WHERE t.outputs IS NOT NULL) END
                      FROM run_target t WHERE t.run_id = NEW.id)));
    INSERT INTO notification_delivery (channel_id, rule_id, job_run_id, event, payload)
    SELECT c.id, r.id, NEW.id, e.event::"NotificationEvent",
           v_payload || jsonb_build_object('event', e.event)
      FROM notification_rule r
      CROSS JOIN LATERAL unnest(r.events::text[]) AS e(event)
      JOIN notification_channel c ON c.id = ANY (r.channel_ids)
     WHERE r.enabled AND e.event = ANY (v_events)
       AND (cardinality(r.template_ids) = 0 OR NEW.template_id = ANY (r.template_ids));
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
