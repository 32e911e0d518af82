-- AlterEnum (the new values are used only as text inside the function below, never in this transaction)
ALTER TYPE "NotificationEvent" ADD VALUE 'RUN_STARTED';
ALTER TYPE "NotificationEvent" ADD VALUE 'RUN_TIMED_OUT';

-- CreateEnum
CREATE TYPE "NotificationChannelKind" AS ENUM ('WEBHOOK', 'EMAIL', 'SLACK', 'TEAMS', 'MATTERMOST');

-- CreateEnum
CREATE TYPE "SmtpSecurity" AS ENUM ('NONE', 'STARTTLS', 'TLS');

-- AlterTable: channels of other kinds than signed webhooks (email has no URL; chat webhooks no secret).
ALTER TABLE "notification_channel"
  ADD COLUMN "kind" "NotificationChannelKind" NOT NULL DEFAULT 'WEBHOOK',
  ALTER COLUMN "url" DROP NOT NULL,
  ALTER COLUMN "secret_credential_id" DROP NOT NULL,
  ADD COLUMN "secondary_secret_credential_id" UUID,
  ADD COLUMN "smtp_host" TEXT,
  ADD COLUMN "smtp_port" INTEGER,
  ADD COLUMN "smtp_security" "SmtpSecurity",
  ADD COLUMN "smtp_credential_id" UUID,
  ADD COLUMN "smtp_ca_certificate" TEXT,
  ADD COLUMN "email_from" TEXT,
  ADD COLUMN "email_to" TEXT[] DEFAULT ARRAY[]::TEXT[],
  ADD COLUMN "subject_template" TEXT,
  ADD COLUMN "body_template" TEXT,
  ADD COLUMN "html_template" TEXT;

-- AddForeignKey
ALTER TABLE "notification_channel" ADD CONSTRAINT "notification_channel_secondary_secret_credential_id_fkey" FOREIGN KEY ("secondary_secret_credential_id") REFERENCES "credential"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notification_channel" ADD CONSTRAINT "notification_channel_smtp_credential_id_fkey" FOREIGN KEY ("smtp_credential_id") REFERENCES "credential"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Every field of a run a message template can use, built in one place: the outbox trigger freezes it into
-- the delivery, and the preview (notificationPreview) builds it for a past run the same way.
CREATE FUNCTION notification_run_payload(r job_run) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', r.id, 'number', r.number, 'templateId', r.template_id, 'templateName', r.template_name,
    'jobType', r.job_type, 'status', r.status::text, 'trigger', r.trigger::text, 'attempt', r.attempt,
    'maxAttempts', r.max_attempts, 'createdAt', r.created_at, 'startedAt', r.started_at, 'finishedAt', r.finished_at,
    'durationSeconds', CASE WHEN r.started_at IS NULL THEN NULL
                            ELSE round(extract(epoch FROM COALESCE(r.finished_at, now()) - r.started_at)::numeric, 3) END,
    'error', r.error,
    'failedTargets', COALESCE((SELECT jsonb_agg(t.name ORDER BY t.position) FROM run_target t
                                WHERE t.run_id = r.id AND t.status IN ('FAILED', 'TIMED_OUT')), '[]'::jsonb),
    'targetsTotal', r.targets_total, 'targetsDone', r.targets_done, 'targetsFailed', r.targets_failed,
    'parameters', r.parameters, 'result', r.result,
    'scheduleId', r.schedule_id, 'scheduleName', (SELECT s.name FROM job_schedule s WHERE s.id = r.schedule_id),
    'triggeredBy', (SELECT u.username FROM app_user u WHERE u.id = r.triggered_by_id),
    'link', '/runs/' || r.id)
$$;

-- The outbox trigger (see 20261204180000_notifications), now also for RUN_STARTED (the run's FIRST start:
-- a retry's attempt 2, 3 … never notifies again) and RUN_TIMED_OUT (besides RUN_FAILED, which keeps
-- covering TIMED_OUT for existing rules).
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
      WHEN 'TIMED_OUT' THEN ARRAY['RUN_FAILED', 'RUN_TIMED_OUT']
      WHEN 'CANCELLED' THEN ARRAY['RUN_CANCELLED']
      WHEN 'RUNNING' THEN CASE WHEN NEW.attempt = 1 THEN ARRAY['RUN_STARTED'] ELSE ARRAY[]::text[] END
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
    v_payload := jsonb_build_object('run', notification_run_payload(NEW));
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

DROP TRIGGER job_run_notification_outbox ON job_run;
CREATE TRIGGER job_run_notification_outbox
  AFTER UPDATE OF status ON job_run
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'))
  EXECUTE FUNCTION notification_job_run_ended();
