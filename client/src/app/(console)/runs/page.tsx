'use client'
import { Suspense } from 'react'
import { RunsPage } from '@/features/runs/runs-page'

export default function Page() {
  return (
    <Suspense>
      <RunsPage />
    </Suspense>
  )
}
