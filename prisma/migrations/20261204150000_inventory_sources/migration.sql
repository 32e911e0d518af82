-- Inventory sources (a Nautobot read through its GraphQL API) and, on targets, the source that created them:
-- an authoritative sync removes only its own targets.

-- CreateEnum
CREATE TYPE "InventorySourceKind" AS ENUM ('NAUTOBOT');

-- CreateEnum
CREATE TYPE "InventorySyncMode" AS ENUM ('ADDITIVE', 'AUTHORITATIVE');

-- AlterTable
ALTER TABLE "target" ADD COLUMN     "source_id" UUID;

-- CreateTable
CREATE TABLE "inventory_source" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "kind" "InventorySourceKind" NOT NULL,
    "url" TEXT NOT NULL,
    "token_credential_id" UUID NOT NULL,
    "tls_verify" BOOLEAN NOT NULL DEFAULT true,
    "ca_certificate" TEXT,
    "filter" JSONB NOT NULL DEFAULT '{}',
    "default_port" INTEGER NOT NULL DEFAULT 22,
    "default_credential_id" UUID,
    "extra_tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "sync_mode" "InventorySyncMode" NOT NULL DEFAULT 'ADDITIVE',
    "max_delete_fraction" DOUBLE PRECISION NOT NULL DEFAULT 0.2,
    "owner_id" UUID,
    "last_sync_at" TIMESTAMPTZ(3),
    "last_sync_run_id" UUID,
    "last_sync_result" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "inventory_source_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "inventory_source_name_key" ON "inventory_source"("name");

-- CreateIndex
CREATE INDEX "target_source_id_idx" ON "target"("source_id");

-- AddForeignKey
ALTER TABLE "target" ADD CONSTRAINT "target_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "inventory_source"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inventory_source" ADD CONSTRAINT "inventory_source_token_credential_id_fkey" FOREIGN KEY ("token_credential_id") REFERENCES "credential"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inventory_source" ADD CONSTRAINT "inventory_source_default_credential_id_fkey" FOREIGN KEY ("default_credential_id") REFERENCES "credential"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inventory_source" ADD CONSTRAINT "inventory_source_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;
