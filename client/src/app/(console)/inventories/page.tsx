'use client'
import { InventoriesPage } from '@/features/inventories/inventories-page'

export default function Page() {
  return <InventoriesPage />
}
