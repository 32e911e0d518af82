'use client'
import { CredentialsPage } from '@/features/credentials/credentials-page'

export default function Page() {
  return <CredentialsPage />
}
