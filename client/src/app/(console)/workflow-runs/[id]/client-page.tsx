'use client'
import { WorkflowRunDetail } from '@/features/workflows/workflow-run-detail'
import { useRouteId } from '@/lib/use-route-id'

export function ClientPage() {
  const id = useRouteId()
  return <WorkflowRunDetail key={id} id={id} />
}
