'use client'
import { ChannelPage } from '@/features/notifications/channel-page'
import { useRouteId } from '@/lib/use-route-id'

export function ClientPage() {
  const id = useRouteId()
  return <ChannelPage key={id} id={id} />
}
