'use client'
import { Suspense } from 'react'
import { WorkflowRunsPage } from '@/features/workflows/workflow-runs-page'

export default function Page() {
  return (
    <Suspense>
      <WorkflowRunsPage />
    </Suspense>
  )
}
