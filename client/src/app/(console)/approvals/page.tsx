'use client'
import { ApprovalsPage } from '@/features/workflows/approvals-page'

export default function Page() {
  return <ApprovalsPage />
}
