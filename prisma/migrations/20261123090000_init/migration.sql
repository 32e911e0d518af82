-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'OPERATOR', 'VIEWER');

-- CreateEnum
CREATE TYPE "Visibility" AS ENUM ('GLOBAL', 'PRIVATE');

-- CreateEnum
CREATE TYPE "TokenKind" AS ENUM ('SESSION', 'API');

-- CreateEnum
CREATE TYPE "CredentialKind" AS ENUM ('PASSWORD', 'PRIVATE_KEY');

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'MISSED', 'SKIPPED');

-- CreateEnum
CREATE TYPE "RunTrigger" AS ENUM ('MANUAL', 'API', 'SCHEDULE', 'RETRY', 'WORKFLOW');

-- CreateEnum
CREATE TYPE "TargetStatus" AS ENUM ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'SKIPPED');

-- CreateEnum
CREATE TYPE "LogLevel" AS ENUM ('DEBUG', 'INFO', 'WARNING', 'ERROR');

-- CreateEnum
CREATE TYPE "LogStream" AS ENUM ('STDOUT', 'STDERR', 'SYSTEM');

-- CreateEnum
CREATE TYPE "RetryBackoff" AS ENUM ('FIXED', 'EXPONENTIAL');

-- CreateTable
CREATE TABLE "app_user" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "username" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "app_user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_token" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "kind" "TokenKind" NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credential" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "kind" "CredentialKind" NOT NULL,
    "username" TEXT NOT NULL,
    "secret" BYTEA NOT NULL,
    "passphrase" BYTEA,
    "owner_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "credential_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "target" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL DEFAULT 22,
    "credential_id" UUID,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "attributes" JSONB NOT NULL DEFAULT '{}',
    "host_key_fingerprint" TEXT,
    "host_key_algorithm" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "target_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inventory" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "name_patterns" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "target_ids" UUID[] DEFAULT ARRAY[]::UUID[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "inventory_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_template" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "job_type" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "target_selector" JSONB NOT NULL DEFAULT '{}',
    "parameters" JSONB NOT NULL DEFAULT '[]',
    "timeout_seconds" INTEGER,
    "retry_max_attempts" INTEGER NOT NULL DEFAULT 1,
    "retry_delay_seconds" INTEGER NOT NULL DEFAULT 0,
    "retry_backoff" "RetryBackoff" NOT NULL DEFAULT 'FIXED',
    "max_parallel_targets" INTEGER NOT NULL DEFAULT 10,
    "success_threshold" DOUBLE PRECISION,
    "owner_id" UUID NOT NULL,
    "visibility" "Visibility" NOT NULL DEFAULT 'PRIVATE',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "job_template_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_run" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "number" SERIAL NOT NULL,
    "template_id" UUID,
    "template_name" TEXT NOT NULL,
    "job_type" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "schedule_id" UUID,
    "trigger" "RunTrigger" NOT NULL,
    "triggered_by_id" UUID,
    "retry_of_id" UUID,
    "owner_id" UUID,
    "visibility" "Visibility" NOT NULL DEFAULT 'GLOBAL',
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "secret_parameters" BYTEA,
    "status" "RunStatus" NOT NULL DEFAULT 'QUEUED',
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeat_at" TIMESTAMPTZ(3),
    "worker_id" UUID,
    "cancel_requested_at" TIMESTAMPTZ(3),
    "cancel_requested_by" UUID,
    "targets_total" INTEGER NOT NULL DEFAULT 0,
    "targets_done" INTEGER NOT NULL DEFAULT 0,
    "targets_failed" INTEGER NOT NULL DEFAULT 0,
    "result" JSONB,
    "error" TEXT,
    "log_seq" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "job_run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "run_target" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "run_id" UUID NOT NULL,
    "target_id" UUID,
    "position" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "status" "TargetStatus" NOT NULL DEFAULT 'PENDING',
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "exit_code" INTEGER,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "error" TEXT,
    "retryable" BOOLEAN NOT NULL DEFAULT false,
    "output_tail" TEXT NOT NULL DEFAULT '',
    "result" JSONB,

    CONSTRAINT "run_target_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "run_log" (
    "run_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "ts" TIMESTAMPTZ(3) NOT NULL,
    "level" "LogLevel" NOT NULL,
    "stream" "LogStream" NOT NULL,
    "target_id" UUID,
    "text" TEXT NOT NULL,

    CONSTRAINT "run_log_pkey" PRIMARY KEY ("run_id","seq")
);

-- CreateTable
CREATE TABLE "worker" (
    "id" UUID NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "roles" TEXT[],
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stopped_at" TIMESTAMPTZ(3),

    CONSTRAINT "worker_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "app_user_username_key" ON "app_user"("username");

-- CreateIndex
CREATE UNIQUE INDEX "api_token_token_hash_key" ON "api_token"("token_hash");

-- CreateIndex
CREATE INDEX "api_token_user_id_idx" ON "api_token"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "credential_name_key" ON "credential"("name");

-- CreateIndex
CREATE UNIQUE INDEX "target_name_key" ON "target"("name");

-- CreateIndex
CREATE INDEX "target_tags_idx" ON "target" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "inventory_name_key" ON "inventory"("name");

-- CreateIndex
CREATE UNIQUE INDEX "job_template_owner_id_name_key" ON "job_template"("owner_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "job_run_number_key" ON "job_run"("number");

-- CreateIndex
CREATE INDEX "job_run_created_at_id_idx" ON "job_run"("created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "job_run_status_idx" ON "job_run"("status");

-- CreateIndex
CREATE INDEX "job_run_template_id_created_at_idx" ON "job_run"("template_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "job_run_schedule_id_created_at_idx" ON "job_run"("schedule_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "run_target_target_id_idx" ON "run_target"("target_id");

-- CreateIndex
CREATE UNIQUE INDEX "run_target_run_id_position_key" ON "run_target"("run_id", "position");

-- AddForeignKey
ALTER TABLE "api_token" ADD CONSTRAINT "api_token_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "app_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credential" ADD CONSTRAINT "credential_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "target" ADD CONSTRAINT "target_credential_id_fkey" FOREIGN KEY ("credential_id") REFERENCES "credential"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_template" ADD CONSTRAINT "job_template_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_run" ADD CONSTRAINT "job_run_template_id_fkey" FOREIGN KEY ("template_id") REFERENCES "job_template"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_run" ADD CONSTRAINT "job_run_triggered_by_id_fkey" FOREIGN KEY ("triggered_by_id") REFERENCES "app_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_target" ADD CONSTRAINT "run_target_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "job_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_target" ADD CONSTRAINT "run_target_target_id_fkey" FOREIGN KEY ("target_id") REFERENCES "target"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_log" ADD CONSTRAINT "run_log_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "job_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
