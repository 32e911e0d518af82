-- Inbound webhook triggers (issue #11): endpoints that start a run of a template or a workflow.

-- AlterEnum
ALTER TYPE "RunTrigger" ADD VALUE 'WEBHOOK';

-- CreateEnum
CREATE TYPE "WebhookCallOutcome" AS ENUM ('STARTED', 'SKIPPED', 'REJECTED');

-- AlterTable
ALTER TABLE "job_run" ADD COLUMN     "webhook_endpoint_id" UUID;

-- AlterTable
ALTER TABLE "workflow_run" ADD COLUMN     "webhook_endpoint_id" UUID;

-- CreateTable
CREATE TABLE "webhook_endpoint" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "template_id" UUID,
    "workflow_id" UUID,
    "owner_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "token_hash" TEXT NOT NULL,
    "secret_credential_id" UUID,
    "parameter_mapping" JSONB NOT NULL DEFAULT '{}',
    "rate_limit_per_minute" INTEGER NOT NULL DEFAULT 60,
    "max_body_bytes" INTEGER NOT NULL DEFAULT 65536,
    "replay_window_seconds" INTEGER NOT NULL DEFAULT 300,
    "last_called_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "webhook_endpoint_pkey" PRIMARY KEY ("id"),
    -- Exactly one of a template or a workflow.
    CONSTRAINT "webhook_endpoint_fires_one_thing" CHECK (num_nonnulls("template_id", "workflow_id") = 1)
);

-- CreateTable
CREATE TABLE "webhook_call" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "endpoint_id" UUID NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivery_id" TEXT,
    "outcome" "WebhookCallOutcome" NOT NULL,
    "http_status" INTEGER NOT NULL,
    "reason" TEXT,
    "job_run_id" UUID,
    "workflow_run_id" UUID,

    CONSTRAINT "webhook_call_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "webhook_endpoint_token_hash_key" ON "webhook_endpoint"("token_hash");

-- CreateIndex
CREATE INDEX "webhook_endpoint_template_id_idx" ON "webhook_endpoint"("template_id");

-- CreateIndex
CREATE INDEX "webhook_endpoint_workflow_id_idx" ON "webhook_endpoint"("workflow_id");

-- CreateIndex
CREATE INDEX "webhook_call_endpoint_id_received_at_idx" ON "webhook_call"("endpoint_id", "received_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "webhook_call_endpoint_id_delivery_id_key" ON "webhook_call"("endpoint_id", "delivery_id");

-- AddForeignKey
ALTER TABLE "job_run" ADD CONSTRAINT "job_run_webhook_endpoint_id_fkey" FOREIGN KEY ("webhook_endpoint_id") REFERENCES "webhook_endpoint"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run" ADD CONSTRAINT "workflow_run_webhook_endpoint_id_fkey" FOREIGN KEY ("webhook_endpoint_id") REFERENCES "webhook_endpoint"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_endpoint" ADD CONSTRAINT "webhook_endpoint_template_id_fkey" FOREIGN KEY ("template_id") REFERENCES "job_template"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_endpoint" ADD CONSTRAINT "webhook_endpoint_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflow"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_endpoint" ADD CONSTRAINT "webhook_endpoint_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_endpoint" ADD CONSTRAINT "webhook_endpoint_secret_credential_id_fkey" FOREIGN KEY ("secret_credential_id") REFERENCES "credential"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_call" ADD CONSTRAINT "webhook_call_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;
