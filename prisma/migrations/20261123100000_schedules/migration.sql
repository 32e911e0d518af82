-- CreateEnum
CREATE TYPE "ScheduleKind" AS ENUM ('CRON', 'INTERVAL', 'DAILY_AT', 'ONCE');

-- CreateEnum
CREATE TYPE "MisfirePolicy" AS ENUM ('SKIP', 'RUN_ONCE', 'RUN_ALL');

-- CreateEnum
CREATE TYPE "OverlapPolicy" AS ENUM ('ALLOW', 'SKIP', 'QUEUE', 'CANCEL_PREVIOUS');

-- CreateEnum
CREATE TYPE "BlackoutKind" AS ENUM ('ABSOLUTE', 'RECURRING');

-- AlterTable
ALTER TABLE "job_template" ADD COLUMN     "max_concurrent_runs" INTEGER,
ADD COLUMN     "overlap_policy" "OverlapPolicy" NOT NULL DEFAULT 'ALLOW';

-- AlterTable
ALTER TABLE "job_run" ADD COLUMN     "concurrency_key" TEXT,
ADD COLUMN     "max_concurrent" INTEGER,
ADD COLUMN     "slot_at" TIMESTAMPTZ(3),
ADD COLUMN     "waiting_since" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "job_schedule" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "template_id" UUID NOT NULL,
    "kind" "ScheduleKind" NOT NULL,
    "cron_expression" TEXT,
    "interval_seconds" INTEGER,
    "daily_time" TEXT,
    "days_of_week" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
    "once_at" TEXT,
    "timezone" TEXT NOT NULL,
    "start_at" TIMESTAMPTZ(3),
    "end_at" TIMESTAMPTZ(3),
    "active" BOOLEAN NOT NULL DEFAULT true,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "secret_parameters" BYTEA,
    "misfire_policy" "MisfirePolicy" NOT NULL DEFAULT 'SKIP',
    "misfire_grace_seconds" INTEGER NOT NULL DEFAULT 60,
    "misfire_max_runs" INTEGER NOT NULL DEFAULT 10,
    "overlap_policy" "OverlapPolicy",
    "owner_id" UUID NOT NULL,
    "visibility" "Visibility" NOT NULL DEFAULT 'PRIVATE',
    "next_run_at" TIMESTAMPTZ(3),
    "last_slot_at" TIMESTAMPTZ(3),
    "last_run_at" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "job_schedule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "blackout_window" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "kind" "BlackoutKind" NOT NULL,
    "timezone" TEXT NOT NULL,
    "start_at" TIMESTAMPTZ(3),
    "end_at" TIMESTAMPTZ(3),
    "days_of_week" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
    "start_time" TEXT,
    "duration_minutes" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "blackout_window_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_schedule_blackout" (
    "schedule_id" UUID NOT NULL,
    "blackout_id" UUID NOT NULL,

    CONSTRAINT "job_schedule_blackout_pkey" PRIMARY KEY ("schedule_id","blackout_id")
);

-- CreateIndex
CREATE INDEX "job_schedule_active_next_run_at_idx" ON "job_schedule"("active", "next_run_at");

-- CreateIndex
CREATE INDEX "job_schedule_template_id_idx" ON "job_schedule"("template_id");

-- CreateIndex
CREATE UNIQUE INDEX "blackout_window_name_key" ON "blackout_window"("name");

-- CreateIndex
CREATE INDEX "job_schedule_blackout_blackout_id_idx" ON "job_schedule_blackout"("blackout_id");

-- CreateIndex
CREATE INDEX "job_run_concurrency_key_status_idx" ON "job_run"("concurrency_key", "status");

-- CreateIndex
CREATE UNIQUE INDEX "job_run_schedule_id_slot_at_key" ON "job_run"("schedule_id", "slot_at");

-- AddForeignKey
ALTER TABLE "job_run" ADD CONSTRAINT "job_run_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "job_schedule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_schedule" ADD CONSTRAINT "job_schedule_template_id_fkey" FOREIGN KEY ("template_id") REFERENCES "job_template"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_schedule" ADD CONSTRAINT "job_schedule_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_schedule_blackout" ADD CONSTRAINT "job_schedule_blackout_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "job_schedule"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_schedule_blackout" ADD CONSTRAINT "job_schedule_blackout_blackout_id_fkey" FOREIGN KEY ("blackout_id") REFERENCES "blackout_window"("id") ON DELETE CASCADE ON UPDATE CASCADE;
