'use client'
import { useSearchParams } from 'next/navigation'
import { Suspense } from 'react'
import { ScheduleEditor } from '@/features/schedules/schedule-editor'

function NewSchedule() {
  const params = useSearchParams()
  return <ScheduleEditor id={null} templateId={params.get('template')} workflowId={params.get('workflow')} />
}

export default function Page() {
  return (
    <Suspense>
      <NewSchedule />
    </Suspense>
  )
}
