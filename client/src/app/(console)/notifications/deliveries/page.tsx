'use client'
import { Suspense } from 'react'
import { DeliveryLogPage } from '@/features/notifications/delivery-log-page'

export default function Page() {
  return (
    <Suspense>
      <DeliveryLogPage />
    </Suspense>
  )
}
