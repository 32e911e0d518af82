-- Step outputs: templates declare them, targets publish them (jobs/step-outputs.ts).
ALTER TABLE "job_template" ADD COLUMN "outputs" JSONB NOT NULL DEFAULT '[]';
ALTER TABLE "run_target" ADD COLUMN "outputs" JSONB,
ADD COLUMN "secret_outputs" BYTEA;
