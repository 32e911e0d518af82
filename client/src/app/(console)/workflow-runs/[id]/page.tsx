'use client'
import { useParams } from 'next/navigation'
import { WorkflowRunDetail } from '@/features/workflows/workflow-run-detail'

export default function Page() {
  const { id } = useParams<{ id: string }>()
  return <WorkflowRunDetail key={id} id={decodeURIComponent(id)} />
}
