/**
 * The console's live connection as the user should see it, derived from graphql-ws events. Pure, so
 * the rules are unit-tested: the first connection is "connecting"; a connection that drops is
 * "reconnecting" while the first retry runs, and "disconnected" once a retry has failed too (then
 * nothing shown updates until it is back); every recovery after a loss counts as a reconnect, which
 * the client answers by refetching what the page shows.
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'disconnected'

export interface Connection {
  state: ConnectionState
  /** Closes since the last successful connection. */
  failures: number
  /** Recoveries after a lost connection (bumps trigger refetches). */
  reconnects: number
  everConnected: boolean
}

export type ConnectionEvent = { type: 'connecting' } | { type: 'connected' } | { type: 'closed'; code?: number | undefined }

export const INITIAL_CONNECTION: Connection = { state: 'connecting', failures: 0, reconnects: 0, everConnected: false }

/** Close codes that mean the session is no longer valid: signed out, not retried. */
export function isAuthClose(code: number | undefined): boolean {
  return code === 4401 || code === 4403
}

export function nextConnection(c: Connection, e: ConnectionEvent): Connection {
  switch (e.type) {
    case 'connecting':
      if (c.state === 'disconnected') return c
      return { ...c, state: c.everConnected || c.failures > 0 ? 'reconnecting' : 'connecting' }
    case 'connected':
      return { state: 'live', failures: 0, reconnects: c.everConnected || c.failures > 0 ? c.reconnects + 1 : c.reconnects, everConnected: true }
    case 'closed': {
      // A clean close of a connection nobody needs is not a loss (graphql-ws closes with 1000 then).
      if (e.code === 1000 && c.state === 'live') return c
      const failures = c.failures + 1
      return { ...c, failures, state: failures >= 2 ? 'disconnected' : 'reconnecting' }
    }
  }
}

/** Words for the indicator (never colour alone). */
export function connectionLabel(state: ConnectionState): string {
  switch (state) {
    case 'live':
      return 'Live'
    case 'connecting':
      return 'Connecting…'
    case 'reconnecting':
      return 'Reconnecting…'
    case 'disconnected':
      return 'Disconnected — changes are not shown'
  }
}

/** Retry delay for the nth attempt: exponential from 0.5 s, capped at 8 s, with jitter. */
export function retryDelayMs(attempt: number, random = Math.random()): number {
  return Math.min(500 * 2 ** attempt, 8000) + Math.round(random * 400)
}
