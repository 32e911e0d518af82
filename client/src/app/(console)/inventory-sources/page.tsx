'use client'
import { InventorySourcesPage } from '@/features/inventory-sources/inventory-sources-page'

export default function Page() {
  return <InventorySourcesPage />
}
