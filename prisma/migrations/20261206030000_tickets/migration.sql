-- CreateEnum
CREATE TYPE "TicketTrackerKind" AS ENUM ('REDMINE', 'WEBHOOK');

-- CreateEnum
CREATE TYPE "TicketPriority" AS ENUM ('LOW', 'NORMAL', 'HIGH', 'URGENT');

-- CreateEnum
CREATE TYPE "TicketStatus" AS ENUM ('OPEN', 'CLOSED');

-- CreateEnum
CREATE TYPE "TicketRuleTrigger" AS ENUM ('FAILED', 'CONSECUTIVE_FAILURES');

-- CreateEnum
CREATE TYPE "TicketActionKind" AS ENUM ('CREATE', 'COMMENT', 'CLOSE', 'REOPEN');

-- CreateEnum
CREATE TYPE "TicketActionStatus" AS ENUM ('PENDING', 'DONE', 'FAILED');

-- CreateTable
CREATE TABLE "ticket_tracker" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "kind" "TicketTrackerKind" NOT NULL,
    "url" TEXT NOT NULL,
    "credential_id" UUID NOT NULL,
    "project" TEXT,
    "redmine_tracker_id" INTEGER,
    "closed_status_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ticket_tracker_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ticket_rule" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "tracker_id" UUID NOT NULL,
    "template_ids" UUID[],
    "trigger" "TicketRuleTrigger" NOT NULL DEFAULT 'FAILED',
    "consecutive_failures" INTEGER,
    "priority" "TicketPriority" NOT NULL DEFAULT 'NORMAL',
    "close_on_recovery" BOOLEAN NOT NULL DEFAULT true,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ticket_rule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ticket" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tracker_id" UUID NOT NULL,
    "rule_id" UUID,
    "template_id" UUID,
    "dedup_key" TEXT,
    "external_id" TEXT,
    "url" TEXT,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "priority" "TicketPriority" NOT NULL DEFAULT 'NORMAL',
    "status" "TicketStatus" NOT NULL DEFAULT 'OPEN',
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closed_at" TIMESTAMPTZ(3),

    CONSTRAINT "ticket_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ticket_run" (
    "ticket_id" UUID NOT NULL,
    "job_run_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ticket_run_pkey" PRIMARY KEY ("ticket_id","job_run_id")
);

-- CreateTable
CREATE TABLE "ticket_action" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "seq" BIGSERIAL NOT NULL,
    "ticket_id" UUID NOT NULL,
    "kind" "TicketActionKind" NOT NULL,
    "reason" TEXT,
    "body" TEXT,
    "job_run_id" UUID,
    "status" "TicketActionStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_status_code" INTEGER,
    "last_error" TEXT,
    "enqueued_at" TIMESTAMPTZ(3),
    "next_attempt_at" TIMESTAMPTZ(3),
    "done_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ticket_action_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ticket_tracker_name_key" ON "ticket_tracker"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ticket_rule_name_key" ON "ticket_rule"("name");

-- CreateIndex
CREATE INDEX "ticket_dedup_key_idx" ON "ticket"("dedup_key");

-- CreateIndex
CREATE INDEX "ticket_run_job_run_id_idx" ON "ticket_run"("job_run_id");

-- CreateIndex
CREATE INDEX "ticket_action_status_enqueued_at_idx" ON "ticket_action"("status", "enqueued_at");

-- CreateIndex
CREATE INDEX "ticket_action_ticket_id_seq_idx" ON "ticket_action"("ticket_id", "seq");

-- AddForeignKey
ALTER TABLE "ticket_tracker" ADD CONSTRAINT "ticket_tracker_credential_id_fkey" FOREIGN KEY ("credential_id") REFERENCES "credential"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ticket_rule" ADD CONSTRAINT "ticket_rule_tracker_id_fkey" FOREIGN KEY ("tracker_id") REFERENCES "ticket_tracker"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ticket" ADD CONSTRAINT "ticket_tracker_id_fkey" FOREIGN KEY ("tracker_id") REFERENCES "ticket_tracker"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ticket" ADD CONSTRAINT "ticket_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "ticket_rule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ticket_run" ADD CONSTRAINT "ticket_run_ticket_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "ticket"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ticket_run" ADD CONSTRAINT "ticket_run_job_run_id_fkey" FOREIGN KEY ("job_run_id") REFERENCES "job_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ticket_action" ADD CONSTRAINT "ticket_action_ticket_id_fkey" FOREIGN KEY ("ticket_id") REFERENCES "ticket"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- At most one OPEN ticket per dedup key (a rule + a template): repeated failures comment on it instead.
CREATE UNIQUE INDEX "ticket_open_dedup_key" ON "ticket" ("dedup_key") WHERE status = 'OPEN' AND dedup_key IS NOT NULL;

-- The tickets' outbox, written in the transaction that makes a run final (a new function and trigger beside
-- the notification outbox; notification_job_run_ended is untouched). For each enabled rule matching the
-- run's template, with the dedup key 'rule:<rule id>:template:<template id>':
--   FAILED / TIMED_OUT: an OPEN ticket for the key gets the run linked and a COMMENT (FAILED_AGAIN);
--     otherwise, when the rule's trigger is met (FAILED: any failure; CONSECUTIVE_FAILURES: the streak
--     since the last success reached N, default 3), a new OPEN ticket with a CREATE action.
--   SUCCEEDED: an OPEN ticket for the key gets the run linked, a COMMENT (RECOVERED) and, when the rule says
--     closeOnRecovery, a CLOSE action; the row turns CLOSED at once (a later failure opens a new ticket).
-- The title is provisional: the delivery writes the full description (summary, failed targets, log tail)
-- from the run before it creates the issue. Any error here is a WARNING: a ticket never fails a run.
CREATE FUNCTION ticket_job_run_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_key text;
  v_ticket uuid;
  v_streak int;
  v_count int := 0;
  v_failed boolean := NEW.status IN ('FAILED', 'TIMED_OUT');
BEGIN
  -- No subtransaction (the EXCEPTION block below) for the common case of no rule at all.
  IF NEW.template_id IS NULL OR NOT EXISTS (SELECT 1 FROM ticket_rule WHERE enabled) THEN
    RETURN NULL;
  END IF;
  BEGIN
    FOR r IN SELECT * FROM ticket_rule WHERE enabled AND (cardinality(template_ids) = 0 OR NEW.template_id = ANY (template_ids)) ORDER BY created_at, id LOOP
      v_key := 'rule:' || r.id || ':template:' || NEW.template_id;
      SELECT id INTO v_ticket FROM ticket WHERE dedup_key = v_key AND status = 'OPEN' FOR UPDATE;
      IF v_failed THEN
        IF v_ticket IS NULL THEN
          IF r.trigger = 'CONSECUTIVE_FAILURES' THEN
            SELECT count(*) + 1 INTO v_streak FROM job_run
             WHERE template_id = NEW.template_id AND id <> NEW.id AND status IN ('FAILED', 'TIMED_OUT')
               AND finished_at > COALESCE((SELECT max(finished_at) FROM job_run
                                            WHERE template_id = NEW.template_id AND status = 'SUCCEEDED'), '-infinity');
            CONTINUE WHEN v_streak < COALESCE(r.consecutive_failures, 3);
          END IF;
          -- A concurrent failure of the same template may be opening it too: the unique index makes one
          -- of them wait, and the loser links to the winner's ticket.
          INSERT INTO ticket (tracker_id, rule_id, template_id, dedup_key, title, description, priority)
          VALUES (r.tracker_id, r.id, NEW.template_id, v_key, left(NEW.template_name || ' failed (run #' || NEW.number || ')', 255), '', r.priority)
          ON CONFLICT (dedup_key) WHERE status = 'OPEN' AND dedup_key IS NOT NULL DO NOTHING
          RETURNING id INTO v_ticket;
          IF v_ticket IS NOT NULL THEN
            INSERT INTO ticket_action (ticket_id, kind, job_run_id) VALUES (v_ticket, 'CREATE', NEW.id);
          ELSE
            SELECT id INTO v_ticket FROM ticket WHERE dedup_key = v_key AND status = 'OPEN';
            CONTINUE WHEN v_ticket IS NULL;
            INSERT INTO ticket_action (ticket_id, kind, reason, job_run_id) VALUES (v_ticket, 'COMMENT', 'FAILED_AGAIN', NEW.id);
          END IF;
        ELSE
          INSERT INTO ticket_action (ticket_id, kind, reason, job_run_id) VALUES (v_ticket, 'COMMENT', 'FAILED_AGAIN', NEW.id);
        END IF;
      ELSE
        CONTINUE WHEN v_ticket IS NULL;
        INSERT INTO ticket_action (ticket_id, kind, reason, job_run_id) VALUES (v_ticket, 'COMMENT', 'RECOVERED', NEW.id);
        IF r.close_on_recovery THEN
          INSERT INTO ticket_action (ticket_id, kind, job_run_id) VALUES (v_ticket, 'CLOSE', NEW.id);
          UPDATE ticket SET status = 'CLOSED', closed_at = now(), updated_at = now() WHERE id = v_ticket;
        END IF;
      END IF;
      INSERT INTO ticket_run (ticket_id, job_run_id) VALUES (v_ticket, NEW.id) ON CONFLICT DO NOTHING;
      v_count := v_count + 1;
    END LOOP;
    IF v_count > 0 THEN
      PERFORM pg_notify('switchyard_ticket', '');
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'ticket outbox for job run % failed: %', NEW.id, SQLERRM;
  END;
  RETURN NULL;
END
$$;

-- Only a run's final outcome: a retried attempt goes back to QUEUED, never through these statuses.
CREATE TRIGGER job_run_ticket_outbox
  AFTER UPDATE OF status ON job_run
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT'))
  EXECUTE FUNCTION ticket_job_run_ended();
