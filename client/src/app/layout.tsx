import type { Metadata, Viewport } from 'next'
import type { ReactNode } from 'react'
import { THEME_BOOT_SCRIPT } from '@/components/theme'
import './globals.css'

export const metadata: Metadata = {
  title: 'Switchyard',
  description: 'Job orchestration for infrastructure and network operations',
}

export const viewport: Viewport = {
  colorScheme: 'dark light',
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" data-theme="dark" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_BOOT_SCRIPT }} />
      </head>
      <body>{children}</body>
    </html>
  )
}
