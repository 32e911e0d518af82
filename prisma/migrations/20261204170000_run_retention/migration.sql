-- Run retention (modules/runs/run-retention.ts): a pinned run is never deleted, whatever its age.
ALTER TABLE "job_run" ADD COLUMN "pinned" BOOLEAN NOT NULL DEFAULT false;
