'use client'
import { useParams } from 'next/navigation'
import { ChannelPage } from '@/features/notifications/channel-page'

export default function Page() {
  const { id } = useParams<{ id: string }>()
  return <ChannelPage key={id} id={decodeURIComponent(id)} />
}
