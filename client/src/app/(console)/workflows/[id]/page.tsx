'use client'
import { useParams } from 'next/navigation'
import { WorkflowEditor } from '@/features/workflows/workflow-editor'

export default function Page() {
  const { id } = useParams<{ id: string }>()
  return <WorkflowEditor key={id} id={decodeURIComponent(id)} />
}
