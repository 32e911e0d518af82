'use client'
import { ScheduleEditor } from '@/features/schedules/schedule-editor'
import { useRouteId } from '@/lib/use-route-id'

export function ClientPage() {
  const id = useRouteId()
  return <ScheduleEditor key={id} id={id} />
}
