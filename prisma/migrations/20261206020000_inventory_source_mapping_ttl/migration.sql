-- Custom-field mapping: [{ customField, attribute, tagPrefix }] (modules/inventory-sources/sync-plan.ts).
ALTER TABLE "inventory_source" ADD COLUMN "custom_field_mappings" JSONB NOT NULL DEFAULT '[]';
-- Sync before a run whose targets come from this source when its last applied sync is older than this; null: never.
ALTER TABLE "inventory_source" ADD COLUMN "sync_before_run_max_age_seconds" INTEGER;
-- When that sync fails: true fails the run; false runs on the last-known targets with a WARNING.
ALTER TABLE "inventory_source" ADD COLUMN "sync_before_run_required" BOOLEAN NOT NULL DEFAULT false;
