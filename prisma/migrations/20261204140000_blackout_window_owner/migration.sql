-- Owners for blackout windows: like targets and inventories, only the owner or an admin changes or
-- deletes one (a window silences every schedule linked to it). Existing windows get no owner: admin-managed.

-- AlterTable
ALTER TABLE "blackout_window" ADD COLUMN     "owner_id" UUID;

-- AddForeignKey
ALTER TABLE "blackout_window" ADD CONSTRAINT "blackout_window_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "app_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;
