'use client'
import { NotificationsPage } from '@/features/notifications/notifications-page'

export default function Page() {
  return <NotificationsPage />
}
