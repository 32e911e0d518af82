'use client'
import { useParams } from 'next/navigation'
import { RunDetail } from '@/features/runs/run-detail'

export default function Page() {
  const { id } = useParams<{ id: string }>()
  return <RunDetail key={id} id={decodeURIComponent(id)} />
}
