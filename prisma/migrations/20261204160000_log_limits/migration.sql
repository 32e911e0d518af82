-- AlterTable
ALTER TABLE "job_run" ADD COLUMN     "log_dropped_bytes" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "log_dropped_lines" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "job_template" ADD COLUMN     "log_limit_bytes" INTEGER,
ADD COLUMN     "log_limit_lines" INTEGER;
