'use client'
import { useRouter } from 'next/navigation'
import { useEffect } from 'react'

// A static export has no server to answer `/` with a redirect: the page sends the browser on.
export default function Home() {
  const router = useRouter()
  useEffect(() => router.replace('/dashboard'), [router])
  return null
}
