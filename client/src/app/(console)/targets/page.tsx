'use client'
import { TargetsPage } from '@/features/targets/targets-page'

export default function Page() {
  return <TargetsPage />
}
