'use client'
import { WorkflowEditor } from '@/features/workflows/workflow-editor'
import { useRouteId } from '@/lib/use-route-id'

export function ClientPage() {
  const id = useRouteId()
  return <WorkflowEditor key={id} id={id} />
}
