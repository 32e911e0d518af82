'use client'
/**
 * The console frame: sidebar navigation (a drawer behind a menu button on phones), signed-in user with
 * role, live connection state, theme, and a skip link to the page's content.
 */
import Link from 'next/link'
import { usePathname } from 'next/navigation'
import { useEffect, useState, type ReactNode } from 'react'
import { RunToasts } from '@/features/runs/run-toasts'
import { usePendingApprovals } from '@/features/workflows/use-pending-approvals'
import { connectionLabel } from '@/lib/connection-state'
import { Icons, Logo } from './icons'
import { useConnection, useSessionContext } from './session-provider'
import { ThemeToggle } from './theme'

/**
 * Schedules need a server with the JobSchedule API (jobSchedules, previewJobSchedule …). Turning this
 * off hides the nav item (shown disabled), the dashboard's "Next scheduled runs" panel and the runs
 * filter's schedule picker, for servers without it.
 */
export const SCHEDULES_AVAILABLE = true

const NAV: Array<{ section?: string; href: string; label: string; icon: () => ReactNode; disabled?: boolean; adminOnly?: boolean }> = [
  { href: '/dashboard', label: 'Dashboard', icon: Icons.dashboard },
  { href: '/runs', label: 'Runs', icon: Icons.runs },
  { href: '/workflow-runs', label: 'Workflow runs', icon: Icons.workflowRuns },
  { href: '/approvals', label: 'Approvals', icon: Icons.check },
  { section: 'Automation', href: '/templates', label: 'Templates', icon: Icons.templates },
  { href: '/workflows', label: 'Workflows', icon: Icons.workflows },
  { href: '/schedules', label: 'Schedules', icon: Icons.schedules, disabled: !SCHEDULES_AVAILABLE },
  { section: 'Infrastructure', href: '/targets', label: 'Targets', icon: Icons.targets },
  { href: '/inventories', label: 'Inventories', icon: Icons.inventories },
  { href: '/inventory-sources', label: 'Inventory sources', icon: Icons.source },
  { href: '/monitoring-sync', label: 'Monitoring sync', icon: Icons.monitor },
  { href: '/credentials', label: 'Credentials', icon: Icons.credentials },
  { section: 'Alerting', href: '/notifications', label: 'Notifications', icon: Icons.bell, adminOnly: true },
  { section: 'Access', href: '/account', label: 'Account', icon: Icons.user },
  { href: '/users', label: 'Users', icon: Icons.users, adminOnly: true },
  { href: '/audit', label: 'Audit log', icon: Icons.audit, adminOnly: true },
]

const TITLES: Record<string, string> = Object.fromEntries(NAV.map((n) => [n.href.slice(1), n.label]))

export function useTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · Switchyard` : 'Switchyard'
  }, [title])
}

/** The live connection in words (announced politely); "Reconnected" for a moment after a recovery. */
function ConnectionIndicator() {
  const { state, reconnects } = useConnection()
  const [recovered, setRecovered] = useState(false)
  useEffect(() => {
    if (!reconnects) return
    setRecovered(true)
    const t = setTimeout(() => setRecovered(false), 4000)
    return () => clearTimeout(t)
  }, [reconnects])
  const label = state === 'live' && recovered ? 'Reconnected' : connectionLabel(state)
  return (
    <span className="live-dot" data-state={state} role="status" aria-live="polite" title="Live updates from the server" data-testid="live-state">
      {label}
    </span>
  )
}

/** How many approvals await the user (live), beside the nav entry; nothing for viewers, who never decide. */
function ApprovalsCount({ pause }: { pause: boolean }) {
  const { list } = usePendingApprovals(pause)
  // The server's inbox already leaves out approvals the user gave (pendingApprovals).
  const count = list?.length ?? 0
  if (!count) return null
  return (
    <span className="nav-count" data-testid="approvals-count">
      {count}
      <span className="sr-only"> awaiting your decision</span>
    </span>
  )
}

export function Shell({ children }: { children: ReactNode }) {
  const pathname = usePathname() ?? '/'
  const { session, isAdmin, signOut } = useSessionContext()
  const section = pathname.split('/')[1] ?? ''
  const role = session.user.role
  const [navOpen, setNavOpen] = useState(false)
  // The phone drawer closes when a link is followed.
  useEffect(() => setNavOpen(false), [pathname])
  return (
    <div className="shell" data-nav-open={navOpen || undefined} onKeyDown={(e) => e.key === 'Escape' && navOpen && setNavOpen(false)}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      {navOpen ? <div className="nav-backdrop" aria-hidden onClick={() => setNavOpen(false)} /> : null}
      <aside className="sidebar" id="sidebar" aria-label="Navigation">
        <div className="brand">
          <span className="brand-mark">
            <Logo />
          </span>
          Switchyard
        </div>
        <nav className="nav" aria-label="Main">
          {NAV.filter((item) => !item.adminOnly || isAdmin).map((item) => (
            <div key={item.href} style={{ display: 'contents' }}>
              {item.section ? <div className="nav-section">{item.section}</div> : null}
              {item.disabled ? (
                <span className="nav-disabled" aria-disabled title="Schedules are not available in this server version yet">
                  <item.icon />
                  {item.label}
                  <span className="soon">soon</span>
                </span>
              ) : (
                <Link href={item.href} aria-current={pathname === item.href || pathname.startsWith(`${item.href}/`) ? 'page' : undefined}>
                  <item.icon />
                  {item.label}
                  {item.href === '/approvals' ? <ApprovalsCount pause={role === 'VIEWER'} /> : null}
                </Link>
              )}
            </div>
          ))}
        </nav>
        <div className="sidebar-foot">
          <div className="user-chip">
            <span className="avatar">{session.user.username.slice(0, 1).toUpperCase()}</span>
            <div className="grow" style={{ minWidth: 0 }}>
              <div className="user-name" data-testid="current-user">
                {session.user.username}
              </div>
              <div className="small faint" data-testid="current-role">
                {role.charAt(0) + role.slice(1).toLowerCase()}
              </div>
            </div>
            <ThemeToggle />
          </div>
          <button type="button" className="btn sm" onClick={() => void signOut()}>
            <Icons.logout /> Sign out
          </button>
        </div>
      </aside>
      <div className="main">
        <header className="topbar">
          <button type="button" className="btn ghost icon nav-toggle" aria-expanded={navOpen} aria-controls="sidebar" aria-label="Menu" onClick={() => setNavOpen((o) => !o)}>
            <Icons.menu />
          </button>
          <div className="crumbs">
            <span>{TITLES[section] ?? 'Switchyard'}</span>
          </div>
          <span className="spacer" />
          {role === 'VIEWER' ? <span className="badge plain">Read-only</span> : null}
          <ConnectionIndicator />
        </header>
        <main className="page" id="main" tabIndex={-1}>
          {children}
        </main>
      </div>
      <RunToasts />
    </div>
  )
}
