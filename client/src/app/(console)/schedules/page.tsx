'use client'
import { SchedulesPage } from '@/features/schedules/schedules-page'

export default function Page() {
  return <SchedulesPage />
}
