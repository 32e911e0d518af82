'use client'
import { WorkflowEditor } from '@/features/workflows/workflow-editor'

export default function Page() {
  return <WorkflowEditor id={null} />
}
