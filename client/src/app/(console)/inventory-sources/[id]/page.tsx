'use client'
import { useParams } from 'next/navigation'
import { InventorySourceDetail } from '@/features/inventory-sources/source-detail'

export default function Page() {
  const { id } = useParams<{ id: string }>()
  return <InventorySourceDetail key={id} id={decodeURIComponent(id)} />
}
