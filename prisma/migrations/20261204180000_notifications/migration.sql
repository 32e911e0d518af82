-- CreateEnum
CREATE TYPE "NotificationEvent" AS ENUM ('RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_CANCELLED', 'RUN_RECOVERED');

-- CreateEnum
CREATE TYPE "NotificationDeliveryStatus" AS ENUM ('PENDING', 'DELIVERED', 'FAILED');

-- CreateTable
CREATE TABLE "notification_channel" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "headers" JSONB NOT NULL DEFAULT '{}',
    "secret_credential_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "notification_channel_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_rule" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "events" "NotificationEvent"[],
    "template_ids" UUID[],
    "channel_ids" UUID[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "notification_rule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_delivery" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "channel_id" UUID NOT NULL,
    "rule_id" UUID,
    "job_run_id" UUID NOT NULL,
    "event" "NotificationEvent" NOT NULL,
    "payload" JSONB NOT NULL,
    "status" "NotificationDeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_status_code" INTEGER,
    "last_error" TEXT,
    "enqueued_at" TIMESTAMPTZ(3),
    "next_attempt_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_delivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "notification_channel_name_key" ON "notification_channel"("name");

-- CreateIndex
CREATE UNIQUE INDEX "notification_rule_name_key" ON "notification_rule"("name");

-- CreateIndex
CREATE INDEX "notification_delivery_status_enqueued_at_idx" ON "notification_delivery"("status", "enqueued_at");

-- CreateIndex
CREATE INDEX "notification_delivery_created_at_idx" ON "notification_delivery"("created_at");

-- AddForeignKey
ALTER TABLE "notification_channel" ADD CONSTRAINT "notification_channel_secret_credential_id_fkey" FOREIGN KEY ("secret_credential_id") REFERENCES "credential"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notification_delivery" ADD CONSTRAINT "notification_delivery_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "notification_channel"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The transactional outbox (issue #13): a run's FINAL outcome writes one notification_delivery row per
-- matching enabled rule × channel, in the transaction that makes the run final — whichever path ends it
-- (dispatcher, reaper, cancel), and none if that transaction rolls back. A retry attempt goes back to
-- QUEUED, never through a final status, so only the outcome of the last attempt notifies.
-- RUN_RECOVERED: a success whose template's previous final outcome (by finish time) was a failure.
-- The payload is frozen here, so later edits or retention never change what a receiver gets.
-- Any error is isolated (a warning) so a notification bug can never stop a run from ending.
CREATE FUNCTION notification_job_run_ended() RETURNS trigger
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
        'link', '/runs/' || NEW.id));
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

CREATE TRIGGER job_run_notification_outbox
  AFTER UPDATE OF status ON job_run
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'))
  EXECUTE FUNCTION notification_job_run_ended();
