-- Schedules may fire a workflow instead of a job template (issue #11): exactly one of the two.
ALTER TABLE "job_schedule" ALTER COLUMN "template_id" DROP NOT NULL,
ADD COLUMN     "workflow_id" UUID;
ALTER TABLE "job_schedule" ADD CONSTRAINT "job_schedule_fires_one_thing" CHECK (num_nonnulls("template_id", "workflow_id") = 1);

-- A workflow run fired by a schedule records it and its slot; unique per slot, as job runs are.
ALTER TABLE "workflow_run" ADD COLUMN     "schedule_id" UUID,
ADD COLUMN     "slot_at" TIMESTAMPTZ(3);

-- Slots that did not run (misfire, overlap, blackout) are recorded as final workflow runs.
ALTER TYPE "WorkflowRunStatus" ADD VALUE 'MISSED';
ALTER TYPE "WorkflowRunStatus" ADD VALUE 'SKIPPED';

-- CreateIndex
CREATE INDEX "job_schedule_workflow_id_idx" ON "job_schedule"("workflow_id");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_run_schedule_id_slot_at_key" ON "workflow_run"("schedule_id", "slot_at");

-- AddForeignKey
ALTER TABLE "job_schedule" ADD CONSTRAINT "job_schedule_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflow"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run" ADD CONSTRAINT "workflow_run_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "job_schedule"("id") ON DELETE SET NULL ON UPDATE CASCADE;
