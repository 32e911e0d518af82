'use client'
import { MonitoringSyncPage } from '@/features/checkmk/monitoring-sync-page'

export default function Page() {
  return <MonitoringSyncPage />
}
