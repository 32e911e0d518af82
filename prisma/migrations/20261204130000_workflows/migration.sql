-- Workflows (issue #11): definitions, runs, and the graph's advance in SQL.

-- CreateEnum
CREATE TYPE "WorkflowNodeKind" AS ENUM ('TEMPLATE', 'APPROVAL');

-- CreateEnum
CREATE TYPE "WorkflowJoinPolicy" AS ENUM ('ALL_SUCCEEDED', 'ANY_SUCCEEDED', 'ALL_DONE', 'NONE_FAILED');

-- CreateEnum
CREATE TYPE "WorkflowEdgeKind" AS ENUM ('ON_SUCCESS', 'ON_FAILURE', 'ALWAYS');

-- CreateEnum
CREATE TYPE "WorkflowRunStatus" AS ENUM ('RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "WorkflowNodeStatus" AS ENUM ('PENDING', 'READY', 'RUNNING', 'AWAITING_APPROVAL', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED', 'SKIPPED');

-- CreateEnum
CREATE TYPE "ApprovalDecision" AS ENUM ('APPROVE', 'REJECT');

-- CreateTable
CREATE TABLE "workflow" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "parameters" JSONB NOT NULL DEFAULT '[]',
    "owner_id" UUID NOT NULL,
    "visibility" "Visibility" NOT NULL DEFAULT 'PRIVATE',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "workflow_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_node" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "workflow_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "kind" "WorkflowNodeKind" NOT NULL,
    "template_id" UUID,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "join_policy" "WorkflowJoinPolicy" NOT NULL DEFAULT 'ALL_SUCCEEDED',
    "approval" JSONB,

    CONSTRAINT "workflow_node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_edge" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "workflow_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "from_key" TEXT NOT NULL,
    "to_key" TEXT NOT NULL,
    "kind" "WorkflowEdgeKind" NOT NULL DEFAULT 'ON_SUCCESS',

    CONSTRAINT "workflow_edge_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_run" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "number" SERIAL NOT NULL,
    "workflow_id" UUID,
    "workflow_name" TEXT NOT NULL,
    "status" "WorkflowRunStatus" NOT NULL DEFAULT 'RUNNING',
    "trigger" "RunTrigger" NOT NULL,
    "triggered_by_id" UUID,
    "owner_id" UUID,
    "visibility" "Visibility" NOT NULL DEFAULT 'GLOBAL',
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "secret_parameters" BYTEA,
    "error" TEXT,
    "cancel_requested_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "event_seq" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "workflow_run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_node_run" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "workflow_run_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "kind" "WorkflowNodeKind" NOT NULL,
    "template_id" UUID,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "join_policy" "WorkflowJoinPolicy" NOT NULL,
    "incoming" JSONB NOT NULL DEFAULT '[]',
    "approval" JSONB,
    "status" "WorkflowNodeStatus" NOT NULL DEFAULT 'PENDING',
    "reason" TEXT,
    "job_run_id" UUID,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "message" TEXT,
    "deadline_at" TIMESTAMPTZ(3),

    CONSTRAINT "workflow_node_run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_approval" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "node_run_id" UUID NOT NULL,
    "user_id" UUID,
    "username" TEXT NOT NULL,
    "decision" "ApprovalDecision" NOT NULL,
    "comment" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflow_approval_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_run_event" (
    "workflow_run_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "node_key" TEXT,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "job_run_id" UUID,

    CONSTRAINT "workflow_run_event_pkey" PRIMARY KEY ("workflow_run_id","seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "workflow_owner_id_name_key" ON "workflow"("owner_id", "name");

-- CreateIndex
CREATE INDEX "workflow_node_template_id_idx" ON "workflow_node"("template_id");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_node_workflow_id_key_key" ON "workflow_node"("workflow_id", "key");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_edge_workflow_id_from_key_to_key_key" ON "workflow_edge"("workflow_id", "from_key", "to_key");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_run_number_key" ON "workflow_run"("number");

-- CreateIndex
CREATE INDEX "workflow_run_created_at_id_idx" ON "workflow_run"("created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "workflow_run_workflow_id_created_at_idx" ON "workflow_run"("workflow_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "workflow_run_status_idx" ON "workflow_run"("status");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_node_run_job_run_id_key" ON "workflow_node_run"("job_run_id");

-- CreateIndex
CREATE INDEX "workflow_node_run_workflow_run_id_status_idx" ON "workflow_node_run"("workflow_run_id", "status");

-- CreateIndex
CREATE INDEX "workflow_node_run_status_deadline_at_idx" ON "workflow_node_run"("status", "deadline_at");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_node_run_workflow_run_id_key_key" ON "workflow_node_run"("workflow_run_id", "key");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_approval_node_run_id_user_id_key" ON "workflow_approval"("node_run_id", "user_id");

-- AddForeignKey
ALTER TABLE "workflow" ADD CONSTRAINT "workflow_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_node" ADD CONSTRAINT "workflow_node_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflow"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_node" ADD CONSTRAINT "workflow_node_template_id_fkey" FOREIGN KEY ("template_id") REFERENCES "job_template"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_edge" ADD CONSTRAINT "workflow_edge_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflow"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run" ADD CONSTRAINT "workflow_run_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflow"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run" ADD CONSTRAINT "workflow_run_triggered_by_id_fkey" FOREIGN KEY ("triggered_by_id") REFERENCES "app_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_node_run" ADD CONSTRAINT "workflow_node_run_workflow_run_id_fkey" FOREIGN KEY ("workflow_run_id") REFERENCES "workflow_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_node_run" ADD CONSTRAINT "workflow_node_run_job_run_id_fkey" FOREIGN KEY ("job_run_id") REFERENCES "job_run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_approval" ADD CONSTRAINT "workflow_approval_node_run_id_fkey" FOREIGN KEY ("node_run_id") REFERENCES "workflow_node_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_approval" ADD CONSTRAINT "workflow_approval_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "app_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run_event" ADD CONSTRAINT "workflow_run_event_workflow_run_id_fkey" FOREIGN KEY ("workflow_run_id") REFERENCES "workflow_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A node's edge is satisfied by its parent's outcome: ON_SUCCESS by SUCCEEDED; ON_FAILURE by FAILED or
-- TIMED_OUT; ALWAYS by any outcome but SKIPPED. A skipped (or not yet ended) parent satisfies nothing.
CREATE FUNCTION workflow_edge_satisfied(kind text, parent_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE kind
    WHEN 'ON_SUCCESS' THEN parent_status = 'SUCCEEDED'
    WHEN 'ON_FAILURE' THEN parent_status IN ('FAILED', 'TIMED_OUT')
    WHEN 'ALWAYS' THEN parent_status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED')
    ELSE false END
$$;

-- Advances one workflow run: the single place the graph moves. Called in the transaction that ends a
-- node (the job_run trigger below, or the starter when a node fails before its run starts), under the
-- workflow run's row lock, so concurrent endings of sibling nodes are serialised and every node is
-- decided exactly once. Lock order everywhere: job_run → workflow_run → workflow_node_run.
--  * A PENDING node is decided once all its parents have ended: READY when its join holds, else
--    SKIPPED with the edges that failed it (skips cascade, hence the loop).
--    ALL_SUCCEEDED: every incoming edge satisfied; ANY_SUCCEEDED: at least one; ALL_DONE: every
--    parent ran (none SKIPPED), whatever its outcome; NONE_FAILED: no parent FAILED, TIMED_OUT or
--    CANCELLED, and at least one edge satisfied (skipped parents are tolerated).
--  * READY nodes are started by a worker (modules/workflows/workflow-starter.ts), woken by NOTIFY:
--    TEMPLATE nodes get a JobRun (RUNNING), APPROVAL nodes wait for decisions (AWAITING_APPROVAL).
--  * Cancelling skips nodes not started and cancels pending approvals (running JobRuns are cancelled
--    by the caller; they end CANCELLED through the trigger below).
--  * When no node is PENDING, READY or RUNNING the run ends: CANCELLED if cancel was requested,
--    FAILED if a node FAILED / TIMED_OUT / CANCELLED without an outgoing ON_FAILURE or ALWAYS edge that
--    its outcome satisfied, else SUCCEEDED.
CREATE FUNCTION workflow_advance(p_run uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_run record;
  v_node record;
  v_progress boolean;
  v_joined boolean;
  v_unhandled text;
BEGIN
  SELECT id, status, cancel_requested_at INTO v_run FROM workflow_run WHERE id = p_run FOR UPDATE;
  IF NOT FOUND OR v_run.status <> 'RUNNING' THEN
    RETURN;
  END IF;
  IF v_run.cancel_requested_at IS NOT NULL THEN
    UPDATE workflow_node_run SET status = 'SKIPPED', reason = 'the workflow run was cancelled', finished_at = now()
     WHERE workflow_run_id = p_run AND status IN ('PENDING', 'READY');
    UPDATE workflow_node_run SET status = 'CANCELLED', reason = 'the workflow run was cancelled while it awaited approval', finished_at = now()
     WHERE workflow_run_id = p_run AND status = 'AWAITING_APPROVAL';
  ELSE
    LOOP
      v_progress := false;
      FOR v_node IN
        SELECT c.id, c.join_policy::text AS join_policy,
               count(*) AS edges,
               count(*) FILTER (WHERE workflow_edge_satisfied(e.kind, p.status::text)) AS satisfied,
               count(*) FILTER (WHERE p.status = 'SKIPPED') AS skipped,
               count(*) FILTER (WHERE p.status IN ('FAILED', 'TIMED_OUT', 'CANCELLED')) AS failed,
               string_agg(format('%s -%s-> %s (%s %s)', e."from", e.kind, c.key, e."from", lower(p.status::text)), ', ' ORDER BY p.position)
                 FILTER (WHERE NOT workflow_edge_satisfied(e.kind, p.status::text)) AS unmet
          FROM workflow_node_run c
          CROSS JOIN LATERAL jsonb_to_recordset(c.incoming) AS e("from" text, kind text)
          JOIN workflow_node_run p ON p.workflow_run_id = c.workflow_run_id AND p.key = e."from"
         WHERE c.workflow_run_id = p_run AND c.status = 'PENDING'
         GROUP BY c.id, c.join_policy
        HAVING count(*) FILTER (WHERE p.status IN ('PENDING', 'READY', 'RUNNING', 'AWAITING_APPROVAL')) = 0
      LOOP
        v_joined := CASE v_node.join_policy
                      WHEN 'ALL_SUCCEEDED' THEN v_node.satisfied = v_node.edges
                      WHEN 'ANY_SUCCEEDED' THEN v_node.satisfied > 0
                      WHEN 'ALL_DONE' THEN v_node.skipped = 0
                      WHEN 'NONE_FAILED' THEN v_node.failed = 0 AND v_node.satisfied > 0
                      ELSE false END;
        IF v_joined THEN
          UPDATE workflow_node_run SET status = 'READY' WHERE id = v_node.id;
        ELSE
          UPDATE workflow_node_run
             SET status = 'SKIPPED', finished_at = now(),
                 reason = format('join %s cannot be satisfied: %s', v_node.join_policy,
                                 COALESCE(v_node.unmet, 'every parent was skipped'))
           WHERE id = v_node.id;
          v_progress := true;
        END IF;
      END LOOP;
      EXIT WHEN NOT v_progress;
    END LOOP;
  END IF;

  IF EXISTS (SELECT 1 FROM workflow_node_run WHERE workflow_run_id = p_run AND status = 'READY') THEN
    PERFORM pg_notify('switchyard_workflow_ready', p_run::text);
  ELSIF NOT EXISTS (SELECT 1 FROM workflow_node_run WHERE workflow_run_id = p_run AND status IN ('PENDING', 'RUNNING', 'AWAITING_APPROVAL')) THEN
    SELECT string_agg(format('%s %s', f.key, lower(f.status::text)), ', ' ORDER BY f.position) INTO v_unhandled
      FROM workflow_node_run f
     WHERE f.workflow_run_id = p_run AND f.status IN ('FAILED', 'TIMED_OUT', 'CANCELLED')
       AND NOT EXISTS (
             SELECT 1 FROM workflow_node_run c CROSS JOIN LATERAL jsonb_to_recordset(c.incoming) AS e("from" text, kind text)
              WHERE c.workflow_run_id = p_run AND e."from" = f.key AND e.kind IN ('ON_FAILURE', 'ALWAYS')
                AND workflow_edge_satisfied(e.kind, f.status::text));
    UPDATE workflow_run
       SET status = CASE WHEN cancel_requested_at IS NOT NULL THEN 'CANCELLED'::"WorkflowRunStatus"
                         WHEN v_unhandled IS NOT NULL THEN 'FAILED'::"WorkflowRunStatus"
                         ELSE 'SUCCEEDED'::"WorkflowRunStatus" END,
           error = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                        WHEN v_unhandled IS NOT NULL THEN 'not handled by an ON_FAILURE or ALWAYS edge: ' || v_unhandled END,
           finished_at = now(), updated_at = now()
     WHERE id = p_run;
  END IF;
  UPDATE workflow_run SET updated_at = now() WHERE id = p_run AND status = 'RUNNING';
  PERFORM pg_notify('switchyard_workflow_run', p_run::text);
END
$$;

-- A workflow node's JobRun ended: the node takes the run's outcome and the graph advances. Returns the
-- workflow run's id (null when the run belongs to no node, or the node had already ended).
CREATE FUNCTION workflow_node_run_ended(p_job_run uuid) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  v_node record;
  v_status text;
  v_error text;
BEGIN
  SELECT id, workflow_run_id INTO v_node FROM workflow_node_run WHERE job_run_id = p_job_run;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  -- The workflow run's lock first (see workflow_advance), then the node's.
  PERFORM 1 FROM workflow_run WHERE id = v_node.workflow_run_id FOR UPDATE;
  SELECT status::text, error INTO v_status, v_error FROM job_run WHERE id = p_job_run;
  UPDATE workflow_node_run
     SET status = CASE v_status WHEN 'SUCCEEDED' THEN 'SUCCEEDED' WHEN 'TIMED_OUT' THEN 'TIMED_OUT'
                                WHEN 'CANCELLED' THEN 'CANCELLED' ELSE 'FAILED' END::"WorkflowNodeStatus",
         reason = CASE WHEN v_status = 'SUCCEEDED' THEN NULL ELSE v_error END,
         finished_at = now()
   WHERE id = v_node.id AND status = 'RUNNING'
     AND v_status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED');
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM workflow_advance(v_node.workflow_run_id);
  RETURN v_node.workflow_run_id;
END
$$;

-- Every path that makes a workflow node's JobRun final (the dispatcher settling it, the reaper failing it,
-- a cancel of a queued run, whatever comes later) passes through here, in its own transaction: the graph
-- advances before that transaction commits. Isolated in a subtransaction: whatever goes wrong with the
-- workflow (a deadlock, a bug) must never stop a run from ending; a node left RUNNING behind a final run
-- is caught up by the workers' sweep (modules/workflows/workflow-starter.ts), which calls the same function.
CREATE FUNCTION workflow_job_run_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM workflow_node_run_ended(NEW.id);
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'workflow advance after job run % failed: % (the workflow sweep retries it)', NEW.id, SQLERRM;
  END;
  RETURN NULL;
END
$$;

CREATE TRIGGER job_run_workflow_advance
  AFTER UPDATE OF status ON job_run
  FOR EACH ROW
  WHEN (NEW.trigger = 'WORKFLOW' AND OLD.status IS DISTINCT FROM NEW.status
        AND NEW.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED'))
  EXECUTE FUNCTION workflow_job_run_ended();

-- The event log behind `workflowRunEvents`: every status of the run and of each node, numbered per run.
-- Every status change already holds the workflow run's row lock (see workflow_advance), so numbering from
-- workflow_run.event_seq is gap-free and in commit order.
CREATE FUNCTION workflow_run_event_of_run() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_seq int;
BEGIN
  UPDATE workflow_run SET event_seq = event_seq + 1 WHERE id = NEW.id RETURNING event_seq INTO v_seq;
  INSERT INTO workflow_run_event (workflow_run_id, seq, status, reason) VALUES (NEW.id, v_seq, NEW.status::text, NEW.error);
  RETURN NULL;
END
$$;

CREATE FUNCTION workflow_run_event_of_node() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_seq int;
BEGIN
  UPDATE workflow_run SET event_seq = event_seq + 1 WHERE id = NEW.workflow_run_id RETURNING event_seq INTO v_seq;
  INSERT INTO workflow_run_event (workflow_run_id, seq, node_key, status, reason, job_run_id)
  VALUES (NEW.workflow_run_id, v_seq, NEW.key, NEW.status::text, NEW.reason, NEW.job_run_id);
  RETURN NULL;
END
$$;

CREATE TRIGGER workflow_run_created AFTER INSERT ON workflow_run
  FOR EACH ROW EXECUTE FUNCTION workflow_run_event_of_run();
CREATE TRIGGER workflow_run_status AFTER UPDATE OF status ON workflow_run
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION workflow_run_event_of_run();
CREATE TRIGGER workflow_node_run_created AFTER INSERT ON workflow_node_run
  FOR EACH ROW EXECUTE FUNCTION workflow_run_event_of_node();
CREATE TRIGGER workflow_node_run_status AFTER UPDATE OF status ON workflow_node_run
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION workflow_run_event_of_node();
