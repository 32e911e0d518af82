-- CreateTable
CREATE TABLE "run_artifact" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "run_id" UUID NOT NULL,
    "run_target_id" UUID,
    "name" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "content" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "run_artifact_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "run_artifact_run_id_idx" ON "run_artifact"("run_id");

-- CreateIndex
CREATE INDEX "run_artifact_expires_at_idx" ON "run_artifact"("expires_at");

-- AddForeignKey
ALTER TABLE "run_artifact" ADD CONSTRAINT "run_artifact_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "job_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
