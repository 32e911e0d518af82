-- Workflows, engine part (issue #11): nested WORKFLOW nodes, node overrides, retry from failed nodes, and
-- the per-root budget of spawned runs.

-- AlterEnum
ALTER TYPE "WorkflowNodeKind" ADD VALUE 'WORKFLOW';

-- AlterTable: a WORKFLOW node's workflow; a TEMPLATE node's overrides of its template's targets, timeout, retry.
ALTER TABLE "workflow_node" ADD COLUMN "sub_workflow_id" UUID,
ADD COLUMN "overrides" JSONB;

-- AlterTable
ALTER TABLE "workflow_node_run" ADD COLUMN "sub_workflow_id" UUID,
ADD COLUMN "overrides" JSONB;

-- AlterTable
ALTER TABLE "workflow_run" ADD COLUMN "retry_of_id" UUID,
ADD COLUMN "root_run_id" UUID,
ADD COLUMN "parent_node_run_id" UUID,
ADD COLUMN "depth" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "spawned_runs" INTEGER NOT NULL DEFAULT 0;

-- A retry copies the succeeded nodes of the run it retries with their JobRun: one JobRun may now back
-- the node of several workflow runs (the original and its retries), so the link is no longer unique.
DROP INDEX "workflow_node_run_job_run_id_key";

-- CreateIndex
CREATE INDEX "workflow_node_run_job_run_id_idx" ON "workflow_node_run"("job_run_id");

-- CreateIndex
CREATE INDEX "workflow_node_sub_workflow_id_idx" ON "workflow_node"("sub_workflow_id");

-- CreateIndex
CREATE INDEX "workflow_run_root_run_id_idx" ON "workflow_run"("root_run_id");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_run_parent_node_run_id_key" ON "workflow_run"("parent_node_run_id");

-- AddForeignKey
ALTER TABLE "workflow_node" ADD CONSTRAINT "workflow_node_sub_workflow_id_fkey" FOREIGN KEY ("sub_workflow_id") REFERENCES "workflow"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run" ADD CONSTRAINT "workflow_run_retry_of_id_fkey" FOREIGN KEY ("retry_of_id") REFERENCES "workflow_run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run" ADD CONSTRAINT "workflow_run_root_run_id_fkey" FOREIGN KEY ("root_run_id") REFERENCES "workflow_run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run" ADD CONSTRAINT "workflow_run_parent_node_run_id_fkey" FOREIGN KEY ("parent_node_run_id") REFERENCES "workflow_node_run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- As before (20261204130000_workflows), plus: when a nested run (parent_node_run_id set) ends, its WORKFLOW
-- node takes its outcome — SUCCEEDED, FAILED (with the nested run's error) or CANCELLED — and the parent
-- run advances in the same transaction. Lock order: a nested run before its parent (child → parent), the
-- order cancel follows too (deepest first, workflow-runs.service.ts).
--
-- `p_from` (optional): the keys of the nodes that just ended. Only PENDING nodes with an edge from one of
-- them can have become decidable, so only those are examined (and then the children of nodes this call
-- skipped): a fan-out's siblings ending one after the other no longer each re-examine every PENDING node
-- of the graph under the run's lock. Without it (approvals, cancel, nodes failing to start) every
-- PENDING node is examined, as before.
DROP FUNCTION workflow_advance(uuid);
CREATE FUNCTION workflow_advance(p_run uuid, p_from text[] DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_run record;
  v_node record;
  v_progress boolean;
  v_joined boolean;
  v_from text[] := p_from;
  v_skipped text[];
  v_unhandled text;
  v_final text;
  v_error text;
  v_number int;
BEGIN
  SELECT id, status, cancel_requested_at, parent_node_run_id, number INTO v_run FROM workflow_run WHERE id = p_run FOR UPDATE;
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
      v_skipped := '{}';
      FOR v_node IN
        SELECT c.id, c.key, c.join_policy::text AS join_policy,
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
           AND (v_from IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(c.incoming) AS i WHERE i->>'from' = ANY (v_from)))
         GROUP BY c.id, c.key, c.join_policy
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
          v_skipped := v_skipped || v_node.key;
        END IF;
      END LOOP;
      EXIT WHEN NOT v_progress;
      -- Skips cascade: next, the children of the nodes just skipped.
      IF v_from IS NOT NULL THEN
        v_from := v_skipped;
      END IF;
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
    v_final := CASE WHEN v_run.cancel_requested_at IS NOT NULL THEN 'CANCELLED' WHEN v_unhandled IS NOT NULL THEN 'FAILED' ELSE 'SUCCEEDED' END;
    v_error := CASE v_final WHEN 'CANCELLED' THEN 'cancelled' WHEN 'FAILED' THEN 'not handled by an ON_FAILURE or ALWAYS edge: ' || v_unhandled END;
    UPDATE workflow_run
       SET status = v_final::"WorkflowRunStatus", error = v_error, finished_at = now(), updated_at = now()
     WHERE id = p_run;
    -- A nested run's outcome is its WORKFLOW node's: the parent run moves on in this transaction.
    IF v_run.parent_node_run_id IS NOT NULL THEN
      PERFORM workflow_nested_run_ended(v_run.parent_node_run_id, v_final, v_run.number, v_error);
    END IF;
  END IF;
  UPDATE workflow_run SET updated_at = now() WHERE id = p_run AND status = 'RUNNING';
  PERFORM pg_notify('switchyard_workflow_run', p_run::text);
END
$$;

-- A nested workflow run ended: its WORKFLOW node (still RUNNING, or READY when the nested run ended while
-- its node was being started) takes the outcome, and the parent run advances.
CREATE FUNCTION workflow_nested_run_ended(p_node uuid, p_status text, p_number int, p_error text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_parent uuid;
  v_key text;
BEGIN
  SELECT workflow_run_id, key INTO v_parent, v_key FROM workflow_node_run WHERE id = p_node;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM 1 FROM workflow_run WHERE id = v_parent FOR UPDATE;
  UPDATE workflow_node_run
     SET status = p_status::"WorkflowNodeStatus",
         reason = CASE WHEN p_status = 'SUCCEEDED' THEN NULL ELSE format('nested workflow run #%s %s: %s', p_number, lower(p_status), p_error) END,
         finished_at = now()
   WHERE id = p_node AND status IN ('READY', 'RUNNING');
  IF FOUND THEN
    PERFORM workflow_advance(v_parent, ARRAY[v_key]);
  END IF;
END
$$;

-- As before, but the JobRun may back several node runs (a retry's copies are already final): the one
-- still RUNNING takes its outcome.
CREATE OR REPLACE FUNCTION workflow_node_run_ended(p_job_run uuid) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  v_node record;
  v_status text;
  v_error text;
BEGIN
  SELECT id, workflow_run_id, key INTO v_node FROM workflow_node_run WHERE job_run_id = p_job_run AND status = 'RUNNING' LIMIT 1;
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
  PERFORM workflow_advance(v_node.workflow_run_id, ARRAY[v_node.key]);
  RETURN v_node.workflow_run_id;
END
$$;

-- The advance after a node's JobRun ends now runs at COMMIT of the transaction that ended it (a deferred
-- constraint trigger) instead of at its UPDATE: still in that transaction — exactly once, atomically with
-- the run's final state — but the workflow run's row lock it takes is then held for the commit only,
-- not across the rest of the worker's settle (slot hand-off, last log lines, notifications: several
-- round trips). Sibling nodes of a fan-out ending together used to queue behind each other's settles on
-- that lock (and hold their worker slots meanwhile); now they queue only behind each other's commits.
DROP TRIGGER job_run_workflow_advance ON job_run;
CREATE CONSTRAINT TRIGGER job_run_workflow_advance
  AFTER UPDATE OF status ON job_run
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW
  WHEN (NEW.trigger = 'WORKFLOW' AND OLD.status IS DISTINCT FROM NEW.status
        AND NEW.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED'))
  EXECUTE FUNCTION workflow_job_run_ended();
