-- compare_devices / sync_devices per-device results
CREATE TABLE "device_result" (
    "run_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "device" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "action" TEXT,
    "folder" TEXT,
    "diffs" JSONB NOT NULL DEFAULT '[]',
    "error" TEXT,

    CONSTRAINT "device_result_pkey" PRIMARY KEY ("run_id","position")
);

CREATE INDEX "device_result_run_id_status_idx" ON "device_result"("run_id", "status");

ALTER TABLE "device_result" ADD CONSTRAINT "device_result_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "job_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
