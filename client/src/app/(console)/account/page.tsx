'use client'
import { AccountPage } from '@/features/account/account-page'

export default function Page() {
  return <AccountPage />
}
