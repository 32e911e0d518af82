-- Runs a user watches (the "Watch" toggle on a run page): when one ends, or one they started, the
-- myJobRunsEnded subscription shows them a toast. Kept per user in the database so every tab and device
-- agrees; goes with the run or the user.
CREATE TABLE "job_run_watch" (
    "user_id" UUID NOT NULL,
    "job_run_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "job_run_watch_pkey" PRIMARY KEY ("user_id", "job_run_id")
);
CREATE INDEX "job_run_watch_job_run_id_idx" ON "job_run_watch"("job_run_id");
ALTER TABLE "job_run_watch" ADD CONSTRAINT "job_run_watch_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "app_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "job_run_watch" ADD CONSTRAINT "job_run_watch_job_run_id_fkey" FOREIGN KEY ("job_run_id") REFERENCES "job_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The feed reads a user's recently finished runs.
CREATE INDEX "job_run_triggered_by_id_finished_at_idx" ON "job_run"("triggered_by_id", "finished_at");

-- The same for workflow runs (myWorkflowRunsEnded).
CREATE TABLE "workflow_run_watch" (
    "user_id" UUID NOT NULL,
    "workflow_run_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "workflow_run_watch_pkey" PRIMARY KEY ("user_id", "workflow_run_id")
);
CREATE INDEX "workflow_run_watch_workflow_run_id_idx" ON "workflow_run_watch"("workflow_run_id");
ALTER TABLE "workflow_run_watch" ADD CONSTRAINT "workflow_run_watch_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "app_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "workflow_run_watch" ADD CONSTRAINT "workflow_run_watch_workflow_run_id_fkey" FOREIGN KEY ("workflow_run_id") REFERENCES "workflow_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
CREATE INDEX "workflow_run_triggered_by_id_finished_at_idx" ON "workflow_run"("triggered_by_id", "finished_at");
