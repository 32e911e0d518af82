'use client'
/** The notification pages' frame: admins only (everyone else is told so), the title and the two tabs. */
import Link from 'next/link'
import type { ReactNode } from 'react'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { EmptyState, PageHeader, Panel } from '@/components/ui'

const TABS = [
  { key: 'channels', href: '/notifications', label: 'Channels and rules' },
  { key: 'deliveries', href: '/notifications/deliveries', label: 'Delivery log' },
  { key: 'tickets', href: '/notifications/tickets', label: 'Tickets' },
] as const

export function NotificationsFrame({
  tab,
  actions,
  children,
  title,
  subtitle,
  back,
}: {
  tab: (typeof TABS)[number]['key']
  actions?: ReactNode
  children: ReactNode
  /** A page below a tab (one channel) names itself; the tabs stay for the way back. */
  title?: ReactNode
  subtitle?: ReactNode
  /** A way back above the title (a sub-page). */
  back?: ReactNode
}) {
  const { isAdmin, session } = useSessionContext()
  if (!isAdmin) {
    return (
      <>
        <PageHeader title="Notifications" />
        <Panel>
          <EmptyState title="Admins only" icon={<Icons.shield />} action={<Link className="btn" href="/runs">Runs</Link>}>
            Notification channels send run data to other systems, so admins manage them. You are signed in as {session.user.username}; how your runs ended is on the runs page.
          </EmptyState>
        </Panel>
      </>
    )
  }
  return (
    <>
      {back}
      <PageHeader title={title ?? 'Notifications'} subtitle={subtitle ?? 'Run outcomes sent where people will see them, with every delivery attempt logged.'} actions={actions} />
      <nav className="tabs" aria-label="Notifications">
        {TABS.map((t) => (
          <Link key={t.key} href={t.href} aria-current={t.key === tab ? 'page' : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      {children}
    </>
  )
}
