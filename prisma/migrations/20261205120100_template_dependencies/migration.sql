-- Template dependencies (issue #11): "run template B after template A finishes with status S".

-- AlterEnum
ALTER TYPE "RunTrigger" ADD VALUE 'DEPENDENCY';

-- CreateEnum
CREATE TYPE "DependencyTriggerStatus" AS ENUM ('PENDING', 'STARTED', 'SKIPPED', 'FAILED');

-- AlterTable
ALTER TABLE "job_run" ADD COLUMN     "triggered_by_run_id" UUID;

-- CreateTable
CREATE TABLE "template_dependency" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "upstream_template_id" UUID NOT NULL,
    "downstream_template_id" UUID NOT NULL,
    "on_statuses" "RunStatus"[],
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "owner_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "template_dependency_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "template_dependency_trigger" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "dependency_id" UUID NOT NULL,
    "upstream_run_id" UUID NOT NULL,
    "status" "DependencyTriggerStatus" NOT NULL DEFAULT 'PENDING',
    "run_id" UUID,
    "reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "handled_at" TIMESTAMPTZ(3),

    CONSTRAINT "template_dependency_trigger_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "template_dependency_downstream_template_id_idx" ON "template_dependency"("downstream_template_id");

-- CreateIndex
CREATE UNIQUE INDEX "template_dependency_upstream_template_id_downstream_templat_key" ON "template_dependency"("upstream_template_id", "downstream_template_id");

-- CreateIndex
CREATE INDEX "template_dependency_trigger_status_created_at_idx" ON "template_dependency_trigger"("status", "created_at");

-- CreateIndex
CREATE INDEX "template_dependency_trigger_upstream_run_id_idx" ON "template_dependency_trigger"("upstream_run_id");

-- CreateIndex
CREATE INDEX "template_dependency_trigger_run_id_idx" ON "template_dependency_trigger"("run_id");

-- CreateIndex
CREATE UNIQUE INDEX "template_dependency_trigger_dependency_id_upstream_run_id_key" ON "template_dependency_trigger"("dependency_id", "upstream_run_id");

-- AddForeignKey
ALTER TABLE "job_run" ADD CONSTRAINT "job_run_triggered_by_run_id_fkey" FOREIGN KEY ("triggered_by_run_id") REFERENCES "job_run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "template_dependency" ADD CONSTRAINT "template_dependency_upstream_template_id_fkey" FOREIGN KEY ("upstream_template_id") REFERENCES "job_template"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "template_dependency" ADD CONSTRAINT "template_dependency_downstream_template_id_fkey" FOREIGN KEY ("downstream_template_id") REFERENCES "job_template"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "template_dependency" ADD CONSTRAINT "template_dependency_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "template_dependency_trigger" ADD CONSTRAINT "template_dependency_trigger_dependency_id_fkey" FOREIGN KEY ("dependency_id") REFERENCES "template_dependency"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "template_dependency_trigger" ADD CONSTRAINT "template_dependency_trigger_upstream_run_id_fkey" FOREIGN KEY ("upstream_run_id") REFERENCES "job_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "template_dependency_trigger" ADD CONSTRAINT "template_dependency_trigger_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "job_run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- The outbox write: a run's FINAL outcome (a retry attempt goes back to QUEUED, never through a final
-- status, so only the last attempt counts) queues one trigger row per enabled dependency of its template
-- that asks for that status — in the transaction that makes the run final, whichever path ends it
-- (dispatcher, reaper, cancel), and none if it rolls back. Unique per (dependency, run): exactly once.
-- Workers start the downstream runs (modules/dependencies/dependency-starter.ts). Isolated: a bug here
-- must never stop a run from ending (the warning is logged by Postgres).
CREATE FUNCTION template_dependency_job_run_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_count int;
BEGIN
  -- Most templates have no dependents: answer that without entering a subtransaction (which costs one
  -- per run ending, on the path of every run).
  IF NOT EXISTS (SELECT 1 FROM template_dependency d WHERE d.upstream_template_id = NEW.template_id AND d.enabled) THEN
    RETURN NULL;
  END IF;
  BEGIN
    INSERT INTO template_dependency_trigger (dependency_id, upstream_run_id)
    SELECT d.id, NEW.id FROM template_dependency d
     WHERE d.enabled AND d.upstream_template_id = NEW.template_id AND NEW.status = ANY (d.on_statuses)
    ON CONFLICT (dependency_id, upstream_run_id) DO NOTHING;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
      PERFORM pg_notify('switchyard_dependency', '');
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'template dependencies of job run % failed: %', NEW.id, SQLERRM;
  END;
  RETURN NULL;
END
$$;

CREATE TRIGGER job_run_template_dependency
  AFTER UPDATE OF status ON job_run
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.template_id IS NOT NULL
        AND NEW.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'))
  EXECUTE FUNCTION template_dependency_job_run_ended();
