'use client'
/**
 * Everything behind sign-in: checks the stored session (redirects to /login without one), builds the
 * urql + graphql-ws clients for its token, and offers the session, role checks and sign-out.
 */
import { usePathname, useRouter } from 'next/navigation'
import { createContext, useCallback, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react'
import { Provider as UrqlProvider } from 'urql'
import { createSessionClients, type SessionClients } from '@/lib/client'
import { INITIAL_CONNECTION, type Connection } from '@/lib/connection-state'
import { graphql } from '@/lib/graphql'
import { saveSession, useSession, type Session } from '@/lib/session'

interface SessionContextValue {
  session: Session
  clients: SessionClients
  canWrite: boolean
  isAdmin: boolean
  signOut(): Promise<void>
}

const SessionContext = createContext<SessionContextValue | null>(null)

export function useSessionContext(): SessionContextValue {
  const ctx = useContext(SessionContext)
  if (!ctx) throw new Error('useSessionContext outside SessionProvider')
  return ctx
}

/** The live connection (state and reconnect count), re-rendering on every change. */
export function useConnection(): Connection {
  const { clients } = useSessionContext()
  return useSyncExternalStore(clients.onConnection, clients.connection, () => INITIAL_CONNECTION)
}

const LogoutMutation = graphql(`mutation Logout { logout }`)

export function SessionProvider({ children }: { children: ReactNode }) {
  const session = useSession()
  const router = useRouter()
  const pathname = usePathname()
  const token = session?.token ?? null

  const expire = useCallback(() => saveSession(null), [])
  const clients = useMemo(() => (token ? createSessionClients(token, expire) : null), [token, expire])
  useEffect(() => () => clients?.dispose(), [clients])

  useEffect(() => {
    if (session === null) {
      const next = pathname && pathname !== '/' ? `?next=${encodeURIComponent(pathname + window.location.search)}` : ''
      router.replace(`/login${next}`)
    }
  }, [session, router, pathname])

  const value = useMemo<SessionContextValue | null>(() => {
    if (!session || !clients) return null
    return {
      session,
      clients,
      canWrite: session.user.role !== 'VIEWER',
      isAdmin: session.user.role === 'ADMIN',
      async signOut() {
        await clients.client.mutation(LogoutMutation, {}).toPromise().catch(() => undefined)
        saveSession(null)
      },
    }
  }, [session, clients])

  if (!value) return null
  return (
    <SessionContext.Provider value={value}>
      <UrqlProvider value={value.clients.client}>{children}</UrqlProvider>
    </SessionContext.Provider>
  )
}
