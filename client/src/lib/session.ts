/**
 * The signed-in session, kept in localStorage so a reload (or another tab) stays signed in. The token
 * goes into the Authorization header of every HTTP request and into the WebSocket connectionParams.
 */
import { useSyncExternalStore } from 'react'

export type Role = 'ADMIN' | 'OPERATOR' | 'VIEWER'
export interface Session {
  token: string
  expiresAt: string
  user: { id: string; username: string; role: Role }
}

const KEY = 'switchyard.session'
const listeners = new Set<() => void>()
let cachedRaw: string | null | undefined
let cached: Session | null = null

function read(): Session | null {
  const raw = window.localStorage.getItem(KEY)
  if (raw === cachedRaw) return cached
  cachedRaw = raw
  try {
    const s = raw ? (JSON.parse(raw) as Session) : null
    cached = s && s.token && new Date(s.expiresAt).getTime() > Date.now() ? s : null
  } catch {
    cached = null
  }
  return cached
}

export function saveSession(session: Session | null): void {
  if (session) window.localStorage.setItem(KEY, JSON.stringify(session))
  else window.localStorage.removeItem(KEY)
  listeners.forEach((l) => l())
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  const onStorage = (e: StorageEvent) => e.key === KEY && listener()
  window.addEventListener('storage', onStorage)
  return () => {
    listeners.delete(listener)
    window.removeEventListener('storage', onStorage)
  }
}

/** undefined while rendering on the server (nothing is known there), else the session or null. */
export function useSession(): Session | null | undefined {
  return useSyncExternalStore(subscribe, read, () => undefined)
}
