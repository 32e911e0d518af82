-- AlterTable
ALTER TABLE "worker" ADD COLUMN     "pid_namespace" TEXT;
