'use client'
import { TicketsAdminPage } from '@/features/tickets/tickets-admin-page'

export default function Page() {
  return <TicketsAdminPage />
}
