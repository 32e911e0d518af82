'use client'
import { InventorySourceDetail } from '@/features/inventory-sources/source-detail'
import { useRouteId } from '@/lib/use-route-id'

export function ClientPage() {
  const id = useRouteId()
  return <InventorySourceDetail key={id} id={id} />
}
