'use client'
import { useParams } from 'next/navigation'
import { ScheduleEditor } from '@/features/schedules/schedule-editor'

export default function Page() {
  const { id } = useParams<{ id: string }>()
  return <ScheduleEditor key={id} id={decodeURIComponent(id)} />
}
