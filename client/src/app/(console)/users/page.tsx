'use client'
import { UsersPage } from '@/features/users/users-page'

export default function Page() {
  return <UsersPage />
}
