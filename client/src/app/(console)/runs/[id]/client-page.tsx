'use client'
import { RunDetail } from '@/features/runs/run-detail'
import { useRouteId } from '@/lib/use-route-id'

export function ClientPage() {
  const id = useRouteId()
  return <RunDetail key={id} id={id} />
}
