-- Credential use grants (who besides the owner and admins may name a credential in a template or target),
-- and owners for targets and inventories. Existing targets and inventories get no owner: admin-managed.

-- AlterTable
ALTER TABLE "target" ADD COLUMN     "owner_id" UUID;

-- AlterTable
ALTER TABLE "inventory" ADD COLUMN     "owner_id" UUID;

-- CreateTable
CREATE TABLE "credential_use_grant" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "credential_id" UUID NOT NULL,
    "user_id" UUID,
    "role" "Role",
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credential_use_grant_pkey" PRIMARY KEY ("id"),
    -- A grant is to one user or to one role, never both or neither.
    CONSTRAINT "credential_use_grant_one_grantee" CHECK (("user_id" IS NULL) <> ("role" IS NULL))
);

-- CreateIndex
CREATE INDEX "credential_use_grant_user_id_idx" ON "credential_use_grant"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "credential_use_grant_credential_id_user_id_key" ON "credential_use_grant"("credential_id", "user_id");

-- CreateIndex
CREATE UNIQUE INDEX "credential_use_grant_credential_id_role_key" ON "credential_use_grant"("credential_id", "role");

-- AddForeignKey
ALTER TABLE "credential_use_grant" ADD CONSTRAINT "credential_use_grant_credential_id_fkey" FOREIGN KEY ("credential_id") REFERENCES "credential"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credential_use_grant" ADD CONSTRAINT "credential_use_grant_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "app_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "target" ADD CONSTRAINT "target_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inventory" ADD CONSTRAINT "inventory_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;
